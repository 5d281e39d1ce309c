import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { UnknownTopicOrPartitionError } from '../../src/cluster/errors.js';
import { readPartition } from '../../src/consumer/partition-reader.js';
import { ConfigError, type KafkaWireError } from '../../src/errors.js';
import { InvalidRecordError, RecordTooLargeError } from '../../src/producer/errors.js';
import { Producer } from '../../src/producer/producer.js';
import { testKafka } from '../helpers/kafka.js';
import { Random } from '../support/random.js';
import { uniqueTopic } from '../support/topics.js';

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap, partitionCountRefreshMs: 0 });
  admin = new Admin(cluster);
});
afterAll(() => cluster?.close());

async function newTopic(label: string, partitions = 3): Promise<string> {
  const topic = uniqueTopic(label);
  await admin.createTopics([{ name: topic, partitions, replicationFactor: 1 }]);
  return topic;
}

async function readAll(topic: string, partitions: number) {
  const all = [];
  for (let partition = 0; partition < partitions; partition++) all.push(...(await readPartition(cluster, topic, partition)));
  return all;
}

/** Ways to get a record wrong, as a user's code does: wrong types, NaN, negative, huge, undefined. */
function malformed(random: Random, topic: string): { record: unknown; expected: new (...args: never[]) => KafkaWireError } {
  const wrongBytes = [
    42,
    Number.NaN,
    -1,
    { id: 1 },
    [1, 2],
    true,
    5n,
    Symbol('s'),
    () => 1,
    new Uint16Array(3),
    new ArrayBuffer(8),
    new Date(),
  ];
  const kind = random.int(0, 9);
  const good = { topic, key: 'k', value: 'v' };
  switch (kind) {
    case 0:
      return { record: { ...good, value: random.pick(wrongBytes) }, expected: InvalidRecordError };
    case 1:
      return { record: { topic, key: 'k' }, expected: InvalidRecordError }; // value undefined
    case 2:
      return { record: { ...good, key: random.pick(wrongBytes) }, expected: InvalidRecordError };
    case 3:
      return {
        record: { ...good, topic: random.pick([7, '', 'no spaces allowed', '..', 'x'.repeat(300), null]) },
        expected: InvalidRecordError,
      };
    case 4:
      return { record: { ...good, partition: random.pick([-1, 1.5, Number.NaN, '0', 3, 99, 2 ** 40]) }, expected: InvalidRecordError };
    case 5:
      return {
        record: { ...good, timestamp: random.pick([Number.NaN, -1, 1.5, 'now', new Date(), Number.POSITIVE_INFINITY]) },
        expected: InvalidRecordError,
      };
    case 6:
      return {
        record: { ...good, headers: random.pick([5, 'a=b', [1], [{ key: 5, value: 'x' }], { a: 5 }, { a: undefined }, new Map()]) },
        expected: InvalidRecordError,
      };
    case 7:
      return { record: random.pick([null, undefined, 12, 'a record', []]), expected: InvalidRecordError };
    case 8:
      return { record: { ...good, value: Buffer.alloc(random.int(1_100_000, 3_000_000)) }, expected: RecordTooLargeError };
    default:
      return { record: { ...good, headers: { big: Buffer.alloc(1_200_000) } }, expected: RecordTooLargeError };
  }
}

describe('records checked at send(), on a live producer', () => {
  test('thousands of malformed records among good ones: each bad one refused with a typed error, each good one delivered', async () => {
    const topic = await newTopic('malformed', 3);
    const producer = new Producer({ bootstrap: kafka.bootstrap, bufferMemory: 4 * 1024 * 1024 });
    const random = new Random(20261130);
    const bad: Promise<void>[] = [];
    const good: Promise<unknown>[] = [];
    const goodValues = new Set<string>();
    let badCount = 0;
    try {
      for (let i = 0; i < 6000; i++) {
        if (random.chance(0.5)) {
          const { record, expected } = malformed(random, topic);
          badCount++;
          const sent = random.chance(0.2)
            ? producer.sendMany([record as never]).then(([result]) => {
                if (result?.status === 'fulfilled') throw new Error(`a malformed record was accepted: ${String(record)}`);
                throw result?.reason;
              })
            : producer.send(record as never);
          bad.push(
            sent.then(
              () => expect.fail(`a malformed record was delivered (record ${i})`),
              (error: unknown) => {
                expect(error, `record ${i}`).toBeInstanceOf(expected);
                expect((error as Error).message, `record ${i}`).toMatch(/record|a record|maxRequestSize/);
              },
            ),
          );
        } else {
          const value = `good-${i}-${random.bytes(random.int(0, 40)).toString('hex')}`;
          goodValues.add(value);
          const key = random.chance(0.5) ? `key-${random.int(0, 50)}` : null;
          const headers = random.chance(0.3) ? { trace: `t${i}`, empty: null } : undefined;
          good.push(
            producer.send({ topic, key, value, headers, timestamp: random.chance(0.2) ? Date.now() - random.int(0, 1000) : undefined }),
          );
        }
      }
      await Promise.all(bad);
      const delivered = await Promise.allSettled(good);
      expect(delivered.filter((result) => result.status === 'rejected')).toEqual([]);
      await producer.flush();
      expect(producer.metrics.bufferUsed).toBe(0);
      expect(producer.metrics.recordsFailed).toBe(badCount);
      expect(producer.metrics.recordsSent).toBe(goodValues.size);
    } finally {
      await producer.close();
    }
    const written = await readAll(topic, 3);
    expect(written.length).toBe(goodValues.size);
    expect(new Set(written.map((record) => record.value?.toString()))).toEqual(goodValues);
  });

  test('a bad SendOptions.signal is a ConfigError, and sendMany() of a non-array rejects', async () => {
    const topic = await newTopic('bad-args', 1);
    const producer = new Producer({ bootstrap: kafka.bootstrap });
    try {
      await expect(producer.send({ topic, value: 'v' }, { signal: 'stop' as never })).rejects.toThrow(ConfigError);
      await expect(producer.sendMany('records' as never)).rejects.toThrow(
        /sendMany\(\) takes an array of records, not the string "records"/,
      );
      await expect(producer.send({ topic, value: 'still fine' })).resolves.toMatchObject({ topic, partition: 0 });
    } finally {
      await producer.close();
    }
  });
});

describe('typed serializers', () => {
  interface Order {
    id: number;
    item: string;
  }

  test('Producer<K, V> with serializers sends typed keys and values as the bytes the serializers make', async () => {
    const topic = await newTopic('serializers', 1);
    const producer = new Producer<number, Order>({
      bootstrap: kafka.bootstrap,
      serializers: { key: (id) => String(id), value: (order, to) => JSON.stringify({ ...order, to }) },
    });
    try {
      await producer.send({ topic, key: 7, value: { id: 7, item: 'book' } });
      await producer.sendMany([{ topic, key: 8, value: { id: 8, item: 'pen' } }]);
      // A serializer is given null too: what null means is its decision (here: no fields).
      const sentNull = await producer.send({ topic, key: 9, value: null as never });
      expect(sentNull).toMatchObject({ topic, partition: 0 });
    } finally {
      await producer.close();
    }
    const written = await readPartition(cluster, topic, 0);
    expect(written.map((record) => [record.key?.toString(), record.value?.toString()])).toEqual([
      ['7', JSON.stringify({ id: 7, item: 'book', to: topic })],
      ['8', JSON.stringify({ id: 8, item: 'pen', to: topic })],
      ['9', JSON.stringify({ to: topic })],
    ]);
  });

  test("partitionKey routes by Dory's rule (key mod n over the partitions in id order), whatever the record key", async () => {
    const topic = await newTopic('partition-key', 3);
    const producer = new Producer({ bootstrap: kafka.bootstrap });
    try {
      const keys = [0, 1, 2, 3, 7, 2 ** 32 - 1];
      const sent = await Promise.all(
        keys.map((partitionKey) => producer.send({ topic, key: 'same', value: `v${partitionKey}`, partitionKey })),
      );
      // 4294967295 mod 3 = 0.
      expect(sent.map((metadata) => metadata.partition)).toEqual([0, 1, 2, 0, 1, 0]);
      await expect(producer.send({ topic, value: 'x', partitionKey: -1 })).rejects.toThrow(
        /record\.partitionKey must be an unsigned 32-bit integer/,
      );
    } finally {
      await producer.close();
    }
    expect((await readPartition(cluster, topic, 1)).map((record) => record.value?.toString())).toEqual(['v1', 'v7']);
  });

  test('a serializer that throws or returns something other than bytes fails that record only', async () => {
    const topic = await newTopic('serializer-errors', 1);
    const producer = new Producer<string, { n: number }>({
      bootstrap: kafka.bootstrap,
      serializers: {
        value: (value) => {
          if (value.n < 0) throw new RangeError('negative n');
          return value.n === 0 ? (0 as never) : `n=${value.n}`;
        },
      },
    });
    try {
      const [thrown, wrong, fine] = await producer.sendMany([
        { topic, value: { n: -1 } },
        { topic, value: { n: 0 } },
        { topic, value: { n: 1 } },
      ]);
      expect(thrown).toMatchObject({ status: 'rejected' });
      expect(String((thrown as PromiseRejectedResult).reason)).toMatch(
        /InvalidRecordError: serializers\.value threw for record\.value: negative n/,
      );
      expect(String((wrong as PromiseRejectedResult).reason)).toMatch(/serializers\.value must return .* it returned the number 0/);
      expect(fine).toMatchObject({ status: 'fulfilled' });
      expect(producer.metrics.bufferUsed).toBe(0);
    } finally {
      await producer.close();
    }
  });
});

describe('producer.writable()', () => {
  test('stream.pipeline delivers every record, and backpressure follows bufferMemory', async () => {
    const topic = await newTopic('writable', 3);
    const bufferMemory = 256 * 1024;
    const producer = new Producer({ bootstrap: kafka.bootstrap, bufferMemory, lingerMs: 20 });
    const count = 20_000;
    const value = 'x'.repeat(500);
    let produced = 0;
    let maxAhead = 0;
    let maxBufferUsed = 0;
    async function* records() {
      for (let i = 0; i < count; i++) {
        produced++;
        maxAhead = Math.max(maxAhead, produced - producer.metrics.recordsSent);
        maxBufferUsed = Math.max(maxBufferUsed, producer.metrics.bufferUsed);
        yield { topic, key: `k${i % 100}`, value: `${i}:${value}` };
      }
    }
    try {
      await pipeline(Readable.from(records()), producer.writable());
      expect(producer.metrics.recordsSent).toBe(count);
    } finally {
      await producer.close();
    }
    // Each record holds about 530 bytes of bufferMemory: the stream may run ahead of the acknowledgements
    // by what fits in bufferMemory plus the streams' own buffers (16 records each), never by thousands.
    const perRecord = 500 + 30;
    expect(maxBufferUsed).toBeLessThanOrEqual(bufferMemory);
    expect(maxAhead).toBeLessThan(bufferMemory / perRecord + 200);
    const written = await readAll(topic, 3);
    expect(written.length).toBe(count);
    expect(new Set(written.map((record) => record.value?.toString().split(':')[0])).size).toBe(count);
  });

  test('a record that cannot be delivered fails the pipeline with its error', async () => {
    const missing = uniqueTopic('writable-missing');
    const producer = new Producer({ bootstrap: kafka.bootstrap, unknownTopicTimeoutMs: 500 });
    try {
      const failed = await pipeline(Readable.from([{ topic: missing, value: 'a' }]), producer.writable()).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(UnknownTopicOrPartitionError);
      const malformed = await pipeline(Readable.from([{ topic: missing, value: 5 }]), producer.writable()).catch((error: unknown) => error);
      expect(malformed).toBeInstanceOf(InvalidRecordError);
    } finally {
      await producer.close();
    }
  });
});
