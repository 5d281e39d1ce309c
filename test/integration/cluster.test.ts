import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import type { PartitionCountChange } from '../../src/cluster/metadata.js';
import { parseBootstrap } from '../../src/connection/bootstrap.js';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionError } from '../../src/connection/errors.js';
import { ConnectionPool } from '../../src/connection/pool.js';
import { Metadata } from '../../src/protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../../src/protocol/kafka-errors.js';
import { testKafka } from '../helpers/kafka.js';
import { runKafkaTool } from '../support/java-tools.js';
import { uniqueTopic } from '../support/topics.js';

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap, partitionCountRefreshMs: 1000 });
  admin = new Admin(cluster);
});
afterAll(() => cluster?.close());

describe('bootstrap', () => {
  test('unreachable addresses fail within a bound, naming every address and why', async () => {
    const started = Date.now();
    const error = await Cluster.connect({ bootstrap: '127.0.0.1:1,127.0.0.1:9', connectTimeoutMs: 2000 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String(error)).toContain('tried 2 addresses');
    expect(String(error)).toMatch(/127\.0\.0\.1:1: could not connect: ECONNREFUSED/);
    expect(String(error)).toMatch(/127\.0\.0\.1:9: could not connect: ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a bad entry does not block a good one', async () => {
    const other = await Cluster.connect({ bootstrap: `127.0.0.1:1,${kafka.bootstrap}` });
    try {
      expect(other.metadata.brokers.size).toBeGreaterThan(0);
      expect(other.metadata.clusterId).toBe(cluster.metadata.clusterId);
    } finally {
      other.close();
    }
  });
});

describe('admin', () => {
  test('create, describe, grow, list offsets and delete a topic', async () => {
    const topic = uniqueTopic('admin');
    await admin.createTopics([{ name: topic, partitions: 3, replicationFactor: 1, configs: { 'retention.ms': '3600000' } }]);
    const described = await admin.describeTopic(topic);
    expect(described.partitions).toHaveLength(3);
    expect(described.topicId).not.toBe('AAAAAAAAAAAAAAAAAAAAAA');
    for (const partition of described.partitions) expect(cluster.metadata.brokers.has(partition.leader)).toBe(true);

    expect((await admin.listTopics()).includes(topic)).toBe(true);
    const offsets = await admin.listOffsets(topic, 'latest');
    expect(offsets.map((offset) => [offset.partition, offset.offset])).toEqual([
      [0, 0n],
      [1, 0n],
      [2, 0n],
    ]);
    expect((await admin.listOffsets(topic, 'earliest')).every((offset) => offset.offset === 0n)).toBe(true);

    await admin.createPartitions(topic, 5);
    expect((await admin.describeTopic(topic)).partitions).toHaveLength(5);

    const again = await admin.createTopics([{ name: topic, partitions: 1 }]).catch((caught: unknown) => caught);
    expect(again).toBeInstanceOf(KafkaProtocolError);
    expect((again as KafkaProtocolError).code).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect(String(again)).toContain(`topic ${topic}`);

    await admin.deleteTopics([topic]);
    await expect(admin.describeTopic(topic)).rejects.toThrow(/UNKNOWN_TOPIC_OR_PARTITION/);
  });

  test('describeCluster names the brokers the metadata has', async () => {
    const description = await admin.describeCluster();
    expect(description.clusterId).toBe(cluster.metadata.clusterId);
    expect(description.brokers.map((broker) => broker.nodeId).sort()).toEqual([...cluster.metadata.brokers.keys()].sort());
  });
});

describe('metadata cache', () => {
  test('partitions added by another client are seen within the refresh interval and listeners are told', async () => {
    const topic = uniqueTopic('grow');
    await admin.createTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
    expect((await cluster.metadata.topic(topic))?.partitions).toHaveLength(3);
    const changes: PartitionCountChange[] = [];
    const told = new Promise<void>((resolve) => {
      cluster.metadata.onPartitionCountChange((change) => {
        if (change.topic !== topic) return;
        changes.push(change);
        resolve();
      });
    });

    // Another client grows the topic: Kafka's own TopicCommand where we have it, else a second kafka-wire client.
    const grownAt = Date.now();
    if (kafka.source === 'embedded' && kafka.kafkaVersion) {
      const result = runKafkaTool(kafka.kafkaVersion, 'org.apache.kafka.tools.TopicCommand', [
        '--bootstrap-server',
        kafka.bootstrap,
        '--alter',
        '--topic',
        topic,
        '--partitions',
        '6',
      ]);
      expect(result.status, result.output).toBe(0);
    } else {
      const other = await Cluster.connect({ bootstrap: kafka.bootstrap });
      await new Admin(other).createPartitions(topic, 6).finally(() => other.close());
    }
    await Promise.race([
      told,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no partition-count change within 10 s')), 10_000)),
    ]);
    expect(changes[0]).toEqual({ topic, previous: 3, current: 6 });
    expect(cluster.metadata.topics.get(topic)?.partitions).toHaveLength(6);
    console.log(
      `[metadata] partition growth 3 → 6 seen ${Date.now() - grownAt} ms after the other client's change returned ` +
        '(refresh interval 1000 ms)',
    );
  });

  test('a storm of leadership errors costs one metadata request', async () => {
    // A client of its own, without periodic refreshes, so that only the errors can cause requests.
    const quiet = await Cluster.connect({ bootstrap: kafka.bootstrap, partitionCountRefreshMs: 0 });
    try {
      const before = quiet.metadata.refreshCount;
      for (let i = 0; i < 500; i++) quiet.metadata.noteError(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(quiet.metadata.refreshCount - before).toBe(1);
      // Errors that say nothing about leadership cost nothing.
      for (let i = 0; i < 100; i++) quiet.metadata.noteError(ErrorCode.TOPIC_ALREADY_EXISTS);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(quiet.metadata.refreshCount - before).toBe(1);
    } finally {
      quiet.close();
    }
  });
});

describe('one connection', () => {
  test('10,000 pipelined requests, every answer matched to its request', async () => {
    const connection = await Connection.connect(parseBootstrap(kafka.bootstrap)[0]!);
    try {
      const count = 10_000;
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          connection.request(
            Metadata,
            Metadata.request.create({
              topics: [{ name: `kw-absent-${i}`, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }],
              allowAutoTopicCreation: false,
            }),
          ),
        ),
      );
      let matched = 0;
      answers.forEach((answer, i) => {
        if (
          answer.topics.length === 1 &&
          answer.topics[0]!.name === `kw-absent-${i}` &&
          answer.topics[0]!.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        )
          matched++;
      });
      expect(matched).toBe(count);
      expect(connection.inFlight).toBe(0);
      console.log(`[pipelining] ${count} Metadata requests in flight on one connection, all matched, in ${Date.now() - started} ms`);
    } finally {
      connection.close();
    }
  });
});

describe('connection pool', () => {
  test('one connection per broker by default, and a dedicated one per lane (e.g. per partition leader)', async () => {
    const nodeId = [...cluster.metadata.brokers.keys()][0]!;
    const shared = await cluster.connectionTo(nodeId);
    expect(await cluster.connectionTo(nodeId)).toBe(shared);
    const laneA = await cluster.connectionTo(nodeId, { lane: 'events-0' });
    const laneB = await cluster.connectionTo(nodeId, { lane: 'events-1' });
    expect(laneA).not.toBe(shared);
    expect(laneB).not.toBe(laneA);
    expect(await cluster.connectionTo(nodeId, { lane: 'events-0' })).toBe(laneA);
  });

  test('idle connections close, and the next request opens a new one', async () => {
    const idle = await Cluster.connect({ bootstrap: kafka.bootstrap, idleTimeoutMs: 1000, partitionCountRefreshMs: 0 });
    try {
      const nodeId = [...idle.metadata.brokers.keys()][0]!;
      const first = await idle.connectionTo(nodeId);
      const closed = new Promise<string>((resolve) => first.onClose((error) => resolve(error.message)));
      expect(await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000))])).toMatch(
        /closed after 1 s idle/,
      );
      const second = await idle.connectionTo(nodeId);
      expect(second).not.toBe(first);
      expect(second.isOpen).toBe(true);
    } finally {
      idle.close();
    }
  });

  test('failed connects back off exponentially before the next attempt', async () => {
    const pool = new ConnectionPool({ reconnectBackoff: { initialMs: 200, maxMs: 5000 } });
    try {
      const dead = { host: '127.0.0.1', port: 1 };
      await expect(pool.get('dead', dead, 'dead broker')).rejects.toThrow(/ECONNREFUSED/);
      const firstWait = pool.backoffRemaining('dead');
      expect(firstWait).toBeGreaterThan(50);
      expect(firstWait).toBeLessThanOrEqual(200);
      const started = Date.now();
      await expect(pool.get('dead', dead, 'dead broker')).rejects.toThrow(/ECONNREFUSED/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(firstWait - 20);
      expect(pool.backoffRemaining('dead')).toBeGreaterThan(150);
    } finally {
      pool.close();
    }
  });
});
