import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { UnknownTopicOrPartitionError } from '../../src/cluster/errors.js';
import { readPartition } from '../../src/consumer/partition-reader.js';
import { InvalidRecordError, ProducerClosedError, RecordsFailedError, RecordTooLargeError } from '../../src/producer/errors.js';
import { keyPartition } from '../../src/producer/partitioner.js';
import { Producer } from '../../src/producer/producer.js';
import { ErrorCode, KafkaProtocolError } from '../../src/protocol/kafka-errors.js';
import { RecordBatchBuilder } from '../../src/records/batch-builder.js';
import { testKafka } from '../helpers/kafka.js';
import { runKafkaTool } from '../support/java-tools.js';
import { fetchBatches, produceBatch } from '../support/produce-fetch.js';
import { uniqueTopic } from '../support/topics.js';
import { sendWindowed } from '../support/windowed.js';

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap, partitionCountRefreshMs: 0 });
  admin = new Admin(cluster);
});
afterAll(() => cluster?.close());

describe('producer', () => {
  test('1,000,000 records, keyed and keyless, acks=all and idempotent: all read back, none duplicated, per-key order kept', async () => {
    const topic = uniqueTopic('million');
    await admin.createTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, acks: 'all', idempotent: true });
    const count = 1_000_000;
    const started = Date.now();
    // Odd records carry one of 1000 keys; even records have no key. The value names the record.
    const { failed } = await sendWindowed(count, 50_000, (i) =>
      producer.send({ topic, key: i % 2 === 1 ? `key-${i % 1000}` : null, value: `record-${i}` }),
    );
    await producer.close();
    const sendMs = Date.now() - started;
    expect(failed).toEqual([]);

    const seen = new Uint8Array(count);
    let duplicates = 0;
    let total = 0;
    const lastByKey = new Map<string, number>();
    let orderViolations = 0;
    for (let partition = 0; partition < 3; partition++) {
      const records = await readPartition(cluster, topic, partition);
      records.forEach((record, index) => {
        expect(record.offset).toBe(BigInt(index));
        const i = Number(record.value!.toString().slice('record-'.length));
        total++;
        if (seen[i]) duplicates++;
        seen[i] = 1;
        if (record.key !== null) {
          const key = record.key.toString();
          expect(partition).toBe(keyPartition(record.key, 3));
          if ((lastByKey.get(key) ?? -1) > i) orderViolations++;
          lastByKey.set(key, i);
        }
      });
    }
    expect(total).toBe(count);
    expect(duplicates).toBe(0);
    expect(seen.every((value) => value === 1)).toBe(true);
    expect(orderViolations).toBe(0);
    console.log(
      `[producer] ${count} records sent (acks=all, idempotent) in ${sendMs} ms ` +
        `(${Math.round(count / (sendMs / 1000))} records/s incl. close); read back ${total}, 0 missing, ${duplicates} duplicated`,
    );
  });

  test('keyed records land where the Java client puts them', async () => {
    const ours = uniqueTopic('keys-ours');
    const theirs = uniqueTopic('keys-java');
    await admin.createTopics([
      { name: ours, partitions: 6, replicationFactor: 1 },
      { name: theirs, partitions: 6, replicationFactor: 1 },
    ]);
    const keys = Array.from({ length: 300 }, (_, i) => (i % 10 === 0 ? `ключ-${i}` : `user-${i * 7919}`));
    const producer = new Producer({ bootstrap: kafka.bootstrap });
    await Promise.all(keys.map((key) => producer.send({ topic: ours, key, value: key })));
    await producer.close();
    const placement = async (topic: string) => {
      const where = new Map<string, number>();
      for (let partition = 0; partition < 6; partition++)
        for (const record of await readPartition(cluster, topic, partition)) where.set(record.key!.toString(), partition);
      return where;
    };
    const oursPlaced = await placement(ours);
    expect(oursPlaced.size).toBe(keys.length);
    for (const key of keys) expect(oursPlaced.get(key)).toBe(keyPartition(Buffer.from(key), 6));

    if (kafka.source === 'embedded' && kafka.kafkaVersion) {
      const consoleProducer =
        Number(kafka.kafkaVersion.split('.')[0]) >= 4 ? 'org.apache.kafka.tools.ConsoleProducer' : 'kafka.tools.ConsoleProducer';
      const result = runKafkaTool(
        kafka.kafkaVersion,
        consoleProducer,
        ['--bootstrap-server', kafka.bootstrap, '--topic', theirs, '--property', 'parse.key=true', '--property', 'key.separator=|'],
        120_000,
        keys.map((key) => `${key}|${key}`).join('\n'),
      );
      expect(result.status, result.output.slice(-1000)).toBe(0);
      expect(await placement(theirs)).toEqual(oursPlaced);
    }
  });

  test('keyless records stick to a partition for about a batch, then move on, covering every partition', async () => {
    const topic = uniqueTopic('sticky');
    await admin.createTopics([{ name: topic, partitions: 4, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, batchSize: 16_384, lingerMs: 20 });
    const results = [];
    for (let i = 0; i < 4000; i++) results.push(producer.send({ topic, value: Buffer.alloc(100, i) }));
    const metadata = await Promise.all(results);
    await producer.close();
    let switches = 0;
    for (let i = 1; i < metadata.length; i++) if (metadata[i]!.partition !== metadata[i - 1]!.partition) switches++;
    const used = new Set(metadata.map((entry) => entry.partition));
    expect(used.size).toBe(4);
    // ~117 bytes a record: a switch every ~140 records gives ~28 switches for 4000 records.
    expect(switches).toBeGreaterThan(10);
    expect(switches).toBeLessThan(80);
  });

  test('explicit partitions and a custom partitioner that sees the metadata', async () => {
    const topic = uniqueTopic('custom');
    await admin.createTopics([{ name: topic, partitions: 5, replicationFactor: 1 }]);
    const seen: number[] = [];
    const producer = new Producer({
      bootstrap: kafka.bootstrap,
      partitioner: (choice) => {
        seen.push(choice.partitionCount);
        return choice.partitionCount - 1;
      },
    });
    expect((await producer.send({ topic, value: 'a' })).partition).toBe(4);
    expect((await producer.send({ topic, value: 'b', partition: 2 })).partition).toBe(2);
    await expect(producer.send({ topic, value: 'c', partition: 9 })).rejects.toThrow(
      /partition 9 does not exist: topic .* has partitions 0-4/,
    );
    await producer.close();
    expect(seen).toEqual([5]);
  });

  test('a send() from inside the custom partitioner: both records are written as given', async () => {
    const topic = uniqueTopic('reentrant');
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    const inner: Promise<unknown>[] = [];
    const producer: Producer = new Producer({
      bootstrap: kafka.bootstrap,
      partitioner: (choice) => {
        const value = Buffer.from(choice.value ?? []).toString();
        if (value.startsWith('outer')) inner.push(producer.send({ topic, key: `inner-key-${value}`, value: `inner-of-${value}` }));
        return 1;
      },
    });
    try {
      await producer.connect([topic]); // metadata cached: the outer records take the path without an await
      await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic, key: `outer-key-${i}`, value: `outer-${i}` })));
      await Promise.all(inner);
    } finally {
      await producer.close();
    }
    const written = (await readPartition(cluster, topic, 1)).map((record) => `${record.key?.toString()}=${record.value?.toString()}`);
    const expected = Array.from({ length: 50 }, (_, i) => [`outer-key-${i}=outer-${i}`, `inner-key-outer-${i}=inner-of-outer-${i}`]).flat();
    expect(written.sort()).toEqual(expected.sort());
  });

  test('bad input: invalid topic, record too large, unknown topic, send after close', async () => {
    const producer = new Producer({ bootstrap: kafka.bootstrap, maxBlockMs: 3000, maxRequestSize: 100_000 });
    await expect(producer.send({ topic: 'bad topic!', value: 'x' })).rejects.toThrow(InvalidRecordError);
    await expect(producer.send({ topic: uniqueTopic('big'), value: Buffer.alloc(200_000) })).rejects.toThrow(RecordTooLargeError);
    const started = Date.now();
    const unknown = await producer.send({ topic: uniqueTopic('absent'), value: 'x' }).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(UnknownTopicOrPartitionError);
    expect(String(unknown)).toMatch(/topic "kw-absent-.*" does not exist on the cluster/);
    expect(Date.now() - started).toBeLessThan(6000);
    // Many records waiting for the same missing topic fail together, not one metadata wait each.
    const absent = uniqueTopic('absent-many');
    const many = await producer.sendMany(Array.from({ length: 2000 }, (_, i) => ({ topic: absent, value: `${i}` })));
    expect(many.map((result) => result.status)).toEqual(Array(2000).fill('rejected'));
    expect((many[1999] as PromiseRejectedResult).reason).toBeInstanceOf(UnknownTopicOrPartitionError);
    expect(Date.now() - started).toBeLessThan(12_000);
    await producer.close();
    await expect(producer.send({ topic: 'anything', value: 'x' })).rejects.toThrow(ProducerClosedError);
  });

  test('sendMany() settles every record in call order, bad ones rejected and the rest written', async () => {
    const topic = uniqueTopic('many');
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap });
    // The first call waits for metadata; the second takes the fast path.
    for (const round of [0, 1]) {
      const results = await producer.sendMany([
        { topic, partition: 0, value: `${round}-a` },
        { topic, partition: 7, value: 'no such partition' },
        { topic, partition: 0, value: `${round}-b` },
      ]);
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidRecordError);
      expect((results[2] as PromiseFulfilledResult<{ offset: bigint }>).value.offset).toBe(BigInt(round * 2 + 1));
    }
    expect(await producer.sendMany([])).toEqual([]);
    await producer.close();
    expect((await readPartition(cluster, topic, 0)).map((record) => String(record.value))).toEqual(['0-a', '0-b', '1-a', '1-b']);
  });

  test('sendAll() resolves once every record is written, and otherwise lists each failure, broker-refused ones included', async () => {
    const topic = uniqueTopic('all');
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap });
    const records = Array.from({ length: 5000 }, (_, i) => ({ topic, partition: i % 2, value: `${i}` }));
    await expect(producer.sendAll(records)).resolves.toBeUndefined();
    await expect(producer.sendAll([])).resolves.toBeUndefined();
    await expect(producer.sendAll('records' as never)).rejects.toThrow(/sendAll\(\) takes an array of records, not the string "records"/);

    // A compacted topic refuses keyless records (KIP-467, named by the broker); partition 7 does not exist.
    const compacted = uniqueTopic('all-compacted');
    await admin.createTopics([{ name: compacted, partitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }]);
    const mixed = Array.from({ length: 10 }, (_, i) => ({ topic: compacted, key: i % 3 === 1 ? null : `k${i}`, value: `v${i}` }));
    mixed[8] = { topic: compacted, key: 'k8', value: 'v8', partition: 7 } as (typeof mixed)[number];
    const error = (await producer.sendAll(mixed).catch((caught: unknown) => caught)) as RecordsFailedError;
    await producer.close();
    expect(error).toBeInstanceOf(RecordsFailedError);
    expect(error.failures.map((failure) => failure.index)).toEqual([1, 4, 7, 8]);
    for (const index of [1, 4, 7]) expect(String(error.failures.find((f) => f.index === index)?.error)).toMatch(/INVALID_RECORD/);
    expect(error.failures[3]?.error).toBeInstanceOf(InvalidRecordError);
    expect(error.message).toMatch(/^4 of 10 record\(s\) failed; the first, record 1: /);

    for (const partition of [0, 1]) {
      const values = (await readPartition(cluster, topic, partition)).map((record) => Number(String(record.value)));
      expect(values).toEqual(Array.from({ length: 2500 }, (_, i) => i * 2 + partition));
    }
    const written = (await readPartition(cluster, compacted, 0)).map((record) => String(record.value));
    expect(written).toEqual(['v0', 'v2', 'v3', 'v5', 'v6', 'v9']);
  });

  test.each(['zstd', 'gzip'] as const)(
    '%s with compressionThreads: batches compressed on threads are written whole, in order, idempotently',
    async (codec) => {
      const topic = uniqueTopic(`threads-${codec}`);
      await admin.createTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
      const producer = new Producer({ bootstrap: kafka.bootstrap, compression: codec, compressionThreads: 2, batchSize: 65_536 });
      const value = (i: number) => `${i} ${'lorem ipsum dolor sit amet '.repeat(38)}`; // about 1 KiB
      const count = 9_000;
      await producer.sendAll(Array.from({ length: count }, (_, i) => ({ topic, partition: i % 3, value: value(i) })));
      // Under 16 KiB: compressed inline, after the threaded ones in the same partition.
      const small = await producer.send({ topic, partition: 0, value: 'small' });
      const threaded = producer.metrics.batchesCompressedOnThreads;
      const sent = producer.metrics.batchesSent;
      await producer.close();
      expect(threaded).toBeGreaterThanOrEqual(count / 3 / 64); // 64 KiB batches of ~1 KiB records
      expect(threaded).toBeLessThan(sent);
      expect(small.offset).toBe(BigInt(count / 3));
      for (const partition of [0, 1, 2]) {
        const values = (await readPartition(cluster, topic, partition)).map((record) => String(record.value));
        const expected = Array.from({ length: count / 3 }, (_, i) => value(i * 3 + partition));
        expect(values).toEqual(partition === 0 ? [...expected, 'small'] : expected);
        const batches = await fetchBatches(cluster, topic, partition);
        expect(new Set(batches.map((batch) => batch.compression))).toEqual(new Set([codec]));
      }
    },
  );

  test('connect() gets ready before the first send, and fails fast on an unknown topic, unreachable brokers or after close', async () => {
    const topic = uniqueTopic('connect');
    await admin.createTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, maxBlockMs: 2000 });
    await producer.connect([topic]);
    expect((await producer.send({ topic, partition: 1, value: 'after connect' })).offset).toBe(0n);
    const started = Date.now();
    await expect(producer.connect([uniqueTopic('absent')])).rejects.toThrow(UnknownTopicOrPartitionError);
    expect(Date.now() - started).toBeLessThan(4000);
    await producer.close();
    await expect(producer.connect()).rejects.toThrow(ProducerClosedError);

    const nowhere = new Producer({ bootstrap: '127.0.0.1:1', maxBlockMs: 1000 });
    const attempt = Date.now();
    await expect(nowhere.connect()).rejects.toThrow(/127\.0\.0\.1:1/);
    expect(Date.now() - attempt).toBeLessThan(4000);
    await nowhere.close();
  });

  test('results carry offsets and timestamps; flush() delivers what lingers', async () => {
    const topic = uniqueTopic('offsets');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, lingerMs: 60_000 });
    const stamp = Date.now(); // near now: the broker's retention pass deletes records older than 7 days
    const pending = [0, 1, 2].map((i) => producer.send({ topic, value: `v${i}`, timestamp: stamp + i }));
    await producer.flush();
    const results = await Promise.all(pending);
    expect(results.map((result) => result.offset)).toEqual([0n, 1n, 2n]);
    expect(results.map((result) => result.timestamp)).toEqual([stamp, stamp + 1, stamp + 2]);
    await producer.close();
    expect((await readPartition(cluster, topic, 0)).map((record) => String(record.value))).toEqual(['v0', 'v1', 'v2']);
  });

  test('MESSAGE_TOO_LARGE splits batches until the broker takes them, keeping order', async () => {
    const topic = uniqueTopic('too-large');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1, configs: { 'max.message.bytes': '3000' } }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, batchSize: 64 * 1024, lingerMs: 50 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => producer.send({ topic, value: `${i}:${'x'.repeat(300)}` })));
    const retried = producer.metrics.recordsRetried;
    await producer.close();
    expect(results.map((result) => result.offset)).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i)));
    expect(retried).toBeGreaterThan(0);
    const values = (await readPartition(cluster, topic, 0)).map((record) => Number(String(record.value).split(':')[0]));
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test('per-record errors (KIP-467) fail only the records the broker names', async () => {
    const topic = uniqueTopic('compacted');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, lingerMs: 100 });
    // A compacted topic refuses records without a key; with linger, all ten share one batch.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => producer.send({ topic, key: i % 2 === 0 ? `k${i}` : null, value: `v${i}` })),
    );
    await producer.close();
    outcomes.forEach((outcome, i) => {
      if (i % 2 === 0) expect(outcome.status).toBe('fulfilled');
      else {
        expect(outcome.status).toBe('rejected');
        expect(String((outcome as PromiseRejectedResult).reason)).toMatch(/INVALID_RECORD/);
      }
    });
    expect((await readPartition(cluster, topic, 0)).map((record) => String(record.value))).toEqual(['v0', 'v2', 'v4', 'v6', 'v8']);
  });

  test('a sequence gap (OUT_OF_ORDER_SEQUENCE_NUMBER) bumps the epoch and the batch goes again renumbered, once (KIP-360)', async () => {
    const topic = uniqueTopic('seq-gap');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, lingerMs: 0 });
    await producer.send({ topic, value: 'first' });
    const [own] = await fetchBatches(cluster, topic, 0);
    // Another writer with this producer's id and epoch takes sequences 1-2, so the producer's next
    // batch (sequence 1) no longer follows what the broker holds: the broker answers out of order.
    const intruder = new RecordBatchBuilder({ producerId: own!.producerId, producerEpoch: own!.producerEpoch, baseSequence: 1 }, 16_384);
    for (const value of ['intruder-1', 'intruder-2'])
      intruder.tryAppend({ key: null, value: Buffer.from(value), headers: [], timestamp: Date.now() });
    await produceBatch(cluster, topic, 0, intruder.build());

    expect((await producer.send({ topic, value: 'second' })).offset).toBe(3n);
    expect(producer.metrics.recordsRetried).toBe(1);
    expect((await producer.send({ topic, value: 'third' })).offset).toBe(4n);
    await producer.close();

    const batches = await fetchBatches(cluster, topic, 0);
    const written = batches.map((batch) => ({
      epoch: batch.producerEpoch - own!.producerEpoch,
      sequence: batch.baseSequence,
      values: [...batch.records()].map((record) => String(record.value)),
    }));
    expect(written).toEqual([
      { epoch: 0, sequence: 0, values: ['first'] },
      { epoch: 0, sequence: 1, values: ['intruder-1', 'intruder-2'] },
      { epoch: 1, sequence: 0, values: ['second'] },
      { epoch: 1, sequence: 1, values: ['third'] },
    ]);
    expect(new Set(batches.map((batch) => batch.producerId))).toEqual(new Set([own!.producerId]));
  });

  test('an aborted send() takes its record out of a batch not yet sent; the rest of the batch is delivered', async () => {
    const topic = uniqueTopic('abort');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, lingerMs: 60_000 });
    const controllers = [0, 1, 2, 3].map(() => new AbortController());
    const sends = ['a', 'b', 'c', 'd'].map((value, i) => producer.send({ topic, value }, { signal: controllers[i]!.signal }));
    controllers[1]!.abort(new Error('caller gave up on b'));
    controllers[3]!.abort();
    await expect(sends[1]).rejects.toThrow('caller gave up on b');
    await expect(sends[3]).rejects.toThrow(/abort/i);
    expect(producer.metrics.bufferUsed).toBeGreaterThan(0);
    await producer.flush();
    expect((await Promise.all([sends[0], sends[2]])).map((result) => result!.offset)).toEqual([0n, 1n]);
    expect(producer.metrics.bufferUsed).toBe(0);
    // Aborting after delivery changes nothing; an already aborted signal rejects at once.
    controllers[0]!.abort();
    await expect(producer.send({ topic, value: 'e' }, { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
    await producer.close();
    expect((await readPartition(cluster, topic, 0)).map((record) => String(record.value))).toEqual(['a', 'c']);
  });

  test('a topic the user may not write is refused with TOPIC_AUTHORIZATION_FAILED; other topics go on', async () => {
    if (kafka.source !== 'embedded' || !kafka.security || !kafka.kafkaVersion) return; // ACLs need our broker's authorizer and tools
    const [denied, allowed] = [uniqueTopic('acl-denied'), uniqueTopic('acl-allowed')];
    await admin.createTopics([
      { name: denied, partitions: 1, replicationFactor: 1 },
      { name: allowed, partitions: 1, replicationFactor: 1 },
    ]);
    const { username, password } = kafka.security.sasl;
    const aclCommand = Number(kafka.kafkaVersion.split('.')[0]) >= 4 ? 'org.apache.kafka.tools.AclCommand' : 'kafka.admin.AclCommand';
    const acl = runKafkaTool(kafka.kafkaVersion, aclCommand, [
      '--bootstrap-server',
      kafka.bootstrap,
      '--add',
      '--deny-principal',
      `User:${username}`,
      '--operation',
      'All',
      '--topic',
      denied,
    ]);
    expect(acl.status, acl.output.slice(-1000)).toBe(0);
    const producer = new Producer({
      bootstrap: kafka.security.saslBootstrap,
      sasl: { mechanism: 'SCRAM-SHA-256', username, password },
      maxBlockMs: 10_000,
    });
    const started = Date.now();
    const refused = await producer.send({ topic: denied, value: 'x' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KafkaProtocolError);
    expect((refused as KafkaProtocolError).code).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(String(refused)).toContain(denied);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await producer.send({ topic: allowed, value: 'y' })).offset).toBe(0n);
    await producer.close();
  });

  test('keyless traffic spreads onto partitions the metadata refresh discovers', async () => {
    const topic = uniqueTopic('spread');
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, partitionCountRefreshMs: 500, batchSize: 2048 });
    await Promise.all(Array.from({ length: 500 }, () => producer.send({ topic, value: Buffer.alloc(100) })));
    await admin.createPartitions(topic, 4);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await Promise.all(Array.from({ length: 2000 }, () => producer.send({ topic, value: Buffer.alloc(100) })));
    await producer.close();
    const used = new Set(after.map((result) => result.partition));
    expect(used.has(2) || used.has(3)).toBe(true);
    expect(Math.max(...used)).toBeLessThan(4);
  });

  test('metrics and the diagnostics channel report requests, records and per-broker latency', async () => {
    const { default: diagnostics } = await import('node:diagnostics_channel');
    const { PRODUCE_REQUEST_CHANNEL } = await import('../../src/producer/producer.js');
    const topic = uniqueTopic('metrics');
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    const events: { broker: number; records: number; durationMs: number }[] = [];
    const listener = (message: unknown) => events.push(message as (typeof events)[number]);
    diagnostics.subscribe(PRODUCE_REQUEST_CHANNEL, listener);
    try {
      const producer = new Producer({ bootstrap: kafka.bootstrap });
      await Promise.all(Array.from({ length: 1000 }, (_, i) => producer.send({ topic, key: `k${i}`, value: 'v' })));
      const metrics = structuredClone(producer.metrics);
      await producer.close();
      expect(metrics.recordsSent).toBe(1000);
      expect(metrics.recordsFailed).toBe(0);
      expect(metrics.batchesSent).toBeGreaterThan(0);
      expect(metrics.bufferUsed).toBe(0);
      const brokers = Object.values(metrics.brokers);
      expect(brokers.reduce((sum, broker) => sum + broker.requests, 0)).toBe(events.length);
      expect(brokers.every((broker) => broker.averageMs > 0 && broker.maxMs >= broker.averageMs)).toBe(true);
      // Each request's records: a request refused as a whole or a partition's retriable error (a topic just created may
      // not have its leader ready on a busy machine) sends its records again, in a later request.
      expect(events.reduce((sum, event) => sum + event.records, 0)).toBe(1000 + metrics.recordsRetried);
    } finally {
      diagnostics.unsubscribe(PRODUCE_REQUEST_CHANNEL, listener);
    }
  });

  test('a backlog with nothing new appended goes out maxInFlight requests deep (found by npm run faults)', async () => {
    const { default: diagnostics } = await import('node:diagnostics_channel');
    const { PRODUCE_REQUEST_CHANNEL } = await import('../../src/producer/producer.js');
    const topic = uniqueTopic('backlog');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, batchSize: 1024, maxInFlight: 5 });
    // Beside each answer as it arrives: how many of the producer's other requests were still out.
    const othersOut: number[] = [];
    const listener = () => othersOut.push(producer.metrics.requestsInFlight);
    diagnostics.subscribe(PRODUCE_REQUEST_CHANNEL, listener);
    try {
      // All appended before the first request goes: about 150 batches of one partition, and no send() after them.
      const sends = Array.from({ length: 10_000 }, (_, i) => producer.send({ topic, value: `record ${i}` }));
      const offsets = (await Promise.all(sends)).map((result) => Number(result.offset));
      await producer.close();
      expect(offsets).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
      expect(othersOut.length).toBeGreaterThan(100);
      // One request per answer would leave none out when each answer arrives.
      expect(Math.max(...othersOut)).toBe(4);
    } finally {
      diagnostics.unsubscribe(PRODUCE_REQUEST_CHANNEL, listener);
    }
  });

  // Right after the 1,000,000 records above, a fresh topic's first batches were refused (NOT_LEADER_OR_FOLLOWER)
  // while the batches behind them were written: each partition now sends one batch until one is acknowledged.
  test('connectionsPerBroker: Produce requests go over two connections, each partition over one, in order', async () => {
    const { default: diagnostics } = await import('node:diagnostics_channel');
    const { PRODUCE_REQUEST_CHANNEL } = await import('../../src/producer/producer.js');
    const run = async (connectionsPerBroker: number | undefined) => {
      const topic = uniqueTopic('connections');
      await admin.createTopics([{ name: topic, partitions: 6, replicationFactor: 1 }]);
      const producer = new Producer({ bootstrap: kafka.bootstrap, batchSize: 4096, connectionsPerBroker });
      const connections = new Set<number>();
      const listener = (message: unknown) => connections.add((message as { connection: number }).connection);
      diagnostics.subscribe(PRODUCE_REQUEST_CHANNEL, listener);
      try {
        // Each partition's records numbered in send order: what is read back must be 0, 1, 2, ... per partition.
        const count = 30_000;
        const { failed } = await sendWindowed(count, 5_000, (i) =>
          producer.send({ topic, partition: i % 6, value: `${Math.floor(i / 6)}` }),
        );
        await producer.close();
        expect(failed).toEqual([]);
        for (let partition = 0; partition < 6; partition++) {
          const values = (await readPartition(cluster, topic, partition)).map((record) => Number(record.value!.toString()));
          expect(values).toEqual(Array.from({ length: count / 6 }, (_, i) => i));
        }
        return [...connections].sort();
      } finally {
        diagnostics.unsubscribe(PRODUCE_REQUEST_CHANNEL, listener);
      }
    };
    expect(await run(undefined)).toEqual([0, 1]); // the default: two
    expect(await run(1)).toEqual([0]);
  });

  test('connect() opens every produce connection to the leaders: the first records open none', async () => {
    const topic = uniqueTopic('connect-lanes');
    await admin.createTopics([{ name: topic, partitions: 6, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, connectionsPerBroker: 3 });
    const opened: string[] = [];
    producer.on('connect', ({ broker }) => opened.push(broker));
    try {
      await producer.connect([topic]);
      const atConnect = opened.length;
      expect(atConnect).toBeGreaterThanOrEqual(3); // the leader's three lanes, and the bootstrap connection when it is apart
      const results = await producer.sendMany(Array.from({ length: 600 }, (_, i) => ({ topic, partition: i % 6, value: `${i}` })));
      expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
      expect(opened.slice(atConnect)).toEqual([]);
    } finally {
      await producer.close();
    }
  });

  test('a producer that never sent closes at once', async () => {
    const idle = new Producer({ bootstrap: kafka.bootstrap });
    const started = Date.now();
    await idle.flush();
    await idle.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
