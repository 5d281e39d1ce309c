import { EncodeError } from './errors.js';
import type { TaggedField } from './tagged.js';
import { uvarintSize } from './varint.js';

const UUID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/**
 * The size pass of an encode. It computes the exact byte count and remembers what the write
 * pass would otherwise compute again: the UTF-8 bytes of every string and the sizes that prefix
 * tagged fields. The write pass consumes the entries in the same order (see Writer.next).
 */
export class SizeCache {
  readonly entries: (Uint8Array | number)[] = [];

  constructor(
    readonly messageName: string,
    readonly version: number,
  ) {}

  /** Throws the error for a field that cannot be encoded as given. */
  fail(field: string, reason: string): never {
    throw new EncodeError(this.messageName, this.version, field, reason);
  }

  string(value: string | null, flexible: boolean, nullable: boolean, field: string): number {
    if (value === null) {
      if (!nullable) this.fail(field, 'is null, but is not nullable in this version');
      return flexible ? 1 : 2;
    }
    if (typeof value !== 'string') this.fail(field, `must be a string, not ${typeof value}`);
    const bytes = Buffer.from(value, 'utf8');
    // Kafka caps every string at 32767 bytes, compact ones included.
    if (bytes.length > 0x7fff) this.fail(field, `is ${bytes.length} UTF-8 bytes; a Kafka string holds at most 32767`);
    this.entries.push(bytes);
    return (flexible ? uvarintSize(bytes.length + 1) : 2) + bytes.length;
  }

  bytes(value: Uint8Array | null, flexible: boolean, nullable: boolean, field: string): number {
    if (value === null) {
      if (!nullable) this.fail(field, 'is null, but is not nullable in this version');
      return flexible ? 1 : 4;
    }
    if (!(value instanceof Uint8Array)) this.fail(field, 'must be a Buffer or Uint8Array');
    return (flexible ? uvarintSize(value.length + 1) : 4) + value.length;
  }

  uuid(value: string, field: string): number {
    // 22 URL-safe base64 characters; the last holds only 2 bits, so it must be one of A, Q, g, w.
    if (typeof value !== 'string' || !UUID_PATTERN.test(value)) {
      this.fail(field, `must be a uuid as 22 characters of URL-safe base64, not ${JSON.stringify(value)}`);
    }
    return 16;
  }

  /** Size of an array's length prefix, or of its null marker. */
  arrayHeader(value: readonly unknown[] | null, flexible: boolean, nullable: boolean, field: string): number {
    if (value === null) {
      if (!nullable) this.fail(field, 'is null, but is not nullable in this version');
      return flexible ? 1 : 4;
    }
    if (!Array.isArray(value)) this.fail(field, 'must be an array');
    return flexible ? uvarintSize(value.length + 1) : 4;
  }

  array<T>(
    value: readonly T[] | null,
    flexible: boolean,
    nullable: boolean,
    field: string,
    version: number,
    element: (cache: SizeCache, item: T, version: number) => number,
  ): number {
    let size = this.arrayHeader(value, flexible, nullable, field);
    if (value !== null) for (const item of value) size += element(this, item, version);
    return size;
  }

  /** A struct field: with a presence marker in versions where it is nullable, else inline and required. */
  struct<T>(
    value: T | null,
    nullable: boolean,
    field: string,
    version: number,
    size: (cache: SizeCache, item: T, version: number) => number,
  ): number {
    if (value === null) return nullable ? 1 : this.fail(field, 'is null, but is not nullable in this version');
    return (nullable ? 1 : 0) + size(this, value, version);
  }

  /** Reserves the entry a later `set` fills, so the write pass meets it before what follows. */
  reserve(): number {
    return this.entries.push(0) - 1;
  }

  /** The bytes of one known tagged field: tag, payload size (kept in `slot`), payload. */
  tagged(tag: number, slot: number, payloadSize: number): number {
    this.entries[slot] = payloadSize;
    return uvarintSize(tag) + uvarintSize(payloadSize) + payloadSize;
  }

  /** Size of the unknown tagged fields a struct carries, without the count. */
  unknownTags(fields: readonly TaggedField[] | undefined): number {
    let size = 0;
    if (fields) for (const field of fields) size += uvarintSize(field.tag) + uvarintSize(field.data.length) + field.data.length;
    return size;
  }

  /** A whole tagged-field section of a struct that has no known tagged fields in this version. */
  taggedSection(fields: readonly TaggedField[] | undefined): number {
    return uvarintSize(fields?.length ?? 0) + this.unknownTags(fields);
  }

  /** Finishes a section with known tagged fields: stores the field count in `slot` and returns its varint size. */
  tagCount(slot: number, known: number, unknown: readonly TaggedField[] | undefined): number {
    const count = known + (unknown?.length ?? 0);
    this.entries[slot] = count;
    return uvarintSize(count);
  }
}
