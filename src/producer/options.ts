import type { ClusterOptions } from '../cluster/options.js';
import type { BackoffOptions } from '../connection/backoff.js';
import { ConfigError } from '../errors.js';
import { describeValue, functionOption, integerOption, objectOption, oneOfOption } from '../option-checks.js';
import type { CompressionName } from '../records/compression.js';
import type { CustomPartitioner } from './partitioner.js';
import type { Serializers } from './record-input.js';

export interface ProducerOptions<K = unknown, V = unknown> extends ClusterOptions {
  /** −1 ('all', the default), 1 or 0. */
  acks?: -1 | 0 | 1 | 'all';
  /** Exactly-once per partition within a producer session (KIP-98). Default true; needs acks=all. */
  idempotent?: boolean;
  lingerMs?: number;
  batchSize?: number;
  /** Requests in flight per broker connection. */
  maxInFlight?: number;
  /**
   * Connections that Produce requests go over to each broker (default 2; 1 for a transactional
   * producer). A broker handles one request of a connection at a time, so a second one lets it
   * work on two requests at once. Each partition always uses the same connection, so its order holds.
   */
  connectionsPerBroker?: number;
  compression?: CompressionName;
  compressionLevel?: number;
  /**
   * Threads that compress zstd and gzip batches (records sections of 16 KiB or more) off the
   * event loop; 0 (the default) compresses every batch inline. Output is the same either way.
   * Worth it only with a core to spare: it takes about 60% of the main thread's time per zstd
   * record off it, but costs more CPU in all and ~60 MB of memory (bench/compression-choice.md).
   */
  compressionThreads?: number;
  /** Hard bound from send() to settlement, retries included. */
  deliveryTimeoutMs?: number;
  retryBackoff?: BackoffOptions;
  /** Bytes of records held (waiting or in flight) before send() waits. */
  bufferMemory?: number;
  /** Largest Produce request; a single record larger than this is refused. */
  maxRequestSize?: number;
  /** How long send() and connect() may wait for a topic's metadata (and so for an unreachable cluster). */
  maxBlockMs?: number;
  /**
   * How long a topic the cluster says does not exist is asked for again (it may have just been
   * created elsewhere) before send() fails with UnknownTopicError; within maxBlockMs. Default 3 s.
   */
  unknownTopicTimeoutMs?: number;
  partitioner?: CustomPartitioner;
  /**
   * Makes the producer transactional (KIP-98): records are sent inside transactions
   * (initTransactions(), beginTransaction(), commitTransaction() or abortTransaction()) that
   * read_committed consumers see whole or not at all. One id per producer instance; a new
   * producer with the same id fences the older one. Needs idempotence (the default).
   */
  transactionalId?: string;
  /** How long the coordinator lets a transaction stay open before it aborts it (default 60 s; the broker caps it). */
  transactionTimeoutMs?: number;
  /** Turn keys and values of type K and V into bytes (or strings); without them, keys and values must already be bytes, strings or null. */
  serializers?: Serializers<K, V>;
}

/** Every option with its value decided: defaults filled in, all checked. */
export interface ProducerSettings {
  acks: -1 | 0 | 1;
  idempotent: boolean;
  lingerMs: number;
  batchSize: number;
  maxInFlight: number;
  connectionsPerBroker: number;
  compression: CompressionName;
  compressionLevel: number | undefined;
  compressionThreads: number;
  deliveryTimeoutMs: number;
  requestTimeoutMs: number;
  retryBackoff: BackoffOptions;
  bufferMemory: number;
  maxRequestSize: number;
  maxBlockMs: number;
  unknownTopicTimeoutMs: number;
  allowAutoTopicCreation: boolean;
  transactionalId: string | undefined;
  transactionTimeoutMs: number;
}

export const PRODUCER_DEFAULTS = {
  lingerMs: 5,
  batchSize: 16_384,
  maxInFlight: 5,
  connectionsPerBroker: 2,
  deliveryTimeoutMs: 120_000,
  requestTimeoutMs: 30_000,
  retryBackoff: { initialMs: 100, maxMs: 1000 },
  bufferMemory: 32 * 1024 * 1024,
  maxRequestSize: 1024 * 1024,
  maxBlockMs: 60_000,
  unknownTopicTimeoutMs: 3_000,
  transactionTimeoutMs: 60_000,
} as const;

const COMPRESSIONS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
/** Kafka's own bounds: a batch and a request must fit in an int32 size. */
const MAX_INT32 = 2 ** 31 - 1;
/** More connections than this only cost the broker sockets: it has few request handler threads to use them. */
const MAX_CONNECTIONS_PER_BROKER = 16;

/**
 * The producer's settings from its options; a mistake is a ConfigError naming the option (the
 * cluster's options are checked by Cluster).
 */
export function producerSettings(options: ProducerOptions): ProducerSettings {
  const rawAcks = oneOfOption<-1 | 0 | 1 | 'all'>('acks', options.acks, [-1, 0, 1, 'all'], -1);
  const acks = rawAcks === 'all' ? -1 : rawAcks;
  const idempotent = options.idempotent ?? acks === -1;
  if (typeof idempotent !== 'boolean') throw new ConfigError(`option idempotent must be true or false, not ${String(idempotent)}`);
  if (idempotent && acks !== -1) throw new ConfigError('idempotence needs acks=all (-1); set idempotent: false to use acks 0 or 1');
  const maxInFlight = integerOption('maxInFlight', options.maxInFlight, PRODUCER_DEFAULTS.maxInFlight, 1);
  if (idempotent && maxInFlight > 5)
    throw new ConfigError('idempotence keeps order with at most 5 requests in flight per connection (maxInFlight ≤ 5)');
  const retryBackoff = objectOption<BackoffOptions>('retryBackoff', options.retryBackoff) ?? PRODUCER_DEFAULTS.retryBackoff;
  const retryInitialMs = integerOption('retryBackoff.initialMs', retryBackoff.initialMs, 'required', 0);
  integerOption('retryBackoff.maxMs', retryBackoff.maxMs, 'required', retryInitialMs);
  const compression = oneOfOption('compression', options.compression, COMPRESSIONS, 'none');
  const levels = { gzip: [-1, 9], zstd: [-131072, 22] } as const;
  const levelRange = compression === 'gzip' || compression === 'zstd' ? levels[compression] : undefined;
  if (options.compressionLevel !== undefined && !levelRange)
    throw new ConfigError(`option compressionLevel applies to gzip and zstd only, not ${compression}`);
  const compressionLevel =
    options.compressionLevel === undefined || !levelRange
      ? undefined
      : integerOption('compressionLevel', options.compressionLevel, 0, levelRange[0], levelRange[1]);
  functionOption('partitioner', options.partitioner);
  const serializers = objectOption<Serializers<unknown, unknown>>('serializers', options.serializers);
  functionOption('serializers.key', serializers?.key);
  functionOption('serializers.value', serializers?.value);
  const maxBlockMs = integerOption('maxBlockMs', options.maxBlockMs, PRODUCER_DEFAULTS.maxBlockMs, 0);
  const transactionalId = options.transactionalId;
  if (transactionalId !== undefined) {
    if (typeof transactionalId !== 'string' || transactionalId === '') {
      throw new ConfigError(`option transactionalId must be a non-empty string, not ${describeValue(transactionalId)}`);
    }
    if (!idempotent)
      throw new ConfigError('a transactional producer is idempotent: transactionalId cannot go with idempotent: false or acks 0 or 1');
  } else if (options.transactionTimeoutMs !== undefined) {
    throw new ConfigError('option transactionTimeoutMs applies to a transactional producer only (set transactionalId)');
  }
  return {
    acks,
    idempotent,
    lingerMs: integerOption('lingerMs', options.lingerMs, PRODUCER_DEFAULTS.lingerMs, 0),
    batchSize: integerOption('batchSize', options.batchSize, PRODUCER_DEFAULTS.batchSize, 1, MAX_INT32),
    maxInFlight,
    connectionsPerBroker: integerOption(
      'connectionsPerBroker',
      options.connectionsPerBroker,
      // A transaction's partitions join it over one connection at a time (transaction-manager.ts), so over two
      // the second connection's first request waits for the first's answer: one connection is no slower.
      transactionalId === undefined ? PRODUCER_DEFAULTS.connectionsPerBroker : 1,
      1,
      MAX_CONNECTIONS_PER_BROKER,
    ),
    compression,
    compressionLevel,
    compressionThreads: integerOption('compressionThreads', options.compressionThreads, 0, 0, 64),
    deliveryTimeoutMs: integerOption('deliveryTimeoutMs', options.deliveryTimeoutMs, PRODUCER_DEFAULTS.deliveryTimeoutMs, 1),
    requestTimeoutMs: integerOption('requestTimeoutMs', options.requestTimeoutMs, PRODUCER_DEFAULTS.requestTimeoutMs, 1),
    retryBackoff,
    bufferMemory: integerOption('bufferMemory', options.bufferMemory, PRODUCER_DEFAULTS.bufferMemory, 1),
    maxRequestSize: integerOption('maxRequestSize', options.maxRequestSize, PRODUCER_DEFAULTS.maxRequestSize, 1024, MAX_INT32),
    maxBlockMs,
    unknownTopicTimeoutMs: integerOption(
      'unknownTopicTimeoutMs',
      options.unknownTopicTimeoutMs,
      PRODUCER_DEFAULTS.unknownTopicTimeoutMs,
      0,
    ),
    allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
    transactionalId,
    transactionTimeoutMs: integerOption(
      'transactionTimeoutMs',
      options.transactionTimeoutMs,
      PRODUCER_DEFAULTS.transactionTimeoutMs,
      1,
      MAX_INT32,
    ),
  };
}
