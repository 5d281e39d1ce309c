import { spawn } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { PartitionReader } from '../../src/consumer/partition-reader.js';
import { ConfigError } from '../../src/errors.js';
import { TransactionAbortedError, TransactionStateError } from '../../src/producer/errors.js';
import { Producer } from '../../src/producer/producer.js';
import { PRODUCE_REQUEST_CHANNEL } from '../../src/producer/sender.js';
import { DescribeTransactions } from '../../src/protocol/generated/index.js';
import { testKafka } from '../helpers/kafka.js';
import { runKafkaTool } from '../support/java-tools.js';
import { uniqueTopic } from '../support/topics.js';

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  admin = new Admin(cluster);
});
afterAll(() => cluster?.close());

/**
 * Waits until no transaction is open on the topic's partitions: the last stable offset has reached the end. EndTxn is
 * answered before the coordinator has written the markers, so a read_committed read right after a commit could stop short.
 */
async function settled(topic: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const stable = await admin.listOffsets(topic, 'latest', { isolation: 'read_committed' });
    const end = await admin.listOffsets(topic, 'latest');
    if (stable.every((entry, i) => entry.offset === end[i]?.offset)) return;
    if (Date.now() > deadline) throw new Error(`a transaction on ${topic} is still open after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every value of a partition, in offset order, as a reader with this isolation sees it (read_committed: once no transaction is open). */
async function values(topic: string, partition: number, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  if (isolation === 'read_committed') await settled(topic);
  const seen: string[] = [];
  for await (const record of new PartitionReader(cluster, { topic, partition, until: 'end', isolation })) {
    seen.push(record.value?.toString() ?? '');
  }
  return seen;
}

const PARTITIONS = 6;

/** Transaction `t`: `count` records dealt over the partitions in turn, sent at once and committed; `expected` gets their values. */
async function commitRecords(producer: Producer, topic: string, t: number, count: number, expected: string[][]): Promise<void> {
  producer.beginTransaction();
  const records = Array.from({ length: count }, (_, i) => ({ topic, partition: i % PARTITIONS, value: `t${t}-r${i}` }));
  for (const record of records) (expected[record.partition] as string[]).push(record.value);
  const sent = producer.sendAll(records);
  await producer.commitTransaction();
  await sent;
}

describe('transactions against a real broker', () => {
  test('1,000 transactions x 100 records, 6 partitions, every third aborted: read_committed sees only the committed ones', async () => {
    const topic = uniqueTopic('txn-many');
    await admin.createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, transactionalId: `${topic}-producer`, lingerMs: 1 });
    await producer.initTransactions();
    const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
    let abortedRecords = 0;
    for (let t = 0; t < 1000; t++) {
      const abort = t % 3 === 2;
      producer.beginTransaction();
      const sends = [];
      for (let i = 0; i < 100; i++) {
        const partition = (t + i) % PARTITIONS;
        const value = `t${t}-r${i}`;
        sends.push(producer.send({ topic, partition, value }));
        if (!abort) (expected[partition] as string[]).push(value);
      }
      if (abort) {
        // Half the aborted transactions abort with their records acknowledged (written, then aborted by a marker),
        // half at once (records not yet sent are failed, never written).
        if (t % 2 === 0) await Promise.all(sends);
        await producer.abortTransaction();
        const settled = await Promise.allSettled(sends);
        for (const outcome of settled) {
          if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(TransactionAbortedError);
        }
        abortedRecords += 100;
      } else {
        await producer.commitTransaction();
        await Promise.all(sends);
      }
    }
    await producer.close();
    expect(abortedRecords).toBe(33_300);

    // Our reader, read_committed: exactly the committed records, partition by partition, in order.
    let written = 0;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      expect(await values(topic, partition, 'read_committed')).toEqual(expected[partition]);
      written += (await values(topic, partition, 'read_uncommitted')).length;
    }
    const committed = expected.reduce((sum, list) => sum + list.length, 0);
    expect(committed).toBe(66_700);
    // Aborted records that were acknowledged are in the log, behind abort markers: the read_committed check had something to drop.
    expect(written).toBeGreaterThan(committed);

    // Apache Kafka's own console consumer, read_committed, agrees record for record.
    if (kafka.source === 'embedded' && kafka.kafkaVersion) {
      const result = runKafkaTool(
        kafka.kafkaVersion,
        'org.apache.kafka.tools.consumer.ConsoleConsumer',
        [
          '--bootstrap-server',
          kafka.bootstrap,
          '--topic',
          topic,
          '--from-beginning',
          '--consumer-property',
          'isolation.level=read_committed',
          '--max-messages',
          String(committed),
          '--timeout-ms',
          '60000',
          '--property',
          'print.partition=true',
        ],
        180_000,
      );
      const byPartition: string[][] = Array.from({ length: PARTITIONS }, () => []);
      for (const line of result.output.split('\n')) {
        const match = /^Partition:(\d+)\s+(t\d+-r\d+)$/.exec(line);
        if (match) (byPartition[Number(match[1])] as string[]).push(match[2] as string);
      }
      expect(byPartition.flat().length, result.output.slice(-2000)).toBe(committed);
      expect(byPartition).toEqual(expected);
    }
  });

  test('two produce connections: under protocol version 2 partitions join a transaction over one connection at a time', async () => {
    const topic = uniqueTopic('txn-connections');
    await admin.createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
    const connection = await cluster.anyConnection();
    const version2 = connection.featureLevel('transaction.version') >= 2;
    const producer = new Producer({ bootstrap: kafka.bootstrap, transactionalId: `${topic}-producer`, connectionsPerBroker: 2 });
    // Each Produce request as it settles, with when it was written and answered.
    let requests: { connection: number; startedAt: number; endedAt: number }[] = [];
    const onRequest = (message: unknown) => {
      const { connection, durationMs } = message as { connection: number; durationMs: number };
      const endedAt = performance.now();
      requests.push({ connection, startedAt: endedAt - durationMs, endedAt });
    };
    diagnostics.subscribe(PRODUCE_REQUEST_CHANNEL, onRequest);
    const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
    const connectionsUsed = new Set<number>();
    let ordered = 0;
    try {
      await producer.initTransactions();
      for (let t = 0; t < 50; t++) {
        requests = [];
        await commitRecords(producer, topic, t, 60, expected);
        // The first request of the transaction on each connection (partitions 0, 2, 4 use one, 1, 3, 5 the other).
        const firsts = [0, 1].map(
          (used) => requests.filter((request) => request.connection === used).sort((a, b) => a.startedAt - b.startedAt)[0],
        );
        for (const request of requests) connectionsUsed.add(request.connection);
        if (version2 && firsts[0] && firsts[1]) {
          const [earlier, later] = [...firsts].sort((a, b) => (a?.startedAt ?? 0) - (b?.startedAt ?? 0)) as [
            (typeof requests)[0],
            (typeof requests)[0],
          ];
          // The later one was written only once the earlier one had been answered.
          expect(later.startedAt).toBeGreaterThanOrEqual(earlier.endedAt);
          ordered++;
        }
      }
    } finally {
      diagnostics.unsubscribe(PRODUCE_REQUEST_CHANNEL, onRequest);
      await producer.close();
    }
    expect([...connectionsUsed].sort()).toEqual([0, 1]);
    // Every transaction wrote to partitions of both connections (checked under version 2 only; version 1 adds them first).
    expect(ordered).toBe(version2 ? 50 : 0);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      expect(await values(topic, partition, 'read_committed')).toEqual(expected[partition]);
    }
  });

  test("back to back: a transaction's first partition waits until DescribeTransactions reports the last one's markers", async () => {
    const topic = uniqueTopic('txn-markers');
    await admin.createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
    const connection = await cluster.anyConnection();
    // Kafka 3.0 and later (KIP-664); the wait is before the first Produce (version 2) or AddPartitionsToTxn (version 1).
    const describes = connection.brokerRange(DescribeTransactions.apiKey) !== undefined;
    const producer = new Producer({ bootstrap: kafka.bootstrap, transactionalId: `${topic}-producer` });
    const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
    try {
      await producer.initTransactions();
      for (let t = 0; t < 100; t++) {
        await commitRecords(producer, topic, t, 30, expected);
      }
    } finally {
      await producer.close();
    }
    // Every transaction after the first asked at least once, each answer read (an error would have ended the asking).
    if (describes) expect(producer.metrics.transactionMarkerChecks).toBeGreaterThanOrEqual(99);
    else expect(producer.metrics.transactionMarkerChecks).toBe(0);
    console.log(
      `[txn-markers] ${producer.metrics.transactionMarkerChecks} DescribeTransactions answers, ` +
        `${producer.metrics.transactionMarkerWaitMs} ms waited in all over 100 transactions`,
    );
    for (let partition = 0; partition < PARTITIONS; partition++) {
      expect(await values(topic, partition, 'read_committed')).toEqual(expected[partition]);
    }
  });

  test('consume-transform-produce, SIGKILLed mid-transaction and restarted: output has each input once, offsets match', async () => {
    const input = uniqueTopic('ctp-in');
    const output = uniqueTopic('ctp-out');
    const groupId = `${input}-group`;
    await admin.createTopics([
      { name: input, partitions: 3, replicationFactor: 1 },
      { name: output, partitions: 3, replicationFactor: 1 },
    ]);
    const plain = new Producer({ bootstrap: kafka.bootstrap });
    const inputs: string[][] = [[], [], []];
    const sends = [];
    for (let i = 0; i < 3000; i++) {
      const partition = i % 3;
      (inputs[partition] as string[]).push(`in-${i}`);
      sends.push(plain.send({ topic: input, partition, value: `in-${i}` }));
    }
    await Promise.all(sends);
    await plain.close();

    const worker = fileURLToPath(new URL('../support/transform-worker.ts', import.meta.url));
    const run = (extra: string[]) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', worker, kafka.bootstrap, input, output, groupId, `${input}-txn`, ...extra],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, output: () => out, exited };
    };
    const waitFor = async (pattern: RegExp, proc: ReturnType<typeof run>, ms: number) => {
      const deadline = Date.now() + ms;
      while (!pattern.test(proc.output())) {
        if (proc.child.exitCode !== null) throw new Error(`worker exited early: ${proc.output()}`);
        if (Date.now() > deadline) throw new Error(`worker did not print ${pattern} within ${ms} ms: ${proc.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    // The 25th transaction (part way through partition 1) stops with its records and offsets sent but not committed.
    const first = run(['25']);
    await waitFor(/^paused$/m, first, 90_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const committedBeforeKill = (first.output().match(/^committed /gm) ?? []).length;
    expect(committedBeforeKill).toBe(24);

    const second = run([]);
    await waitFor(/^done$/m, second, 120_000);
    expect(await second.exited).toBe(0);

    for (let partition = 0; partition < 3; partition++) {
      const out = await values(output, partition, 'read_committed');
      expect(out).toEqual((inputs[partition] as string[]).map((value) => `out:${value}`));
    }
    // The killed transaction's records reached the log (and were aborted): the exactly-once check had a duplicate to drop.
    let written = 0;
    for (let partition = 0; partition < 3; partition++) written += (await values(output, partition, 'read_uncommitted')).length;
    expect(written).toBeGreaterThan(3000);
    const offsets = await admin.listGroupOffsets(groupId, [input]);
    expect(offsets.map(({ partition, offset }) => ({ partition, offset }))).toEqual([
      { partition: 0, offset: 1000n },
      { partition: 1, offset: 1000n },
      { partition: 2, offset: 1000n },
    ]);
  });

  test('close() with a transaction open aborts it: nothing of it is visible, and read_committed readers are not held back', async () => {
    const topic = uniqueTopic('txn-close');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, transactionalId: `${topic}-p` });
    await producer.initTransactions();
    producer.beginTransaction();
    await Promise.all([producer.send({ topic, value: 'a' }), producer.send({ topic, value: 'b' })]);
    await producer.close();
    // Left open, the transaction would hold the last stable offset below its records for transactionTimeoutMs (60 s):
    // aborted, it moves past them as soon as the coordinator has written the abort marker.
    await settled(topic);
    expect(await values(topic, 0, 'read_committed')).toEqual([]);
    expect(await values(topic, 0, 'read_uncommitted')).toEqual(['a', 'b']);
  });

  test('a send() cancelled with its AbortSignal before it went out leaves the transaction committable', async () => {
    const topic = uniqueTopic('txn-cancel');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const producer = new Producer({ bootstrap: kafka.bootstrap, transactionalId: `${topic}-p`, lingerMs: 50 });
    await producer.initTransactions();
    producer.beginTransaction();
    const cancel = new AbortController();
    const cancelled = producer.send({ topic, value: 'cancelled' }, { signal: cancel.signal });
    cancel.abort(new Error('not wanted'));
    await expect(cancelled).rejects.toThrow('not wanted');
    await producer.send({ topic, value: 'kept' });
    await producer.commitTransaction();
    await producer.close();
    expect(await values(topic, 0, 'read_committed')).toEqual(['kept']);
  });

  test('the API used out of order, or with bad arguments, fails at once with a typed error naming the problem', async () => {
    const topic = uniqueTopic('txn-order');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    expect(() => new Producer({ bootstrap: kafka.bootstrap, transactionalId: '' })).toThrow(ConfigError);
    expect(() => new Producer({ bootstrap: kafka.bootstrap, transactionalId: 'x', acks: 1, idempotent: false })).toThrow(
      /transactional producer is idempotent/,
    );
    const plain = new Producer({ bootstrap: kafka.bootstrap });
    await expect(plain.initTransactions()).rejects.toThrow(TransactionStateError);
    await plain.close();

    const producer = new Producer({ bootstrap: kafka.bootstrap, transactionalId: `${topic}-p` });
    await expect(producer.send({ topic, value: 'x' })).rejects.toThrow(/before initTransactions/);
    expect(() => producer.beginTransaction()).toThrow(/before initTransactions/);
    await producer.initTransactions();
    await expect(producer.initTransactions()).rejects.toThrow(/twice/);
    await expect(producer.send({ topic, value: 'x' })).rejects.toThrow(/outside a transaction/);
    await expect(producer.commitTransaction()).rejects.toThrow(TransactionStateError);
    await expect(producer.abortTransaction()).rejects.toThrow(TransactionStateError);
    await expect(producer.sendOffsetsToTransaction([{ topic, partition: 0, offset: 1 as never }], 'g')).rejects.toThrow(ConfigError);
    producer.beginTransaction();
    expect(() => producer.beginTransaction()).toThrow(/in a transaction/);
    await producer.send({ topic, value: 'kept' });
    await producer.commitTransaction();
    await expect(producer.commitTransaction()).rejects.toThrow(TransactionStateError);

    // transaction(fn): commits what fn sent when it returns, aborts when it throws.
    const result = await producer.transaction(async (tx) => {
      await tx.send({ topic, value: 'committed-by-helper' });
      return 42;
    });
    expect(result).toBe(42);
    await expect(
      producer.transaction(async (tx) => {
        await tx.send({ topic, value: 'aborted-by-helper' });
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(producer.transactionState).toBe('ready');
    await producer.close();
    expect(await values(topic, 0, 'read_committed')).toEqual(['kept', 'committed-by-helper']);
  });
});
