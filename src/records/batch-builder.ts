import { COMPRESSION_CODES, type CompressionName, compress } from './compression.js';
import { crc32c } from './crc32c.js';
import { defaultMemoryPool, type MemoryPool, type PooledBuffer } from './memory-pool.js';
import { varintSize, varlongSize, writeVarint, writeVarlong } from './record-varint.js';
import { utf8Length, writeUtf8 } from './utf8.js';

/** RecordBatch v2 (magic 2) layout: the 61-byte header's field offsets. */
export const BATCH_HEADER_SIZE = 61;
export const OFFSETS = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;
/** Everything from the attributes on is covered by the CRC. */
export const CRC_START = OFFSETS.attributes;

export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/**
 * A key or value: bytes, or a string written as UTF-8 straight into the batch (no Buffer of its
 * own, which a producer would otherwise hold until the record is acknowledged), or null.
 */
export type RecordPayload = Uint8Array | string | null;

export interface RecordInput {
  key: RecordPayload;
  value: RecordPayload;
  headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch (CreateTime). */
  timestamp: number;
}

export interface BatchSettings {
  compression?: CompressionName;
  compressionLevel?: number;
  /** Idempotence: producer id, epoch and the sequence of the batch's first record (−1 when not idempotent). */
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  isControl?: boolean;
  partitionLeaderEpoch?: number;
}

/** A finished batch: the bytes to send (one piece, or header + compressed records), and the memory to give back. */
export interface BuiltBatch {
  pieces: Buffer[];
  size: number;
  recordCount: number;
  /** Returns the batch's pooled memory; call once the request carrying it has completed. */
  release(): void;
}

/** Bytes one record takes in a batch, its length prefix included. */
export function recordSize(record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  const body = recordBodySize(record, timestampDelta, offsetDelta);
  return varintSize(body) + body;
}

/** Bytes of a key or value on the wire: a string's are its UTF-8; −1 for null. */
function payloadLength(payload: RecordPayload): number {
  if (payload === null) return -1;
  return typeof payload === 'string' ? utf8Length(payload) : payload.length;
}

/** A length-prefixed key or value field: zigzag(−1) alone for null. */
function payloadFieldSize(length: number): number {
  return length < 0 ? 1 : varintSize(length) + length;
}

function recordBodySize(record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  return bodySize(record, payloadLength(record.key), payloadLength(record.value), timestampDelta, offsetDelta);
}

function bodySize(record: RecordInput, keyLength: number, valueLength: number, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta);
  size += payloadFieldSize(keyLength) + payloadFieldSize(valueLength);
  const headers = record.headers;
  if (headers === undefined || headers.length === 0) return size + 1;
  size += varintSize(headers.length);
  for (const header of headers) {
    const keyBytes = Buffer.byteLength(header.key, 'utf8');
    size += varintSize(keyBytes) + keyBytes + (header.value === null ? 1 : varintSize(header.value.length) + header.value.length);
  }
  return size;
}

/**
 * Appends records to one RecordBatch v2 in pooled memory of a fixed capacity, tracking the
 * exact size so the caller can close the batch at batch.size. Records are written once, in
 * place; build() fills in the header and the CRC-32C (compressing the records first when
 * asked), without copying the records again when uncompressed.
 */
export class RecordBatchBuilder {
  private readonly memory: PooledBuffer;
  private readonly buffer: Buffer;
  private offset = BATCH_HEADER_SIZE;
  private count = 0;
  private baseTimestamp = 0;
  private maxTimestamp = 0;
  private built = false;

  /**
   * @param capacity the most bytes the batch may take uncompressed (batch.size); the first record is always accepted, so
   *   the capacity grows to fit it when it alone is larger.
   */
  constructor(
    private readonly settings: BatchSettings,
    capacity: number,
    first?: RecordInput,
    pool: MemoryPool = defaultMemoryPool,
  ) {
    const needed = first ? BATCH_HEADER_SIZE + recordSize(first, 0, 0) : 0;
    this.memory = pool.acquire(Math.max(capacity, needed, BATCH_HEADER_SIZE));
    this.buffer = this.memory.buffer;
    if (first && !this.tryAppend(first)) throw new Error('internal error: the first record did not fit its own batch');
  }

  get recordCount(): number {
    return this.count;
  }

  /** Bytes the batch takes so far, uncompressed. */
  get sizeInBytes(): number {
    return this.offset;
  }

  get capacity(): number {
    return this.buffer.length;
  }

  /** Appends the record if it fits; false (and nothing written) when it does not. */
  tryAppend(record: RecordInput): boolean {
    if (this.built) throw new Error('cannot append to a batch that has been built');
    const count = this.count;
    if (count === 0) {
      this.baseTimestamp = record.timestamp;
      this.maxTimestamp = record.timestamp;
    }
    const timestampDelta = record.timestamp - this.baseTimestamp;
    const key = record.key;
    const value = record.value;
    const keyLength = payloadLength(key);
    const valueLength = payloadLength(value);
    const body = bodySize(record, keyLength, valueLength, timestampDelta, count);
    const total = varintSize(body) + body;
    if (this.offset + total > this.buffer.length) return false;

    const buffer = this.buffer;
    let at = writeVarint(buffer, this.offset, body);
    buffer[at++] = 0; // record attributes: unused
    at = writeVarlong(buffer, at, timestampDelta);
    at = writeVarint(buffer, at, count);
    at = writePayload(buffer, at, key, keyLength);
    at = writePayload(buffer, at, value, valueLength);
    const headers = record.headers;
    if (headers === undefined || headers.length === 0) buffer[at++] = 0;
    else {
      at = writeVarint(buffer, at, headers.length);
      for (const header of headers) {
        const keyBytes = Buffer.byteLength(header.key, 'utf8');
        at = writeVarint(buffer, at, keyBytes);
        at += buffer.write(header.key, at, keyBytes, 'utf8');
        if (header.value === null) buffer[at++] = 1;
        else {
          at = writeVarint(buffer, at, header.value.length);
          buffer.set(header.value, at);
          at += header.value.length;
        }
      }
    }
    this.offset = at;
    this.count = count + 1;
    if (record.timestamp > this.maxTimestamp) this.maxTimestamp = record.timestamp;
    return true;
  }

  /** The records section as it will be compressed (a view of the batch's memory), or undefined when the batch is not compressed. */
  uncompressedRecords(): Buffer | undefined {
    if ((this.settings.compression ?? 'none') === 'none') return undefined;
    return this.buffer.subarray(BATCH_HEADER_SIZE, this.offset);
  }

  /**
   * Finishes the batch: header, optional compression, CRC. The builder takes no more records.
   * `compressedRecords`, when given, is uncompressedRecords() already compressed with the batch's codec and level (on another thread).
   */
  build(compressedRecords?: Buffer): BuiltBatch {
    if (this.built) throw new Error('a batch can be built once');
    if (this.count === 0) throw new Error('cannot build an empty batch');
    this.built = true;
    const settings = this.settings;
    const codec = settings.compression ?? 'none';
    const buffer = this.buffer;
    let attributes = COMPRESSION_CODES[codec];
    if (settings.transactional) attributes |= TRANSACTIONAL_FLAG;
    if (settings.isControl) attributes |= CONTROL_FLAG;

    let records: Buffer | undefined;
    try {
      records =
        codec === 'none'
          ? undefined
          : (compressedRecords ?? compress(codec, buffer.subarray(BATCH_HEADER_SIZE, this.offset), { level: settings.compressionLevel }));
    } catch (error) {
      this.memory.release(); // a failed build gives its memory back (discard() no longer can)
      throw error;
    }
    const size = records ? BATCH_HEADER_SIZE + records.length : this.offset;
    buffer.writeBigInt64BE(0n, OFFSETS.baseOffset);
    buffer.writeInt32BE(size - 12, OFFSETS.batchLength);
    buffer.writeInt32BE(settings.partitionLeaderEpoch ?? -1, OFFSETS.partitionLeaderEpoch);
    buffer[OFFSETS.magic] = 2;
    buffer.writeInt16BE(attributes, OFFSETS.attributes);
    buffer.writeInt32BE(this.count - 1, OFFSETS.lastOffsetDelta);
    buffer.writeBigInt64BE(BigInt(this.baseTimestamp), OFFSETS.baseTimestamp);
    buffer.writeBigInt64BE(BigInt(this.maxTimestamp), OFFSETS.maxTimestamp);
    buffer.writeBigInt64BE(settings.producerId ?? -1n, OFFSETS.producerId);
    buffer.writeInt16BE(settings.producerEpoch ?? -1, OFFSETS.producerEpoch);
    buffer.writeInt32BE(settings.baseSequence ?? -1, OFFSETS.baseSequence);
    buffer.writeInt32BE(this.count, OFFSETS.recordCount);

    const pieces = records ? [buffer.subarray(0, BATCH_HEADER_SIZE), records] : [buffer.subarray(0, this.offset)];
    let crc = crc32c(buffer.subarray(CRC_START, records ? BATCH_HEADER_SIZE : this.offset));
    if (records) crc = crc32c(records, crc);
    buffer.writeUInt32BE(crc, OFFSETS.crc);
    return { pieces, size, recordCount: this.count, release: () => this.memory.release() };
  }

  /** Gives the memory back without building (e.g. when the records were failed instead). */
  discard(): void {
    if (!this.built) {
      this.built = true;
      this.memory.release();
    }
  }
}

/** Writes a key or value field (its length, then its bytes) at `at`; returns the offset after it. */
function writePayload(buffer: Buffer, at: number, payload: RecordPayload, length: number): number {
  if (payload === null) {
    buffer[at] = 1; // zigzag(−1)
    return at + 1;
  }
  at = writeVarint(buffer, at, length);
  if (typeof payload === 'string') writeUtf8(buffer, at, payload, length);
  else buffer.set(payload, at);
  return at + length;
}
