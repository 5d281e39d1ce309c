import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { Cluster, type ClusterEvents } from '../cluster/cluster.js';
import type { MetadataCache } from '../cluster/metadata.js';
import { ConfigError } from '../errors.js';
import { safeLogger } from '../logger.js';
import { describeValue } from '../option-checks.js';
import { CompressionThreads } from '../records/compression-threads.js';
import { Accumulator } from './accumulator.js';
import { Admission, type SendOptions } from './admission.js';
import { BufferMemory } from './buffer-memory.js';
import { systemClock } from './clock.js';
import { InvalidRecordError, ProducerClosedError, TransactionStateError } from './errors.js';
import { newMetrics, type ProducerMetrics } from './metrics.js';
import { type ProducerOptions, type ProducerSettings, producerSettings } from './options.js';
import { AllSends, ManySends, type RecordMetadata, SingleSend } from './outcomes.js';
import { ProducerState } from './producer-state.js';
import { checkTopicName, type ProducerRecord, type RecordBytes } from './record-input.js';
import { Sender, type SenderJournal } from './sender.js';
import { type ConsumerGroupMetadata, TransactionManager, type TransactionOffset, type TransactionState } from './transaction-manager.js';
import { ClusterTransport } from './transport.js';
import { retryUntil } from './wait.js';
import { type ProducerWritableOptions, producerWritable } from './writable.js';

export type { SendOptions } from './admission.js';
export type { BrokerLatency, ProducerMetrics } from './metrics.js';
export type { ProducerOptions } from './options.js';
export type { RecordMetadata } from './outcomes.js';
export type { ProducerRecord, RecordBytes, Serializers } from './record-input.js';
export { PRODUCE_REQUEST_CHANNEL } from './sender.js';
export type { ConsumerGroupMetadata, TransactionOffset, TransactionState } from './transaction-manager.js';

/** Events of a Producer: its cluster's (connections, metadata) and its own (retries, failed deliveries). */
export interface ProducerEvents extends ClusterEvents {
  /** A batch failed retriably and goes again after `backoffMs`. */
  retry: [{ topic: string; partition: number; records: number; attempt: number; backoffMs: number; error: Error }];
  /** Records failed for good (the error their send() rejects with). */
  deliveryFailed: [{ topic: string; partition: number; records: number; error: Error }];
}

/**
 * For the durable producer (src/durable/), which drives the producer from its journal: the hook
 * it gives the sender, and the parts the constructor hands back to it. Not for applications.
 */
export interface ProducerInternals {
  journal?: SenderJournal;
  /** Filled in by the constructor. */
  parts?: {
    accumulator: Accumulator;
    state: ProducerState;
    buffer: BufferMemory;
    admission: Admission;
    metadata: MetadataCache;
    cluster: Cluster;
  };
}

const CLUSTER_EVENTS: readonly (keyof ClusterEvents)[] = ['connect', 'disconnect', 'connectFailed', 'metadataChange'];

/**
 * The producer (Java's KafkaProducer): records from concurrent send() calls are checked and
 * partitioned (admission.ts), gathered into per-partition batches (accumulator.ts), and sent by
 * one drain loop (sender.ts), one Produce request per broker at a time, up to maxInFlight per
 * connection. With idempotence (the default) each batch carries the producer id, epoch and a
 * per-partition sequence (producer-state.ts), so retries after errors or leader changes
 * neither lose nor duplicate records. Every send() settles within deliveryTimeoutMs.
 */
export class Producer<K = RecordBytes, V = RecordBytes> extends EventEmitter<ProducerEvents> {
  private readonly cluster: Cluster;
  private readonly settings: ProducerSettings;
  private readonly accumulator: Accumulator;
  private readonly buffer: BufferMemory;
  private readonly sender: Sender;
  private readonly transport: ClusterTransport;
  private readonly compressionThreads: CompressionThreads | undefined;
  private readonly admission: Admission;
  private readonly transactions: TransactionManager | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly idleWaiters: (() => void)[] = [];
  readonly metrics: ProducerMetrics;

  constructor(options: ProducerOptions<K, V>, internals?: ProducerInternals) {
    super();
    this.settings = producerSettings(options as ProducerOptions);
    this.cluster = new Cluster({ ...options, requestTimeoutMs: this.settings.requestTimeoutMs });
    for (const name of CLUSTER_EVENTS) {
      (this.cluster as EventEmitter).on(name, (event: unknown) => (this.emit as (name: string, event: unknown) => boolean)(name, event));
    }
    const clock = systemClock;
    const transport = new ClusterTransport(this.cluster);
    this.transport = transport;
    const state = new ProducerState();
    const transactionalId = this.settings.transactionalId;
    this.metrics = newMetrics(this.settings.bufferMemory);
    this.transactions =
      transactionalId === undefined
        ? undefined
        : new TransactionManager({
            transactionalId,
            transactionTimeoutMs: this.settings.transactionTimeoutMs,
            settings: this.settings,
            state,
            transport,
            clock,
            metrics: this.metrics,
            host: {
              flush: () => this.flush(),
              failUnsent: (error) => this.sender.failWaiting(error),
              wake: () => this.sender.wake(),
            },
          });
    this.buffer = new BufferMemory(this.settings.bufferMemory, clock, this.metrics);
    this.accumulator = new Accumulator(
      {
        batchSize: this.settings.batchSize,
        lingerMs: this.settings.lingerMs,
        compression: this.settings.compression,
        compressionLevel: this.settings.compressionLevel,
        connectionsPerBroker: this.settings.connectionsPerBroker,
      },
      clock,
    );
    const threaded = this.settings.compression === 'zstd' || this.settings.compression === 'gzip';
    this.compressionThreads =
      threaded && this.settings.compressionThreads > 0 ? new CompressionThreads(this.settings.compressionThreads) : undefined;
    this.sender = new Sender({
      settings: this.settings,
      compressionThreads: this.compressionThreads,
      accumulator: this.accumulator,
      state,
      buffer: this.buffer,
      transport,
      transaction: this.transactions,
      journal: internals?.journal,
      clock,
      metrics: this.metrics,
      events: {
        retry: (event) => this.emit('retry', event),
        deliveryFailed: (event) => this.emit('deliveryFailed', event),
        progress: () => this.checkIdle(),
      },
    });
    this.admission = new Admission(
      {
        settings: this.settings,
        serializers: options.serializers as ProducerOptions['serializers'],
        partitioner: options.partitioner,
        metadata: this.cluster.metadata,
        buffer: this.buffer,
        accumulator: this.accumulator,
        sender: this.sender,
        clock,
        metrics: this.metrics,
        refusal: this.transactions && (() => (this.transactions as TransactionManager).sendRefusal()),
      },
      () => this.checkIdle(),
    );
    if (internals) {
      internals.parts = {
        accumulator: this.accumulator,
        state,
        buffer: this.buffer,
        admission: this.admission,
        metadata: this.cluster.metadata,
        cluster: this.cluster,
      };
    }
    if (options.logger) {
      const log = safeLogger(options.logger);
      this.on('retry', ({ error, ...fields }) =>
        log.warn({ ...fields, error: error.message }, `retrying ${fields.records} record(s) for ${fields.topic}-${fields.partition}`),
      );
      this.on('deliveryFailed', ({ error, ...fields }) =>
        log.error({ ...fields, error: error.message }, `${fields.records} record(s) for ${fields.topic}-${fields.partition} failed`),
      );
    }
  }

  /**
   * Optional: gets ready before the first send() — connects, loads these topics' metadata,
   * opens the produce connections to each of their partition leaders (connectionsPerBroker of
   * them) and (with idempotence) obtains the producer id — so the first records do not wait. A wrong address, credentials, certificate
   * or topic fails here with the real cause: at once when retrying cannot help, else (a broker
   * refusing connections, a coordinator still loading) within maxBlockMs.
   */
  async connect(topics: string[] = []): Promise<void> {
    if (this.closed) throw new ProducerClosedError('connect() after close()');
    if (!Array.isArray(topics)) throw new ConfigError(`connect() takes an array of topic names, not ${describeValue(topics)}`);
    const startedAt = systemClock.now();
    const deadline = startedAt + this.settings.maxBlockMs;
    const leaders = new Set<number>();
    for (const topic of topics) {
      checkTopicName(topic);
      const info = await this.admission.topicInfo(topic, startedAt, deadline);
      for (const partition of info.partitions) if (partition.leader >= 0) leaders.add(partition.leader);
    }
    const until = <T>(what: string, attempt: () => Promise<T>) =>
      retryUntil(systemClock, this.settings, { startedAt, deadline, what }, attempt);
    if (leaders.size === 0) await until('to reach the cluster', () => this.cluster.anyConnection());
    const lanes = Array.from({ length: this.settings.connectionsPerBroker }, (_, index) => index);
    await Promise.all(
      [...leaders].flatMap((leader) => lanes.map((lane) => until(`to reach broker ${leader}`, () => this.transport.connect(leader, lane)))),
    );
    // A freshly started broker answers InitProducerId with retriable errors for a while (its coordinator loading).
    await until('to obtain a producer id', () => this.sender.ensureProducerId());
  }

  /** Sends one record; resolves with where it was written once the broker acknowledged it. */
  send(record: ProducerRecord<K, V>, options?: SendOptions): Promise<RecordMetadata> {
    // No `options = {}` default: that made an object for every call.
    const outcome = new SingleSend();
    this.admission.admit(record, options, outcome, 0);
    return outcome.promise;
  }

  /**
   * Sends many records with one promise, which resolves once each has settled, with their
   * outcomes in the order given. Cheaper per record than as many send() calls. The clock is read
   * once: records without a timestamp get the time of the call, and their deadlines count from it.
   */
  sendMany(records: ProducerRecord<K, V>[], options: SendOptions = {}): Promise<PromiseSettledResult<RecordMetadata>[]> {
    if (!Array.isArray(records)) {
      return Promise.reject(new InvalidRecordError(`sendMany() takes an array of records, not ${describeValue(records)}`));
    }
    const outcome = new ManySends(records.length);
    const now = systemClock.now();
    for (let index = 0; index < records.length; index++) this.admission.admit(records[index], options, outcome, index, now);
    return outcome.promise;
  }

  /**
   * Sends many records as sendMany() does, for when only failures matter: resolves once every
   * record has been acknowledged; otherwise rejects, once every record has settled, with a
   * RecordsFailedError that lists each failed record's place in `records` and its error (the
   * others were written). It makes no RecordMetadata per record, which makes it the cheapest
   * way to send in bulk.
   */
  sendAll(records: ProducerRecord<K, V>[], options: SendOptions = {}): Promise<void> {
    if (!Array.isArray(records)) {
      return Promise.reject(new InvalidRecordError(`sendAll() takes an array of records, not ${describeValue(records)}`));
    }
    const outcome = new AllSends(records.length);
    const now = systemClock.now();
    for (let index = 0; index < records.length; index++) this.admission.admit(records[index], options, outcome, index, now);
    return outcome.promise;
  }

  /**
   * A Writable stream (object mode) of records, for stream.pipeline(): each record is sent as
   * send() would; a write completes once its record is in a batch, so the stream's backpressure
   * follows bufferMemory. The first failed delivery destroys the stream with that error, and it
   * finishes once every record written has been acknowledged. The producer stays open.
   */
  writable(options: ProducerWritableOptions = {}): Writable {
    return producerWritable(
      options,
      (record: unknown, accepted: () => void, sendOptions: SendOptions) => {
        const outcome = new SingleSend();
        this.admission.admit(record, sendOptions, outcome, 0, undefined, accepted);
        return outcome.promise;
      },
      () => this.flush(),
    );
  }

  /**
   * Transactional producer (transactionalId set): obtains the producer id and epoch for the
   * transactional id, which fences any older producer with the same id and aborts a transaction
   * it left open (or waits for it to complete). Once, before the first transaction; retried
   * within maxBlockMs while the coordinator is loading or moving.
   */
  async initTransactions(): Promise<void> {
    const transactions = this.transactional('initTransactions()');
    await transactions.init();
  }

  /** Begins a transaction: send() and sendOffsetsToTransaction() belong to it until it is committed or aborted. */
  beginTransaction(): void {
    this.transactional('beginTransaction()').begin();
  }

  /**
   * Commits a consumer group's offsets as part of the transaction (consume-transform-produce):
   * they become the group's committed offsets only if the transaction commits. Each offset is
   * the next one to read, as a consumer commits it. A bare group id is a group without members.
   */
  async sendOffsetsToTransaction(offsets: TransactionOffset[], group: ConsumerGroupMetadata | string): Promise<void> {
    const transactions = this.transactional('sendOffsetsToTransaction()');
    if (!Array.isArray(offsets))
      throw new ConfigError(`sendOffsetsToTransaction() takes an array of offsets, not ${describeValue(offsets)}`);
    const metadata = typeof group === 'string' ? { groupId: group } : group;
    if (typeof metadata?.groupId !== 'string' || metadata.groupId === '') {
      throw new ConfigError(`sendOffsetsToTransaction() needs a group id, not ${describeValue(group)}`);
    }
    for (const entry of offsets) {
      if (typeof entry?.topic !== 'string' || !Number.isInteger(entry.partition) || typeof entry.offset !== 'bigint' || entry.offset < 0n) {
        throw new ConfigError(`an offset to commit is { topic, partition, offset: bigint ≥ 0 }, not ${describeValue(entry)}`);
      }
    }
    await transactions.sendOffsets(offsets, metadata);
  }

  /**
   * Sends everything of the transaction, waits for it to be acknowledged, and commits it. When a
   * record of it failed, nothing commits: this throws TransactionAbortableError and only
   * abortTransaction() is allowed.
   */
  async commitTransaction(): Promise<void> {
    await this.transactional('commitTransaction()').commit();
  }

  /** Aborts the transaction: records not yet sent fail with TransactionAbortedError; read_committed readers see nothing of it. */
  async abortTransaction(): Promise<void> {
    await this.transactional('abortTransaction()').abort();
  }

  /**
   * Runs `work` in a transaction: begins one, commits it when `work` resolves and aborts it when
   * `work` throws (rethrowing its error). Resolves with what `work` returned.
   */
  async transaction<T>(work: (producer: this) => Promise<T> | T): Promise<T> {
    const transactions = this.transactional('transaction()');
    transactions.begin();
    let result: T;
    try {
      result = await work(this);
    } catch (error) {
      // Unless work() already ended the transaction (or the producer failed for good), it is aborted.
      // The abort's own failure leaves its mark on transactionState; work()'s error is the one to report.
      if (transactions.state === 'inTransaction' || transactions.state === 'abortableError')
        await transactions.abort().catch(() => undefined);
      throw error;
    }
    try {
      await this.commitTransaction();
    } catch (error) {
      if (transactions.state === 'abortableError') await transactions.abort();
      throw error;
    }
    return result;
  }

  /** Where the transactional producer's state machine stands (undefined without transactionalId). */
  get transactionState(): TransactionState | undefined {
    return this.transactions?.state;
  }

  private transactional(call: string): TransactionManager {
    if (this.closed) throw new ProducerClosedError(`${call} after close()`);
    if (!this.transactions) throw new TransactionStateError(`${call} needs a transactional producer (option transactionalId)`);
    return this.transactions;
  }

  /** Sends everything waiting now, without waiting for lingerMs, and resolves when all of it has settled. */
  async flush(): Promise<void> {
    this.sender.flushing++;
    try {
      this.sender.wake();
      await this.whenIdle();
    } finally {
      this.sender.flushing--;
    }
  }

  /**
   * Delivers (or fails) everything pending within timeoutMs, then closes connections. Later
   * send() calls reject. A transaction still open is aborted first.
   */
  close(timeoutMs = 30_000): Promise<void> {
    this.closing ??= this.shutDown(timeoutMs);
    return this.closing;
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    // A transaction left open would hold back read_committed readers until transactionTimeoutMs: abort it, as Java's close() does.
    const open = this.transactions?.state;
    if (open === 'inTransaction' || open === 'abortableError') {
      await Promise.race([
        (this.transactions as TransactionManager).abort().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    this.closed = true;
    this.admission.closed = true;
    this.sender.closed = true;
    const flushed = this.flush();
    const timedOut = await Promise.race([
      flushed.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs).unref()),
    ]);
    if (timedOut) this.sender.failWaiting(new ProducerClosedError(`close() gave up after ${timeoutMs} ms with records still pending`));
    this.sender.stop();
    await this.compressionThreads?.close();
    this.buffer.releaseWaiting();
    this.cluster.close();
  }

  private whenIdle(): Promise<void> {
    if (!this.accumulator.hasPending && this.admission.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.accumulator.hasPending || this.admission.waiting > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
