import type { RunConfig } from './clients/kit.js';

/** One named produce workload; every client runs it with the same settings. */
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
}

/**
 * The same tuning for every client that has the knob (the README lists who lacks which). The
 * retry backoff is Java's and librdkafka's default; it matters where brokers answer "retry
 * shortly", as they do to a transaction that begins while the previous one's markers are written.
 */
export const TUNING = { lingerMs: 5, batchSize: 256 * 1024, maxInFlight: 5, retryBackoffMs: 100 } as const;

export const PARTITIONS = 6;

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
];

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
