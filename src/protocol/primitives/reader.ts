import { DecodeError } from './errors.js';
import type { TaggedField, WithUnknownTags } from './tagged.js';
import { unzigzag32 } from './varint.js';

/**
 * A bounds-checked reader over one message. Every read checks the bytes left first, and every
 * length or count is checked against them before anything is allocated, so malformed input
 * ends in a DecodeError naming the message, version and byte offset, never in a RangeError,
 * a huge allocation or a long loop.
 */
export class Reader {
  offset: number;

  constructor(
    readonly buffer: Buffer,
    readonly messageName: string,
    readonly version: number,
    offset = 0,
    readonly end = buffer.length,
  ) {
    this.offset = offset;
  }

  fail(reason: string, at = this.offset): never {
    throw new DecodeError(this.messageName, this.version, at, reason);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(bytes: number, what: string): number {
    const at = this.offset;
    if (at + bytes > this.end) this.fail(`${what} needs ${bytes} bytes, only ${this.end - at} left`);
    this.offset = at + bytes;
    return at;
  }

  bool(): boolean {
    return this.buffer[this.need(1, 'bool')] !== 0;
  }

  int8(): number {
    return this.buffer.readInt8(this.need(1, 'int8'));
  }

  int16(): number {
    return this.buffer.readInt16BE(this.need(2, 'int16'));
  }

  uint16(): number {
    return this.buffer.readUInt16BE(this.need(2, 'uint16'));
  }

  int32(): number {
    return this.buffer.readInt32BE(this.need(4, 'int32'));
  }

  uint32(): number {
    return this.buffer.readUInt32BE(this.need(4, 'uint32'));
  }

  int64(): bigint {
    return this.buffer.readBigInt64BE(this.need(8, 'int64'));
  }

  float64(): number {
    return this.buffer.readDoubleBE(this.need(8, 'float64'));
  }

  uuid(): string {
    const at = this.need(16, 'uuid');
    return this.buffer.toString('base64url', at, at + 16);
  }

  /** An unsigned varint of at most 32 bits (5 bytes). */
  uvarint(): number {
    const start = this.offset;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.offset >= this.end) this.fail('varint runs past the end', start);
      const byte = this.buffer[this.offset++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        if (result > 0xffffffff) this.fail('varint exceeds 32 bits', start);
        return result;
      }
    }
    return this.fail('varint is longer than 5 bytes', start);
  }

  varint(): number {
    return unzigzag32(this.uvarint());
  }

  /** A length prefix: int16/int32 (−1 = null) or uvarint(n+1) (0 = null). Returns −1 for null. */
  private length(flexible: boolean, wide: boolean): number {
    if (flexible) return this.uvarint() - 1;
    const length = wide ? this.int32() : this.int16();
    return length < -1 ? this.fail(`negative length ${length}`, this.offset - (wide ? 4 : 2)) : length;
  }

  private nullOrFail<T>(nullable: boolean, field: string, at: number): T | null {
    return nullable ? null : this.fail(`non-nullable field ${field} was serialized as null`, at);
  }

  string(flexible: boolean, nullable: false, field: string): string;
  string(flexible: boolean, nullable: boolean, field: string): string | null;
  string(flexible: boolean, nullable: boolean, field: string): string | null {
    const at = this.offset;
    const length = this.length(flexible, false);
    if (length < 0) return this.nullOrFail(nullable, field, at);
    if (length > 0x7fff) this.fail(`string ${field} has length ${length}; a Kafka string holds at most 32767 bytes`, at);
    const start = this.need(length, `string ${field} of length ${length}`);
    return this.buffer.toString('utf8', start, start + length);
  }

  /** Bytes as a view into the input buffer (no copy). */
  bytes(flexible: boolean, nullable: false, field: string): Buffer;
  bytes(flexible: boolean, nullable: boolean, field: string): Buffer | null;
  bytes(flexible: boolean, nullable: boolean, field: string): Buffer | null {
    const at = this.offset;
    const length = this.length(flexible, true);
    if (length < 0) return this.nullOrFail(nullable, field, at);
    const start = this.need(length, `bytes ${field} of length ${length}`);
    return this.buffer.subarray(start, start + length);
  }

  /** An array's element count (−1 for null), checked against the bytes left: every element takes at least one. */
  arrayLength(flexible: boolean, nullable: boolean, field: string): number {
    const at = this.offset;
    const count = this.length(flexible, true);
    if (count < 0) return nullable ? -1 : this.fail(`non-nullable field ${field} was serialized as null`, at);
    if (count > this.remaining) this.fail(`array ${field} claims ${count} elements, but only ${this.remaining} bytes are left`, at);
    return count;
  }

  array<T>(flexible: boolean, nullable: false, field: string, version: number, element: (reader: Reader, version: number) => T): T[];
  array<T>(
    flexible: boolean,
    nullable: boolean,
    field: string,
    version: number,
    element: (reader: Reader, version: number) => T,
  ): T[] | null;
  array<T>(
    flexible: boolean,
    nullable: boolean,
    field: string,
    version: number,
    element: (reader: Reader, version: number) => T,
  ): T[] | null {
    const count = this.arrayLength(flexible, nullable, field);
    if (count < 0) return null;
    const items = new Array<T>(count);
    for (let i = 0; i < count; i++) items[i] = element(this, version);
    return items;
  }

  /** A struct field; where it is nullable, a marker byte comes first (−1 null, 1 present). */
  struct<T>(nullable: boolean, field: string, version: number, read: (reader: Reader, version: number) => T): T | null {
    if (nullable) {
      const at = this.offset;
      const marker = this.int8();
      if (marker === -1) return null;
      if (marker !== 1) this.fail(`struct ${field} has presence marker ${marker}, expected -1 or 1`, at);
    }
    return read(this, version);
  }

  /** The number of tagged fields in a section, checked against the bytes left (each takes at least two). */
  tagCount(): number {
    const at = this.offset;
    const count = this.uvarint();
    if (count * 2 > this.remaining) this.fail(`tagged-field section claims ${count} fields, but only ${this.remaining} bytes are left`, at);
    return count;
  }

  /** Reads a tagged field's size; returns the offset where its payload must end. */
  tagEnd(tag: number): number {
    const at = this.offset;
    const size = this.uvarint();
    if (size > this.remaining) this.fail(`tagged field ${tag} claims ${size} bytes, but only ${this.remaining} are left`, at);
    return this.offset + size;
  }

  /** Checks that a known tagged field's payload used exactly its declared size. */
  endTag(end: number, field: string): void {
    if (this.offset !== end) {
      const difference = this.offset - end;
      this.fail(`tagged field ${field} used ${Math.abs(difference)} bytes ${difference > 0 ? 'more' : 'less'} than its declared size`);
    }
  }

  /** Keeps a tagged field this version does not know. */
  unknownTag(target: WithUnknownTags, tag: number, end: number): void {
    const field: TaggedField = { tag, data: this.buffer.subarray(this.offset, end) };
    this.offset = end;
    (target._unknownTaggedFields ??= []).push(field);
  }

  /** A whole tagged-field section of a struct with no known tagged fields in this version. */
  taggedSection(target: WithUnknownTags): void {
    for (let count = this.tagCount(); count > 0; count--) {
      const tag = this.uvarint();
      this.unknownTag(target, tag, this.tagEnd(tag));
    }
  }
}
