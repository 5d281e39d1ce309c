import { createInterface } from 'node:readline';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Cluster } from '../cluster/cluster.js';
import { Producer, type ProducerOptions, type ProducerRecord } from '../producer/producer.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import type { CompressionName } from '../records/compression.js';
import { type ParsedArgs, stringFlag, UsageError } from './args.js';
import {
  CONNECTION_BOOLEAN_FLAGS,
  CONNECTION_FLAGS,
  CONNECTION_USAGE,
  connectionOptions,
  integerFlag,
  parseKnown,
} from './cluster-options.js';
import { formatCount, formatMB, LatencyHistogram, Outstanding, Progress } from './progress.js';

export const PRODUCE_USAGE = `kafka-wire produce TOPIC [options]   write records to a topic

  console mode (default): one record per line of stdin
  --key-separator SEP         split each line at the first SEP into key and value (else keyless)
  --partition P               write every record to partition P (else keys/sticky partitioning)

  load mode: --count N [--size BYTES] [--keys K]
  --count N                   send N synthetic records, then print throughput and send-to-ack latency
  --size BYTES                bytes per value (default 100)
  --keys K                    cycle through K distinct keys (default keyless)
  --max-outstanding N         sends awaiting their ack before sending waits (default 10000)

  --acks all|1|0              default all (with idempotence)
  --compression none|gzip|snappy|lz4|zstd
  --linger-ms MS  --batch-size BYTES
${CONNECTION_USAGE}`;

const COMPRESSIONS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
/** Measured on a 2-core machine against a local broker: 5-10k outstanding went faster (and with far lower latency) than 50k. */
const DEFAULT_MAX_OUTSTANDING = 10_000;

function acksFrom(args: ParsedArgs): -1 | 0 | 1 {
  const raw = stringFlag(args, 'acks') ?? 'all';
  if (raw === 'all' || raw === '-1') return -1;
  if (raw === '1') return 1;
  if (raw === '0') return 0;
  throw new UsageError(`--acks must be all, 1 or 0, not "${raw}"`);
}

function compressionFrom(args: ParsedArgs): CompressionName {
  const raw = stringFlag(args, 'compression') ?? 'none';
  if (!(COMPRESSIONS as readonly string[]).includes(raw))
    throw new UsageError(`--compression must be one of ${COMPRESSIONS.join(', ')}, not "${raw}"`);
  return raw as CompressionName;
}

/** The topic's partition count; a clear error when the topic does not exist (instead of waiting for it). */
export async function partitionCount(
  options: Pick<ProducerOptions, 'bootstrap' | 'sasl' | 'tls' | 'clientId'>,
  topic: string,
): Promise<number> {
  const cluster = await Cluster.connect({ ...options, partitionCountRefreshMs: 0 });
  try {
    const info = await cluster.metadata.topic(topic);
    if (!info || info.partitions.length === 0) {
      throw new KafkaProtocolError(cluster.metadata.topicErrors.get(topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
        api: 'Metadata',
        subject: `topic ${topic}`,
      });
    }
    return info.partitions.length;
  } finally {
    cluster.close();
  }
}

export interface LoadOptions {
  count: number;
  /** The i-th record (0-based). */
  record: (index: number) => ProducerRecord;
  /** Sends awaiting their ack before the next send waits. */
  maxOutstanding?: number;
  /** Label of the progress bar / lines on stderr; none when undefined. */
  progress?: string;
  /** Stop sending after the first failed record (the rest in flight still settle). Default true. */
  stopOnError?: boolean;
}

export interface LoadResult {
  records: number;
  failures: number;
  /** Key and value bytes of the records acknowledged. */
  bytes: number;
  elapsedMs: number;
  latency: LatencyHistogram;
  firstError: unknown;
}

function byteLength(data: Uint8Array | string | null | undefined): number {
  if (data === null || data === undefined) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
}

/** Sends `count` records as fast as the producer takes them, with at most maxOutstanding unacknowledged. */
export async function produceLoad(producer: Producer, options: LoadOptions): Promise<LoadResult> {
  const outstanding = new Outstanding(options.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING);
  const latency = new LatencyHistogram();
  const stopOnError = options.stopOnError ?? true;
  let acked = 0;
  let ackedBytes = 0;
  let failures = 0;
  let firstError: unknown;
  const progress =
    options.progress === undefined
      ? undefined
      : new Progress({ label: options.progress, total: options.count, done: () => acked, bytes: () => ackedBytes }).start();
  const startedAt = performance.now();
  try {
    for (let index = 0; index < options.count; index++) {
      if (failures > 0 && stopOnError) break;
      const wait = outstanding.room();
      if (wait) await wait;
      else if ((index & 0x3fff) === 0x3fff) await yieldToLoop(); // let timers (progress) and I/O run
      const record = options.record(index);
      const size = byteLength(record.key) + byteLength(record.value);
      const sentAt = performance.now();
      outstanding.add();
      producer.send(record).then(
        () => {
          latency.record(performance.now() - sentAt);
          acked++;
          ackedBytes += size;
          outstanding.settle();
        },
        (error: unknown) => {
          failures++;
          firstError ??= error;
          outstanding.settle();
        },
      );
    }
    await producer.flush();
    await outstanding.drained();
  } finally {
    progress?.finish();
  }
  return { records: acked, failures, bytes: ackedBytes, elapsedMs: performance.now() - startedAt, latency, firstError };
}

export function loadSummary(result: LoadResult): string {
  const seconds = result.elapsedMs / 1000;
  const rate = seconds > 0 ? result.records / seconds : 0;
  const mbps = seconds > 0 ? result.bytes / 1_000_000 / seconds : 0;
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  return (
    `${formatCount(result.records)} records (${formatMB(result.bytes)} MB) in ${seconds.toFixed(2)} s: ` +
    `${formatCount(rate)} records/s, ${mbps.toFixed(2)} MB/s; ` +
    `latency p50 ${ms(result.latency.percentile(0.5))}, p99 ${ms(result.latency.percentile(0.99))}, max ${ms(result.latency.maxMs)}` +
    (result.failures > 0 ? `; ${formatCount(result.failures)} failed` : '')
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function consoleMode(producer: () => Producer, topic: string, args: ParsedArgs): Promise<number> {
  const separator = stringFlag(args, 'key-separator');
  if (separator === '') throw new UsageError('--key-separator must not be empty');
  const partition = integerFlag(args, 'partition', 0);
  const outstanding = new Outstanding(integerFlag(args, 'max-outstanding', 1) ?? DEFAULT_MAX_OUTSTANDING);
  let records = 0;
  let failures = 0;
  let firstError: string | undefined;
  const fail = (message: string) => {
    failures++;
    firstError ??= message;
  };
  let lineNumber = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNumber++;
    let key: string | null = null;
    let value = line;
    if (separator !== undefined) {
      const at = line.indexOf(separator);
      if (at < 0) {
        fail(`line ${lineNumber} has no key separator "${separator}"`);
        continue;
      }
      key = line.slice(0, at);
      value = line.slice(at + separator.length);
    }
    const wait = outstanding.room();
    if (wait) await wait;
    outstanding.add();
    const at = lineNumber;
    producer()
      .send({ topic, key, value, partition })
      .then(
        () => {
          records++;
          outstanding.settle();
        },
        (error: unknown) => {
          fail(`line ${at}: ${errorMessage(error)}`);
          outstanding.settle();
        },
      );
  }
  if (records + failures < lineNumber || outstanding.size > 0) await producer().flush();
  await outstanding.drained();
  console.error(`kafka-wire: produced ${formatCount(records)} records to ${topic}, ${formatCount(failures)} failed`);
  if (firstError !== undefined) {
    console.error(`kafka-wire: first failure: ${firstError}`);
    return 1;
  }
  return 0;
}

async function loadMode(producer: Producer, topic: string, args: ParsedArgs, count: number, out: (line: string) => void): Promise<number> {
  if (args.flags.has('key-separator')) throw new UsageError('--key-separator is for console mode, not with --count');
  const size = integerFlag(args, 'size', 0) ?? 100;
  const keys = integerFlag(args, 'keys', 1);
  const partition = integerFlag(args, 'partition', 0);
  const value = Buffer.alloc(size, 'x');
  const keyBytes = keys === undefined ? undefined : Array.from({ length: keys }, (_, index) => Buffer.from(`key-${index}`));
  const result = await produceLoad(producer, {
    count,
    maxOutstanding: integerFlag(args, 'max-outstanding', 1) ?? DEFAULT_MAX_OUTSTANDING,
    progress: `producing to ${topic}`,
    record: (index) => ({ topic, partition, key: keyBytes ? (keyBytes[index % keyBytes.length] as Buffer) : null, value }),
  });
  out(loadSummary(result));
  if (result.failures > 0) {
    console.error(`kafka-wire: ${formatCount(result.failures)} records failed; first: ${errorMessage(result.firstError)}`);
    return 1;
  }
  return 0;
}

export async function produceCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = parseKnown(
    argv,
    [
      ...CONNECTION_FLAGS,
      'key-separator',
      'partition',
      'acks',
      'compression',
      'linger-ms',
      'batch-size',
      'count',
      'size',
      'keys',
      'max-outstanding',
    ],
    CONNECTION_BOOLEAN_FLAGS,
    'produce',
  );
  const [topic, ...extra] = args.positional;
  if (!topic) throw new UsageError(`"produce" needs a topic name\n\n${PRODUCE_USAGE}`);
  if (extra.length > 0) throw new UsageError(`"produce" takes one topic, not also "${extra.join(' ')}"`);
  const count = integerFlag(args, 'count', 1);
  if (count === undefined && (args.flags.has('size') || args.flags.has('keys')))
    throw new UsageError('--size and --keys need --count N (load mode)');
  const acks = acksFrom(args);
  const options: ProducerOptions = {
    ...connectionOptions(args),
    acks,
    idempotent: acks === -1,
    compression: compressionFrom(args),
    lingerMs: integerFlag(args, 'linger-ms', 0),
    batchSize: integerFlag(args, 'batch-size', 1),
  };
  const partitions = await partitionCount(options, topic);
  const partition = integerFlag(args, 'partition', 0);
  if (partition !== undefined && partition >= partitions)
    throw new UsageError(`--partition ${partition} does not exist: topic ${topic} has partitions 0-${partitions - 1}`);

  // Made on first use: closing a Producer that never sent anything leaves it retrying
  // InitProducerId against its closed cluster, which keeps the process alive.
  let producer: Producer | undefined;
  const lazy = () => (producer ??= new Producer(options));
  try {
    return count === undefined ? await consoleMode(lazy, topic, args) : await loadMode(lazy(), topic, args, count, out);
  } finally {
    await producer?.close();
  }
}
