import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { RecordBatchBuilder } from '../../src/records/batch-builder.js';
import type { CompressionName } from '../../src/records/compression.js';
import { testKafka } from '../helpers/kafka.js';
import { runKafkaTool } from '../support/java-tools.js';
import { fetchBatches, produceBatch } from '../support/produce-fetch.js';
import { uniqueTopic } from '../support/topics.js';

/** Every codec both ways against the reference: our batches read by Kafka's console consumer, its console producer's batches read by us. */

const kafka = testKafka();
const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const COUNT = 500;
let cluster: Cluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap, partitionCountRefreshMs: 0 });
  admin = new Admin(cluster);
});
afterAll(() => cluster?.close());

const value = (codec: string, i: number) => `${codec} value ${i} ${'lorem ipsum dolor sit amet '.repeat(i % 5)}`;

// Kafka's own console tools come with the embedded broker's download.
describe.skipIf(kafka.source !== 'embedded' || !kafka.kafkaVersion)('compression against the Java console tools', () => {
  const version = kafka.kafkaVersion!;
  const consoleProducer = Number(version.split('.')[0]) >= 4 ? 'org.apache.kafka.tools.ConsoleProducer' : 'kafka.tools.ConsoleProducer';

  test.each(CODECS)('%s: batches kafka-wire compresses are accepted and read back by the Java console consumer', async (codec) => {
    const topic = uniqueTopic(`out-${codec}`);
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    let sent = 0;
    while (sent < COUNT) {
      const builder = new RecordBatchBuilder({ compression: codec }, 16_384);
      while (
        sent < COUNT &&
        builder.tryAppend({ key: Buffer.from(`k${sent}`), value: Buffer.from(value(codec, sent)), timestamp: Date.now() })
      )
        sent++;
      await produceBatch(cluster, topic, 0, builder.build());
    }
    const stored = await fetchBatches(cluster, topic, 0);
    expect(new Set(stored.map((batch) => batch.compression))).toEqual(new Set([codec]));

    const result = runKafkaTool(version, 'org.apache.kafka.tools.consumer.ConsoleConsumer', [
      '--bootstrap-server',
      kafka.bootstrap,
      '--topic',
      topic,
      '--from-beginning',
      '--max-messages',
      String(COUNT),
      '--timeout-ms',
      '30000',
      '--property',
      'print.key=true',
      '--property',
      'key.separator=|',
    ]);
    const lines = result.output.split('\n').filter((line) => /^k\d+\|/.test(line));
    expect(lines, result.output.slice(-2000)).toHaveLength(COUNT);
    lines.forEach((line, i) => {
      expect(line).toBe(`k${i}|${value(codec, i)}`);
    });
  });

  test.each(CODECS)('%s: batches the Java console producer compresses are read by kafka-wire', async (codec) => {
    const topic = uniqueTopic(`in-${codec}`);
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const input = Array.from({ length: COUNT }, (_, i) => `k${i}|${value(codec, i)}`).join('\n');
    const result = runKafkaTool(
      version,
      consoleProducer,
      [
        '--bootstrap-server',
        kafka.bootstrap,
        '--topic',
        topic,
        '--compression-codec',
        codec,
        '--property',
        'parse.key=true',
        '--property',
        'key.separator=|',
        '--batch-size',
        '16384',
      ],
      120_000,
      input,
    );
    expect(result.status, result.output.slice(-2000)).toBe(0);

    const batches = await fetchBatches(cluster, topic, 0);
    expect(batches.length).toBeGreaterThan(0);
    expect(new Set(batches.map((batch) => batch.compression))).toEqual(new Set([codec]));
    const records = batches.flatMap((batch) => [...batch.records()]);
    expect(records.map((record) => `${record.key}|${record.value}`)).toEqual(input.split('\n'));
    expect(records.map((record) => record.offset)).toEqual(Array.from({ length: COUNT }, (_, i) => BigInt(i)));
  });
});
