import { crc32 } from 'node:zlib';
import { Admin } from '../cluster/admin.js';
import { Cluster } from '../cluster/cluster.js';
import { PartitionReader } from '../consumer/partition-reader.js';
import { bootstrapFor, startCluster, stopCluster } from '../embedded/cluster.js';
import { Producer } from '../producer/producer.js';
import { type Command, integerFlag, type ParsedArgs, UsageError } from './args.js';
import {
  CONNECTION_OPTIONS,
  CONNECTION_SWITCHES,
  CONNECTION_USAGE,
  type ConnectionOptions,
  connectionOptions,
  hasClusterTarget,
} from './cluster-options.js';
import { type LoadResult, loadSummary, produceLoad } from './produce-command.js';
import { formatCount, formatMB, Progress } from './progress.js';

export const DEMO_USAGE = `usage: kafka-wire demo [--count N] [connection options]

  produce N records (default 1,000,000) with acks=all and idempotence, read them back and verify
  them; uses the cluster the connection options name, else KAFKA_BOOTSTRAP, else the running
  embedded cluster, else starts (and afterwards stops) an embedded broker of its own

${CONNECTION_USAGE}`;

const DEMO_CLUSTER = 'demo';
const PARTITIONS = 3;
const VALUE_SIZE = 100;
const KEYS = 1000;
const DEFAULT_COUNT = 1_000_000;
/** Bigger batches than the producer's 16 KiB default, and a moderate send window: the fastest mix measured locally. */
const BATCH_SIZE = 128 * 1024;
const MAX_OUTSTANDING = 10_000;
/** Values start with "record-" and the record number in NUMBER_DIGITS digits. */
const PREFIX = 'record-';
const NUMBER_DIGITS = 10;

/** Record i: key "key-<i % 1000>", a 100-byte value "record-<i, 10 digits>-……". */
function demoValue(index: number): Buffer {
  const value = Buffer.alloc(VALUE_SIZE, 0x2e);
  value.write(`${PREFIX}${String(index).padStart(NUMBER_DIGITS, '0')}-`, 0, 'latin1');
  return value;
}

/** The same on both sides: CRC-32 over key then value, summed modulo 2³² over all records (order-free). */
function recordChecksum(key: Uint8Array | null, value: Uint8Array | null): number {
  return crc32(value ?? Buffer.alloc(0), key ? crc32(key) : 0);
}

interface Verification {
  records: number;
  distinct: number;
  duplicates: number;
  malformed: number;
  checksum: number;
  bytes: number;
  elapsedMs: number;
}

/** Reads every partition from the start to its end offset and checks each record number appears once. */
async function readBack(cluster: Cluster, topic: string, count: number): Promise<Verification> {
  const seen = new Uint8Array(count);
  const result: Verification = { records: 0, distinct: 0, duplicates: 0, malformed: 0, checksum: 0, bytes: 0, elapsedMs: 0 };
  const progress = new Progress({ label: 'reading back', total: count, done: () => result.records, bytes: () => result.bytes }).start();
  const startedAt = performance.now();
  try {
    await Promise.all(
      Array.from({ length: PARTITIONS }, async (_, partition) => {
        for await (const record of new PartitionReader(cluster, { topic, partition, from: 'earliest', until: 'end' })) {
          result.records++;
          result.bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
          result.checksum = (result.checksum + recordChecksum(record.key, record.value)) >>> 0;
          const value = record.value;
          const number =
            value && value.length === VALUE_SIZE
              ? Number(value.toString('latin1', PREFIX.length, PREFIX.length + NUMBER_DIGITS))
              : Number.NaN;
          const expectedKey = `key-${number % KEYS}`;
          if (!Number.isInteger(number) || number < 0 || number >= count || record.key?.toString('latin1') !== expectedKey) {
            result.malformed++;
          } else if (seen[number]) {
            result.duplicates++;
          } else {
            seen[number] = 1;
            result.distinct++;
          }
        }
      }),
    );
  } finally {
    progress.finish();
  }
  result.elapsedMs = performance.now() - startedAt;
  return result;
}

/** Creates the topic, produces, reads back and verifies; returns the exit code. */
async function runDemo(connection: ConnectionOptions, count: number, out: (line: string) => void): Promise<number> {
  const topic = `kafka-wire-demo-${Date.now().toString(36)}`;
  const cluster = await Cluster.connect({ ...connection, clientId: 'kafka-wire-demo', partitionCountRefreshMs: 0 });
  const admin = new Admin(cluster);
  try {
    await admin.createTopics([{ name: topic, partitions: PARTITIONS }]);
    out(
      `created topic ${topic} with ${PARTITIONS} partitions; ` +
        `producing ${formatCount(count)} records of ${VALUE_SIZE} bytes (acks=all, idempotent)`,
    );

    const keys = Array.from({ length: KEYS }, (_, index) => Buffer.from(`key-${index}`));
    let sentChecksum = 0;
    const producer = new Producer({ ...connection, clientId: 'kafka-wire-demo', acks: 'all', idempotent: true, batchSize: BATCH_SIZE });
    let produced: LoadResult;
    try {
      produced = await produceLoad(producer, {
        count,
        progress: 'producing',
        maxOutstanding: MAX_OUTSTANDING,
        record: (index) => {
          const key = keys[index % KEYS] as Buffer;
          const value = demoValue(index);
          sentChecksum = (sentChecksum + recordChecksum(key, value)) >>> 0;
          return { topic, key, value };
        },
      });
    } finally {
      await producer.close();
    }
    out(`produced ${loadSummary(produced)}`);
    if (produced.failures > 0) {
      out(
        `verification FAILED: ${formatCount(produced.failures)} records were not acknowledged; ` +
          `first error: ${(produced.firstError as Error)?.message ?? String(produced.firstError)}`,
      );
      return 1;
    }

    const read = await readBack(cluster, topic, count);
    const seconds = read.elapsedMs / 1000;
    out(
      `read back ${formatCount(read.records)} records (${formatMB(read.bytes)} MB) in ${seconds.toFixed(2)} s: ` +
        `${formatCount(read.records / seconds)} records/s, ${(read.bytes / 1_000_000 / seconds).toFixed(2)} MB/s`,
    );

    const problems: string[] = [];
    if (read.records !== count) problems.push(`read ${formatCount(read.records)} records, expected ${formatCount(count)}`);
    if (read.distinct !== count) problems.push(`${formatCount(count - read.distinct)} record numbers missing`);
    if (read.duplicates > 0) problems.push(`${formatCount(read.duplicates)} duplicates`);
    if (read.malformed > 0) problems.push(`${formatCount(read.malformed)} records with an unexpected key or value`);
    if (read.checksum !== sentChecksum) problems.push(`checksum ${read.checksum} read, ${sentChecksum} sent`);
    if (problems.length > 0) {
      out(`verification FAILED: ${problems.join('; ')}`);
      return 1;
    }
    out(
      `verification OK: ${formatCount(count)} records, every record number exactly once, checksum (sum of CRC-32s) ${sentChecksum} matches`,
    );
    return 0;
  } finally {
    await admin.deleteTopics([topic]).catch(() => {});
    cluster.close();
  }
}

/**
 * The main job: bring up (or find) a real broker, produce a million records through our own
 * producer, read them back with the partition reader and verify every one arrived exactly once.
 */
async function demoCommand(args: ParsedArgs, out: (line: string) => void): Promise<number> {
  const count = integerFlag(args, 'count', 1) ?? DEFAULT_COUNT;
  if (args.positional.length > 0) throw new UsageError(`"demo" takes no arguments, not "${args.positional.join(' ')}"`);

  // A cluster named by the flags, KAFKA_BOOTSTRAP or a running default cluster; otherwise a private one, stopped afterwards.
  if (hasClusterTarget(args)) {
    const connection = connectionOptions(args);
    out(`kafka-wire: using the cluster at ${connection.bootstrap}`);
    return runDemo(connection, count, out);
  }
  try {
    const state = await startCluster({ name: DEMO_CLUSTER, portBase: 'auto', log: (line) => out(`kafka-wire: ${line}`) });
    out(`kafka-wire: embedded Apache Kafka ${state.kafkaVersion} is up at ${bootstrapFor(state, 'plaintext')}`);
    return await runDemo(connectionOptions(args, state), count, out);
  } finally {
    await stopCluster(DEMO_CLUSTER);
    out('kafka-wire: stopped the demo broker');
  }
}

export const DEMO: Command = {
  name: 'demo',
  summary: 'produce 1,000,000 records to a real Kafka, read them back and verify them',
  usage: DEMO_USAGE,
  spec: { command: 'demo', options: [...CONNECTION_OPTIONS, 'count'], switches: [...CONNECTION_SWITCHES] },
  run: demoCommand,
};
