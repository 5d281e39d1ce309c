/**
 * What every benchmark client process shares: the run's configuration (argv[2], JSON), the
 * workload's records, pacing for fixed-rate runs, latency percentiles, and the JSON lines the
 * orchestrator reads on stdout ({"started"} when the clock starts, {"progress"}, then one
 * {"done"} or {"error"}).
 */

import { residentMb } from '../../test/support/proc.js';

export interface RunConfig {
  bootstrap: string;
  topic: string;
  count: number;
  /** Value bytes per record. */
  size: number;
  acks: 'all' | 1;
  idempotent: boolean;
  compression: 'none' | 'lz4' | 'zstd';
  keyed: boolean;
  lingerMs: number;
  batchSize: number;
  maxInFlight: number;
  /** Wait before the first retry of a failed request. */
  retryBackoffMs: number;
  /** Records per second; 0 means as fast as the client goes. */
  rate: number;
  /**
   * Paced runs: the first this many records are the warm-up, left out of the steady-state
   * latency percentiles and kept in the whole run's (Kafka's ProducerPerformance
   * --warmup-records, KIP-1052). Absent or 0: no warm-up.
   */
  warmupRecords?: number;
  /** Kafka's jars, for the Java client. */
  kafkaLibDir: string;
  /** Transactional runs: records per transaction, and a transactional id of this run's own. */
  transactionRecords?: number;
  transactionalId?: string;
  /** kafka-wire only: run the durable producer with this journal sync mode. */
  durable?: 'none' | 'interval' | 'always';
  /** kafka-wire only: send through `kafka-wire daemon` (journal sync `durable`). */
  daemon?: boolean;
  /** kafka-wire only, for comparisons run by hand: its connectionsPerBroker (npm run bench leaves the default). */
  connectionsPerBroker?: number;
  /** Read runs: what to read and the fetch settings; absent for a produce run. */
  reading?: ReadPlan;
}

/** A read run reads every partition of `topic` from offset 0 up to its end offset. */
export interface ReadPlan {
  /** The end offset of each partition, by partition number. */
  partitionEnds: number[];
  /** Most bytes a Fetch may return for one partition, and for the whole request. */
  maxBytesPerPartition: number;
  maxBytes: number;
  /** How long the broker may hold a Fetch waiting for records. */
  maxWaitMs: number;
  /** Most records handed over per poll, for the clients that take the number. */
  maxPollRecords: number;
}

export function readConfig(): RunConfig {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: <client>.ts <json config>');
  return JSON.parse(raw) as RunConfig;
}

/** How many different values the records cycle through. */
export const VALUE_COUNT = 256;

/**
 * The values records carry, record i taking values[i % VALUE_COUNT]: `size` bytes of JSON-like
 * text that differ from value to value (numbers from a fixed-seed generator), so compression
 * sees something like real traffic rather than one repeated value. No newlines: Kafka's perf
 * tool reads them one per line.
 */
export function recordValues(size: number): Buffer[] {
  const words = ['user', 'event', 'click', 'view', 'session', 'id', 'ts', 'page', 'region', 'eu-west', 'true', 'false'];
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  return Array.from({ length: VALUE_COUNT }, () => {
    let text = '{';
    while (text.length < size) text += `"${words[next() % words.length]}":${next() % 1_000_000},`;
    return Buffer.from(text.slice(0, size));
  });
}

/** The value of record i. */
export function valueAt(values: readonly Buffer[], i: number): Buffer {
  return values[i % values.length] as Buffer;
}

/** Key of record i: one of 10,000 keys when keyed, else null. */
export function recordKey(config: RunConfig, i: number): string | null {
  return config.keyed ? `key-${i % 10_000}` : null;
}

export type Percentiles = { p50: number; p99: number; p999: number };

/**
 * Send-to-ack latencies in milliseconds: of the steady state, and of the whole run. Records
 * numbered below `warmupRecords` are the warm-up (RunConfig.warmupRecords) and count in the
 * whole run's figures only. One array holds both, so the warm-up costs no memory (it counts in
 * the runner's peak RSS): steady-state values fill it from the front, warm-up ones from the back.
 */
export class Latencies {
  private readonly values: Float64Array;
  private steady = 0;
  private warm = 0;

  constructor(
    capacity: number,
    private readonly warmupRecords = 0,
  ) {
    this.values = new Float64Array(capacity);
  }

  /** The latency of `times` records numbered from `firstIndex` on. */
  add(ms: number, firstIndex: number, times = 1): void {
    const capacity = this.values.length;
    for (let k = 0; k < times && this.steady + this.warm < capacity; k++) {
      if (firstIndex + k < this.warmupRecords) this.values[capacity - ++this.warm] = ms;
      else this.values[this.steady++] = ms;
    }
  }

  /** Percentiles of the steady state (every record when there is no warm-up). */
  summary(): Percentiles | null {
    return percentiles(this.values.slice(0, this.steady));
  }

  /** Percentiles of every record, the warm-up included; null without a warm-up. */
  wholeRun(): Percentiles | null {
    if (this.warmupRecords === 0) return null;
    const all = new Float64Array(this.steady + this.warm);
    all.set(this.values.subarray(0, this.steady));
    all.set(this.values.subarray(this.values.length - this.warm), this.steady);
    return percentiles(all);
  }
}

function percentiles(values: Float64Array): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = values.sort();
  const at = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) * 100) / 100;
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}

/**
 * Calls `send(from, to)` for consecutive ranges of record numbers: at `rate` records/s (checked
 * every millisecond), or, with rate 0, as fast as `room()` allows. Resolves once all `count`
 * have been handed over.
 */
export async function feed(
  count: number,
  rate: number,
  room: () => number,
  send: (from: number, to: number) => void,
  waitForRoom: () => Promise<void>,
): Promise<void> {
  const started = performance.now();
  let next = 0;
  while (next < count) {
    const due = rate > 0 ? Math.min(count, Math.floor(((performance.now() - started) * rate) / 1000) + 1) : count;
    const to = Math.min(due, next + Math.max(0, room()));
    if (to > next) {
      send(next, to);
      next = to;
    }
    if (next >= count) break;
    if (rate > 0 && next >= due) await new Promise((resolve) => setTimeout(resolve, 1));
    else await waitForRoom();
  }
}

/**
 * For clients that settle records one by one: counts acknowledged and failed records, and keeps
 * at most `window` awaiting their acknowledgement (a sender waits for room until half has
 * settled).
 */
export class Tally {
  acked = 0;
  failed = 0;
  firstError: string | undefined;
  /** When the last record settled. */
  lastSettled = 0;
  private outstanding = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly window: number) {}

  sent(records = 1): void {
    this.outstanding += records;
  }

  ack(records = 1): void {
    this.acked += records;
    this.settled(records);
  }

  fail(error: unknown, records = 1): void {
    this.failed += records;
    this.firstError ??= error instanceof Error ? error.message : String(error);
    this.settled(records);
  }

  /** Hands the workload to `send` in ranges of record numbers, keeping within the window. */
  feed(config: RunConfig, send: (from: number, to: number) => void): Promise<void> {
    return feed(
      config.count,
      config.rate,
      () => this.window - this.outstanding,
      send,
      () => (this.outstanding <= this.window / 2 ? Promise.resolve() : new Promise<void>((resolve) => (this.wake = resolve))),
    );
  }

  private settled(records: number): void {
    this.lastSettled = performance.now();
    this.outstanding -= records;
    if (this.wake && this.outstanding <= this.window / 2) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
  }
}

/**
 * The measured part of a run: CPU time and progress reports from now until stop(). It says so on
 * stdout, for the orchestrator to measure the broker and the machine over the same window.
 */
export function startClock(acked: () => number): { started: number; stop(): { cpuUs: number } } {
  emit({ started: true });
  const stopProgress = reportProgress(acked);
  const cpuAtStart = cpuMicros();
  return {
    started: performance.now(),
    stop() {
      stopProgress();
      return { cpuUs: cpuMicros() - cpuAtStart };
    },
  };
}

export function emit(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Reports progress every 250 ms until stopped. */
export function reportProgress(acked: () => number): () => void {
  const timer = setInterval(() => emit({ progress: acked() }), 250);
  return () => clearInterval(timer);
}

/**
 * Transactional runs: the workload in transactions of `config.transactionRecords` records, one
 * after another. `transaction(from, to)` begins one, sends records from..to-1 and resolves once
 * it has committed them (it aborts and throws when it cannot). A failed transaction counts its
 * records as failed and the run goes on with the next.
 */
export async function runTransactions(config: RunConfig, transaction: (from: number, to: number) => Promise<void>): Promise<DoneLine> {
  const size = config.transactionRecords ?? config.count;
  let acked = 0;
  let failed = 0;
  let firstError: string | undefined;
  const clock = startClock(() => acked);
  for (let from = 0; from < config.count; from += size) {
    const to = Math.min(config.count, from + size);
    try {
      await transaction(from, to);
      acked += to - from;
    } catch (error) {
      failed += to - from;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
  const elapsedMs = performance.now() - clock.started;
  const { cpuUs } = clock.stop();
  return { acked, failed, elapsedMs, latencyMs: null, cpuUs, maxRssMb: maxRssMb(), firstError };
}

export interface DoneLine {
  /** Records acknowledged; in a read run, records read. */
  acked: number;
  failed: number;
  elapsedMs: number;
  /** Send-to-ack percentiles; of the steady state when the run had a warm-up. */
  latencyMs: Percentiles | null;
  /** Runs with a warm-up (RunConfig.warmupRecords): the percentiles of every record, the warm-up's included. */
  wholeRunLatencyMs?: Percentiles | null;
  /**
   * kafka-wire's paced runs: its Produce requests' send-to-answer times, as its
   * `kafka-wire:producer:request` diagnostics channel gives them. Beside latencyMs they show how
   * much of a record's wait was the broker's answer.
   */
  requestLatencyMs?: { p50: number; p99: number; p999: number } | null;
  /** CPU time (user + system, all threads) the process spent from the workload's start to its end. */
  cpuUs: number;
  maxRssMb: number;
  firstError?: string;
  /** Read runs: the sum, modulo 2^32, of the CRC-32C of every record value read. */
  checksum?: number;
}

export function done(line: DoneLine): void {
  emit({ done: true, ...line });
}

/** Runs a client's main function, turning a throw into an {"error"} line and exit code 1. */
export function runClient(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      emit({ error: error instanceof Error ? error.message : String(error) });
      process.exit(1);
    },
  );
}

export function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * This process's peak RSS: VmHWM, the high-water mark of its own memory. Not getrusage's maxRSS,
 * which Linux carries across exec: a runner spawned by the harness reported the harness's own
 * peak (207 MB for every client of a round) whenever that was above its own.
 */
export function maxRssMb(): number {
  return residentMb(process.pid, 'peak') || Math.round(process.resourceUsage().maxRSS / 1024);
}
