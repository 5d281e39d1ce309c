import { KafkaWireError } from '../errors.js';
import { BATCH_HEADER_SIZE, CONTROL_FLAG, CRC_START, OFFSETS, TRANSACTIONAL_FLAG } from './batch-builder.js';
import { CompressionError, type CompressionName, compressionName, decompress } from './compression.js';
import { crc32c } from './crc32c.js';
import { type ReadVarint, readVarlong } from './record-varint.js';

/** A batch or record that cannot be read: what is wrong and where. */
export class CorruptRecordError extends KafkaWireError {
  override name = 'CorruptRecordError';
  constructor(
    readonly reason: string,
    readonly offset: number,
    options?: { cause?: unknown },
  ) {
    super(`corrupt record batch at byte ${offset}: ${reason}`, { cause: options?.cause });
  }
}

export interface ParsedHeader {
  key: string;
  value: Buffer | null;
}

export interface ParsedRecord {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: ParsedHeader[];
}

export interface ParseOptions {
  /** Most bytes a compressed batch may expand to; more is refused as a decompression bomb. */
  maxDecompressedBytes?: number;
  /** A Fetch answer may end in a batch cut short by the broker's size limit: skip it instead of failing. */
  ignoreTruncatedTail?: boolean;
}

export const DEFAULT_MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024;
/** The smallest record: length, attributes, timestamp delta, offset delta, key, value, header count. */
const MIN_RECORD_BYTES = 7;

/** One RecordBatch v2 whose header has been read and CRC checked; records() decodes its records on demand. */
export class RecordBatch {
  readonly baseOffset: bigint;
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly crc: number;
  readonly attributes: number;
  readonly compression: CompressionName;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: bigint;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;

  constructor(
    /** The whole batch, header included. */
    readonly bytes: Buffer,
    /** Where the batch starts in the buffer it was parsed from, for error messages. */
    readonly position: number,
    private readonly maxDecompressedBytes: number,
  ) {
    this.baseOffset = bytes.readBigInt64BE(OFFSETS.baseOffset);
    this.batchLength = bytes.readInt32BE(OFFSETS.batchLength);
    this.partitionLeaderEpoch = bytes.readInt32BE(OFFSETS.partitionLeaderEpoch);
    this.crc = bytes.readUInt32BE(OFFSETS.crc);
    this.attributes = bytes.readInt16BE(OFFSETS.attributes);
    try {
      this.compression = compressionName(this.attributes & 0x07);
    } catch (error) {
      throw new CorruptRecordError((error as Error).message, position + OFFSETS.attributes, { cause: error });
    }
    this.lastOffsetDelta = bytes.readInt32BE(OFFSETS.lastOffsetDelta);
    this.baseTimestamp = bytes.readBigInt64BE(OFFSETS.baseTimestamp);
    this.maxTimestamp = bytes.readBigInt64BE(OFFSETS.maxTimestamp);
    this.producerId = bytes.readBigInt64BE(OFFSETS.producerId);
    this.producerEpoch = bytes.readInt16BE(OFFSETS.producerEpoch);
    this.baseSequence = bytes.readInt32BE(OFFSETS.baseSequence);
    this.recordCount = bytes.readInt32BE(OFFSETS.recordCount);
  }

  get isTransactional(): boolean {
    return (this.attributes & TRANSACTIONAL_FLAG) !== 0;
  }

  get isControl(): boolean {
    return (this.attributes & CONTROL_FLAG) !== 0;
  }

  get timestampType(): 'create' | 'log-append' {
    return (this.attributes & 0x08) !== 0 ? 'log-append' : 'create';
  }

  /** Decodes the records one at a time (decompressing first when needed), checking every length against the bytes left. */
  *records(): Generator<ParsedRecord, void, undefined> {
    const fail = (reason: string, at: number): never => {
      throw new CorruptRecordError(reason, at);
    };
    let data = this.bytes.subarray(BATCH_HEADER_SIZE);
    let base = this.position + BATCH_HEADER_SIZE;
    if (this.compression !== 'none') {
      try {
        data = decompress(this.compression, data, this.maxDecompressedBytes);
      } catch (error) {
        if (error instanceof CompressionError)
          throw new CorruptRecordError(`${this.compression} records do not decompress: ${error.message}`, base, { cause: error });
        throw error;
      }
      base = 0; // offsets inside decompressed data are relative to it
    }
    if (this.recordCount < 0 || this.recordCount * MIN_RECORD_BYTES > data.length) {
      fail(`the batch claims ${this.recordCount} records, which cannot fit in ${data.length} bytes`, this.position + OFFSETS.recordCount);
    }
    const varint: ReadVarint = { value: 0, offset: 0 };
    const readInt = (at: number, end: number, what: string): number => {
      if (!readVarlong(data, at, end, varint)) fail(`${what} is not a valid varint`, base + at);
      return varint.value;
    };
    const readBytes = (at: number, end: number, what: string): Buffer | null => {
      const length = readInt(at, end, `${what} length`);
      const start = varint.offset;
      if (length === -1) return null;
      if (length < -1 || start + length > end) fail(`${what} length ${length} runs past the record's end`, base + at);
      varint.offset = start + length;
      return data.subarray(start, start + length);
    };

    let at = 0;
    for (let index = 0; index < this.recordCount; index++) {
      const length = readInt(at, data.length, 'record length');
      const start = varint.offset;
      const end = start + length;
      if (length < MIN_RECORD_BYTES - 1 || end > data.length)
        fail(`record ${index} claims ${length} bytes, ${data.length - start} are left`, base + at);
      let cursor = start + 1; // attributes: unused
      const timestampDelta = readInt(cursor, end, 'timestamp delta');
      cursor = varint.offset;
      const offsetDelta = readInt(cursor, end, 'offset delta');
      cursor = varint.offset;
      const key = readBytes(cursor, end, 'key');
      const value = readBytes(varint.offset, end, 'value');
      const headerCount = readInt(varint.offset, end, 'header count');
      cursor = varint.offset;
      if (headerCount < 0 || headerCount * 2 > end - cursor)
        fail(`record ${index} claims ${headerCount} headers in ${end - cursor} bytes`, base + cursor);
      const headers: ParsedHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const headerKey = readBytes(cursor, end, 'header key');
        if (headerKey === null) fail('a header key is null', base + cursor);
        const headerValue = readBytes(varint.offset, end, 'header value');
        cursor = varint.offset;
        headers.push({ key: (headerKey as Buffer).toString('utf8'), value: headerValue });
      }
      if (cursor !== end) fail(`record ${index} has ${end - cursor} bytes after its last field`, base + cursor);
      at = end;
      yield { offset: this.baseOffset + BigInt(offsetDelta), timestamp: this.baseTimestamp + BigInt(timestampDelta), key, value, headers };
    }
    if (at !== data.length) fail(`${data.length - at} bytes follow the batch's ${this.recordCount} records`, base + at);
  }
}

const hex32 = (value: number) => value.toString(16).padStart(8, '0');

/**
 * Reads every RecordBatch v2 in `data` (a Fetch answer's records, or one batch), checking
 * lengths, magic and CRC-32C before handing a batch out.
 */
export function parseRecordBatches(data: Buffer, options: ParseOptions = {}): RecordBatch[] {
  const batches: RecordBatch[] = [];
  const maxDecompressed = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  let at = 0;
  while (at < data.length) {
    const left = data.length - at;
    if (left < BATCH_HEADER_SIZE) {
      if (options.ignoreTruncatedTail) break;
      throw new CorruptRecordError(`${left} bytes are too few for a batch header (${BATCH_HEADER_SIZE})`, at);
    }
    const batchLength = data.readInt32BE(at + OFFSETS.batchLength);
    const size = batchLength + 12;
    if (batchLength < BATCH_HEADER_SIZE - 12)
      throw new CorruptRecordError(`batch length ${batchLength} is shorter than a batch header`, at + OFFSETS.batchLength);
    if (size > left) {
      if (options.ignoreTruncatedTail) break;
      throw new CorruptRecordError(`the batch claims ${size} bytes, but only ${left} are left`, at + OFFSETS.batchLength);
    }
    const magic = data.readInt8(at + OFFSETS.magic);
    if (magic !== 2) throw new CorruptRecordError(`magic ${magic} is not 2 (only RecordBatch v2 is supported)`, at + OFFSETS.magic);
    const bytes = data.subarray(at, at + size);
    const stored = bytes.readUInt32BE(OFFSETS.crc);
    const computed = crc32c(bytes.subarray(CRC_START));
    if (stored !== computed) {
      throw new CorruptRecordError(
        `CRC-32C mismatch: the batch says ${hex32(stored)}, its bytes give ${hex32(computed)}`,
        at + OFFSETS.crc,
      );
    }
    batches.push(new RecordBatch(bytes, at, maxDecompressed));
    at += size;
  }
  return batches;
}
