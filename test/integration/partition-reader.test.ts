import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { UnknownTopicOrPartitionError } from '../../src/cluster/errors.js';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionError } from '../../src/connection/errors.js';
import { type ConsumedRecord, PartitionReader, type PartitionReaderOptions, readPartition } from '../../src/consumer/partition-reader.js';
import {
  AddPartitionsToTxn,
  EndTxn,
  Fetch,
  type FetchRequest,
  type FetchResponse,
  FindCoordinator,
  InitProducerId,
  ListOffsets,
  Produce,
} from '../../src/protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../../src/protocol/kafka-errors.js';
import { type BatchSettings, RecordBatchBuilder, type RecordInput } from '../../src/records/batch-builder.js';
import type { CompressionName } from '../../src/records/compression.js';
import { crc32c } from '../../src/records/crc32c.js';
import { encodeProduceFrame } from '../../src/records/produce-frame.js';
import { testKafka } from '../helpers/kafka.js';
import { produceBatch } from '../support/produce-fetch.js';
import { uniqueTopic } from '../support/topics.js';

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  admin = new Admin(cluster);
});
afterAll(() => cluster?.close());

/** A record batch's header (v2) before its records: offset, length, epoch, magic, CRC, attributes and the rest. */
const BATCH_HEADER_BYTES = 61;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Records are stamped near now: the broker deletes records older than its retention (7 days by
 * default) whenever its retention pass runs, and that may be in the middle of a test.
 */
const STAMP = Date.now();

interface Written {
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
  timestamp: number;
}

/** A recognisable record: some have null keys or values, some headers, values of varying length. */
function record(label: string, i: number): Written {
  return {
    key: i % 7 === 3 ? null : Buffer.from(`${label}-key-${i}`),
    value: i % 11 === 5 ? null : Buffer.from(`${label}-value-${i}-${'x'.repeat(i % 97)}`),
    headers:
      i % 3 === 0
        ? [
            { key: 'h', value: Buffer.from(`hv-${i}`) },
            { key: 'null', value: null },
          ]
        : [],
    timestamp: STAMP + i,
  };
}

function records(label: string, count: number, first = 0): Written[] {
  return Array.from({ length: count }, (_, i) => record(label, first + i));
}

/** Writes the records as batches of at most `perBatch` records; returns the base offset of each batch. */
async function write(
  topic: string,
  written: Written[],
  options: { compression?: CompressionName; perBatch?: number; capacity?: number; settings?: BatchSettings } = {},
): Promise<bigint[]> {
  const perBatch = options.perBatch ?? 50;
  const bases: bigint[] = [];
  let at = 0;
  while (at < written.length) {
    const builder = new RecordBatchBuilder({ compression: options.compression ?? 'none', ...options.settings }, options.capacity ?? 16384);
    while (at < written.length && builder.recordCount < perBatch && builder.tryAppend(written[at] as RecordInput)) at++;
    bases.push(await produceBatch(cluster, topic, 0, builder.build()));
  }
  return bases;
}

async function newTopic(label: string): Promise<string> {
  const topic = uniqueTopic(label);
  await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
  return topic;
}

async function collect(options: PartitionReaderOptions): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  for await (const consumed of new PartitionReader(cluster, options)) out.push(consumed);
  return out;
}

function expectSame(consumed: ConsumedRecord[], written: Written[], firstOffset: bigint): void {
  expect(consumed.map((r) => r.offset)).toEqual(written.map((_, i) => firstOffset + BigInt(i)));
  expect(consumed.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: Number(r.timestamp) }))).toEqual(written);
}

const originalRequest = Connection.prototype.request;

/** Replaces Connection.request for Fetch with `fetch(connection, request, call)` while `body` runs; `call` sends it. */
async function withFetch<T>(
  fetch: (connection: Connection, request: FetchRequest, call: () => Promise<FetchResponse>) => Promise<FetchResponse>,
  body: () => Promise<T>,
): Promise<T> {
  const spy = vi.spyOn(Connection.prototype, 'request').mockImplementation(function (this: Connection, api, request, options) {
    const call = () => originalRequest.call(this, api, request, options);
    return (api === Fetch ? fetch(this, request as FetchRequest, call as () => Promise<FetchResponse>) : call()) as never;
  });
  try {
    return await body();
  } finally {
    spy.mockRestore();
  }
}

/** Waits until the reader has resolved where it starts (its position stops being −1). */
async function started(reader: PartitionReader): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (reader.position < 0n) {
    if (Date.now() > deadline) throw new Error('the reader did not resolve its start offset');
    await sleep(10);
  }
}

describe('PartitionReader', () => {
  const codecs: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
  let topic: string;
  let written: Written[];

  beforeAll(async () => {
    topic = await newTopic('reader');
    written = [];
    // 4 batches of 50 per codec, alternating, so compressed and uncompressed batches interleave.
    for (let round = 0; round < 4; round++) {
      for (const compression of codecs) {
        const batch = records('m', 50, written.length);
        await write(topic, batch, { compression });
        written.push(...batch);
      }
    }
  });

  test('reads everything from earliest, in order, across many batches and every codec', async () => {
    const consumed = await collect({ topic, partition: 0, until: BigInt(written.length), maxBytes: 16 * 1024 });
    expect(consumed).toHaveLength(1000);
    expectSame(consumed, written, 0n);
    expect(consumed.every((r) => r.topic === topic && r.partition === 0)).toBe(true);
  });

  test('starts at a batch boundary and inside a (compressed) batch', async () => {
    // Batch 1 (offsets 50-99) is gzip: starting at 73 means skipping the first 23 records of a returned batch.
    for (const from of [50n, 73n, 999n]) {
      const reader = new PartitionReader(cluster, { topic, partition: 0, from, until: 'end' });
      expect(reader.position).toBe(from);
      const consumed: ConsumedRecord[] = [];
      for await (const r of reader) consumed.push(r);
      expectSame(consumed, written.slice(Number(from)), from);
      expect(reader.position).toBe(1000n);
    }
  });

  test('from a timestamp: the first record that late; past the last one, the end', async () => {
    // Record i is stamped STAMP + i: 73 is inside a compressed batch.
    expectSame(await collect({ topic, partition: 0, from: { timestamp: BigInt(STAMP + 73) }, until: 'end' }), written.slice(73), 73n);
    const late = new PartitionReader(cluster, { topic, partition: 0, from: { timestamp: BigInt(STAMP + 86_400_000) }, until: 'end' });
    for await (const r of late) expect.unreachable(`nothing is that late, but offset ${r.offset} came`);
    expect(late.position).toBe(1000n);
    expect(() => new PartitionReader(cluster, { topic, partition: 0, from: { timestamp: -5n } })).toThrow(RangeError);
  });

  test('batches() hands out whole batches from the one holding the position, headers read', async () => {
    const reader = new PartitionReader(cluster, { topic, partition: 0, from: 60n, until: 'end' });
    const batches = [];
    for await (const batch of reader.batches()) batches.push(batch);
    expect(batches.map((batch) => batch.baseOffset)).toEqual(Array.from({ length: 19 }, (_, i) => BigInt(50 + 50 * i)));
    expect(batches.map((batch) => batch.compression)).toEqual(Array.from({ length: 19 }, (_, i) => codecs[(i + 1) % 5]));
    expect(batches.every((batch) => batch.recordCount === 50)).toBe(true);
    expect(reader.position).toBe(1000n);
  });

  test('until stops at an offset in the middle of a batch', async () => {
    const consumed = await collect({ topic, partition: 0, from: 120n, until: 133n });
    expectSame(consumed, written.slice(120, 133), 120n);
  });

  test('breaking out of the loop leaves the position after the last record handed out', async () => {
    const reader = new PartitionReader(cluster, { topic, partition: 0 });
    let count = 0;
    for await (const r of reader) {
      expect(r.offset).toBe(BigInt(count));
      if (++count === 10) break;
    }
    expect(reader.position).toBe(10n);
    // Iterating again continues from there.
    for await (const r of reader) {
      expect(r.offset).toBe(10n);
      break;
    }
  });

  test('a zstd batch whose records are in several frames, as RFC 8878 allows, is read whole', async () => {
    // zstdDecompressSync stops after a section's first frame; the broker (zstd-jni) and Java's consumer read them all.
    const frames = await newTopic('zstd-frames');
    const batchRecords = records('f', 60, 0);
    const builder = new RecordBatchBuilder({}, 1 << 20);
    for (const one of batchRecords) expect(builder.tryAppend(one as RecordInput)).toBe(true);
    const built = builder.build();
    const plain = Buffer.concat(built.pieces);
    built.release();
    const section = plain.subarray(BATCH_HEADER_BYTES);
    const zlib = process.getBuiltinModule('node:zlib');
    const cut = section.length >> 1; // inside a record: the frames are one byte stream
    const batch = Buffer.concat([
      plain.subarray(0, BATCH_HEADER_BYTES),
      zlib.zstdCompressSync(section.subarray(0, cut)),
      zlib.zstdCompressSync(section.subarray(cut)),
    ]);
    batch.writeInt32BE(batch.length - 12, 8); // batchLength: what follows baseOffset and itself
    batch.writeInt16BE(plain.readInt16BE(21) | 4, 21); // attributes: zstd
    batch.writeUInt32BE(crc32c(batch.subarray(21)), 17); // the CRC covers attributes onward
    await produceBatch(cluster, frames, 0, { pieces: [batch], size: batch.length, recordCount: batchRecords.length, release: () => {} });
    expectSame(await readPartition(cluster, frames, 0), batchRecords, 0n);
  });

  test('readPartition returns exactly what was written, from earliest or an offset', async () => {
    expectSame(await readPartition(cluster, topic, 0), written, 0n);
    expectSame(await readPartition(cluster, topic, 0, 990n), written.slice(990), 990n);
    expect(await readPartition(cluster, topic, 0, 1000n)).toEqual([]);
  });

  test("'latest' reads only records written after the start", async () => {
    const live = await newTopic('latest');
    await write(live, records('old', 10));
    const reader = new PartitionReader(cluster, { topic: live, partition: 0, from: 'latest', maxWaitMs: 200 });
    const iterator = reader[Symbol.asyncIterator]();
    const first = iterator.next();
    await started(reader);
    expect(reader.position).toBe(10n);
    const fresh = records('new', 5);
    await write(live, fresh, { compression: 'lz4' });
    const consumed: ConsumedRecord[] = [];
    for (let result = await first; ; result = await iterator.next()) {
      expect(result.done).toBe(false);
      consumed.push(result.value as ConsumedRecord);
      if (consumed.length === 5) break;
    }
    await iterator.return?.();
    expectSame(consumed, fresh, 10n);
  });

  test("until: 'end' stops at the end offset there was at the start, while more is written", async () => {
    const busy = await newTopic('until-end');
    const before = records('b', 100);
    await write(busy, before, { perBatch: 10 });
    const consumed: ConsumedRecord[] = [];
    let writing: Promise<unknown> | undefined;
    for await (const r of new PartitionReader(cluster, { topic: busy, partition: 0, until: 'end', maxBytes: 1024 })) {
      consumed.push(r);
      if (consumed.length === 1) writing = write(busy, records('after', 50));
      if (consumed.length === 50) await writing;
    }
    expectSame(consumed, before, 0n);
    expect((await readPartition(cluster, busy, 0)).length).toBe(150);
  });

  test('an AbortSignal ends an idle read promptly', async () => {
    const idle = await newTopic('abort');
    await write(idle, records('i', 3));
    const controller = new AbortController();
    const reader = new PartitionReader(cluster, { topic: idle, partition: 0, maxWaitMs: 10_000, signal: controller.signal });
    const consumed: ConsumedRecord[] = [];
    const done = (async () => {
      for await (const r of reader) consumed.push(r);
    })();
    // Let it read what is there and settle into a long poll on the idle partition.
    while (consumed.length < 3) await sleep(10);
    await sleep(300);
    const abortedAt = Date.now();
    controller.abort();
    await done;
    expect(Date.now() - abortedAt).toBeLessThan(2000);
    expect(consumed.map((r) => r.offset)).toEqual([0n, 1n, 2n]);
    expect(reader.position).toBe(3n);

    // Already aborted: ends at once, without a request.
    const early = await collect({ topic: idle, partition: 0, signal: AbortSignal.abort() });
    expect(early).toEqual([]);
  });

  test('an idle partition is not polled in a busy loop: the broker holds each Fetch for maxWaitMs', async () => {
    const idle = await newTopic('idle');
    const maxWaitMs = 300;
    const wantedEmptyAnswers = 3;
    const fetches: { maxWaitMs: number; minBytes: number; tookMs: number; outcome: 'empty' | 'records' | 'error' }[] = [];
    const emptyAnswers = () => fetches.filter((fetch) => fetch.outcome === 'empty');
    // The read lasts as long as the assertions need: until the third empty answer (60 s at most).
    const enough = new AbortController();
    const signal = AbortSignal.any([enough.signal, AbortSignal.timeout(60_000)]);
    await withFetch(
      async (_connection, request, call) => {
        // Only this reader's fetches count: a reader another test left behind may still be polling its own topic.
        if (request.topics[0]?.topic !== idle) return call();
        const startedAt = performance.now();
        let outcome: 'empty' | 'records' | 'error' = 'error';
        try {
          const response = await call();
          const partition = response.responses[0]?.partitions[0];
          if (response.errorCode === ErrorCode.NONE && partition?.errorCode === ErrorCode.NONE) {
            outcome = partition.records?.length ? 'records' : 'empty';
          }
          return response;
        } finally {
          fetches.push({ maxWaitMs: request.maxWaitMs, minBytes: request.minBytes, tookMs: performance.now() - startedAt, outcome });
          if (emptyAnswers().length >= wantedEmptyAnswers) enough.abort();
        }
      },
      async () => {
        const reader = new PartitionReader(cluster, { topic: idle, partition: 0, maxWaitMs, signal });
        for await (const r of reader) throw new Error(`unexpected record at ${r.offset}`);
        expect(reader.position).toBe(0n);
      },
    );
    expect(emptyAnswers().length, `empty answers within 60 s: ${JSON.stringify(fetches)}`).toBe(wantedEmptyAnswers);
    // Every Fetch asks the broker to hold it until there is a byte to return or maxWaitMs has passed…
    for (const fetch of fetches) expect(fetch).toMatchObject({ maxWaitMs, minBytes: 1 });
    // …and the broker did: no empty answer came back early, as one would to a busy loop.
    for (const fetch of emptyAnswers()) expect(fetch.tookMs).toBeGreaterThanOrEqual(maxWaitMs - 5);
  });

  test('an offset past the end is OFFSET_OUT_OF_RANGE, naming topic, partition and offset', async () => {
    const error = await collect({ topic, partition: 0, from: 5000n }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KafkaProtocolError);
    expect((error as KafkaProtocolError).code).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(String(error)).toContain(`topic ${topic} partition 0 at offset 5000`);
  });

  test('an unknown topic or partition is an UnknownTopicOrPartitionError, at once', async () => {
    const startedAt = Date.now();
    const name = uniqueTopic('missing');
    const missing = await collect({ topic: name, partition: 0 }).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(UnknownTopicOrPartitionError);
    expect((missing as UnknownTopicOrPartitionError).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((missing as UnknownTopicOrPartitionError).retriable).toBe(false);
    expect(String(missing)).toContain(`topic "${name}" does not exist`);
    const partition = await collect({ topic, partition: 7 }).catch((caught: unknown) => caught);
    expect(partition).toBeInstanceOf(UnknownTopicOrPartitionError);
    expect(String(partition)).toContain(`partition 7 of topic "${topic}" does not exist`);
    expect(Date.now() - startedAt).toBeLessThan(5000);
  });

  test('a batch larger than maxBytes is still read', async () => {
    const large = await newTopic('large');
    const big = Array.from(
      { length: 6 },
      (_, i): Written => ({ key: Buffer.from(`big-${i}`), value: Buffer.alloc(40_000, i + 1), headers: [], timestamp: STAMP }),
    );
    const small = records('s', 5);
    await write(large, small.slice(0, 2));
    await write(large, big, { capacity: 512 * 1024, perBatch: 100 });
    await write(large, small.slice(2));
    const consumed = await collect({ topic: large, partition: 0, until: 'end', maxBytes: 4096 });
    expectSame(consumed, [...small.slice(0, 2), ...big, ...small.slice(2)], 0n);
  });
});

describe('recovery (faults injected into the Fetch answers)', () => {
  let topic: string;
  let written: Written[];

  beforeAll(async () => {
    topic = await newTopic('faults');
    written = records('f', 60);
    await write(topic, written, { perBatch: 20, compression: 'snappy' });
  });

  test('a lost connection: metadata is refreshed and the fetch retried on a new connection', async () => {
    let fetches = 0;
    const refreshesBefore = cluster.metadata.refreshCount;
    const consumed = await withFetch(
      (connection, _request, call) => {
        if (++fetches === 2) {
          const pending = call();
          connection.close(new ConnectionError(connection.label, 'injected connection loss'));
          return pending;
        }
        return call();
      },
      () => collect({ topic, partition: 0, until: 'end', maxBytes: 600 }),
    );
    expectSame(consumed, written, 0n);
    expect(fetches).toBeGreaterThan(2);
    expect(cluster.metadata.refreshCount).toBeGreaterThan(refreshesBefore);
  });

  test.each([
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.FENCED_LEADER_EPOCH,
    ErrorCode.UNKNOWN_LEADER_EPOCH,
    ErrorCode.LEADER_NOT_AVAILABLE,
  ])('error %i: metadata is refreshed and the fetch retried', async (code) => {
    let fetches = 0;
    const refreshesBefore = cluster.metadata.refreshCount;
    const consumed = await withFetch(
      async (_connection, _request, call) => {
        const response = await call();
        if (++fetches <= 2)
          for (const partition of response.responses[0]!.partitions) Object.assign(partition, { errorCode: code, records: null });
        return response;
      },
      () => collect({ topic, partition: 0, until: 'end' }),
    );
    expectSame(consumed, written, 0n);
    expect(fetches).toBe(3);
    expect(cluster.metadata.refreshCount - refreshesBefore).toBeGreaterThanOrEqual(1);
  });

  test('a broker that holds to partitionMaxBytes strictly: the limit grows until a whole batch fits', async () => {
    const large = await newTopic('strict');
    const big = [{ key: Buffer.from('big'), value: Buffer.alloc(50_000, 7), headers: [], timestamp: STAMP }];
    await write(large, big, { capacity: 128 * 1024 });
    const asked: number[] = [];
    const consumed = await withFetch(
      async (_connection, request, call) => {
        const limit = request.topics[0]!.partitions[0]!.partitionMaxBytes;
        asked.push(limit);
        const response = await call();
        // Cut the answer to the limit, as a size-strict broker would.
        for (const partition of response.responses[0]!.partitions)
          if (partition.records && partition.records.length > limit) partition.records = partition.records.subarray(0, limit);
        return response;
      },
      () => collect({ topic: large, partition: 0, until: 'end', maxBytes: 10_000 }),
    );
    expectSame(consumed, big, 0n);
    expect(asked[0]).toBe(10_000);
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked.at(-1)).toBeGreaterThanOrEqual(50_000);
  });
});

describe('transactions', () => {
  let topic: string;
  /** Offsets: 0-4 plain, 5-9 committed txn + marker 10, 11-15 aborted txn + marker 16, 17-19 plain. */
  let plainA: Written[];
  let committed: Written[];
  let aborted: Written[];
  let plainB: Written[];

  beforeAll(async () => {
    topic = await newTopic('txn');
    plainA = records('plain-a', 5);
    committed = records('committed', 5);
    aborted = records('aborted', 5);
    plainB = records('plain-b', 3);
    await write(topic, plainA);
    await transaction(topic, committed, true);
    await transaction(topic, aborted, false);
    await write(topic, plainB, { compression: 'zstd' });
  });

  test('a client-written control batch is refused by the broker', async () => {
    const builder = new RecordBatchBuilder(
      { isControl: true, transactional: true, producerId: 1n, producerEpoch: 0, baseSequence: 0 },
      1024,
    );
    builder.tryAppend({ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]), timestamp: Date.now() });
    await expect(produceBatch(cluster, topic, 0, builder.build())).rejects.toThrow(/error code/);
  });

  test('read_uncommitted skips the markers, keeps the aborted records, and moves past the markers', async () => {
    const consumed = await collect({ topic, partition: 0, until: 'end' });
    expect(consumed.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 11n, 12n, 13n, 14n, 15n, 17n, 18n, 19n]);
    expect(consumed.map((r) => r.value)).toEqual([...plainA, ...committed, ...aborted, ...plainB].map((r) => r.value));
  });

  test('read_committed also drops the aborted transaction', async () => {
    const reader = new PartitionReader(cluster, { topic, partition: 0, until: 'end', isolation: 'read_committed' });
    const consumed: ConsumedRecord[] = [];
    for await (const r of reader) consumed.push(r);
    expect(consumed.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 17n, 18n, 19n]);
    expect(consumed.map((r) => r.value)).toEqual([...plainA, ...committed, ...plainB].map((r) => r.value));
    expect(reader.position).toBe(20n);
  });

  test('starting on a marker skips it', async () => {
    const consumed = await collect({ topic, partition: 0, from: 10n, until: 13n });
    expect(consumed.map((r) => r.offset)).toEqual([11n, 12n]);
  });
});

/** One transaction written with raw requests (FindCoordinator, InitProducerId, AddPartitionsToTxn v≤3, Produce, EndTxn v≤4). */
async function transaction(topic: string, written: Written[], commit: boolean): Promise<void> {
  const transactionalId = `${topic}-${commit ? 'commit' : 'abort'}`;
  const retry = async <T>(what: string, call: () => Promise<T>, errorOf: (result: T) => number): Promise<T> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const result = await call();
      const code = errorOf(result);
      if (code === ErrorCode.NONE) return result;
      const retriable = [
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        ErrorCode.NOT_COORDINATOR,
        ErrorCode.CONCURRENT_TRANSACTIONS,
      ].includes(code as never);
      if (!retriable || Date.now() > deadline) throw new Error(`${what} failed with error code ${code}`);
      await sleep(200);
    }
  };
  const found = await retry(
    'FindCoordinator',
    async () => {
      const any = await cluster.anyConnection();
      const version = any.version(FindCoordinator);
      const request = version >= 4 ? { keyType: 1, coordinatorKeys: [transactionalId] } : { key: transactionalId, keyType: 1 };
      return any.request(FindCoordinator, FindCoordinator.request.create(request), { version });
    },
    (response) => response.coordinators[0]?.errorCode ?? response.errorCode,
  );
  const coordinator = found.coordinators[0]?.nodeId ?? found.nodeId;
  const connection = await cluster.connectionTo(coordinator);
  const init = await retry(
    'InitProducerId',
    () =>
      connection.request(
        InitProducerId,
        InitProducerId.request.create({ transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
      ),
    (response) => response.errorCode,
  );
  const { producerId, producerEpoch } = init;
  await retry(
    'AddPartitionsToTxn',
    () =>
      connection.request(
        AddPartitionsToTxn,
        AddPartitionsToTxn.request.create({
          v3AndBelowTransactionalId: transactionalId,
          v3AndBelowProducerId: producerId,
          v3AndBelowProducerEpoch: producerEpoch,
          v3AndBelowTopics: [{ name: topic, partitions: [0] }],
        }),
        { version: Math.min(3, connection.version(AddPartitionsToTxn)) },
      ),
    (response) => response.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode ?? -1,
  );

  const info = (await cluster.metadata.topic(topic))!;
  const leader = await cluster.connectionTo(info.partitions[0]!.leader);
  const version = Math.min(11, leader.version(Produce));
  const builder = new RecordBatchBuilder({ producerId, producerEpoch, baseSequence: 0, transactional: true }, 16384);
  for (const r of written) builder.tryAppend(r as RecordInput);
  const batch = builder.build();
  let frame: ReturnType<typeof encodeProduceFrame> | undefined;
  try {
    const response = await leader.requestEncoded(Produce, version, (correlationId) => {
      frame = encodeProduceFrame(version, correlationId, leader.clientId, {
        transactionalId,
        acks: -1,
        timeoutMs: 30_000,
        topics: [{ name: topic, topicId: info.topicId, partitions: [{ index: 0, batch }] }],
      });
      return frame.pieces;
    });
    const code = response.responses[0]!.partitionResponses[0]!.errorCode;
    if (code !== ErrorCode.NONE) throw new Error(`transactional Produce failed with error code ${code}`);
  } finally {
    frame?.release();
    batch.release();
  }

  await retry(
    'EndTxn',
    () =>
      connection.request(EndTxn, EndTxn.request.create({ transactionalId, producerId, producerEpoch, committed: commit }), {
        version: Math.min(4, connection.version(EndTxn)),
      }),
    (response) => response.errorCode,
  );
  // The marker is written after EndTxn answers: wait until the last stable offset has caught up with the end.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const latest = (await admin.listOffsets(topic, 'latest'))[0]!.offset;
    const stable = await lastStableOffset(topic);
    if (stable === latest) return;
    if (Date.now() > deadline) throw new Error(`the transaction marker did not appear (last stable offset ${stable}, end ${latest})`);
    await sleep(50);
  }
}

/** The last stable offset, as read_committed's 'end' sees it. */
async function lastStableOffset(topic: string): Promise<bigint> {
  const info = (await cluster.metadata.topic(topic))!;
  const response = await cluster.request(
    info.partitions[0]!.leader,
    ListOffsets,
    ListOffsets.request.create({
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    }),
  );
  return response.topics[0]!.partitions[0]!.offset;
}
