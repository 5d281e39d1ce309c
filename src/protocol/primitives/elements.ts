import type { Reader } from './reader.js';
import type { SizeCache } from './size-cache.js';
import type { Writer } from './writer.js';

/** Size, write and read of one array element, in the shape the array helpers take. */
export interface Element<T> {
  size(cache: SizeCache, item: T, version: number): number;
  write(writer: Writer, item: T, version: number): void;
  read(reader: Reader, version: number): T;
}

function fixed<T>(width: number, write: (writer: Writer, item: T) => void, read: (reader: Reader) => T): Element<T> {
  return { size: () => width, write, read };
}

export const boolElement = fixed<boolean>(
  1,
  (w, x) => w.bool(x),
  (r) => r.bool(),
);
export const int8Element = fixed<number>(
  1,
  (w, x) => w.int8(x),
  (r) => r.int8(),
);
export const int16Element = fixed<number>(
  2,
  (w, x) => w.int16(x),
  (r) => r.int16(),
);
export const uint16Element = fixed<number>(
  2,
  (w, x) => w.uint16(x),
  (r) => r.uint16(),
);
export const int32Element = fixed<number>(
  4,
  (w, x) => w.int32(x),
  (r) => r.int32(),
);
export const uint32Element = fixed<number>(
  4,
  (w, x) => w.uint32(x),
  (r) => r.uint32(),
);
export const int64Element = fixed<bigint>(
  8,
  (w, x) => w.int64(x),
  (r) => r.int64(),
);
export const float64Element = fixed<number>(
  8,
  (w, x) => w.float64(x),
  (r) => r.float64(),
);
/** Kafka's Uuid.ZERO_UUID, as the codecs carry uuids (22 characters of URL-safe base64): "no topic id". */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export const uuidElement: Element<string> = {
  size: (c, x) => c.uuid(x, 'array element'),
  write: (w, x) => w.uuid(x),
  read: (r) => r.uuid(),
};

function strings(flexible: boolean): Element<string> {
  return {
    size: (c, x) => c.string(x, flexible, false, 'array element'),
    write: (w, x) => w.string(x, flexible),
    read: (r) => r.string(flexible, false, 'array element'),
  };
}

function byteArrays(flexible: boolean): Element<Buffer> {
  return {
    size: (c, x) => c.bytes(x, flexible, false, 'array element'),
    write: (w, x) => w.bytes(x, flexible),
    read: (r) => r.bytes(flexible, false, 'array element'),
  };
}

export const stringElement = strings(false);
export const compactStringElement = strings(true);
export const bytesElement = byteArrays(false);
export const compactBytesElement = byteArrays(true);
