import type { RunConfig } from './clients/kit.js';

/** One named workload, produce or read; every client runs it with the same settings. */
export interface Scenario {
  name: string;
  /** What it shows, for the table. */
  summary: string;
  count: number;
  size: number;
  acks: 'all' | 1;
  idempotent: boolean;
  compression: RunConfig['compression'];
  keyed: boolean;
  /** Records per second; 0 = as fast as possible. A paced scenario is about latency, not throughput. */
  rate: number;
  /**
   * Paced scenarios: the first this many records (the first second) are the warm-up, as Kafka's
   * ProducerPerformance --warmup-records (KIP-1052) has it: sent and checked like the rest, left
   * out of the latency percentiles, which are of the steady state; the whole run's are kept too.
   */
  warmupRecords?: number;
  /** Records per transaction, each committed before the next begins; absent = not transactional. */
  transactionRecords?: number;
  /**
   * kafka-wire's durable producer with this journal sync mode (no other client keeps an on-disk
   * queue, so only kafka-wire runs it): records/s up to the last acknowledgement; the latency
   * figures are of acceptance (enqueue() until the record is in the journal, durable by `sync`).
   */
  durable?: 'none' | 'interval' | 'always';
  /**
   * Through `kafka-wire daemon` (a child process, journal sync `durable`): the records go to its
   * UNIX stream socket in Dory's format over DAEMON_CONNECTIONS connections; records/s until the
   * daemon's status says all are delivered, and the daemon's CPU per record. kafka-wire only.
   */
  daemon?: boolean;
  /**
   * A read scenario: kafka-wire's producer fills a topic with the workload once (acks, compression
   * and the rest as given here), before any run is timed; then each client reads every partition
   * from offset 0 to its end offset, timed from when it begins reading until it has every record.
   */
  read?: true;
}

/**
 * The same tuning for every client that has the knob (the README lists who lacks which). The
 * retry backoff is Java's and librdkafka's default; it matters where brokers answer "retry
 * shortly", as they do to a transaction that begins while the previous one's markers are written.
 */
export const TUNING = { lingerMs: 5, batchSize: 256 * 1024, maxInFlight: 5, retryBackoffMs: 100 } as const;

export const PARTITIONS = 6;

/**
 * The same fetch settings for every client that reads, where it has the knob: kafka-wire's
 * default size per partition; Java's and librdkafka's default size per request and wait
 * (kafka-wire fetches each partition on a request of its own, so it has no per-request size);
 * records per poll for Java (max.poll.records) and librdkafka (consume(n)), the others taking
 * whatever a Fetch brought. librdkafka used less CPU per record with 100 to 3,000 than with
 * 10,000 here (3.3 to 3.7 against 4.5 µs, 100 B records); Java was the same with 500 to 10,000.
 */
export const READ_TUNING = {
  maxBytesPerPartition: 8 * 1024 * 1024,
  maxBytes: 50 * 1024 * 1024,
  maxWaitMs: 500,
  maxPollRecords: 1000,
} as const;

const FULL: Scenario[] = [
  {
    name: '100B-acksall-idem',
    summary: '1M × 100 B, acks=all, idempotent, uncompressed, keyless',
    count: 1_000_000,
    size: 100,
    acks: 'all',
    idempotent: true,
    compression: 'none',
    keyed: false,
    rate: 0,
  },
  {
    name: '100B-acksall-idem-keyed-lz4',
    summary: '1M × 100 B, acks=all, idempotent, lz4, keyed',
    count: 1_000_000,
    size: 100,
    acks: 'all',
    idempotent: true,
    compression: 'lz4',
    keyed: true,
    rate: 0,
  },
  {
    name: '100B-acks1',
    summary: '1M × 100 B, acks=1, uncompressed, keyless',
    count: 1_000_000,
    size: 100,
    acks: 1,
    idempotent: false,
    compression: 'none',
    keyed: false,
    rate: 0,
  },
  {
    name: '1KiB-acksall-idem',
    summary: '200k × 1 KiB, acks=all, idempotent, uncompressed, keyless',
    count: 200_000,
    size: 1024,
    acks: 'all',
    idempotent: true,
    compression: 'none',
    keyed: false,
    rate: 0,
  },
  {
    name: '1KiB-acks1-keyed-zstd',
    summary: '200k × 1 KiB, acks=1, zstd, keyed',
    count: 200_000,
    size: 1024,
    acks: 1,
    idempotent: false,
    compression: 'zstd',
    keyed: true,
    rate: 0,
  },
  {
    name: 'latency-20k-per-s',
    summary: '200k × 100 B at 20,000 records/s, acks=all, idempotent: send-to-ack latency',
    count: 200_000,
    size: 100,
    acks: 'all',
    idempotent: true,
    compression: 'none',
    keyed: false,
    rate: 20_000,
    warmupRecords: 20_000,
  },
  {
    name: '100B-txn-1000',
    summary: '1M × 100 B in transactions of 1,000 records (acks=all, idempotent), uncompressed, keyless',
    count: 1_000_000,
    size: 100,
    acks: 'all',
    idempotent: true,
    compression: 'none',
    keyed: false,
    rate: 0,
    transactionRecords: 1000,
  },
  ...(['none', 'interval', 'always'] as const).map(
    (sync): Scenario => ({
      name: `100B-durable-${sync}`,
      summary: `1M × 100 B as 100B-acksall-idem, through the durable producer, journal sync ${sync}${sync === 'interval' ? ' 10 ms' : ''}`,
      count: 1_000_000,
      size: 100,
      acks: 'all',
      idempotent: true,
      compression: 'none',
      keyed: false,
      rate: 0,
      durable: sync,
    }),
  ),
  {
    name: '100B-daemon',
    summary: '1M × 100 B sent to kafka-wire daemon over its UNIX stream socket (Dory format), journal sync interval 10 ms',
    count: 1_000_000,
    size: 100,
    acks: 'all',
    idempotent: true,
    compression: 'none',
    keyed: false,
    rate: 0,
    durable: 'interval',
    daemon: true,
  },
  readScenario(1_000_000, 100, 'none'),
  readScenario(1_000_000, 100, 'lz4'),
  readScenario(200_000, 1024, 'none'),
  readScenario(200_000, 1024, 'lz4'),
];

/** Reading `count` keyless records of `size` bytes, produced idempotently with acks=all, uncompressed or lz4. */
function readScenario(count: number, size: 100 | 1024, compression: 'none' | 'lz4'): Scenario {
  const records = size === 100 ? '100B' : '1KiB';
  const workload = `${count === 1_000_000 ? '1M' : `${count / 1000}k`} × ${size === 100 ? '100 B' : '1 KiB'}`;
  const compressed = compression === 'none' ? 'uncompressed' : compression;
  return {
    name: `read-${records}${compression === 'none' ? '' : `-${compression}`}`,
    summary: `${workload} read from ${PARTITIONS} partitions, offset 0 to the end offsets, ${compressed}`,
    count,
    size,
    acks: 'all',
    idempotent: true,
    compression,
    keyed: false,
    rate: 0,
    read: true,
  };
}

/** The in-memory scenario the durable ones are measured against: the same records, the same settings. */
export const DURABLE_BASELINE = '100B-acksall-idem';

/** Records of the transactional scenario in a quick run: 20 transactions, since CI runs every client through it. */
const QUICK_TRANSACTIONAL_COUNT = 20_000;

/**
 * --quick: every scenario with a quarter of the records (the paced one runs 3 s instead of 10 s,
 * the transactional one 20 transactions).
 */
export function scenarios(quick: boolean): Scenario[] {
  if (!quick) return FULL;
  const quickCount = (scenario: Scenario) =>
    scenario.transactionRecords ? QUICK_TRANSACTIONAL_COUNT : scenario.rate > 0 ? scenario.rate * 3 : scenario.count / 4;
  return FULL.map((scenario) => ({ ...scenario, count: quickCount(scenario) }));
}
