import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { keyPartition } from '../../src/producer/partitioner.js';
import { testKafka } from '../helpers/kafka.js';
import { runKafkaTool } from '../support/java-tools.js';
import { fetchBatches } from '../support/produce-fetch.js';
import { uniqueTopic } from '../support/topics.js';

/** Kafka's own console producer places keyed records; every one must sit in the partition keyPartition names. */

const kafka = testKafka();
const PARTITIONS = 6;
let cluster: Cluster;

beforeAll(async () => {
  if (kafka.source !== 'embedded' || !kafka.kafkaVersion) return;
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
});
afterAll(() => cluster?.close());

const UTF8_KEYS = [
  'é',
  'ü',
  '日',
  '日本',
  '日本語',
  'κλειδί',
  'ключ',
  '🔑',
  '🔑🔑',
  'naïve café',
  'Grüße aus Köln',
  '中文键值测试',
  'emoji-😀-key',
  'ñ'.repeat(13),
  'user-ü-7',
  'Ωmega',
];

describe.skipIf(kafka.source !== 'embedded' || !kafka.kafkaVersion)('default partitioner against the Java console producer', () => {
  const version = kafka.kafkaVersion!;
  const consoleProducer = Number(version.split('.')[0]) >= 4 ? 'org.apache.kafka.tools.ConsoleProducer' : 'kafka.tools.ConsoleProducer';

  test('every keyed record the Java client produces lands in keyPartition(key, 6)', async () => {
    const topic = uniqueTopic('partitioner');
    await new Admin(cluster).createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);

    const lines: Array<{ key: string; value: string }> = [];
    for (let i = 0; i < 570; i++) lines.push({ key: `user-${i}`, value: `v${i}` });
    UTF8_KEYS.forEach((key, i) => {
      lines.push({ key, value: `utf8-${i}` });
    });
    for (let i = 0; i < 6; i++) lines.push({ key: '', value: `empty-${i}` });
    for (let i = 0; i < 8; i++) lines.push({ key: `k${'x'.repeat(i * 5)}`, value: `len-${i}` });
    const input = lines.map(({ key, value }) => `${key}|${value}`).join('\n');

    const result = runKafkaTool(
      version,
      consoleProducer,
      ['--bootstrap-server', kafka.bootstrap, '--topic', topic, '--property', 'parse.key=true', '--property', 'key.separator=|'],
      120_000,
      input,
    );
    expect(result.status, result.output.slice(-2000)).toBe(0);

    const received: Array<{ key: string; value: string; partition: number }> = [];
    const perPartition = new Array<number>(PARTITIONS).fill(0);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      let from = 0n;
      for (;;) {
        const records = (await fetchBatches(cluster, topic, partition, from))
          .flatMap((batch) => [...batch.records()])
          .filter((record) => record.offset >= from);
        if (records.length === 0) break;
        for (const record of records) {
          expect(record.key, `a record in partition ${partition} has a null key`).not.toBeNull();
          const key = record.key!;
          expect(keyPartition(key, PARTITIONS), `key ${JSON.stringify(key.toString('utf8'))} (${key.toString('hex')})`).toBe(partition);
          received.push({ key: key.toString('utf8'), value: record.value?.toString('utf8') ?? '', partition });
          perPartition[partition]!++;
        }
        from = records.at(-1)!.offset + 1n;
      }
    }

    // Everything sent came back, byte for byte (so the UTF-8 and empty keys really were those bytes).
    const sort = (items: Array<{ key: string; value: string }>) => items.map(({ key, value }) => `${key}|${value}`).sort();
    expect(sort(received)).toEqual(sort(lines));
    // Sanity: the keys spread over every partition.
    for (const count of perPartition) expect(count).toBeGreaterThan(0);
    // The empty key is a real (zero-length) key, hashed like any other: murmur2([]) = 275646681, 275646681 % 6 = 3.
    expect(new Set(received.filter((r) => r.key === '').map((r) => r.partition))).toEqual(new Set([3]));
  });
});
