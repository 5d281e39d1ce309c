import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Cluster } from '../cluster/cluster.js';
import { DurableProducer } from '../durable/durable-producer.js';
import { Producer, type ProducerOptions, type ProducerRecord } from '../producer/producer.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import type { CompressionName } from '../records/compression.js';
import { type Command, type FlagSpec, integerFlag, type ParsedArgs, stringFlag, UsageError } from './args.js';
import { watchBrokers } from './broker-status.js';
import { CONNECTION_OPTIONS, CONNECTION_SWITCHES, CONNECTION_USAGE, type ConnectionOptions, connectionOptions } from './cluster-options.js';
import { listenForInterrupts, untilAborted } from './interrupt.js';
import { formatCount, formatMB, LatencyHistogram, Outstanding, Progress } from './progress.js';

/** Records per transaction: each commit costs an EndTxn and a marker per partition, so not much less than this. */
export const DEFAULT_TRANSACTION_RECORDS = 1000;

export const PRODUCE_USAGE = `usage: kafka-wire produce TOPIC [options]   write records to a topic

console mode (default): one record per line of stdin, until end of input
  --key-separator SEP         split each line at the first SEP into key and value (else keyless)

load mode: --count N [--size BYTES] [--keys K]
  --count N                   send N synthetic records, then print throughput and send-to-ack latency
  --size BYTES                bytes per value (default 100)
  --keys K                    cycle through K distinct keys (default keyless)

transactions (console mode):
  --transactional-id ID       write the records in transactions under this id: read_committed readers
                              see a transaction's records only once it commits; starting fences any
                              earlier producer with this id and aborts what it left open
  --transaction-records N     commit after every N records (default ${DEFAULT_TRANSACTION_RECORDS}) and the rest at the end of
                              input; a failed record or Ctrl-C aborts the open transaction. The broker
                              aborts a transaction left open for 60 s, so with slow input use a small N

durable (console mode):
  --durable DIR               accept each record into an on-disk journal in DIR first (a durable
                              producer): what Kafka has not acknowledged when the command ends, is
                              killed or finds no broker stays there, and the next run with the same
                              DIR delivers it first, without duplicates. "kafka-wire queue status DIR"
                              shows what it holds
  --sync none|interval|always how accepted records are made durable (default interval: an fsync
                              every 10 ms)

both modes:
  --partition P               write every record to partition P (else keys/sticky partitioning)
  --max-outstanding N         sends awaiting their ack before reading/sending waits (default 10000)
  --acks all|1|0              default all (with idempotence)
  --compression none|gzip|snappy|lz4|zstd
  --linger-ms MS  --batch-size BYTES
  --delivery-timeout-ms MS    give up on a record not acknowledged within MS (default 120000)

  After the first record that fails, no more are read or sent; the records already sent settle,
  then the summary is printed (exit code 1). Ctrl-C does the same (exit code 0 when every record
  sent was delivered); a second Ctrl-C quits at once (exit code 130).

${CONNECTION_USAGE}`;

const PRODUCE_SPEC: FlagSpec = {
  command: 'produce',
  options: [
    ...CONNECTION_OPTIONS,
    'key-separator',
    'partition',
    'acks',
    'compression',
    'linger-ms',
    'batch-size',
    'delivery-timeout-ms',
    'count',
    'size',
    'keys',
    'max-outstanding',
    'transactional-id',
    'transaction-records',
    'durable',
    'sync',
  ],
  switches: [...CONNECTION_SWITCHES],
};

const COMPRESSIONS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
/** Measured on a 2-core machine against a local broker: 5-10k outstanding went faster (and with far lower latency) than 50k. */
const DEFAULT_MAX_OUTSTANDING = 10_000;
/** The producer's own default for how long a send may wait for metadata. */
const DEFAULT_MAX_BLOCK_MS = 60_000;

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

/** --transactional-id and --transaction-records, checked: undefined without a transactional id. */
export function transactionFlags(args: ParsedArgs): { transactionalId: string; records: number } | undefined {
  const transactionalId = stringFlag(args, 'transactional-id');
  const records = integerFlag(args, 'transaction-records', 1);
  if (transactionalId === undefined) {
    if (records !== undefined) throw new UsageError('--transaction-records needs --transactional-id');
    return undefined;
  }
  if (transactionalId === '') throw new UsageError('--transactional-id must not be empty');
  if (args.flags.has('count')) throw new UsageError('--transactional-id is for console mode (records from stdin), not with --count');
  if (acksFrom(args) !== -1) throw new UsageError('--transactional-id needs --acks all (a transactional producer is idempotent)');
  return { transactionalId, records: records ?? DEFAULT_TRANSACTION_RECORDS };
}

/** --durable DIR and --sync, checked: undefined without a journal directory. */
export function durableFlags(args: ParsedArgs): { dir: string; sync: 'none' | 'interval' | 'always' } | undefined {
  const dir = stringFlag(args, 'durable');
  const sync = stringFlag(args, 'sync');
  if (dir === undefined) {
    if (sync !== undefined) throw new UsageError('--sync needs --durable DIR');
    return undefined;
  }
  if (dir === '') throw new UsageError('--durable needs a directory');
  if (sync !== undefined && sync !== 'none' && sync !== 'interval' && sync !== 'always')
    throw new UsageError(`--sync must be none, interval or always, not "${sync}"`);
  if (args.flags.has('count')) throw new UsageError('--durable is for console mode (records from stdin), not with --count');
  if (args.flags.has('transactional-id')) throw new UsageError('--durable cannot be combined with --transactional-id');
  if (acksFrom(args) !== -1) throw new UsageError('--durable needs --acks all (a durable producer is idempotent)');
  return { dir, sync: sync ?? 'interval' };
}

/** The topic's partition count; a clear error when the topic does not exist (instead of waiting for it). */
export async function partitionCount(options: ConnectionOptions, topic: string): Promise<number> {
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
  /** A status note for the progress line (e.g. that no broker answers), asked at every redraw. */
  note?: () => string | undefined;
  /** Stop sending after the first failed record (the rest in flight still settle). Default true. */
  stopOnError?: boolean;
  /** Stop sending when aborted (Ctrl-C); what was sent still settles. */
  signal?: AbortSignal;
}

export interface LoadResult {
  records: number;
  failures: number;
  /** Records handed to the producer (fewer than asked for when stopped early). */
  sent: number;
  /** Stopped early by `signal`. */
  interrupted: boolean;
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
  const signal = options.signal ?? new AbortController().signal;
  let acked = 0;
  let ackedBytes = 0;
  let failures = 0;
  let sent = 0;
  let firstError: unknown;
  const brokers = options.progress === undefined ? undefined : watchBrokers(producer);
  const progress =
    options.progress === undefined
      ? undefined
      : new Progress({
          label: options.progress,
          total: options.count,
          done: () => acked,
          bytes: () => ackedBytes,
          note: () => options.note?.() ?? brokers?.note(),
        }).start();
  const startedAt = performance.now();
  try {
    for (let index = 0; index < options.count; index++) {
      if ((failures > 0 && stopOnError) || signal.aborted) break;
      const wait = outstanding.room();
      if (wait) {
        await untilAborted(wait, signal);
        if (signal.aborted) break;
      } else if ((index & 0x3fff) === 0x3fff) await yieldToLoop(); // let timers (progress), I/O and signals run
      const record = options.record(index);
      const size = byteLength(record.key) + byteLength(record.value);
      const sentAt = performance.now();
      outstanding.add();
      sent++;
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
    brokers?.stop();
  }
  return {
    records: acked,
    failures,
    sent,
    interrupted: signal.aborted && sent < options.count,
    bytes: ackedBytes,
    elapsedMs: performance.now() - startedAt,
    latency,
    firstError,
  };
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
    (result.failures > 0 ? `; ${formatCount(result.failures)} failed` : '') +
    (result.interrupted ? `; interrupted after sending ${formatCount(result.sent)}` : '')
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What console mode needs of a producer (made on first use). */
export interface RecordSink {
  send(record: ProducerRecord): Promise<unknown>;
  flush(): Promise<void>;
}

/** Console mode's transactions (--transactional-id): the sink begins one with the first record after a commit or abort. */
export interface LineTransactions {
  /** Records per transaction: after this many, reading waits for the commit. */
  records: number;
  /** Waits for every record of the open transaction, then commits it. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface LinesOptions {
  topic: string;
  keySeparator?: string;
  partition?: number;
  maxOutstanding?: number;
  /** Stop reading when aborted (Ctrl-C); what was read still settles. */
  signal?: AbortSignal;
  /** Called once, when the first record fails, with the number of records still in flight. */
  onFirstFailure?: (inFlight: number) => void;
  /** Write in transactions: commit every `records` records and the rest at the end; abort when stopped early. */
  transactions?: LineTransactions;
}

export interface LinesResult {
  lines: number;
  records: number;
  failures: number;
  firstError: string | undefined;
  /** Why reading stopped before the end of the input, if it did. */
  stoppedBy: 'interrupt' | 'failure' | undefined;
  /** With transactions: how many committed and their records, and the records of an aborted one. */
  transactions?: { committed: number; records: number; abortedRecords: number };
}

/**
 * Console mode: one record per line of `input`. Reading stops at the end of the input, when
 * `signal` aborts, or after the first record that fails to be delivered (so a dead broker
 * costs one delivery timeout, not one per window of records); what was sent then settles.
 * With `transactions`, every `records` records are committed before more are read; at the end
 * the open transaction is committed, or aborted when reading stopped early.
 */
export async function produceLines(input: Readable, sink: () => RecordSink, options: LinesOptions): Promise<LinesResult> {
  const { topic, keySeparator: separator, partition } = options;
  const outstanding = new Outstanding(options.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING);
  const failed = new AbortController();
  const stop = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  const result: LinesResult = { lines: 0, records: 0, failures: 0, firstError: undefined, stoppedBy: undefined };
  const fail = (message: string) => {
    result.failures++;
    result.firstError ??= message;
  };
  const reader = createInterface({ input, crlfDelay: Infinity });
  // Closing the reader ends the loop below even while it waits for a line that may never come.
  const closeReader = () => reader.close();
  stop.addEventListener('abort', closeReader, { once: true });
  let sent = false;
  const transactions = options.transactions;
  if (transactions) result.transactions = { committed: 0, records: 0, abortedRecords: 0 };
  let open = 0; // records sent in the open transaction
  const endTransaction = async (commit: boolean) => {
    if (!transactions || !result.transactions || open === 0) return;
    const records = open;
    open = 0;
    try {
      if (commit) {
        await transactions.commit();
        result.transactions.committed++;
        result.transactions.records += records;
        return;
      }
      await transactions.abort();
    } catch (error) {
      // Not a record's failure: it fails the run, and a transaction that cannot commit is aborted.
      result.firstError ??= `${commit ? 'commit' : 'abort'} of a transaction of ${records} record(s): ${errorMessage(error)}`;
      if (!failed.signal.aborted) failed.abort(error);
      if (commit) await transactions.abort().catch(() => undefined); // fenced: the error above says so
    }
    result.transactions.abortedRecords += records;
  };
  try {
    for await (const line of reader) {
      if (stop.aborted) break;
      result.lines++;
      let key: string | null = null;
      let value = line;
      if (separator !== undefined) {
        const at = line.indexOf(separator);
        if (at < 0) {
          fail(`line ${result.lines} has no key separator "${separator}"`);
          continue;
        }
        key = line.slice(0, at);
        value = line.slice(at + separator.length);
      }
      const wait = outstanding.room();
      if (wait) await untilAborted(wait, stop);
      if (stop.aborted) break;
      outstanding.add();
      sent = true;
      const at = result.lines;
      sink()
        .send({ topic, key, value, partition })
        .then(
          () => {
            result.records++;
            outstanding.settle();
          },
          (error: unknown) => {
            fail(`line ${at}: ${errorMessage(error)}`);
            outstanding.settle();
            if (!failed.signal.aborted) {
              failed.abort(error);
              options.onFirstFailure?.(outstanding.size);
            }
          },
        );
      if (transactions && ++open >= transactions.records) await endTransaction(true);
    }
  } finally {
    stop.removeEventListener('abort', closeReader);
    reader.close();
  }
  if (failed.signal.aborted) result.stoppedBy = 'failure';
  else if (options.signal?.aborted) result.stoppedBy = 'interrupt';
  if (sent) await sink().flush();
  await outstanding.drained();
  // The rest commits only when the input ended and nothing failed; a Ctrl-C meanwhile aborts it too.
  await endTransaction(!failed.signal.aborted && !options.signal?.aborted);
  return result;
}

async function consoleMode(
  sink: () => RecordSink,
  topic: string,
  args: ParsedArgs,
  signal: AbortSignal,
  transactions?: LineTransactions,
): Promise<number> {
  const keySeparator = stringFlag(args, 'key-separator');
  if (keySeparator === '') throw new UsageError('--key-separator must not be empty');
  const result = await produceLines(process.stdin, sink, {
    topic,
    keySeparator,
    partition: integerFlag(args, 'partition', 0),
    maxOutstanding: integerFlag(args, 'max-outstanding', 1),
    signal,
    transactions,
    onFirstFailure: (inFlight) =>
      console.error(
        `kafka-wire: a record failed; reading no more input, waiting for the ${formatCount(inFlight)} record(s) still in flight`,
      ),
  });
  // No more input is wanted: let the process exit even if stdin is still open.
  if (result.stoppedBy) process.stdin.destroy();
  const stopped =
    result.stoppedBy === 'interrupt'
      ? ` (interrupted after ${formatCount(result.lines)} lines)`
      : result.stoppedBy === 'failure'
        ? ` (stopped reading after ${formatCount(result.lines)} lines, at the first failure)`
        : '';
  console.error(
    `kafka-wire: produced ${formatCount(result.records)} records to ${topic}, ${formatCount(result.failures)} failed${stopped}`,
  );
  const done = result.transactions;
  if (done) {
    const aborted = done.abortedRecords > 0 ? `; aborted the transaction of the last ${formatCount(done.abortedRecords)}` : '';
    console.error(`kafka-wire: committed ${formatCount(done.records)} records in ${formatCount(done.committed)} transaction(s)${aborted}`);
  }
  if (result.firstError !== undefined) {
    console.error(`kafka-wire: first failure: ${result.firstError}`);
    return 1;
  }
  return 0;
}

async function loadMode(
  producer: Producer,
  topic: string,
  args: ParsedArgs,
  count: number,
  signal: AbortSignal,
  out: (line: string) => void,
): Promise<number> {
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
    signal,
    record: (index) => ({ topic, partition, key: keyBytes ? (keyBytes[index % keyBytes.length] as Buffer) : null, value }),
  });
  out(loadSummary(result));
  if (result.failures > 0) {
    console.error(`kafka-wire: ${formatCount(result.failures)} records failed; first: ${errorMessage(result.firstError)}`);
    return 1;
  }
  return 0;
}

async function produceCommand(args: ParsedArgs, out: (line: string) => void): Promise<number> {
  const [topic, ...extra] = args.positional;
  if (!topic) throw new UsageError('"produce" needs a topic name');
  if (extra.length > 0) throw new UsageError(`"produce" takes one topic, not also "${extra.join(' ')}"`);
  const count = integerFlag(args, 'count', 1);
  if (count === undefined && (args.flags.has('size') || args.flags.has('keys')))
    throw new UsageError('--size and --keys need --count N (load mode)');
  const acks = acksFrom(args);
  const transaction = transactionFlags(args);
  const durable = durableFlags(args);
  const deliveryTimeoutMs = integerFlag(args, 'delivery-timeout-ms', 1);
  const options: ProducerOptions = {
    ...connectionOptions(args),
    transactionalId: transaction?.transactionalId,
    acks,
    idempotent: acks === -1,
    compression: compressionFrom(args),
    lingerMs: integerFlag(args, 'linger-ms', 0),
    batchSize: integerFlag(args, 'batch-size', 1),
    deliveryTimeoutMs,
    // Waiting for metadata longer than a record may live would only delay its failure.
    maxBlockMs: deliveryTimeoutMs === undefined ? undefined : Math.min(DEFAULT_MAX_BLOCK_MS, deliveryTimeoutMs),
  };
  const partition = integerFlag(args, 'partition', 0);
  integerFlag(args, 'max-outstanding', 1); // checked before connecting

  const interrupts = listenForInterrupts(() =>
    console.error(
      `kafka-wire: interrupted: ${count === undefined ? 'reading no more input' : 'sending no more records'}, ` +
        `waiting for those already sent${transaction ? ', then aborting the open transaction' : ''} (Ctrl-C again to quit at once)`,
    ),
  );
  // Made on first use: closing a Producer that never sent anything leaves it retrying
  // InitProducerId against its closed cluster, which keeps the process alive.
  let producer: Producer | undefined;
  const lazy = () => (producer ??= new Producer(options));
  if (durable) {
    // No metadata check first: a durable producer accepts records while the cluster is away.
    const journaled = await DurableProducer.open({ ...options, durable });
    const held = journaled.recovery.replaying;
    if (held > 0) console.error(`kafka-wire: delivering first the ${formatCount(held)} records the journal ${durable.dir} held`);
    try {
      // A record counts once it is in the journal; the end waits for Kafka's acknowledgements (Ctrl-C: they stay in the journal).
      const interrupted = new Promise<void>((resolve) => interrupts.signal.addEventListener('abort', () => resolve(), { once: true }));
      const sink: RecordSink = {
        send: (record) => journaled.enqueue(record),
        // Ctrl-C ends the wait at once: what is not acknowledged is safe in the journal.
        flush: () => Promise.race([journaled.flush(), interrupted]),
      };
      return await consoleMode(() => sink, topic, args, interrupts.signal);
    } finally {
      const left = journaled.pending;
      await journaled.close(1000);
      if (left > 0) console.error(`kafka-wire: ${formatCount(left)} records not yet acknowledged stay in ${durable.dir} for the next run`);
      interrupts.dispose();
    }
  }
  try {
    const partitions = await partitionCount(options, topic);
    if (partition !== undefined && partition >= partitions)
      throw new UsageError(`--partition ${partition} does not exist: topic ${topic} has partitions 0-${partitions - 1}`);
    if (transaction) {
      // Made now: initTransactions() fences an earlier producer with this id before anything is read.
      const transactional = lazy();
      await transactional.initTransactions();
      const sink: RecordSink = {
        send: (record) => {
          if (transactional.transactionState === 'ready') transactional.beginTransaction();
          return transactional.send(record);
        },
        flush: () => transactional.flush(),
      };
      return await consoleMode(() => sink, topic, args, interrupts.signal, {
        records: transaction.records,
        commit: () => transactional.commitTransaction(),
        abort: () => transactional.abortTransaction(),
      });
    }
    return count === undefined
      ? await consoleMode(lazy, topic, args, interrupts.signal)
      : await loadMode(lazy(), topic, args, count, interrupts.signal, out);
  } finally {
    await producer?.close();
    interrupts.dispose();
  }
}

export const PRODUCE: Command = {
  name: 'produce',
  summary: 'write records from stdin (or synthetic load with --count) to a topic',
  usage: PRODUCE_USAGE,
  spec: PRODUCE_SPEC,
  run: produceCommand,
};
