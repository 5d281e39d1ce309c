import { UnknownTopicOrPartitionError } from '../cluster/errors.js';
import type { MetadataCache, TopicInfo } from '../cluster/metadata.js';
import { ConfigError, isRetriable } from '../errors.js';
import { describeValue } from '../option-checks.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import { type RecordInput, type RecordPayload, recordSize } from '../records/batch-builder.js';
import type { Accumulator, PendingRecord } from './accumulator.js';
import type { BufferMemory } from './buffer-memory.js';
import type { Clock } from './clock.js';
import { InvalidRecordError, ProducerClosedError, RecordTooLargeError } from './errors.js';
import type { ProducerMetrics } from './metrics.js';
import type { ProducerSettings } from './options.js';
import type { RecordOutcome } from './outcomes.js';
import {
  type CustomPartitioner,
  keyPartition,
  partitionForKey,
  partitionKeyOf,
  StickyPartitioner,
  sortedPartitions,
} from './partitioner.js';
import {
  blankPendingRecord,
  checkRecordObject,
  checkTopicName,
  NO_OUTCOME,
  requestedPartition,
  type Serializers,
  toPendingRecord,
} from './record-input.js';
import type { Sender } from './sender.js';
import { RETRY_INTERVAL_MS, retryUntil } from './wait.js';

export interface SendOptions {
  signal?: AbortSignal;
}

/** A record waiting for metadata or buffer room before it may join a batch. */
interface WaitingRecord {
  topic: string;
  /** The partition its sender chose; −1 for the partitioner to choose. */
  partition: number;
  pending: PendingRecord;
  signal: AbortSignal | undefined;
  /** Told when the record joins a batch (the Writable's backpressure). */
  accepted: (() => void) | undefined;
}

/** Record-level overhead of a Produce request around one batch (batch header and request fields), for the size check. */
const REQUEST_AND_BATCH_OVERHEAD = 61 + 200;

export interface AdmissionParts {
  settings: ProducerSettings;
  serializers: Serializers<unknown, unknown> | undefined;
  partitioner: CustomPartitioner | undefined;
  metadata: MetadataCache;
  buffer: BufferMemory;
  accumulator: Accumulator;
  sender: Sender;
  clock: Clock;
  metrics: ProducerMetrics;
  /** Why a record may not be sent now (a transactional producer outside a transaction); undefined when it may. */
  refusal?: () => Error | undefined;
}

/**
 * From send() to a batch (the front half of Java's KafkaProducer.doSend): each record is
 * checked, turned into bytes, given a partition and a share of bufferMemory, and appended to its
 * partition's batch. The common case (metadata cached, room in the buffer, nobody waiting) does
 * it without one await; otherwise the record joins one waiting line, worked through in call
 * order, so records keep the order of their send() calls while metadata or room is awaited.
 */
export class Admission {
  private readonly settings: ProducerSettings;
  private readonly serializers: Serializers<unknown, unknown> | undefined;
  private readonly partitioner: CustomPartitioner | undefined;
  private readonly metadata: MetadataCache;
  private readonly buffer: BufferMemory;
  private readonly accumulator: Accumulator;
  private readonly sender: Sender;
  private readonly clock: Clock;
  private readonly metrics: ProducerMetrics;
  private readonly refusal: (() => Error | undefined) | undefined;
  private readonly sticky: StickyPartitioner;
  private readonly available = new WeakMap<TopicInfo, readonly number[]>();
  private readonly sorted = new WeakMap<TopicInfo, readonly TopicInfo['partitions'][number][]>();
  /** What admit() fills for a record sent without a signal; it holds nothing between calls. */
  private readonly scratch = blankPendingRecord();
  private scratchInUse = false;
  /** Records that must wait, in call order; one loop admits them (entries before waitingHead are done). */
  private waitingLine: (WaitingRecord | undefined)[] = [];
  private waitingHead = 0;
  private admittingWaiting = false;
  /** send() calls waiting for metadata or buffer room, not yet in the accumulator. */
  waiting = 0;
  /** The producer has closed: new records are refused, and waiting ones let in only while a flush waits for them. */
  closed = false;

  constructor(
    parts: AdmissionParts,
    private readonly onIdle: () => void,
  ) {
    this.settings = parts.settings;
    this.serializers = parts.serializers;
    this.partitioner = parts.partitioner;
    this.metadata = parts.metadata;
    this.buffer = parts.buffer;
    this.accumulator = parts.accumulator;
    this.sender = parts.sender;
    this.clock = parts.clock;
    this.refusal = parts.refusal;
    this.metrics = parts.metrics;
    this.sticky = new StickyPartitioner(parts.settings.batchSize);
  }

  /**
   * Checks a record and puts it into its partition's batch, or, when it must wait for metadata
   * or buffer room, into the line of waiting sends. A bad record settles its outcome at once,
   * before it takes anything from the producer. `now` is the time of the call that handed the
   * record over: sendMany() and sendAll() read the clock once for all their records, as reading
   * it (Date.now(), about 50 ns here) took a tenth of the producer's time per record at 100 B.
   */
  admit(
    record: unknown,
    options: SendOptions | undefined,
    outcome: RecordOutcome,
    index: number,
    now: number = this.clock.now(),
    accepted?: () => void,
  ): void {
    let pending: PendingRecord;
    let signal: AbortSignal | undefined;
    try {
      if (this.closed) throw new ProducerClosedError('send() after close()');
      const refused = this.refusal?.();
      if (refused) throw refused;
      checkRecordObject(record);
      signal = options?.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new ConfigError(`option signal must be an AbortSignal, not ${describeValue(signal)}`);
      }
      // A topic in the metadata has a valid name; only others are checked.
      if (!this.metadata.topics.has(record.topic)) checkTopicName(record.topic);
      // Without a signal nothing keeps the record once it has joined its batch: it is written into
      // the one scratch record, which saves an object per record (about 130 bytes, a third of what
      // a record allocates). place() copies it if the record has to wait.
      // A send() from inside a custom partitioner (while the scratch record is in use) gets its own.
      const into = signal === undefined && !this.scratchInUse ? this.scratch : undefined;
      pending = toPendingRecord(record, this.serializers, now, now + this.settings.deliveryTimeoutMs, outcome, index, into);
      if (pending === this.scratch) this.scratchInUse = true;
    } catch (error) {
      this.metrics.recordsFailed++;
      outcome.rejected(index, error as Error);
      return;
    }
    this.place(record.topic, requestedPartition(record), pending, signal, accepted);
  }

  /**
   * A durable producer's record (src/durable/), journaled at its acceptance: already checked and
   * bytes, and without a delivery deadline, as it waits on disk for the cluster however long.
   * `partition` is a partition request (partitionKeyRequest()).
   */
  admitJournaled(topic: string, partition: number, pending: PendingRecord, accepted: () => void): void {
    if (this.closed) {
      this.metrics.recordsFailed++;
      pending.outcome.rejected(pending.index, new ProducerClosedError('the producer closed before the record was sent'));
      return;
    }
    this.place(topic, partition, pending, undefined, accepted);
  }

  /** Sizes a checked record and appends it to its partition's batch, or puts it in the waiting line. */
  private place(topic: string, partition: number, pending: PendingRecord, signal: AbortSignal | undefined, accepted?: () => void): void {
    const { metadata, buffer } = this;
    try {
      // A durable producer's record comes sized (and checked) from its acceptance.
      if (pending.size === 0) pending.size = recordSize(pending, 0, 0);
      checkRecordFits(pending.size, this.settings.maxRequestSize);
      signal?.throwIfAborted();
      // The common case goes without a single await: metadata cached and room in the buffer.
      // Only when no earlier send() is still waiting, so records keep the order of the calls.
      const cached = metadata.topics.get(topic);
      if (cached && cached.partitions.length > 0 && this.waiting === 0 && buffer.fitsNow(pending.size)) {
        const chosen = this.choosePartition(cached, partition, pending, pending.size);
        buffer.take(pending.size);
        this.enqueue(topic, chosen, pending, signal);
        if (pending === this.scratch) this.clearScratch();
        accepted?.();
        return;
      }
    } catch (error) {
      const { outcome, index } = pending;
      if (pending === this.scratch) this.clearScratch();
      this.metrics.recordsFailed++;
      outcome.rejected(index, error as Error);
      return;
    }
    if (pending === this.scratch) {
      pending = { ...pending };
      this.clearScratch();
    }
    this.waiting++;
    this.waitingLine.push({ topic, partition, pending, signal, accepted });
    if (!this.admittingWaiting) void this.admitWaiting();
  }

  /**
   * Admits waiting records one after another, in call order: each waits for its topic's
   * metadata and for room in bufferMemory, until its deadline. When a topic fails (unknown,
   * not authorized, or no metadata by the deadline), the records behind it for that topic whose
   * deadline has passed fail with it, instead of each asking again.
   */
  private async admitWaiting(): Promise<void> {
    const { settings, metadata, buffer, clock, sender } = this;
    this.admittingWaiting = true;
    const failedTopics = new Map<string, Error>();
    try {
      while (this.waitingHead < this.waitingLine.length) {
        const { topic, partition: requested, pending, signal, accepted } = this.waitingLine[this.waitingHead] as WaitingRecord;
        this.waitingLine[this.waitingHead++] = undefined;
        try {
          // How long this record may wait for metadata: maxBlockMs from its send(), within its delivery deadline.
          // A durable producer's record has no deadline (it is safe on disk): it waits from now, for as long as it takes.
          const durable = !Number.isFinite(pending.deadline);
          const sentAt = durable ? clock.now() : pending.deadline - settings.deliveryTimeoutMs;
          const blockUntil = durable ? Number.POSITIVE_INFINITY : Math.min(pending.deadline, sentAt + settings.maxBlockMs);
          // Behind a topic that failed: the same answer, unless this record has time for another try of its own.
          const failed = failedTopics.get(topic);
          if (failed && (!isRetriable(failed) || blockUntil - clock.now() < RETRY_INTERVAL_MS)) throw failed;
          let info = metadata.topics.get(topic);
          if (!info || info.partitions.length === 0) {
            try {
              info = await this.topicInfo(topic, sentAt, blockUntil);
            } catch (error) {
              failedTopics.set(topic, error as Error);
              throw error;
            }
          }
          const partition = this.choosePartition(info, requested, pending, pending.size);
          await buffer.reserve(pending.size, pending.deadline, signal);
          if (this.closed && sender.flushing === 0) {
            buffer.free(pending.size);
            throw new ProducerClosedError('the producer closed while send() waited');
          }
          this.enqueue(topic, partition, pending, signal);
          accepted?.();
        } catch (error) {
          this.metrics.recordsFailed++;
          pending.outcome.rejected(pending.index, error as Error);
        } finally {
          this.waiting--;
        }
      }
    } finally {
      this.waitingLine = [];
      this.waitingHead = 0;
      this.admittingWaiting = false;
      this.onIdle();
    }
  }

  /** Lets go of the last record's bytes and outcome, which the scratch record must not keep alive. */
  private clearScratch(): void {
    const scratch = this.scratch;
    scratch.key = null;
    scratch.value = null;
    scratch.headers = undefined;
    scratch.outcome = NO_OUTCOME;
    this.scratchInUse = false;
  }

  private enqueue(topic: string, partition: number, pending: PendingRecord, signal?: AbortSignal): void {
    // The abort handling lives apart: its closures would otherwise make every call allocate a context (about 130 bytes a record).
    if (signal && !this.watchAbort(topic, partition, pending, signal)) return;
    this.accumulator.append(topic, partition, pending);
    this.sender.wake();
  }

  /** Settles a record whose signal has aborted (false), or watches the signal until the record settles (true). */
  private watchAbort(topic: string, partition: number, pending: PendingRecord, signal: AbortSignal): boolean {
    const { accumulator, sender, buffer } = this;
    const reason = () => (signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) {
      buffer.free(pending.size);
      this.metrics.recordsFailed++;
      pending.outcome.rejected(pending.index, reason());
      return false;
    }
    // An aborted send(): its record leaves its batch if that batch has not been built for the
    // wire yet. Once the batch is on its way, the record settles with the broker's answer.
    const onAbort = () => {
      if (!accumulator.withdraw(topic, partition, pending)) return;
      sender.withdrawn(pending, reason());
      this.onIdle();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // Stop listening once settled; a record of a sendMany() wraps its group's outcome for that.
    const inner = pending.outcome;
    pending.outcome = {
      resolved: (index, count, topic, partition, baseOffset, position, timestamp) => {
        signal.removeEventListener('abort', onAbort);
        inner.resolved(index, count, topic, partition, baseOffset, position, timestamp);
      },
      rejected: (index, error) => {
        signal.removeEventListener('abort', onAbort);
        inner.rejected(index, error);
      },
    };
    return true;
  }

  /**
   * The topic's metadata, asked for until `deadline`. A topic the cluster says does not exist
   * is asked for again for unknownTopicTimeoutMs (it may just have been created elsewhere),
   * or until the deadline if that comes first, then fails with UnknownTopicOrPartitionError;
   * errors retrying cannot fix fail at once.
   */
  async topicInfo(topic: string, startedAt: number, deadline: number): Promise<TopicInfo> {
    const { settings, metadata, clock } = this;
    /** The last answer said the topic does not exist. */
    let unknown = false;
    const doesNotExist = () => {
      const message =
        `topic "${topic}" does not exist on the cluster ` +
        `(still unknown after ${clock.now() - startedAt} ms; allowAutoTopicCreation is off)`;
      return new UnknownTopicOrPartitionError(topic, undefined, message);
    };
    try {
      return await retryUntil(clock, settings, { startedAt, deadline, what: `to load the metadata of topic ${topic}` }, async () => {
        const info = await metadata.topic(topic).catch((error: unknown) => {
          unknown = false;
          throw error;
        });
        if (info && info.partitions.length > 0) return info;
        const code = metadata.topicErrors.get(topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        unknown = code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && !settings.allowAutoTopicCreation;
        if (unknown && clock.now() - startedAt >= settings.unknownTopicTimeoutMs) throw doesNotExist();
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

  /**
   * The record's partition: `requested` when given (≥ 0, checked by toPendingRecord()), the partition key's (≤ −2) by
   * Dory's rule, else the partitioner's choice.
   */
  private choosePartition(info: TopicInfo, requested: number, input: RecordInput, size: number): number {
    const count = info.partitions.length;
    if (requested <= -2) {
      let sorted = this.sorted.get(info);
      if (!sorted) {
        sorted = sortedPartitions(info.partitions);
        this.sorted.set(info, sorted);
      }
      return partitionForKey(partitionKeyOf(requested), sorted);
    }
    if (requested >= 0) {
      if (requested >= count) {
        throw new InvalidRecordError(`record.partition ${requested} does not exist: topic ${info.name} has partitions 0-${count - 1}`);
      }
      return requested;
    }
    const available = this.availablePartitions(info);
    const partitioner = this.partitioner;
    if (partitioner) {
      const chosen = partitioner({
        topic: info.name,
        key: asBytes(input.key),
        value: asBytes(input.value),
        partitionCount: count,
        available,
      });
      if (!Number.isInteger(chosen) || chosen < 0 || chosen >= count)
        throw new InvalidRecordError(`the custom partitioner chose partition ${chosen}; topic ${info.name} has partitions 0-${count - 1}`);
      return chosen;
    }
    if (input.key !== null) return keyPartition(input.key, count);
    return this.sticky.partition(info.name, count, available, size);
  }
}

/** Throws RecordTooLargeError for a record (of recordSize() bytes) that no Produce request of maxRequestSize can carry. */
export function checkRecordFits(size: number, maxRequestSize: number): void {
  if (size + REQUEST_AND_BATCH_OVERHEAD > maxRequestSize) {
    throw new RecordTooLargeError(
      `a record of ${size} bytes cannot fit a Produce request of at most ${maxRequestSize} bytes (maxRequestSize)`,
    );
  }
}

/** A custom partitioner is given bytes, as documented, whatever form the record holds its key and value in. */
function asBytes(payload: RecordPayload): Uint8Array | null {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}
