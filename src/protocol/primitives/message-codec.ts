import { DecodeError, ProtocolError, UnsupportedVersionError } from './errors.js';
import { Reader } from './reader.js';
import { SizeCache } from './size-cache.js';
import { Writer } from './writer.js';

/** The parts the generator emits for one message; MessageCodec adds the checked entry points. */
export interface MessageParts<T> {
  name: string;
  minVersion: number;
  maxVersion: number;
  /** First flexible version (beyond maxVersion when the message never is). */
  flexibleMin: number;
  size(cache: SizeCache, message: T, version: number): number;
  write(writer: Writer, message: T, version: number): void;
  read(reader: Reader, version: number): T;
  /** A message with every field at its default, overridden by `fields`. */
  create(fields?: Partial<T>): T;
}

export class MessageCodec<T> implements MessageParts<T> {
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flexibleMin: number;
  readonly size: MessageParts<T>['size'];
  readonly write: MessageParts<T>['write'];
  readonly read: MessageParts<T>['read'];
  readonly create: MessageParts<T>['create'];

  constructor(parts: MessageParts<T>) {
    this.name = parts.name;
    this.minVersion = parts.minVersion;
    this.maxVersion = parts.maxVersion;
    this.flexibleMin = parts.flexibleMin;
    this.size = parts.size;
    this.write = parts.write;
    this.read = parts.read;
    this.create = parts.create;
  }

  isFlexible(version: number): boolean {
    return version >= this.flexibleMin;
  }

  checkVersion(version: number): void {
    if (!Number.isInteger(version) || version < this.minVersion || version > this.maxVersion) {
      throw new UnsupportedVersionError(this.name, version, this.minVersion, this.maxVersion);
    }
  }

  /** Sizes the message, then writes it once into a buffer of exactly that size. */
  encode(message: T, version: number): Buffer {
    this.checkVersion(version);
    const cache = new SizeCache(this.name, version);
    const size = this.size(cache, message, version);
    const writer = new Writer(Buffer.allocUnsafe(size), cache);
    this.write(writer, message, version);
    if (writer.offset !== size) throw new Error(`internal error: ${this.name} v${version} sized ${size} bytes but wrote ${writer.offset}`);
    return writer.buffer;
  }

  /** Decodes exactly one message filling `bytes`; leftover bytes are an error. */
  decode(bytes: Uint8Array, version: number): T {
    this.checkVersion(version);
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const reader = new Reader(buffer, this.name, version);
    const message = guardDecode(reader, () => this.read(reader, version));
    if (reader.remaining !== 0) reader.fail(`${reader.remaining} unexpected bytes after the message`);
    return message;
  }
}

/**
 * Runs a decode and turns anything that is not already a ProtocolError (say, a RangeError from
 * a Buffer method the checks did not foresee) into a DecodeError with the reader's position.
 */
export function guardDecode<T>(reader: Reader, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new DecodeError(reader.messageName, reader.version, reader.offset, `malformed input (${(error as Error).message})`);
  }
}

/** One Kafka API: its key and the codecs of its request and response. */
export interface ApiDefinition<Request = unknown, Response = unknown> {
  name: string;
  apiKey: number;
  request: MessageCodec<Request>;
  response: MessageCodec<Response>;
}
