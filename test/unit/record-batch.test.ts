import { describe, expect, test } from 'vitest';
import { OFFSETS, RecordBatchBuilder, type RecordInput, recordSize } from '../../src/records/batch-builder.js';
import { CorruptRecordError, type ParsedRecord, parseRecordBatches } from '../../src/records/batch-parser.js';
import type { CompressionName } from '../../src/records/compression.js';
import { crc32c } from '../../src/records/crc32c.js';
import { MemoryPool, POISON_BYTE } from '../../src/records/memory-pool.js';
import { Random } from '../support/random.js';

const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const T0 = 1_763_700_000_000;

function randomRecord(random: Random, index: number): RecordInput {
  return {
    key: random.chance(0.2) ? null : random.bytes(random.int(0, 20)),
    value: random.chance(0.05) ? null : random.bytes(random.chance(0.05) ? random.int(1000, 5000) : random.int(0, 120)),
    headers: random.chance(0.3)
      ? Array.from({ length: random.int(1, 3) }, (_, h) => ({
          key: random.pick(['trace', 'ünïcode', `h${h}`]),
          value: random.chance(0.2) ? null : random.bytes(random.int(0, 10)),
        }))
      : undefined,
    timestamp: T0 + index * random.int(-5, 50),
  };
}

function expected(record: RecordInput, offset: number): ParsedRecord {
  return {
    offset: BigInt(offset),
    timestamp: BigInt(record.timestamp),
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value === null ? null : Buffer.from(record.value),
    headers: (record.headers ?? []).map((header) => ({ key: header.key, value: header.value === null ? null : Buffer.from(header.value) })),
  };
}

/** Rewrites the CRC after a deliberate change, so a test reaches the check behind it. */
function fixCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(OFFSETS.attributes)), OFFSETS.crc);
  return batch;
}

function build(records: RecordInput[], compression: CompressionName = 'none', capacity = 1 << 20): Buffer {
  const builder = new RecordBatchBuilder({ compression, producerId: 42n, producerEpoch: 3, baseSequence: 7 }, capacity);
  for (const record of records) expect(builder.tryAppend(record)).toBe(true);
  const built = builder.build();
  const bytes = Buffer.concat(built.pieces);
  expect(bytes.length).toBe(built.size);
  built.release();
  return bytes;
}

describe('RecordBatch v2 builder and parser', () => {
  test.each(CODECS)('%s: random records round-trip, with the header fields as set', (codec) => {
    const random = new Random(0xb47c4 + codec.length);
    for (let round = 0; round < 30; round++) {
      const records = Array.from({ length: random.int(1, 60) }, (_, i) => randomRecord(random, i));
      const [batch, ...rest] = parseRecordBatches(build(records, codec));
      expect(rest).toEqual([]);
      expect(batch!.compression).toBe(codec);
      expect(batch!.recordCount).toBe(records.length);
      expect(batch!.lastOffsetDelta).toBe(records.length - 1);
      expect(batch!.producerId).toBe(42n);
      expect(batch!.producerEpoch).toBe(3);
      expect(batch!.baseSequence).toBe(7);
      expect(batch!.baseTimestamp).toBe(BigInt(records[0]!.timestamp));
      expect(batch!.maxTimestamp).toBe(BigInt(Math.max(...records.map((record) => record.timestamp))));
      expect([...batch!.records()]).toEqual(records.map(expected));
    }
  });

  test('several batches back to back parse in order', () => {
    const random = new Random(5);
    const groups = [1, 2, 3].map((n) => Array.from({ length: n * 4 }, (_, i) => randomRecord(random, i)));
    const batches = parseRecordBatches(Buffer.concat(groups.map((records, i) => build(records, CODECS[i]!))));
    expect(batches.map((batch) => [...batch.records()].length)).toEqual([4, 8, 12]);
  });

  test('exact size tracking: the batch closes exactly at its capacity', () => {
    const record: RecordInput = { key: null, value: Buffer.alloc(100, 1), timestamp: T0 };
    const size = recordSize(record, 0, 0);
    const capacity = 61 + size * 10;
    const builder = new RecordBatchBuilder({}, capacity);
    let appended = 0;
    while (builder.tryAppend({ ...record })) appended++;
    // Offset deltas grow from 0..9 (one varint byte each), so exactly ten records of equal size fit.
    expect(appended).toBe(10);
    expect(builder.sizeInBytes).toBe(capacity);
    const built = builder.build();
    expect(built.size).toBe(capacity);
    built.release();
  });

  test('a record larger than the batch size gets a batch of its own size', () => {
    const big: RecordInput = { key: Buffer.from('k'), value: Buffer.alloc(50_000, 7), timestamp: T0 };
    const builder = new RecordBatchBuilder({}, 16_384, big);
    expect(builder.recordCount).toBe(1);
    expect(builder.tryAppend({ key: null, value: Buffer.alloc(1), timestamp: T0 })).toBe(false);
    const built = builder.build();
    expect([...parseRecordBatches(Buffer.concat(built.pieces))[0]!.records()][0]!.value!.length).toBe(50_000);
    built.release();
  });

  test('flags: transactional and control bits, and the magic byte', () => {
    const builder = new RecordBatchBuilder({ transactional: true, isControl: true }, 1024);
    builder.tryAppend({ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]), timestamp: T0 });
    const built = builder.build();
    const [batch] = parseRecordBatches(Buffer.concat(built.pieces));
    expect(batch!.isTransactional).toBe(true);
    expect(batch!.isControl).toBe(true);
    expect(batch!.timestampType).toBe('create');
    expect(Buffer.concat(built.pieces)[OFFSETS.magic]).toBe(2);
    built.release();
  });

  test('CRC-32C matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const long = Buffer.alloc(4096, 0x61);
    expect(crc32c(long.subarray(2000), crc32c(long.subarray(0, 2000)))).toBe(crc32c(long));
  });
});

describe('string keys and values', () => {
  const TEXTS = ['', 'key-1', 'ünïcödé', '日本語', '🔑', 'lone \uD800 surrogate', 'v'.repeat(3000)];

  test.each(CODECS)('%s: a batch of strings is byte for byte the batch of their UTF-8 bytes', (codec) => {
    const asText: RecordInput[] = TEXTS.flatMap((key, i) => [
      { key, value: TEXTS[(i + 3) % TEXTS.length] as string, timestamp: T0 + i },
      { key: null, value: key, timestamp: T0 + i },
      { key, value: null, timestamp: T0 + i },
    ]);
    const asBytes = asText.map((record) => ({
      ...record,
      key: typeof record.key === 'string' ? Buffer.from(record.key) : record.key,
      value: typeof record.value === 'string' ? Buffer.from(record.value) : record.value,
    }));
    expect(asText.map((record) => recordSize(record, 0, 0))).toEqual(asBytes.map((record) => recordSize(record, 0, 0)));
    expect(build(asText, codec).equals(build(asBytes, codec))).toBe(true);
    expect([...parseRecordBatches(build(asText, codec))[0]!.records()]).toEqual(asBytes.map(expected));
  });

  test('the batch closes at its capacity by UTF-8 bytes, not characters', () => {
    const record: RecordInput = { key: null, value: 'é'.repeat(100), timestamp: T0 }; // 200 bytes, 100 characters
    const builder = new RecordBatchBuilder({}, 61 + recordSize(record, 0, 0) + recordSize(record, 0, 1) - 1);
    expect(builder.tryAppend(record)).toBe(true);
    expect(builder.tryAppend(record)).toBe(false);
    builder.discard();
  });
});

describe('corrupt batches give a CorruptRecordError that says what is wrong', () => {
  const good = () =>
    build([
      { key: Buffer.from('k'), value: Buffer.from('value'), timestamp: T0 },
      { key: null, value: Buffer.from('v2'), timestamp: T0 + 1 },
    ]);

  test('a flipped byte fails the CRC', () => {
    const bytes = good();
    bytes[bytes.length - 3]! ^= 0xff;
    expect(() => parseRecordBatches(bytes)).toThrow(/CRC-32C mismatch/);
  });

  test('truncated input, and a length beyond the buffer', () => {
    const bytes = good();
    expect(() => parseRecordBatches(bytes.subarray(0, 40))).toThrow(/too few for a batch header/);
    expect(() => parseRecordBatches(bytes.subarray(0, bytes.length - 1))).toThrow(/claims \d+ bytes, but only \d+ are left/);
    expect(parseRecordBatches(bytes.subarray(0, bytes.length - 1), { ignoreTruncatedTail: true })).toEqual([]);
  });

  test('an unsupported magic byte', () => {
    const bytes = good();
    bytes[OFFSETS.magic] = 1;
    expect(() => parseRecordBatches(bytes)).toThrow(/magic 1 is not 2/);
  });

  test('an unknown compression codec', () => {
    const bytes = good();
    bytes.writeInt16BE(5, OFFSETS.attributes);
    expect(() => parseRecordBatches(fixCrc(bytes))).toThrow(CorruptRecordError);
    expect(() => parseRecordBatches(fixCrc(bytes))).toThrow(/unknown compression codec 5/);
  });

  test('a record count or record length that lies', () => {
    const counted = good();
    counted.writeInt32BE(1000, OFFSETS.recordCount);
    expect(() => [...parseRecordBatches(fixCrc(counted))[0]!.records()]).toThrow(/claims 1000 records/);
    const lengthened = good();
    lengthened[61] = 0x7e; // first record's length varint: 63 bytes, past the batch end
    expect(() => [...parseRecordBatches(fixCrc(lengthened))[0]!.records()]).toThrow(/record 0 claims 63 bytes/);
  });

  test.each(CODECS.filter((codec) => codec !== 'none'))('%s: a decompression bomb past the limit is refused', (codec) => {
    const bomb = build([{ key: null, value: Buffer.alloc(4 * 1024 * 1024), timestamp: T0 }], codec, 8 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const [batch] = parseRecordBatches(bomb, { maxDecompressedBytes: 1024 * 1024 });
    expect(() => [...batch!.records()]).toThrow(CorruptRecordError);
    expect(() => [...batch!.records()]).toThrow(new RegExp(`${codec} records do not decompress`));
  });

  test('mutated batches (CRC fixed up) give records or a CorruptRecordError, nothing else', () => {
    const random = new Random(99);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const codec = CODECS[i % CODECS.length]!;
      const bytes = build(
        Array.from({ length: random.int(1, 5) }, (_, n) => randomRecord(random, n)),
        codec,
      );
      for (let flips = random.int(1, 3); flips > 0; flips--) bytes[random.int(OFFSETS.attributes, bytes.length - 1)] = random.int(0, 255);
      try {
        for (const batch of parseRecordBatches(fixCrc(bytes))) [...batch.records()];
      } catch (error) {
        if (!(error instanceof CorruptRecordError)) throw error;
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(500);
  });
});

describe('pooled memory', () => {
  test('released memory is reused, poisoned in debug mode, and never leaks into a later batch', () => {
    const pool = new MemoryPool({ poison: true });
    const secret = Buffer.from('SECRET-'.repeat(300));
    const first = new RecordBatchBuilder({}, 4096, { key: null, value: secret, timestamp: T0 }, pool).build();
    const firstMemory = first.pieces[0]!.buffer;
    first.release();
    // After release the block holds poison only.
    expect(
      Buffer.from(firstMemory)
        .subarray(0, 4096)
        .every((byte) => byte === POISON_BYTE),
    ).toBe(true);

    const second = new RecordBatchBuilder({}, 4096, { key: null, value: Buffer.from('small'), timestamp: T0 }, pool).build();
    expect(second.pieces[0]!.buffer).toBe(firstMemory); // the same block, reused
    const bytes = Buffer.concat(second.pieces);
    expect(bytes.includes('SECRET')).toBe(false);
    expect(bytes.includes(Buffer.alloc(8, POISON_BYTE))).toBe(false);
    expect([...parseRecordBatches(bytes)[0]!.records()].map((record) => String(record.value))).toEqual(['small']);
    second.release();
    expect(pool.outstanding).toBe(0);
    expect(() => second.release()).toThrow(/released twice/);
  });
});
