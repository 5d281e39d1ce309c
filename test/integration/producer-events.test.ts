import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import type { Logger } from '../../src/logger.js';
import { DeliveryTimeoutError } from '../../src/producer/errors.js';
import { Producer, type ProducerEvents } from '../../src/producer/producer.js';
import { prometheusText } from '../../src/producer/prometheus.js';
import { ErrorCode, KafkaProtocolError } from '../../src/protocol/kafka-errors.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueTopic } from '../support/topics.js';

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap, partitionCountRefreshMs: 0 });
  admin = new Admin(cluster);
});
afterAll(() => cluster?.close());

/** A logger in pino's shape that keeps what it is given. */
function recordingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const level = (name: string) => (fields: Record<string, unknown>, message: string) => lines.push({ level: name, fields, message });
  const logger: Logger = { debug: level('debug'), info: level('info'), warn: level('warn'), error: level('error') };
  return { logger, lines };
}

/** The next event of that name, or a failure after `ms` (the wait ends as soon as the event comes). */
async function next<E extends keyof ProducerEvents>(producer: Producer, name: E, ms = 20_000): Promise<ProducerEvents[E][0]> {
  const [event] = (await once(producer as never, name, { signal: AbortSignal.timeout(ms) })) as ProducerEvents[E];
  return event;
}

describe('events and the logger hook', () => {
  test('connect, metadata changes and idle disconnects are told, and logged', async () => {
    const topic = uniqueTopic('events');
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    const { logger, lines } = recordingLogger();
    const producer = new Producer({ bootstrap: kafka.bootstrap, logger, partitionCountRefreshMs: 300, idleTimeoutMs: 1000 });
    try {
      const connected = next(producer, 'connect');
      await producer.send({ topic, value: 'a' });
      expect((await connected).broker).toMatch(/broker/);
      expect(lines.some((line) => line.level === 'debug' && line.message.startsWith('connected to'))).toBe(true);

      const changed = next(producer, 'metadataChange');
      await admin.createPartitions(topic, 4);
      expect((await changed).partitionCounts).toEqual([{ topic, previous: 2, current: 4 }]);
      expect(lines.some((line) => line.level === 'info' && line.message === 'cluster metadata changed')).toBe(true);

      const closed = await next(producer, 'disconnect');
      expect(closed.error.message).toContain('idle');
      expect(lines.some((line) => line.level === 'info' && line.message.startsWith('connection to'))).toBe(true);
    } finally {
      await producer.close();
    }
  });

  test('refused connections are told as connectFailed with the backoff, and logged as warnings', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const { logger, lines } = recordingLogger();
    const producer = new Producer({ bootstrap: `127.0.0.1:${port}`, logger, maxBlockMs: 1000 });
    try {
      const failed = next(producer, 'connectFailed');
      await expect(producer.connect()).rejects.toThrow(/ECONNREFUSED/);
      const event = await failed;
      expect(event.address).toBe(`127.0.0.1:${port}`);
      expect(event.error.message).toContain('ECONNREFUSED');
      expect(event.retryInMs).toBeGreaterThan(0);
      expect(lines.some((line) => line.level === 'warn' && line.message.includes(`127.0.0.1:${port}`))).toBe(true);
    } finally {
      await producer.close();
    }
  });

  test('retries and failed deliveries are told with the broker error, and logged; Prometheus text shows them', async () => {
    // A topic deleted behind the producer's back: its cached metadata still names a leader, which answers
    // with a retriable error (the topic is unknown to it) until the record's delivery deadline.
    const topic = uniqueTopic('deleted');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const { logger, lines } = recordingLogger();
    const producer = new Producer({
      bootstrap: kafka.bootstrap,
      logger,
      deliveryTimeoutMs: 2000,
      retryBackoff: { initialMs: 50, maxMs: 200 },
    });
    const retries: ProducerEvents['retry'][0][] = [];
    producer.on('retry', (event) => retries.push(event));
    try {
      await producer.send({ topic, value: 'before the delete' });
      await admin.deleteTopics([topic]);
      const failedEvent = next(producer, 'deliveryFailed');
      const error = await producer.send({ topic, value: 'after the delete' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DeliveryTimeoutError);
      const failed = await failedEvent;
      expect(failed).toMatchObject({ topic, partition: 0, records: 1 });
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries[0]).toMatchObject({ topic, partition: 0, records: 1, attempt: 1 });
      const first = retries[0]!.error as KafkaProtocolError;
      expect(first).toBeInstanceOf(KafkaProtocolError);
      expect([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.NOT_LEADER_OR_FOLLOWER]).toContain(first.code);
      expect(lines.some((line) => line.level === 'warn' && line.message.startsWith('retrying 1 record(s)'))).toBe(true);
      expect(lines.some((line) => line.level === 'error' && line.message.startsWith('1 record(s)'))).toBe(true);

      const text = prometheusText(producer.metrics, { labels: { client: 'events-test' } });
      expect(text).toContain('kafka_wire_producer_records_sent_total{client="events-test"} 1\n');
      expect(text).toContain('kafka_wire_producer_records_failed_total{client="events-test"} 1\n');
      expect(text).toContain(`kafka_wire_producer_records_retried_total{client="events-test"} ${producer.metrics.recordsRetried}\n`);
      expect(producer.metrics.recordsRetried).toBeGreaterThanOrEqual(retries.length);
    } finally {
      await producer.close();
    }
  });
});
