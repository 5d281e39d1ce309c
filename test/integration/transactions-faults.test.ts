import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { Coordinators } from '../../src/cluster/coordinators.js';
import { PartitionReader } from '../../src/consumer/partition-reader.js';
import {
  bootstrapFor,
  type ClusterState,
  killNode,
  restartNode,
  type StartOptions,
  startCluster,
  stopCluster,
} from '../../src/embedded/cluster.js';
import { clusterDir } from '../../src/embedded/paths.js';
import { ConfigError, isRetriable } from '../../src/errors.js';
import { ProducerFencedError, TransactionAbortableError } from '../../src/producer/errors.js';
import { Producer, type ProducerOptions } from '../../src/producer/producer.js';
import { ListOffsets } from '../../src/protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../../src/protocol/kafka-errors.js';
import { testKafka } from '../helpers/kafka.js';
import { waitUntil } from '../support/cli.js';
import { runKafkaTool } from '../support/java-tools.js';
import { uniqueTopic } from '../support/topics.js';

/**
 * Transactions when things go wrong, against real brokers: a second producer with the same
 * transactional id, an id the user may not use, a producer process killed mid-transaction, the
 * transaction coordinator's node killed mid-transaction (on a 3-node cluster of its own), and a
 * transaction that outlives its timeout. Kafka 4.x runs transaction protocol version 2, 3.9 version 1.
 */

const kafka = testKafka();
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../support/transaction-child.ts', import.meta.url));

const producers: Producer[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(producers.splice(0).map((producer) => producer.close(5000)));
});

function transactional(options: ProducerOptions): Producer {
  const producer = new Producer(options);
  producers.push(producer);
  return producer;
}

/** The partition's last stable offset (what read_committed may read up to) and its high watermark, from its leader. */
async function logEnds(cluster: Cluster, topic: string, partition: number): Promise<{ stable: bigint; end: bigint }> {
  await cluster.metadata.topic(topic);
  const leader = cluster.metadata.leaderFor(topic, partition);
  if (leader < 0) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, { api: 'ListOffsets', subject: `${topic}-${partition}` });
  const latest = async (isolationLevel: 0 | 1) => {
    const response = await cluster.request(
      leader,
      ListOffsets,
      ListOffsets.request.create({
        replicaId: -1,
        isolationLevel,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
      }),
    );
    const result = response.topics[0]?.partitions[0];
    if (!result) throw new Error(`ListOffsets answered nothing for ${topic}-${partition}`);
    if (result.errorCode !== ErrorCode.NONE) {
      cluster.metadata.noteError(result.errorCode);
      throw new KafkaProtocolError(result.errorCode, { api: 'ListOffsets', subject: `${topic}-${partition}` });
    }
    return result.offset;
  };
  return { stable: await latest(1), end: await latest(0) };
}

/**
 * Polls until every transaction on the partitions is decided (last stable offset = high
 * watermark) and `done` holds of the ends; a leader moving in between is asked again. Returns the ends.
 */
async function untilDecided(
  cluster: Cluster,
  topic: string,
  partitions: number[],
  timeoutMs: number,
  done: (ends: { stable: bigint; end: bigint }[]) => boolean = () => true,
): Promise<{ stable: bigint; end: bigint }[]> {
  let ends: { stable: bigint; end: bigint }[] = [];
  await waitUntil(
    `every transaction on ${topic} decided`,
    async () => {
      try {
        ends = await Promise.all(partitions.map((partition) => logEnds(cluster, topic, partition)));
      } catch (error) {
        if (!isRetriable(error)) throw error;
        await cluster.metadata.refresh([topic]).catch(() => undefined);
        return false;
      }
      return ends.every(({ stable, end }) => stable === end) && done(ends);
    },
    timeoutMs,
  );
  return ends;
}

/** The values of a partition up to its end (read_committed: up to its last stable offset, without aborted transactions). */
async function values(cluster: Cluster, topic: string, partition: number, isolation: 'read_committed' | 'read_uncommitted') {
  const read: string[] = [];
  for await (const record of new PartitionReader(cluster, { topic, partition, isolation, until: 'end' })) read.push(String(record.value));
  return read;
}

const numbered = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/** What a synchronous call threw (undefined when it returned). */
function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Resolves with what the promise settled to (an error as a value), or rejects when it has not settled within timeoutMs. */
async function settlesWithin<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T | Error> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise.catch((error: unknown) => error as Error), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('transactions: fencing, refused ids, a producer killed mid-transaction', () => {
  let cluster: Cluster;
  let admin: Admin;

  beforeAll(async () => {
    cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
    admin = new Admin(cluster);
  });
  afterAll(() => cluster?.close());

  test('a second producer with the same transactional id fences the first: A fails for good, only B commits', async () => {
    const topic = uniqueTopic('txn-fenced');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const transactionalId = `fenced-${topic}`;
    const a = transactional({ bootstrap: kafka.bootstrap, transactionalId });
    await a.initTransactions();
    a.beginTransaction();
    await Promise.all(numbered('a-before', 5).map((value) => a.send({ topic, partition: 0, value })));

    // B's initTransactions() bumps the epoch, aborting A's open transaction (after waiting for it, if need be).
    const b = transactional({ bootstrap: kafka.bootstrap, transactionalId });
    await b.initTransactions();
    const [before] = await untilDecided(cluster, topic, [0], 30_000);
    expect(before!.end).toBe(6n); // A's 5 records and the abort marker B's fencing wrote

    // A record A sends now goes out under the old epoch, which the partition refuses (the record fails with the
    // broker's own error; the transaction manager reads it as the fencing it is).
    const late = await a.send({ topic, partition: 0, value: 'a-after' }).catch((error: unknown) => error);
    expect(late).toBeInstanceOf(KafkaProtocolError);
    expect((late as KafkaProtocolError).code).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    const fenced = await a.commitTransaction().catch((error: unknown) => error);
    expect(fenced).toBeInstanceOf(ProducerFencedError);
    expect(String(fenced)).toMatch(/another producer initialised transactional id/);
    expect(a.transactionState).toBe('fatalError');
    // Every later call fails with the same error.
    expect(thrownBy(() => a.beginTransaction())).toBe(fenced);
    await expect(a.commitTransaction()).rejects.toBe(fenced);
    await expect(a.abortTransaction()).rejects.toBe(fenced);
    await expect(a.send({ topic, partition: 0, value: 'a-later' })).rejects.toBe(fenced);
    expect(a.transactionState).toBe('fatalError');

    b.beginTransaction();
    await Promise.all(numbered('b', 5).map((value) => b.send({ topic, partition: 0, value })));
    await b.commitTransaction();
    expect(b.transactionState).toBe('ready');

    await untilDecided(cluster, topic, [0], 30_000);
    expect(await values(cluster, topic, 0, 'read_committed')).toEqual(numbered('b', 5));
    // A's first records were written and then aborted; nothing A sent after the fencing was written at all.
    expect(await values(cluster, topic, 0, 'read_uncommitted')).toEqual([...numbered('a-before', 5), ...numbered('b', 5)]);
    console.log(`[txn-faults] fenced producer: its late send() failed with ${String(late).slice(0, 200)}; commit: ${String(fenced)}`);
  });

  test('a transactional id that is empty or not a string is a ConfigError when the producer is made', () => {
    for (const transactionalId of ['', 42, null]) {
      expect(() => new Producer({ bootstrap: kafka.bootstrap, transactionalId: transactionalId as string })).toThrow(ConfigError);
    }
    expect(() => new Producer({ bootstrap: kafka.bootstrap, transactionalId: '' })).toThrow(/transactionalId must be a non-empty string/);
  });

  test('a transactional id the user may not use: initTransactions() fails at once with TRANSACTIONAL_ID_AUTHORIZATION_FAILED', async () => {
    if (kafka.source !== 'embedded' || !kafka.security || !kafka.kafkaVersion) return; // ACLs need our broker's authorizer and tools
    const denied = `denied-${uniqueTopic('txn')}`;
    const allowed = `allowed-${uniqueTopic('txn')}`;
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
      '--transactional-id',
      denied,
    ]);
    expect(acl.status, acl.output.slice(-1000)).toBe(0);
    const sasl = { mechanism: 'SCRAM-SHA-256' as const, username, password };

    const refusedProducer = transactional({ bootstrap: kafka.security.saslBootstrap, sasl, transactionalId: denied, maxBlockMs: 30_000 });
    const started = Date.now();
    const refused = await refusedProducer.initTransactions().catch((error: unknown) => error);
    const elapsed = Date.now() - started;
    expect(refused).toBeInstanceOf(KafkaProtocolError);
    expect((refused as KafkaProtocolError).code).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect(String(refused)).toContain(denied);
    // Not retried until maxBlockMs: the refusal is final.
    expect(elapsed).toBeLessThan(15_000);
    expect(refusedProducer.transactionState).toBe('fatalError');
    await expect(refusedProducer.initTransactions()).rejects.toBe(refused);
    expect(thrownBy(() => refusedProducer.beginTransaction())).toBe(refused);

    // The same user with another id is let in: the refusal was the ACL's.
    const allowedProducer = transactional({ bootstrap: kafka.security.saslBootstrap, sasl, transactionalId: allowed });
    await allowedProducer.initTransactions();
    expect(allowedProducer.transactionState).toBe('ready');
    console.log(`[txn-faults] denied transactional id refused after ${elapsed} ms: ${String(refused)}`);
  });

  test('a producer process killed mid-transaction: the next initTransactions() with its id aborts what it wrote', async () => {
    const topic = uniqueTopic('txn-killed');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const transactionalId = `killed-${topic}`;
    const count = 20;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, kafka.bootstrap, topic, transactionalId, String(count)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await waitUntil(
      'the child producer acknowledged',
      async () => {
        if (child.exitCode !== null) throw new Error(`the child exited (${child.exitCode}) first: ${stderr}`);
        return stdout.includes(`acknowledged ${count}`);
      },
      60_000,
    );
    // Its records are in the log, in a transaction still open: read_committed may read none of them.
    expect(await logEnds(cluster, topic, 0)).toEqual({ stable: 0n, end: BigInt(count) });

    child.kill('SIGKILL');
    expect(await settlesWithin('the child exit', exited, 30_000)).toBe('SIGKILL');
    // Nothing ends the transaction by itself (its timeout is 10 minutes away).
    expect(await logEnds(cluster, topic, 0)).toEqual({ stable: 0n, end: BigInt(count) });

    const next = transactional({ bootstrap: kafka.bootstrap, transactionalId });
    await next.initTransactions();
    // The dangling transaction was aborted: a marker after its records, and nothing left open.
    const [aborted] = await untilDecided(cluster, topic, [0], 30_000);
    expect(aborted).toEqual({ stable: BigInt(count + 1), end: BigInt(count + 1) });
    expect(await values(cluster, topic, 0, 'read_committed')).toEqual([]);

    await next.transaction(async (producer) => {
      await Promise.all(numbered('new', 5).map((value) => producer.send({ topic, partition: 0, value })));
    });
    await untilDecided(cluster, topic, [0], 30_000);
    expect(await values(cluster, topic, 0, 'read_committed')).toEqual(numbered('new', 5));
    expect(await values(cluster, topic, 0, 'read_uncommitted')).toEqual([...numbered('killed', count), ...numbered('new', 5)]);
  });
});

/**
 * 'auto' ports come from the OS's ephemeral range, which holds 39092: a cluster started later at
 * that fixed base (as other checkouts on a shared machine start theirs: 9092 and every 10000
 * above it) would find its ports taken. So a start that drew any port within 40 of such a base
 * is stopped and made again.
 */
const FIXED_BASES = [9092, 19092, 29092, 39092];
async function startClusterClearOfFixedBases(options: StartOptions & { name: string }): Promise<ClusterState> {
  for (let attempt = 0; ; attempt++) {
    const state = await startCluster(options);
    const ports = state.nodes.flatMap((node) => Object.values(node.ports) as number[]);
    if (attempt === 2 || !ports.some((port) => FIXED_BASES.some((base) => port >= base && port < base + 40))) return state;
    await stopCluster(options.name);
  }
}

describe.skipIf(kafka.source !== 'embedded')('transactions on a 3-node cluster of their own', () => {
  const name = `txn-faults-${process.pid}`;
  let cluster: Cluster;
  let admin: Admin;
  let bootstrap: string;

  beforeAll(async () => {
    const state = await startClusterClearOfFixedBases({
      name,
      brokers: 3,
      portBase: 'auto',
      version: kafka.kafkaVersion ?? undefined,
      // The coordinator looks for transactions past their timeout every 10 s by default; every 500 ms here.
      brokerProperties: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': 500 },
    });
    bootstrap = bootstrapFor(state, 'plaintext');
    cluster = await Cluster.connect({ bootstrap, reconnectBackoff: { initialMs: 100, maxMs: 1000 } });
    admin = new Admin(cluster);
  }, 400_000);

  afterAll(async () => {
    cluster?.close();
    await stopCluster(name);
    rmSync(clusterDir(name), { recursive: true, force: true });
  });

  test('a transaction that outlives transactionTimeoutMs: the broker aborts it, commit reports it, the producer goes on', async () => {
    const topic = uniqueTopic('txn-timeout');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
    const transactionTimeoutMs = 2000;
    const producer = transactional({ bootstrap, transactionalId: `timeout-${topic}`, transactionTimeoutMs });
    await producer.initTransactions();
    producer.beginTransaction();
    const begunAt = Date.now();
    await Promise.all(numbered('timed-out', 5).map((value) => producer.send({ topic, partition: 0, value })));
    expect(await logEnds(cluster, topic, 0)).toEqual({ stable: 0n, end: 5n });

    // The coordinator's abort shows as a marker after the records, and the last stable offset moving past it.
    await untilDecided(cluster, topic, [0], 60_000, ([ends]) => ends!.end === 6n);
    const abortedAfterMs = Date.now() - begunAt;
    expect(await values(cluster, topic, 0, 'read_committed')).toEqual([]);

    const error = await producer.commitTransaction().catch((caught: unknown) => caught);
    console.log(
      `[txn-faults] Kafka ${kafka.kafkaVersion}: the broker aborted the transaction ${abortedAfterMs} ms after it began ` +
        `(transactionTimeoutMs ${transactionTimeoutMs}); commitTransaction() then: ${String(error)}; ` +
        `cause: ${String((error as Error)?.cause)}`,
    );
    expect(error).toBeInstanceOf(TransactionAbortableError);
    expect(String(error)).toMatch(/longer than transactionTimeoutMs \(2000 ms\)/);
    expect(producer.transactionState).toBe('abortableError');
    await producer.abortTransaction();
    expect(producer.transactionState).toBe('ready');

    await producer.transaction(async (self) => {
      await Promise.all(numbered('after', 3).map((value) => self.send({ topic, partition: 0, value })));
    });
    await untilDecided(cluster, topic, [0], 30_000);
    expect(await values(cluster, topic, 0, 'read_committed')).toEqual(numbered('after', 3));
    expect(await values(cluster, topic, 0, 'read_uncommitted')).toEqual([...numbered('timed-out', 5), ...numbered('after', 3)]);
  });

  test('a timed-out producer whose id another producer has taken since: its abort is fenced and the id stays taken', async () => {
    const topic = uniqueTopic('txn-timeout-taken');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
    const transactionalId = `timeout-taken-${topic}`;
    const stale = transactional({ bootstrap, transactionalId, transactionTimeoutMs: 2000 });
    await stale.initTransactions();
    stale.beginTransaction();
    await Promise.all(numbered('stale', 3).map((value) => stale.send({ topic, partition: 0, value })));
    await untilDecided(cluster, topic, [0], 60_000, ([ends]) => ends!.end === 4n);

    const successor = transactional({ bootstrap, transactionalId });
    await successor.initTransactions();
    // Past its timeout, the stale producer takes the refusal for the coordinator's abort; the abort then finds it fenced.
    const commitError = await stale.commitTransaction().catch((error: unknown) => error);
    expect(commitError).toBeInstanceOf(TransactionAbortableError);
    const abortError = await stale.abortTransaction().catch((error: unknown) => error);
    expect(abortError).toBeInstanceOf(ProducerFencedError);
    expect(stale.transactionState).toBe('fatalError');
    console.log(
      `[txn-faults] Kafka ${kafka.kafkaVersion}: superseded after its timeout: commit: ${String(commitError)}; ` +
        `abort: ${String(abortError)}`,
    );

    await successor.transaction(async (self) => {
      await Promise.all(numbered('successor', 3).map((value) => self.send({ topic, partition: 0, value })));
    });
    await untilDecided(cluster, topic, [0], 30_000);
    expect(await values(cluster, topic, 0, 'read_committed')).toEqual(numbered('successor', 3));
  });

  test('kill -9 the transaction coordinator mid-transaction: commit settles, all or nothing is visible, the next commits', async () => {
    const topic = uniqueTopic('txn-coordinator');
    const partitions = [0, 1, 2];
    await admin.createTopics([{ name: topic, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
    const transactionalId = `coordinator-${topic}`;
    const producer = transactional({
      bootstrap,
      transactionalId,
      maxBlockMs: 90_000,
      reconnectBackoff: { initialMs: 100, maxMs: 1000 },
    });
    await producer.initTransactions();
    const coordinator = await new Coordinators(cluster).find('transaction', transactionalId);
    // The coordinator's state is replicated to all three nodes, so another can take over.
    const stateTopic = await cluster.metadata.topic('__transaction_state');
    expect(stateTopic?.partitions.every((partition) => partition.replicas.length === 3)).toBe(true);

    producer.beginTransaction();
    const sent = partitions.flatMap((partition) => numbered(`txn-p${partition}`, 10).map((value) => ({ partition, value })));
    await Promise.all(sent.map(({ partition, value }) => producer.send({ topic, partition, value })));
    const leaders = partitions.map((partition) => cluster.metadata.leaderFor(topic, partition));

    const killedAt = Date.now();
    await killNode(coordinator, name);
    try {
      const outcome = await settlesWithin('commitTransaction()', producer.commitTransaction(), 120_000);
      const settledMs = Date.now() - killedAt;
      const committed = !(outcome instanceof Error);
      if (!committed) {
        // Anything but a typed failure that allows an abort is a failure of the test.
        expect(outcome).toBeInstanceOf(TransactionAbortableError);
        expect(await settlesWithin('abortTransaction()', producer.abortTransaction(), 120_000)).toBeUndefined();
      }
      expect(producer.transactionState).toBe('ready');
      const movedTo = await new Coordinators(cluster).find('transaction', transactionalId);
      expect(movedTo).not.toBe(coordinator);

      await untilDecided(cluster, topic, partitions, 60_000);
      const visible = (await Promise.all(partitions.map((partition) => values(cluster, topic, partition, 'read_committed')))).flat();
      expect(visible.sort()).toEqual(committed ? sent.map(({ value }) => value).sort() : []);
      console.log(
        `[txn-faults] Kafka ${kafka.kafkaVersion}: coordinator node ${coordinator} (partition leaders ${leaders.join(', ')}) ` +
          `killed; commitTransaction() ${committed ? 'succeeded' : `failed (${String(outcome)}), then aborted`} ` +
          `${settledMs} ms after the kill; the coordinator moved to node ${movedTo}`,
      );

      // With the node still down, the next transaction goes through the new coordinator.
      await producer.transaction(async (self) => {
        await Promise.all(partitions.map((partition) => self.send({ topic, partition, value: `next-p${partition}` })));
      });
      await untilDecided(cluster, topic, partitions, 60_000);
      for (const partition of partitions) {
        const read = await values(cluster, topic, partition, 'read_committed');
        expect(read).toEqual([...(committed ? numbered(`txn-p${partition}`, 10) : []), `next-p${partition}`]);
      }
    } finally {
      await restartNode(coordinator, name);
    }
  }, 420_000);
});
