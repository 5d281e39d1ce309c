import type { SizeCache } from './size-cache.js';
import type { TaggedField } from './tagged.js';
import { zigzag32 } from './varint.js';

/**
 * The write pass of an encode, into a buffer the size pass made exactly large enough. It takes
 * string bytes and tagged-field sizes from the size pass's cache, in the order they were added.
 */
export class Writer {
  offset: number;
  private entry = 0;

  constructor(
    readonly buffer: Buffer,
    private readonly cache: SizeCache,
    offset = 0,
  ) {
    this.offset = offset;
  }

  /** The next number the size pass stored (a tagged-field size or count). */
  next(): number {
    return this.cache.entries[this.entry++] as number;
  }

  bool(value: boolean): void {
    this.buffer[this.offset++] = value ? 1 : 0;
  }

  int8(value: number): void {
    this.offset = this.buffer.writeInt8(value, this.offset);
  }

  int16(value: number): void {
    this.offset = this.buffer.writeInt16BE(value, this.offset);
  }

  uint16(value: number): void {
    this.offset = this.buffer.writeUInt16BE(value, this.offset);
  }

  int32(value: number): void {
    this.offset = this.buffer.writeInt32BE(value, this.offset);
  }

  uint32(value: number): void {
    this.offset = this.buffer.writeUInt32BE(value, this.offset);
  }

  int64(value: bigint): void {
    this.offset = this.buffer.writeBigInt64BE(value, this.offset);
  }

  float64(value: number): void {
    this.offset = this.buffer.writeDoubleBE(value, this.offset);
  }

  uvarint(value: number): void {
    const buffer = this.buffer;
    let offset = this.offset;
    while (value >= 0x80) {
      buffer[offset++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buffer[offset++] = value;
    this.offset = offset;
  }

  varint(value: number): void {
    this.uvarint(zigzag32(value));
  }

  uuid(value: string): void {
    this.offset += Buffer.from(value, 'base64url').copy(this.buffer, this.offset);
  }

  /** A string whose UTF-8 bytes the size pass cached (nothing is cached for null). */
  string(value: string | null, flexible: boolean): void {
    if (value === null) {
      if (flexible) this.buffer[this.offset++] = 0;
      else this.int16(-1);
      return;
    }
    const bytes = this.cache.entries[this.entry++] as Uint8Array;
    if (flexible) this.uvarint(bytes.length + 1);
    else this.int16(bytes.length);
    this.buffer.set(bytes, this.offset);
    this.offset += bytes.length;
  }

  bytes(value: Uint8Array | null, flexible: boolean): void {
    if (value === null) {
      if (flexible) this.buffer[this.offset++] = 0;
      else this.int32(-1);
      return;
    }
    if (flexible) this.uvarint(value.length + 1);
    else this.int32(value.length);
    this.buffer.set(value, this.offset);
    this.offset += value.length;
  }

  /** An array's length prefix or null marker; the caller writes the elements. */
  arrayHeader(value: readonly unknown[] | null, flexible: boolean): void {
    if (value === null) {
      if (flexible) this.buffer[this.offset++] = 0;
      else this.int32(-1);
    } else if (flexible) {
      this.uvarint(value.length + 1);
    } else {
      this.int32(value.length);
    }
  }

  array<T>(
    value: readonly T[] | null,
    flexible: boolean,
    version: number,
    element: (writer: Writer, item: T, version: number) => void,
  ): void {
    this.arrayHeader(value, flexible);
    if (value !== null) for (const item of value) element(this, item, version);
  }

  struct<T>(value: T | null, nullable: boolean, version: number, write: (writer: Writer, item: T, version: number) => void): void {
    if (nullable) this.int8(value === null ? -1 : 1);
    if (value !== null) write(this, value, version);
  }

  /** Writes the unknown tagged fields from index `from` whose tag is below `below`; returns the next index. */
  unknownTagsBelow(fields: readonly TaggedField[] | undefined, from: number, below: number): number {
    if (!fields) return from;
    let index = from;
    for (; index < fields.length && (fields[index] as TaggedField).tag < below; index++) {
      const field = fields[index] as TaggedField;
      this.uvarint(field.tag);
      this.uvarint(field.data.length);
      this.buffer.set(field.data, this.offset);
      this.offset += field.data.length;
    }
    return index;
  }

  /** A whole tagged-field section of a struct with no known tagged fields in this version. */
  taggedSection(fields: readonly TaggedField[] | undefined): void {
    this.uvarint(fields?.length ?? 0);
    this.unknownTagsBelow(fields, 0, Infinity);
  }

  /** Starts one known tagged field: tag and the payload size the size pass stored. */
  tagHeader(tag: number): void {
    this.uvarint(tag);
    this.uvarint(this.next());
  }
}
