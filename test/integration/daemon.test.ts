import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { PartitionReader } from '../../src/consumer/partition-reader.js';
import { DaemonClient } from '../../src/daemon/client.js';
import { encodeDoryMessage } from '../../src/daemon/dory-message.js';
import { testKafka } from '../helpers/kafka.js';
import { DaemonProcess, runDoryClient } from '../support/daemon.js';
import { JournalDirs } from '../support/durable.js';
import { runKafkaTool } from '../support/java-tools.js';
import { uniqueTopic } from '../support/topics.js';

/**
 * `kafka-wire daemon` (issue 14) as a child process against the real broker: Dory's clients in
 * Python and Perl (standard libraries only) and our TypeScript client on every input, rate
 * limits, bad input, SIGTERM and a second daemon. Apache Kafka's console consumer checks delivery.
 */

const kafka = testKafka();
const dirs = new JournalDirs('kw-daemon-');
let cluster: Cluster;
let admin: Admin;
const running: DaemonProcess[] = [];

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  admin = new Admin(cluster);
});
afterAll(() => {
  cluster?.close();
  dirs.removeAll();
});
afterEach(() => {
  for (const daemon of running.splice(0)) daemon.kill();
});

async function startDaemon(dir: string, extra: string[] = []): Promise<DaemonProcess> {
  const daemon = await DaemonProcess.start([
    '--bootstrap',
    kafka.bootstrap,
    '--journal',
    join(dir, 'journal'),
    '--stream',
    join(dir, 'stream.sock'),
    '--dgram',
    join(dir, 'dgram.sock'),
    '--tcp',
    '0',
    ...extra,
  ]);
  running.push(daemon);
  return daemon;
}

async function countRecords(topic: string, partitions: number): Promise<number> {
  let count = 0;
  for (let partition = 0; partition < partitions; partition++) {
    for await (const _ of new PartitionReader(cluster, { topic, partition, until: 'end' })) count++;
  }
  return count;
}

interface Consumed {
  timestamp: number;
  partition: number;
  key: string;
  value: string;
}

/** Every record of the topic as Apache Kafka's console consumer prints it. */
function consumeWithJava(topic: string, count: number): Consumed[] {
  const result = runKafkaTool(
    kafka.kafkaVersion as string,
    'org.apache.kafka.tools.consumer.ConsoleConsumer',
    [
      '--bootstrap-server',
      kafka.bootstrap,
      '--topic',
      topic,
      '--from-beginning',
      '--max-messages',
      String(count),
      '--timeout-ms',
      '60000',
    ].concat(['--property', 'print.timestamp=true', '--property', 'print.partition=true', '--property', 'print.key=true']),
    300_000,
  );
  const consumed: Consumed[] = [];
  for (const line of result.output.split('\n')) {
    const match = /^CreateTime:(\d+)\tPartition:(\d+)\t(\S+)\t(\S+)$/.exec(line);
    if (match)
      consumed.push({ timestamp: Number(match[1]), partition: Number(match[2]), key: match[3] as string, value: match[4] as string });
  }
  expect(consumed.length, result.output.slice(-3000)).toBe(count);
  return consumed;
}

describe.skipIf(kafka.source !== 'embedded' || !kafka.kafkaVersion)('kafka-wire daemon', () => {
  test('Python, Perl and TypeScript clients on every input: Java sees each message once, with its key, value, timestamp and partition rule', {
    timeout: 300_000,
  }, async () => {
    const topic = uniqueTopic('daemon-clients');
    await admin.createTopics([{ name: topic, partitions: 3 }]);
    const dir = dirs.make();
    const daemon = await startDaemon(dir);
    const where = { dgram: join(dir, 'dgram.sock'), stream: join(dir, 'stream.sock'), tcp: String(daemon.tcpPort) };
    const PER_SENDER = 200;
    const base = Date.now() - 60_000;
    const prefixes: string[] = [];
    for (const language of ['python', 'perl'] as const) {
      for (const input of ['dgram', 'stream', 'tcp'] as const) {
        const prefix = `${language}.${input}`;
        runDoryClient(language, input, where[input], topic, PER_SENDER, prefix, base);
        prefixes.push(prefix);
      }
    }
    // Our client sends what the scripts send (Node has no UNIX datagram sockets: it has no dgram input).
    for (const input of ['stream', 'tcp'] as const) {
      const prefix = `typescript.${input}`;
      const client = await DaemonClient.connect(input === 'stream' ? { path: where.stream } : { port: daemon.tcpPort });
      for (let i = 0; i < PER_SENDER; i++) {
        const keyed = i % 2 === 1;
        const sent = client.send({
          topic,
          key: keyed ? `k${i}` : null,
          value: `${prefix}-${i}`,
          timestamp: base + i,
          ...(keyed && { partitionKey: i }),
        });
        if (!sent) await client.drained();
      }
      await client.close();
      prefixes.push(prefix);
    }
    const total = prefixes.length * PER_SENDER;
    const status = await daemon.until('everything delivered', (s) => s.delivered === total);
    expect(status.received).toEqual({ dgram: 2 * PER_SENDER, stream: 3 * PER_SENDER, tcp: 3 * PER_SENDER, total });
    expect(status.discarded).toBe(0);
    expect(status.topics).toMatchObject([{ topic, accepted: total, journaled: total, delivered: total, onDisk: 0 }]);

    const consumed = consumeWithJava(topic, total);
    const byValue = new Map(consumed.map((record) => [record.value, record]));
    expect(byValue.size).toBe(total);
    for (const prefix of prefixes) {
      for (let i = 0; i < PER_SENDER; i++) {
        const record = byValue.get(`${prefix}-${i}`);
        expect(record, `${prefix}-${i}`).toBeDefined();
        expect(record?.timestamp).toBe(base + i);
        // Dory's empty key is no key (the console consumer prints null); PartitionKey i goes to partition i mod 3.
        expect(record?.key).toBe(i % 2 === 1 ? `k${i}` : 'null');
        if (i % 2 === 1) expect(record?.partition, `${prefix}-${i}`).toBe(i % 3);
      }
    }
    expect(await daemon.stop()).toBe(0);
  });

  test('a topic limited to 1,000 messages per second sent 5,000 in one write: exactly 4,000 discarded as rate limited', {
    timeout: 120_000,
  }, async () => {
    const topic = uniqueTopic('daemon-rate');
    const free = uniqueTopic('daemon-free');
    await admin.createTopics([
      { name: topic, partitions: 2 },
      { name: free, partitions: 1 },
    ]);
    const dir = dirs.make();
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ rateLimits: { topics: { [topic]: { intervalMs: 1000, maxCount: 1000 } } } }));
    const daemon = await startDaemon(dir, ['--config', config]);
    const now = Date.now();
    const frames = Array.from({ length: 5000 }, (_, i) => encodeDoryMessage({ topic, value: `r${i}`, timestamp: now + i }));
    // Another topic at the same moment is not limited.
    frames.push(...Array.from({ length: 2000 }, (_, i) => encodeDoryMessage({ topic: free, value: `f${i}`, timestamp: now })));
    await writeRaw({ path: join(dir, 'stream.sock') }, Buffer.concat(frames));
    const status = await daemon.until('all read and delivered', (s) => s.received.total === 7000 && s.delivered === 3000);
    expect(status.discarded).toBe(4000);
    const report = await daemon.discards();
    expect(report.totals.rateLimited).toBe(4000);
    expect(report.current.topics[topic]).toEqual({ count: 4000, rateLimited: 4000, begin: now + 1000, end: now + 4999 });
    expect(await countRecords(topic, 2)).toBe(1000);
    expect(await countRecords(free, 1)).toBe(2000);
    expect(await daemon.stop()).toBe(0);
  });

  test('SIGTERM drains what was read; a second daemon on the same sockets or journal gets a clear error', {
    timeout: 120_000,
  }, async () => {
    const topic = uniqueTopic('daemon-life');
    await admin.createTopics([{ name: topic, partitions: 1 }]);
    const dir = dirs.make();
    const daemon = await startDaemon(dir);
    const second = (args: string[]) => DaemonProcess.start(['--bootstrap', kafka.bootstrap, ...args]).then((d) => d.kill());
    await expect(second(['--journal', join(dir, 'other'), '--stream', join(dir, 'stream.sock')])).rejects.toThrow(
      /stream\.sock is in use: another process \(a second daemon\?\) accepts connections on it/,
    );
    await expect(second(['--journal', join(dir, 'other2'), '--dgram', join(dir, 'dgram.sock')])).rejects.toThrow(
      /dgram\.sock is in use: another process receives datagrams on it/,
    );
    await expect(second(['--journal', join(dir, 'journal'), '--stream', join(dir, 'other.sock')])).rejects.toThrow(
      /is locked: process \d+ holds it/,
    );
    await expect(second(['--journal', join(dir, 'other3'), '--tcp', String(daemon.tcpPort)])).rejects.toThrow(/127\.0\.0\.1:\d+ is in use/);

    // 20,000 messages written and the connection closed; SIGTERM at once: every one is delivered before the exit.
    const client = await DaemonClient.connect({ path: join(dir, 'stream.sock') });
    for (let i = 0; i < 20_000; i++) if (!client.send({ topic, value: `t${i}` })) await client.drained();
    await client.close();
    expect(await daemon.stop()).toBe(0);
    expect(daemon.cli.stdout).toMatch(/stopped: received 20000, delivered 20000, discarded 0, left in the journal 0/);
    expect(await countRecords(topic, 1)).toBe(20_000);
  });
});

/** Writes bytes to a stream input and closes the connection once they are sent. */
function writeRaw(to: { path: string } | { port: number }, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in to ? connect(to.path) : connect(to.port, '127.0.0.1');
    socket.once('error', reject);
    socket.end(bytes, () => resolve());
  });
}
