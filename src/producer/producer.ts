import diagnostics from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { Cluster, type ClusterEvents } from '../cluster/cluster.js';
import { UnknownTopicOrPartitionError } from '../cluster/errors.js';
import type { TopicInfo } from '../cluster/metadata.js';
import { backoffDelay } from '../connection/backoff.js';
import type { Connection } from '../connection/connection.js';
import { ConnectionError } from '../connection/errors.js';
import { ConfigError, isRetriable } from '../errors.js';
import { safeLogger } from '../logger.js';
import { describeValue } from '../option-checks.js';
import { InitProducerId, Produce, type ProduceResponsePartitionProduceResponse } from '../protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import { RecordBatchBuilder, type RecordInput, recordSize } from '../records/batch-builder.js';
import { encodeProduceFrame, type ProducePartition } from '../records/produce-frame.js';
import { restampBatch } from '../records/restamp.js';
import { Accumulator, type PartitionQueue, type PendingRecord, type ProducerBatch } from './accumulator.js';
import { BufferFullError, DeliveryTimeoutError, InvalidRecordError, ProducerClosedError, RecordTooLargeError } from './errors.js';
import { type ProducerOptions, type ProducerSettings, producerSettings } from './options.js';
import { ManySends, type RecordMetadata, type RecordOutcome, SingleSend } from './outcomes.js';
import { keyPartition, StickyPartitioner } from './partitioner.js';
import {
  checkRecordObject,
  checkTopicName,
  type ProducerRecord,
  type RecordBytes,
  type Serializers,
  toPendingRecord,
} from './record-input.js';
import { type ProducerWritableOptions, producerWritable } from './writable.js';

export type { ProducerOptions } from './options.js';
export type { RecordMetadata } from './outcomes.js';
export type { ProducerRecord, RecordBytes, Serializers } from './record-input.js';

export interface SendOptions {
  signal?: AbortSignal;
}

export interface BrokerLatency {
  requests: number;
  inFlight: number;
  lastMs: number;
  averageMs: number;
  maxMs: number;
}

export interface ProducerMetrics {
  /** Produce requests by broker node id, with their send-to-answer latency. */
  brokers: Record<number, BrokerLatency>;
  /** Records acknowledged. */
  recordsSent: number;
  /** Records whose send() rejected, for any reason: refused at send(), or failed later. */
  recordsFailed: number;
  /** Records put back for another attempt (each time). */
  recordsRetried: number;
  batchesSent: number;
  /** Bytes of Produce requests sent. */
  bytesSent: number;
  requestsInFlight: number;
  /** Bytes of bufferMemory held by records waiting or in flight. */
  bufferUsed: number;
  bufferMemory: number;
}

/** Events of a Producer: its cluster's (connections, metadata) and its own (retries, failed deliveries). */
export interface ProducerEvents extends ClusterEvents {
  /** A batch failed retriably and goes again after `backoffMs`. */
  retry: [{ topic: string; partition: number; records: number; attempt: number; backoffMs: number; error: Error }];
  /** Records failed for good (the error their send() rejects with). */
  deliveryFailed: [{ topic: string; partition: number; records: number; error: Error }];
}

const CLUSTER_EVENTS: readonly (keyof ClusterEvents)[] = ['connect', 'disconnect', 'connectFailed', 'metadataChange'];
/** How often a wait for metadata, a connection or a producer id tries again. */
const RETRY_INTERVAL_MS = 200;

/** A record waiting for metadata or buffer room before it may join a batch. */
interface WaitingRecord {
  record: ProducerRecord<unknown, unknown>;
  pending: PendingRecord;
  signal: AbortSignal | undefined;
  /** Told when the record joins a batch (the Writable's backpressure). */
  accepted: (() => void) | undefined;
}

interface BrokerState {
  inFlight: number;
}

/**
 * node:diagnostics_channel name on which every Produce request is published when it settles:
 * { broker, records, batches, bytes, durationMs, error? }.
 */
export const PRODUCE_REQUEST_CHANNEL = 'kafka-wire:producer:request';
const produceChannel = diagnostics.channel(PRODUCE_REQUEST_CHANNEL);

interface BufferWaiter {
  size: number;
  /** Left the line (timed out or aborted); skipped when its turn comes. */
  gone: boolean;
  grant(): void;
}

/**
 * The producer: records from concurrent send() calls are partitioned (as the Java client
 * does), gathered into per-partition batches (closed by batchSize or lingerMs), and drained
 * into one Produce request per broker at a time, up to maxInFlight per connection. With
 * idempotence (the default) each batch carries the producer id, epoch and a per-partition
 * sequence, so retries after errors or leader changes neither lose nor duplicate records.
 * Every send() settles within deliveryTimeoutMs.
 */
export class Producer<K = RecordBytes, V = RecordBytes> extends EventEmitter<ProducerEvents> {
  private readonly cluster: Cluster;
  private readonly accumulator: Accumulator;
  private readonly sticky: StickyPartitioner;
  private readonly settings: ProducerSettings;
  private readonly serializers: Serializers<unknown, unknown> | undefined;
  private readonly brokers = new Map<number, BrokerState>();
  private producerId = -1n;
  private producerEpoch = -1;
  private idempotenceReady: Promise<void> | undefined;
  private epochBumpNeeded = false;
  private bufferUsed = 0;
  /** send() calls waiting for bufferMemory, first come first served; entries before bufferHead have left. */
  private bufferWaiters: BufferWaiter[] = [];
  private bufferHead = 0;
  private timer: NodeJS.Timeout | undefined;
  private drainScheduled = false;
  private flushing = 0;
  /** send() calls waiting for metadata or buffer room, not yet in the accumulator. */
  private waitingSends = 0;
  private readonly available = new WeakMap<TopicInfo, readonly number[]>();
  /** Records that must wait, in call order; one loop admits them (entries before waitingHead are done). */
  private waitingLine: (WaitingRecord | undefined)[] = [];
  private waitingHead = 0;
  private admittingWaiting = false;
  private closed = false;
  private readonly idleWaiters: (() => void)[] = [];
  readonly metrics: ProducerMetrics;

  constructor(private readonly options: ProducerOptions<K, V>) {
    super();
    this.settings = producerSettings(options as ProducerOptions);
    this.serializers = options.serializers as Serializers<unknown, unknown> | undefined;
    this.cluster = new Cluster({ ...options, requestTimeoutMs: this.settings.requestTimeoutMs });
    for (const name of CLUSTER_EVENTS) {
      (this.cluster as EventEmitter).on(name, (event: unknown) => (this.emit as (name: string, event: unknown) => boolean)(name, event));
    }
    this.accumulator = new Accumulator({
      batchSize: this.settings.batchSize,
      lingerMs: this.settings.lingerMs,
      compression: this.settings.compression,
      compressionLevel: this.settings.compressionLevel,
    });
    this.sticky = new StickyPartitioner(this.settings.batchSize);
    this.metrics = {
      brokers: {},
      recordsSent: 0,
      recordsFailed: 0,
      recordsRetried: 0,
      batchesSent: 0,
      bytesSent: 0,
      requestsInFlight: 0,
      bufferUsed: 0,
      bufferMemory: this.settings.bufferMemory,
    };
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
   * opens a connection to each of their partition leaders and (with idempotence) obtains the
   * producer id — so the first records do not wait. A wrong address, credentials, certificate
   * or topic fails here with the real cause: at once when retrying cannot help, else (a broker
   * refusing connections, a coordinator still loading) within maxBlockMs.
   */
  async connect(topics: string[] = []): Promise<void> {
    if (this.closed) throw new ProducerClosedError('connect() after close()');
    if (!Array.isArray(topics)) throw new ConfigError(`connect() takes an array of topic names, not ${describeValue(topics)}`);
    const startedAt = Date.now();
    const deadline = startedAt + this.settings.maxBlockMs;
    const leaders = new Set<number>();
    for (const topic of topics) {
      checkTopicName(topic);
      const info = await this.topicInfo(topic, startedAt, deadline);
      for (const partition of info.partitions) if (partition.leader >= 0) leaders.add(partition.leader);
    }
    const until = <T>(what: string, attempt: () => Promise<T>) => this.retryUntil(startedAt, deadline, what, attempt);
    if (leaders.size === 0) await until('to reach the cluster', () => this.cluster.anyConnection());
    await Promise.all([...leaders].map((leader) => until(`to reach broker ${leader}`, () => this.cluster.connectionTo(leader))));
    // A freshly started broker answers InitProducerId with retriable errors for a while (its coordinator loading).
    await until('to obtain a producer id', () => this.ensureIdempotence());
  }

  /**
   * Runs `attempt` until it succeeds, fails for good (at once), or `deadline` passes: then it
   * throws an error naming the last failure: a ConnectionError when no broker could be reached.
   * `startedAt` is when the caller began to wait (its send(), say), for the message.
   */
  private async retryUntil<T>(startedAt: number, deadline: number, what: string, attempt: () => Promise<T>): Promise<T> {
    let last: unknown;
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      try {
        // An attempt may wait on a connection's backoff or timeout; the deadline does not.
        const outcome = await Promise.race([
          attempt().then((value) => ({ value })),
          new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
          }),
        ]);
        if (outcome) return outcome.value;
      } catch (error) {
        if (!isRetriable(error)) throw error;
        last = error;
      } finally {
        clearTimeout(timer);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw this.blockedTooLong(what, Date.now() - startedAt, last);
      await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_INTERVAL_MS, left)));
    }
  }

  /** The error a wait for metadata, a connection or a producer id ends with: it names the last failure, not the wait. */
  private blockedTooLong(what: string, waitedMs: number, last: unknown): Error {
    const waited = `within ${waitedMs} ms (maxBlockMs ${this.settings.maxBlockMs}, deliveryTimeoutMs ${this.settings.deliveryTimeoutMs})`;
    if (last instanceof ConnectionError) {
      const detail = last.message.startsWith(`${last.broker}: `) ? last.message.slice(last.broker.length + 2) : last.message;
      return new ConnectionError(last.broker, `${detail} (kept trying ${what} ${waited})`, { cause: last });
    }
    if (last instanceof Error) return new DeliveryTimeoutError(`failed ${what} ${waited}: ${last.message}`, { cause: last });
    return new DeliveryTimeoutError(`no broker answered ${what} ${waited}: a connection or request was still pending`);
  }

  /** Sends one record; resolves with where it was written once the broker acknowledged it. */
  send(record: ProducerRecord<K, V>, options: SendOptions = {}): Promise<RecordMetadata> {
    const outcome = new SingleSend();
    this.admit(record, options, outcome, 0);
    return outcome.promise;
  }

  /**
   * Sends many records with one promise, which resolves once each has settled, with their
   * outcomes in the order given. Cheaper per record than as many send() calls.
   */
  sendMany(records: ProducerRecord<K, V>[], options: SendOptions = {}): Promise<PromiseSettledResult<RecordMetadata>[]> {
    if (!Array.isArray(records)) {
      return Promise.reject(new InvalidRecordError(`sendMany() takes an array of records, not ${describeValue(records)}`));
    }
    const outcome = new ManySends(records.length);
    for (let index = 0; index < records.length; index++) this.admit(records[index], options, outcome, index);
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
        this.admit(record as ProducerRecord<K, V>, sendOptions, outcome, 0, accepted);
        return outcome.promise;
      },
      () => this.flush(),
    );
  }

  /**
   * Checks a record and puts it into its partition's batch, or, when it must wait for metadata
   * or buffer room, into the line of waiting sends. A bad record settles its outcome at once,
   * before it takes anything from the producer.
   */
  private admit(record: unknown, options: SendOptions, outcome: RecordOutcome, index: number, accepted?: () => void): void {
    let pending: PendingRecord;
    try {
      if (this.closed) throw new ProducerClosedError('send() after close()');
      checkRecordObject(record);
      const signal = options?.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new ConfigError(`option signal must be an AbortSignal, not ${describeValue(signal)}`);
      }
      const { topic } = record;
      // A topic in the metadata has a valid name; only others are checked.
      const cached = this.cluster.metadata.topics.get(topic);
      if (!cached) checkTopicName(topic);
      const now = Date.now();
      pending = toPendingRecord(record, this.serializers, now, now + this.settings.deliveryTimeoutMs, outcome, index);
      pending.size = recordSize(pending, 0, 0);
      if (pending.size + 61 + 200 > this.settings.maxRequestSize) {
        throw new RecordTooLargeError(
          `a record of ${pending.size} bytes cannot fit a Produce request of at most ` +
            `${this.settings.maxRequestSize} bytes (maxRequestSize)`,
        );
      }
      signal?.throwIfAborted();
      // The common case goes without a single await: metadata cached and room in the buffer.
      // Only when no earlier send() is still waiting, so records keep the order of the calls.
      if (
        cached &&
        cached.partitions.length > 0 &&
        this.waitingSends === 0 &&
        this.bufferUsed + pending.size <= this.settings.bufferMemory
      ) {
        const partition = this.choosePartition(record, pending, cached, pending.size);
        this.takeBuffer(pending.size);
        this.enqueue(topic, partition, pending, signal);
        accepted?.();
        return;
      }
    } catch (error) {
      this.metrics.recordsFailed++;
      outcome.rejected(index, error as Error);
      return;
    }
    this.waitingSends++;
    this.waitingLine.push({ record, pending, signal: options.signal, accepted });
    if (!this.admittingWaiting) void this.admitWaiting();
  }

  /**
   * Admits waiting records one after another, in call order: each waits for its topic's
   * metadata and for room in bufferMemory, until its deadline. When a topic fails (unknown,
   * not authorized, or no metadata by the deadline), the records behind it for that topic whose
   * deadline has passed fail with it, instead of each asking again.
   */
  private async admitWaiting(): Promise<void> {
    this.admittingWaiting = true;
    const failedTopics = new Map<string, Error>();
    try {
      while (this.waitingHead < this.waitingLine.length) {
        const { record, pending, signal, accepted } = this.waitingLine[this.waitingHead] as WaitingRecord;
        this.waitingLine[this.waitingHead++] = undefined;
        try {
          // How long this record may wait for metadata: maxBlockMs from its send(), within its delivery deadline.
          const sentAt = pending.deadline - this.settings.deliveryTimeoutMs;
          const blockUntil = Math.min(pending.deadline, sentAt + this.settings.maxBlockMs);
          // Behind a topic that failed: the same answer, unless this record has time for another try of its own.
          const failed = failedTopics.get(record.topic);
          if (failed && (!isRetriable(failed) || blockUntil - Date.now() < RETRY_INTERVAL_MS)) throw failed;
          let info = this.cluster.metadata.topics.get(record.topic);
          if (!info || info.partitions.length === 0) {
            try {
              info = await this.topicInfo(record.topic, sentAt, blockUntil);
            } catch (error) {
              failedTopics.set(record.topic, error as Error);
              throw error;
            }
          }
          const partition = this.choosePartition(record, pending, info, pending.size);
          await this.reserveBuffer(pending.size, pending.deadline, signal);
          if (this.closed && this.flushing === 0) {
            this.freeBuffer(pending.size);
            throw new ProducerClosedError('the producer closed while send() waited');
          }
          this.enqueue(record.topic, partition, pending, signal);
          accepted?.();
        } catch (error) {
          this.metrics.recordsFailed++;
          pending.outcome.rejected(pending.index, error as Error);
        } finally {
          this.waitingSends--;
        }
      }
    } finally {
      this.waitingLine = [];
      this.waitingHead = 0;
      this.admittingWaiting = false;
      this.checkIdle();
    }
  }

  private enqueue(topic: string, partition: number, pending: PendingRecord, signal?: AbortSignal): void {
    if (signal) {
      const reason = () => (signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal.aborted) {
        this.freeBuffer(pending.size);
        this.metrics.recordsFailed++;
        pending.outcome.rejected(pending.index, reason());
        return;
      }
      const onAbort = () => this.withdraw(topic, partition, pending, reason());
      signal.addEventListener('abort', onAbort, { once: true });
      // Stop listening once settled; a record of a sendMany() wraps its group's outcome for that.
      const inner = pending.outcome;
      pending.outcome = {
        resolved: (index, metadata) => {
          signal.removeEventListener('abort', onAbort);
          inner.resolved(index, metadata);
        },
        rejected: (index, error) => {
          signal.removeEventListener('abort', onAbort);
          inner.rejected(index, error);
        },
      };
    }
    this.accumulator.append(topic, partition, pending);
    this.wake();
  }

  /**
   * An aborted send(): its record leaves its batch if that batch has not been built for the wire
   * yet (the rest of the batch is rebuilt without it). Once the batch is on its way, the record
   * can no longer be taken back and its send() settles with the broker's answer.
   */
  private withdraw(topic: string, partition: number, record: PendingRecord, reason: Error): void {
    const queue = this.accumulator.queue(topic, partition);
    const batch = [queue.open, ...queue.ready].find((candidate) => candidate?.builder && candidate.records.includes(record));
    if (!batch) return;
    const remaining = batch.records.filter((other) => other !== record);
    const replacement = remaining.length > 0 ? this.rebatch(batch, remaining, -1) : undefined;
    batch.builder?.discard();
    if (queue.open === batch) queue.open = replacement;
    else if (replacement) queue.ready.splice(queue.ready.indexOf(batch), 1, replacement);
    else queue.ready.splice(queue.ready.indexOf(batch), 1);
    this.settleRecord(record, reason);
    this.checkIdle();
  }

  /** Sends everything waiting now, without waiting for lingerMs, and resolves when all of it has settled. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.wake();
      await this.whenIdle();
    } finally {
      this.flushing--;
    }
  }

  /** Delivers (or fails) everything pending within timeoutMs, then closes connections. Later send() calls reject. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const flushed = this.flush();
    const timedOut = await Promise.race([
      flushed.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs).unref()),
    ]);
    if (timedOut) this.failEverything(new ProducerClosedError(`close() gave up after ${timeoutMs} ms with records still pending`));
    if (this.timer) clearTimeout(this.timer);
    for (const waiter of this.bufferWaiters.slice(this.bufferHead)) if (!waiter.gone) waiter.grant();
    this.bufferWaiters = [];
    this.bufferHead = 0;
    this.cluster.close();
  }

  /**
   * The topic's metadata, asked for until `deadline`. A topic the cluster says does not exist
   * is asked for again for unknownTopicTimeoutMs (it may just have been created elsewhere),
   * or until the deadline if that comes first, then fails with UnknownTopicOrPartitionError;
   * errors retrying cannot fix fail at once.
   */
  private async topicInfo(topic: string, startedAt: number, deadline: number): Promise<TopicInfo> {
    /** The last answer said the topic does not exist. */
    let unknown = false;
    const doesNotExist = () => {
      const message =
        `topic "${topic}" does not exist on the cluster ` +
        `(still unknown after ${Date.now() - startedAt} ms; allowAutoTopicCreation is off)`;
      return new UnknownTopicOrPartitionError(topic, undefined, message);
    };
    try {
      return await this.retryUntil(startedAt, deadline, `to load the metadata of topic ${topic}`, async () => {
        const info = await this.cluster.metadata.topic(topic).catch((error: unknown) => {
          unknown = false;
          throw error;
        });
        if (info && info.partitions.length > 0) return info;
        const code = this.cluster.metadata.topicErrors.get(topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        unknown = code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && !this.settings.allowAutoTopicCreation;
        if (unknown && Date.now() - startedAt >= this.settings.unknownTopicTimeoutMs) throw doesNotExist();
        throw new KafkaProtocolError(code, { api: 'Metadata', subject: `topic ${topic}` });
      });
    } catch (error) {
      // The wait ran out while the cluster kept saying the topic does not exist: say that.
      if (unknown && isRetriable(error)) throw doesNotExist();
      throw error;
    }
  }

  /** Partitions with a leader, worked out once per metadata snapshot of the topic. */
  private availablePartitions(info: TopicInfo): readonly number[] {
    let available = this.available.get(info);
    if (!available) {
      available = info.partitions.filter((partition) => partition.leader >= 0).map((partition) => partition.partition);
      this.available.set(info, available);
    }
    return available;
  }

  /** The record's partition; record.partition, when given, was checked to be a partition number by toPendingRecord(). */
  private choosePartition(record: ProducerRecord<unknown, unknown>, input: RecordInput, info: TopicInfo, size: number): number {
    const count = info.partitions.length;
    if (record.partition !== undefined && record.partition !== null) {
      if (record.partition >= count) {
        throw new InvalidRecordError(
          `record.partition ${record.partition} does not exist: topic ${info.name} has partitions 0-${count - 1}`,
        );
      }
      return record.partition;
    }
    const available = this.availablePartitions(info);
    if (this.options.partitioner) {
      const chosen = this.options.partitioner({ topic: info.name, key: input.key, value: input.value, partitionCount: count, available });
      if (!Number.isInteger(chosen) || chosen < 0 || chosen >= count)
        throw new InvalidRecordError(`the custom partitioner chose partition ${chosen}; topic ${info.name} has partitions 0-${count - 1}`);
      return chosen;
    }
    if (input.key !== null) return keyPartition(input.key, count);
    return this.sticky.partition(info.name, count, available, size);
  }

  /**
   * Takes `size` bytes of bufferMemory, waiting in line (first come, first served) while it is
   * full, until the record's deadline. A record bigger than all of bufferMemory goes alone.
   */
  private reserveBuffer(size: number, deadline: number, signal?: AbortSignal): Promise<void> {
    if (this.bufferHead === this.bufferWaiters.length && (this.bufferUsed + size <= this.settings.bufferMemory || this.bufferUsed === 0)) {
      this.takeBuffer(size);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: BufferWaiter = {
        size,
        gone: false,
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.takeBuffer(size);
          resolve();
        },
      };
      const leave = (error: Error) => {
        waiter.gone = true;
        signal?.removeEventListener('abort', onAbort);
        reject(error);
        this.grantBuffer(); // the next in line may fit now
      };
      const onAbort = () => leave(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const timer = setTimeout(
        () => leave(new BufferFullError(`bufferMemory (${this.settings.bufferMemory} bytes) stayed full until the delivery timeout`)),
        Math.max(0, deadline - Date.now()),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.bufferWaiters.push(waiter);
    });
  }

  private takeBuffer(size: number): void {
    // Sizes come from checked records; anything else would corrupt the accounting for good.
    if (!(Number.isSafeInteger(size) && size > 0)) throw new Error(`internal error: a record size of ${size} bytes`);
    this.bufferUsed += size;
    this.metrics.bufferUsed = this.bufferUsed;
  }

  private freeBuffer(size: number): void {
    this.bufferUsed -= size;
    this.metrics.bufferUsed = this.bufferUsed;
    this.grantBuffer();
  }

  /** Lets waiting send() calls in, in order, while their records fit. */
  private grantBuffer(): void {
    const waiters = this.bufferWaiters;
    while (this.bufferHead < waiters.length) {
      const next = waiters[this.bufferHead] as BufferWaiter;
      if (!next.gone && this.bufferUsed + next.size > this.settings.bufferMemory && this.bufferUsed > 0) break;
      this.bufferHead++;
      if (!next.gone) next.grant();
    }
    // Drop the served front of the line now and then, so it costs O(1) per waiter overall.
    if (this.bufferHead > 1024 && this.bufferHead * 2 > waiters.length) {
      this.bufferWaiters = waiters.slice(this.bufferHead);
      this.bufferHead = 0;
    }
  }

  /** Schedules a drain on the next tick (many send() calls in one tick share it). */
  private wake(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain().catch(() => undefined);
    });
  }

  private whenIdle(): Promise<void> {
    if (!this.accumulator.hasPending && this.waitingSends === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.accumulator.hasPending || this.waitingSends > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private settleRecord(record: PendingRecord, result: RecordMetadata | Error): void {
    this.freeBuffer(record.size);
    if (result instanceof Error) {
      this.metrics.recordsFailed++;
      record.outcome.rejected(record.index, result);
    } else {
      this.metrics.recordsSent++;
      record.outcome.resolved(record.index, result);
    }
  }

  private failBatch(batch: ProducerBatch, error: Error): void {
    batch.built?.release();
    batch.builder?.discard();
    batch.built = undefined;
    batch.builder = undefined;
    for (const record of batch.records) this.settleRecord(record, error);
    this.emit('deliveryFailed', { topic: batch.topic, partition: batch.partition, records: batch.records.length, error });
  }

  private failEverything(error: Error): void {
    for (const queue of this.accumulator.queues) {
      for (const batch of [...(queue.open ? [queue.open] : []), ...queue.ready]) this.failBatch(batch, error);
      queue.open = undefined;
      queue.ready = [];
    }
    this.checkIdle();
  }

  /**
   * Fails records whose delivery deadline has passed: batches waiting to be (re)sent, and batches
   * in flight, whose answer then only frees them (they may still have been written, as with the
   * Java client).
   */
  private expireWaiting(now: number): void {
    for (const queue of this.accumulator.queues) {
      for (const batch of queue.inFlight) {
        if (batch.expired || !batch.records.every((record) => record.deadline <= now)) continue;
        batch.expired = true;
        for (const record of batch.records)
          this.settleRecord(
            record,
            new DeliveryTimeoutError(
              `not acknowledged within deliveryTimeoutMs (${this.settings.deliveryTimeoutMs} ms); ` +
                `the request to ${batch.topic}-${batch.partition} was still unanswered`,
            ),
          );
        if (this.settings.idempotent) this.epochBumpNeeded = true;
      }
      while (queue.ready.length > 0 && queue.inFlight.length === 0) {
        const batch = queue.ready[0] as ProducerBatch;
        if (!batch.records.every((record) => record.deadline <= now)) break;
        queue.ready.shift();
        this.failBatch(
          batch,
          new DeliveryTimeoutError(
            `${batch.records.length} record(s) for ${batch.topic}-${batch.partition} were not acknowledged within deliveryTimeoutMs ` +
              `(${this.settings.deliveryTimeoutMs} ms) after ${batch.attempts} attempt(s)` +
              (batch.lastError ? `; last error: ${batch.lastError.message}` : ''),
            { cause: batch.lastError },
          ),
        );
        if (this.settings.idempotent && batch.baseSequence >= 0) this.epochBumpNeeded = true;
      }
    }
  }

  private async ensureIdempotence(): Promise<void> {
    if (!this.settings.idempotent || (this.producerId >= 0n && !this.epochBumpNeeded)) return;
    this.idempotenceReady ??= (async () => {
      if (this.producerId >= 0n && this.producerEpoch < 32_767) {
        // KIP-360: an idempotent producer bumps its epoch itself; the broker takes a higher epoch starting at sequence 0.
        this.producerEpoch++;
      } else {
        // Without a transactional id the broker always hands out a fresh producer id (epoch 0).
        const connection = await this.cluster.anyConnection();
        const response = await connection.request(
          InitProducerId,
          InitProducerId.request.create({ transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
        );
        if (response.errorCode !== ErrorCode.NONE)
          throw new KafkaProtocolError(response.errorCode, { api: 'InitProducerId', broker: connection.label });
        this.producerId = response.producerId;
        this.producerEpoch = response.producerEpoch;
      }
      this.epochBumpNeeded = false;
      // A new epoch starts every partition's sequence at 0; batches waiting to be resent are renumbered.
      for (const queue of this.accumulator.queues) {
        queue.nextSequence = 0;
        queue.recovering = false;
        for (const batch of queue.ready) {
          if (batch.baseSequence < 0) continue; // not numbered yet: gets its number when first sent
          batch.baseSequence = queue.nextSequence;
          queue.nextSequence += batch.records.length;
          if (batch.built) restampBatch(batch.built, this.producerId, this.producerEpoch, batch.baseSequence);
        }
      }
    })().finally(() => {
      this.idempotenceReady = undefined;
    });
    return this.idempotenceReady;
  }

  private inFlightAnywhere(): boolean {
    for (const queue of this.accumulator.queues) if (queue.inFlight.length > 0) return true;
    return false;
  }

  /** One round: close lingering batches, then send what is ready to each broker with room in flight. */
  private async drain(): Promise<void> {
    const now = Date.now();
    const nextLinger = this.accumulator.closeLingering(now, this.flushing > 0 || this.closed);
    this.expireWaiting(now);
    if (!this.accumulator.hasPending) {
      this.checkIdle();
      return;
    }
    if (this.settings.idempotent && (this.producerId < 0n || this.epochBumpNeeded)) {
      if (this.epochBumpNeeded && this.inFlightAnywhere()) return; // answers of the old epoch first
      try {
        await this.ensureIdempotence();
      } catch (error) {
        // Without a producer id nothing can be sent: records fail now when asking again cannot help
        // (e.g. CLUSTER_AUTHORIZATION_FAILED), else they wait, within their delivery deadline.
        if (!isRetriable(error)) this.failEverything(error as Error);
        else this.schedule(now + 200);
        return;
      }
    }

    const byBroker = new Map<number, ProducerBatch[]>();
    let nextRetry = Infinity;
    for (const queue of this.accumulator.queues) {
      const batch = queue.ready[0];
      if (!batch) continue;
      if (batch.retryAt > now) {
        nextRetry = Math.min(nextRetry, batch.retryAt);
        continue;
      }
      // Order: while recovering from an error, a partition sends one batch at a time.
      if (queue.recovering && queue.inFlight.length > 0) continue;
      if (queue.inFlight.length >= this.settings.maxInFlight) continue;
      const leader = this.cluster.metadata.leaderFor(queue.topic, queue.partition);
      if (leader < 0) {
        this.cluster.metadata.requestRefresh();
        nextRetry = Math.min(nextRetry, now + 100);
        continue;
      }
      let list = byBroker.get(leader);
      if (!list) byBroker.set(leader, (list = []));
      list.push(batch);
    }
    for (const [broker, batches] of byBroker) this.sendTo(broker, batches);
    // While anything is pending, look again at least every 250 ms so delivery deadlines are kept.
    this.schedule(Math.min(nextLinger, nextRetry, this.accumulator.hasPending ? now + 250 : Infinity));
    this.checkIdle();
  }

  private schedule(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!Number.isFinite(at) || (this.closed && !this.accumulator.hasPending)) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, at - Date.now()));
  }

  private brokerState(broker: number): BrokerState {
    let state = this.brokers.get(broker);
    if (!state) this.brokers.set(broker, (state = { inFlight: 0 }));
    return state;
  }

  /** Sends one Produce request to a broker carrying the first ready batch of each of its partitions (within the request size). */
  private sendTo(broker: number, candidates: ProducerBatch[]): void {
    const state = this.brokerState(broker);
    if (state.inFlight >= this.settings.maxInFlight) return;
    const batches: ProducerBatch[] = [];
    let requestBytes = 200;
    for (const batch of candidates) {
      const queue = this.accumulator.queue(batch.topic, batch.partition);
      if (!batch.built) {
        if (this.settings.idempotent) {
          // A batch split from a larger one comes with its sequence already assigned.
          if (batch.baseSequence < 0) {
            batch.baseSequence = queue.nextSequence;
            queue.nextSequence += batch.records.length;
          }
          Object.assign(batch.settings, {
            producerId: this.producerId,
            producerEpoch: this.producerEpoch,
            baseSequence: batch.baseSequence,
          });
        }
        try {
          batch.built = (batch.builder as NonNullable<ProducerBatch['builder']>).build();
        } catch (error) {
          // Compression can fail (e.g. zstd on a Node without it): the records fail with the reason, nothing hangs.
          queue.ready.shift();
          this.failBatch(batch, error as Error);
          if (this.settings.idempotent && batch.baseSequence >= 0) this.epochBumpNeeded = true;
          continue;
        }
        batch.builder = undefined;
      }
      if (batches.length > 0 && requestBytes + batch.built.size > this.settings.maxRequestSize) continue;
      requestBytes += batch.built.size;
      queue.ready.shift();
      queue.inFlight.push(batch);
      batch.attempts++;
      batches.push(batch);
    }
    if (batches.length === 0) return;
    state.inFlight++;
    this.metrics.requestsInFlight++;
    this.metrics.batchesSent += batches.length;
    this.metrics.bytesSent += requestBytes;
    const latency = (this.metrics.brokers[broker] ??= { requests: 0, inFlight: 0, lastMs: 0, averageMs: 0, maxMs: 0 });
    latency.inFlight++;
    const started = performance.now();
    let failure: Error | undefined;
    this.request(broker, batches)
      .then(
        (results) => this.onAnswer(batches, results),
        (error: unknown) => this.onRequestFailed(batches, (failure = error as Error)),
      )
      .finally(() => {
        state.inFlight--;
        this.metrics.requestsInFlight--;
        const durationMs = performance.now() - started;
        latency.inFlight--;
        latency.requests++;
        latency.lastMs = durationMs;
        latency.averageMs += (durationMs - latency.averageMs) / latency.requests;
        latency.maxMs = Math.max(latency.maxMs, durationMs);
        if (produceChannel.hasSubscribers) {
          produceChannel.publish({
            broker,
            batches: batches.length,
            records: batches.reduce((sum, batch) => sum + batch.records.length, 0),
            bytes: requestBytes,
            durationMs,
            error: failure,
          });
        }
        this.wake();
      });
  }

  private async request(
    broker: number,
    batches: ProducerBatch[],
  ): Promise<Map<ProducerBatch, ProduceResponsePartitionProduceResponse> | undefined> {
    const connection: Connection = await this.cluster.connectionTo(broker);
    const version = connection.version(Produce);
    const topics = new Map<string, ProducePartition[]>();
    for (const batch of batches) {
      const list = topics.get(batch.topic) ?? [];
      list.push({ index: batch.partition, batch: batch.built as NonNullable<ProducerBatch['built']> });
      topics.set(batch.topic, list);
    }
    const parts = {
      transactionalId: null,
      acks: this.settings.acks,
      timeoutMs: this.settings.requestTimeoutMs,
      topics: [...topics].map(([name, partitions]) => ({
        name,
        topicId: this.cluster.metadata.topics.get(name)?.topicId ?? 'AAAAAAAAAAAAAAAAAAAAAA',
        partitions,
      })),
    };
    let frame: ReturnType<typeof encodeProduceFrame> | undefined;
    const encode = (correlationId: number) => (frame = encodeProduceFrame(version, correlationId, connection.clientId, parts)).pieces;
    try {
      if (this.settings.acks === 0) {
        await connection.sendEncoded(encode);
        return undefined;
      }
      const response = await connection.requestEncoded(Produce, version, encode);
      const results = new Map<ProducerBatch, ProduceResponsePartitionProduceResponse>();
      for (const topic of response.responses) {
        const name = topic.name || [...this.cluster.metadata.topics.values()].find((info) => info.topicId === topic.topicId)?.name;
        for (const partition of topic.partitionResponses) {
          const batch = batches.find((candidate) => candidate.topic === name && candidate.partition === partition.index);
          if (batch) results.set(batch, partition);
        }
      }
      return results;
    } finally {
      frame?.release();
    }
  }

  private onAnswer(batches: ProducerBatch[], results: Map<ProducerBatch, ProduceResponsePartitionProduceResponse> | undefined): void {
    for (const batch of batches) {
      const queue = this.accumulator.queue(batch.topic, batch.partition);
      const result = results?.get(batch);
      if (results === undefined) {
        this.complete(queue, batch, -1n, -1n); // acks=0: no answer to wait for
      } else if (!result) {
        this.retryOrFail(
          queue,
          batch,
          new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, {
            api: 'Produce',
            subject: `${batch.topic}-${batch.partition}`,
            detail: 'the answer did not mention this partition',
          }),
        );
      } else if (result.errorCode === ErrorCode.NONE) {
        this.complete(queue, batch, result.baseOffset, result.logAppendTimeMs);
      } else if (result.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        this.complete(queue, batch, -1n, -1n); // already written by an earlier attempt
      } else {
        this.cluster.metadata.noteError(result.errorCode);
        const error = new KafkaProtocolError(result.errorCode, {
          api: 'Produce',
          broker: this.cluster.brokerLabel(this.cluster.metadata.leaderFor(batch.topic, batch.partition)),
          subject: `topic ${batch.topic} partition ${batch.partition}`,
          detail: result.errorMessage,
        });
        if (result.errorCode === ErrorCode.MESSAGE_TOO_LARGE && batch.records.length > 1) {
          this.split(queue, batch);
          continue;
        }
        if (result.recordErrors.length > 0) {
          this.dropInvalidRecords(queue, batch, result, error);
          continue;
        }
        if (result.errorCode === ErrorCode.UNKNOWN_PRODUCER_ID && result.logStartOffset < 0n) {
          // The broker could not tell its log start offset (the partition was moving): as the Java client does, ask again unchanged.
          this.retryOrFail(queue, batch, error, true);
          continue;
        }
        const sequenceError =
          result.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || result.errorCode === ErrorCode.UNKNOWN_PRODUCER_ID;
        // An out-of-order answer is expected for batches behind one that is being resent.
        const behindRetry =
          result.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER &&
          (this.epochBumpNeeded || this.hasEarlierUnacknowledged(queue, batch));
        if (sequenceError && !behindRetry && this.settings.idempotent && !batch.resequenced) {
          // The broker lost this producer's state or the records before this batch (KIP-360): as
          // the Java client does, bump the epoch and resend the batch renumbered, once; a second
          // time it fails loudly.
          batch.resequenced = true;
          this.epochBumpNeeded = true;
          this.retryOrFail(queue, batch, error, true);
          continue;
        }
        this.retryOrFail(queue, batch, error, error.retriable || behindRetry);
      }
    }
    this.checkIdle();
  }

  private hasEarlierUnacknowledged(queue: PartitionQueue, batch: ProducerBatch): boolean {
    const earlier = (other: ProducerBatch) => other !== batch && other.baseSequence >= 0 && other.baseSequence < batch.baseSequence;
    return queue.inFlight.some(earlier) || queue.ready.some(earlier);
  }

  /** A new, unbuilt batch for some of a failed batch's records, keeping their order (and, when given, a sequence). */
  private rebatch(batch: ProducerBatch, records: PendingRecord[], baseSequence: number): ProducerBatch {
    const first = records[0] as PendingRecord;
    // The builder reads these settings when it builds, so it must share the batch's object.
    const settings = { ...batch.settings };
    const replacement: ProducerBatch = {
      ...batch,
      records: [first],
      builder: new RecordBatchBuilder(settings, this.settings.batchSize, first),
      built: undefined,
      settings,
      bytes: records.reduce((sum, record) => sum + record.size, 0),
      baseSequence,
      expired: false,
    };
    for (const record of records.slice(1)) {
      if (!replacement.builder?.tryAppend(record)) throw new Error('internal error: a record no longer fits the batch it came from');
      replacement.records.push(record);
    }
    return replacement;
  }

  /** Puts batches back at the front of a partition's queue, in sequence order, for another attempt. */
  private requeue(queue: PartitionQueue, batches: ProducerBatch[]): void {
    queue.recovering = true;
    queue.ready.unshift(...batches);
    queue.ready.sort(
      (a, b) =>
        (a.baseSequence < 0 ? Infinity : a.baseSequence) - (b.baseSequence < 0 ? Infinity : b.baseSequence) || a.createdAt - b.createdAt,
    );
  }

  /** MESSAGE_TOO_LARGE: the broker takes smaller batches; the halves keep the batch's sequence range, so nothing after it is renumbered. */
  private split(queue: PartitionQueue, batch: ProducerBatch): void {
    queue.inFlight.splice(queue.inFlight.indexOf(batch), 1);
    batch.built?.release();
    if (batch.expired) return;
    const half = Math.ceil(batch.records.length / 2);
    const [front, back] = [batch.records.slice(0, half), batch.records.slice(half)];
    const sequence = batch.baseSequence;
    this.requeue(queue, [this.rebatch(batch, front, sequence), this.rebatch(batch, back, sequence < 0 ? -1 : sequence + half)]);
    this.metrics.recordsRetried += batch.records.length;
  }

  /**
   * KIP-467: the broker refused the batch for some records only. Those fail with the broker's
   * message; the rest go again as a smaller batch. The sequence range shrinks, so the epoch is
   * bumped to renumber what follows.
   */
  private dropInvalidRecords(
    queue: PartitionQueue,
    batch: ProducerBatch,
    result: ProduceResponsePartitionProduceResponse,
    error: KafkaProtocolError,
  ): void {
    queue.inFlight.splice(queue.inFlight.indexOf(batch), 1);
    batch.built?.release();
    if (batch.expired) return;
    const invalid = new Map(result.recordErrors.map((entry) => [entry.batchIndex, entry.batchIndexErrorMessage]));
    const keep: PendingRecord[] = [];
    batch.records.forEach((record, index) => {
      if (!invalid.has(index)) keep.push(record);
      else
        this.settleRecord(
          record,
          new KafkaProtocolError(result.errorCode, {
            api: 'Produce',
            subject: `topic ${batch.topic} partition ${batch.partition} record ${index} of its batch`,
            detail: invalid.get(index) ?? error.detail,
          }),
        );
    });
    if (keep.length > 0) this.requeue(queue, [this.rebatch(batch, keep, batch.baseSequence)]);
    if (this.settings.idempotent && batch.baseSequence >= 0) this.epochBumpNeeded = true;
  }

  private onRequestFailed(batches: ProducerBatch[], error: Error): void {
    this.cluster.metadata.requestRefresh();
    const retriable = isRetriable(error);
    for (const batch of batches) this.retryOrFail(this.accumulator.queue(batch.topic, batch.partition), batch, error, retriable);
    this.checkIdle();
  }

  private complete(queue: PartitionQueue, batch: ProducerBatch, baseOffset: bigint, logAppendTime: bigint): void {
    queue.inFlight.splice(queue.inFlight.indexOf(batch), 1);
    if (queue.inFlight.length === 0) queue.recovering = false;
    batch.built?.release();
    batch.built = undefined;
    if (batch.expired) return;
    // settleRecord() inlined for the common path: buffer memory and metrics once per batch.
    const { topic, partition, records } = batch;
    const appendTime = logAppendTime >= 0n ? Number(logAppendTime) : -1;
    let offset = baseOffset;
    let freed = 0;
    for (const record of records) {
      freed += record.size;
      record.outcome.resolved(record.index, {
        topic,
        partition,
        offset: baseOffset < 0n ? -1n : offset++,
        timestamp: appendTime >= 0 ? appendTime : record.timestamp,
      });
    }
    this.metrics.recordsSent += records.length;
    this.freeBuffer(freed);
  }

  /** Puts a failed batch back in sequence order for another attempt, or fails its records when it may not retry. */
  private retryOrFail(queue: PartitionQueue, batch: ProducerBatch, error: Error, retriable = false): void {
    queue.inFlight.splice(queue.inFlight.indexOf(batch), 1);
    if (batch.expired) {
      batch.built?.release();
      batch.built = undefined;
      return;
    }
    const now = Date.now();
    const expired = batch.records.every((record) => record.deadline <= now);
    if (!retriable || expired || (this.closed && this.flushing === 0)) {
      const reason =
        expired && retriable
          ? new DeliveryTimeoutError(
              `not acknowledged within deliveryTimeoutMs (${this.settings.deliveryTimeoutMs} ms) ` +
                `after ${batch.attempts} attempt(s); last error: ${error.message}`,
              { cause: error },
            )
          : error;
      this.failBatch(batch, reason);
      // The broker never took this sequence range: the next batches of this partition would be out of order.
      if (this.settings.idempotent && batch.baseSequence >= 0) this.epochBumpNeeded = true;
      return;
    }
    this.metrics.recordsRetried += batch.records.length;
    const backoffMs = backoffDelay(batch.attempts - 1, this.settings.retryBackoff);
    batch.retryAt = now + backoffMs;
    batch.lastError = error;
    queue.recovering = true;
    const { topic, partition, records, attempts: attempt } = batch;
    this.emit('retry', { topic, partition, records: records.length, attempt, backoffMs, error });
    // Back to the front of the queue, keeping sequence order with other batches waiting to be resent.
    const at = queue.ready.findIndex((other) => other.baseSequence < 0 || other.baseSequence > batch.baseSequence);
    if (at < 0) queue.ready.push(batch);
    else queue.ready.splice(at, 0, batch);
  }
}
