import diagnostics from 'node:diagnostics_channel';
import { isLeadershipError } from '../cluster/metadata.js';
import { backoffDelay } from '../connection/backoff.js';
import { isRetriable, KafkaWireError } from '../errors.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import { recordSize } from '../records/batch-builder.js';
import { type CompressionThreads, worthOffloading } from '../records/compression-threads.js';
import { restampBatch } from '../records/restamp.js';
import { type Accumulator, batchDue, batchRecords, type PendingRecord, type ProducerBatch, retryTime } from './accumulator.js';
import type { BufferMemory } from './buffer-memory.js';
import type { Clock, Timer } from './clock.js';
import { DeliveryTimeoutError } from './errors.js';
import { type ProducerMetrics, requestStarted } from './metrics.js';
import type { ProducerSettings } from './options.js';
import type { RecordOutcome } from './outcomes.js';
import { type ProduceOutcome, produceOutcome } from './produce-outcome.js';
import type { ProducerState } from './producer-state.js';
import type { ProduceAnswer, ProducerTransport } from './transport.js';

/**
 * node:diagnostics_channel name on which every Produce request is published when it settles:
 * { broker, connection (which of the broker's produce connections), records, batches, bytes, durationMs, error? }.
 */
export const PRODUCE_REQUEST_CHANNEL = 'kafka-wire:producer:request';
const produceChannel = diagnostics.channel(PRODUCE_REQUEST_CHANNEL);

/** A Produce request's own fields, counted before its batches against maxRequestSize. */
const REQUEST_OVERHEAD_BYTES = 200;
/** While anything is pending, the drain looks again at least this often (delivery deadlines have a timer of their own, see schedule()). */
const IDLE_LOOK_MS = 250;
/** How soon to look again for a leader, or to retry a failed InitProducerId. */
const SHORT_WAIT_MS = 100;
/**
 * The longest a batch whose leader may have moved waits for the metadata refresh asked for then,
 * before it goes to the leader last known anyway. Going back to a broker that no longer leads
 * unseen (cut off from the cluster, it still takes requests) costs a whole request timeout.
 */
export const METADATA_WAIT_MAX_MS = 1000;

/** What the sender tells the producer: retries, failed records, and that it may have become idle. */
export interface SenderEvents {
  retry(event: { topic: string; partition: number; records: number; attempt: number; backoffMs: number; error: Error }): void;
  deliveryFailed(event: { topic: string; partition: number; records: number; error: Error }): void;
  /** Something settled or moved: the producer checks whether a flush() may end. */
  progress(): void;
}

/** What the sender asks of a transactional producer's transaction (transaction-manager.ts). */
export interface SenderTransaction {
  readonly transactionalId: string;
  /** The highest Produce version the transaction protocol in use allows. */
  readonly produceMaxVersion: number | undefined;
  /** Why nothing of the transaction may be sent now (it is aborting or failed); undefined when batches may go. */
  sendBlockedBy(): Error | undefined;
  /** False while a batch of the partition may not go over `connection` yet, until it or another partition has joined the transaction. */
  mayProduce(topic: string, partition: number, connection: number): boolean;
  /** A Produce request carrying a batch of the partition was answered or failed. */
  produceSettled(topic: string, partition: number): void;
  /** A record of the transaction failed: it can no longer commit. */
  recordFailed(error: Error): void;
}

/**
 * What the sender tells a durable producer's journal (src/durable/): a batch's numbers before it
 * goes out, and its acknowledgement. (Each record's own outcome reaches the durable producer
 * through the record's outcome, like any send().)
 */
export interface SenderJournal {
  /** Journals the batch's producer id, epoch, sequence and records if not yet journaled so; resolves once written. */
  batchGoingOut(batch: ProducerBatch, producerId: bigint): Promise<void> | undefined;
  batchAcknowledged(batch: ProducerBatch): void;
  /**
   * Whether a batch that may be on the broker, refused as out of sequence, is in the log: its base
   * offset, or undefined when it is not (nor can be later); rejects when that cannot be told.
   */
  locate?(batch: ProducerBatch, producerId: bigint): Promise<bigint | undefined>;
}

export interface SenderParts {
  settings: ProducerSettings;
  accumulator: Accumulator;
  state: ProducerState;
  buffer: BufferMemory;
  transport: ProducerTransport;
  clock: Clock;
  metrics: ProducerMetrics;
  events: SenderEvents;
  /** Set for a transactional producer. */
  transaction?: SenderTransaction;
  /** Set for a durable producer. */
  journal?: SenderJournal;
  /** Set when zstd and gzip batches are compressed off the event loop. */
  compressionThreads?: CompressionThreads;
}

/**
 * Java's Sender: one drain loop (never two at once) that closes lingering batches, fails
 * expired ones, keeps the producer id current, and sends each leader one Produce request at a
 * time per round and connection with the first ready batch of each of its partitions that use
 * that connection, up to maxInFlight per connection; then turns each partition's answer into an
 * outcome (produce-outcome.ts) and applies it.
 */
export class Sender {
  private readonly settings: ProducerSettings;
  private readonly accumulator: Accumulator;
  private readonly state: ProducerState;
  private readonly buffer: BufferMemory;
  private readonly transport: ProducerTransport;
  private readonly clock: Clock;
  private readonly metrics: ProducerMetrics;
  private readonly events: SenderEvents;
  private readonly transaction: SenderTransaction | undefined;
  private readonly journal: SenderJournal | undefined;
  private readonly compressionThreads: CompressionThreads | undefined;
  /** Requests in flight on each produce connection, by connectionKey(). */
  private readonly inFlightByConnection = new Map<number, number>();
  private readonly stopWatchingMetadata: () => void;
  private producerIdReady: Promise<void> | undefined;
  private timer: Timer | undefined;
  /** When the armed timer is due. */
  private timerAt = 0;
  private drainScheduled = false;
  private draining = false;
  private drainAgain = false;
  /** Batches being compressed on compression threads now. */
  private compressionsRunning = 0;
  /** flush() calls under way: lingering batches close at once. */
  flushing = 0;
  /** close() has begun: retriable failures are no longer retried unless a flush waits for them. */
  closed = false;

  constructor(parts: SenderParts) {
    this.settings = parts.settings;
    this.accumulator = parts.accumulator;
    this.state = parts.state;
    this.buffer = parts.buffer;
    this.transport = parts.transport;
    this.clock = parts.clock;
    this.metrics = parts.metrics;
    this.events = parts.events;
    this.transaction = parts.transaction;
    this.journal = parts.journal;
    this.compressionThreads = parts.compressionThreads;
    // A batch may be waiting for a metadata refresh to answer.
    this.stopWatchingMetadata = this.transport.onMetadataAnswer(() => this.wake());
  }

  /** Schedules a drain once the current turn is done (many sends in one turn share it). */
  wake(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.clock.soon(this.scheduledDrain);
  }

  /** Made once: an arrow function in wake() would make every call, once per record, allocate a context for `this`. */
  private readonly scheduledDrain = () => {
    this.drainScheduled = false;
    this.runDrain();
  };

  /** Stops the timer (on close). */
  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.stopWatchingMetadata();
  }

  /** Makes sure the idempotent producer has an id and a current epoch (and renumbers waiting batches after a bump). */
  ensureProducerId(): Promise<void> {
    // A transactional producer's id comes from initTransactions(), and its epoch bumps from the coordinator.
    if (!this.settings.idempotent || this.state.ready || this.transaction) return Promise.resolve();
    this.producerIdReady ??= (async () => {
      if (!this.state.bumpLocally()) {
        const { producerId, producerEpoch } = await this.transport.initProducerId();
        this.state.assign(producerId, producerEpoch);
      }
      // A new epoch starts every partition at sequence 0: batches waiting to be resent are renumbered.
      this.accumulator.renumber((batch) => this.number(batch));
    })().finally(() => {
      this.producerIdReady = undefined;
    });
    return this.producerIdReady;
  }

  /** Fails every batch not on the wire (close() gave up, or the producer id cannot be had). */
  failWaiting(error: Error): void {
    for (const batch of this.accumulator.takeAllWaiting()) {
      this.failBatch(batch, error);
      // Its sequence range was taken and never written: later batches would leave a gap.
      if (this.settings.idempotent && batch.baseSequence >= 0)
        this.state.requestBump(`a batch of ${batch.topic}-${batch.partition} failed`);
    }
    this.events.progress();
  }

  /** Gives the batch the partition's next sequence under the current producer id and epoch. */
  private number(batch: ProducerBatch): void {
    batch.baseSequence = this.state.takeSequence(batch.topic, batch.partition, batch.runs.count);
    batch.epoch = this.state.epoch;
    if (batch.built) restampBatch(batch.built, this.state.producerId, this.state.epoch, batch.baseSequence);
  }

  private runDrain(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    this.drain().then(this.drainDone, this.drainFailed);
  }

  /** Made once, as scheduledDrain is: a drain runs once per turn of the event loop under load. */
  private readonly drainDone = () => {
    this.draining = false;
    if (this.drainAgain) {
      this.drainAgain = false;
      this.wake();
    }
  };

  private readonly drainFailed = (error: unknown) => {
    try {
      this.internalError(error);
    } finally {
      this.drainDone();
    }
  };

  /** A bug in the drain must not be swallowed: the records it concerns fail with it, loudly, and it is counted. */
  private internalError(error: unknown): void {
    this.metrics.internalErrors++;
    const message = `internal error in the producer's sender: ${(error as Error)?.message ?? String(error)}`;
    this.failWaiting(new KafkaWireError(message, { cause: error }));
  }

  /** One round: close lingering batches, then send what is ready to each broker with room in flight. */
  private async drain(): Promise<void> {
    const now = this.clock.now();
    const nextLinger = this.accumulator.closeLingering(
      now,
      this.flushing > 0 || this.closed,
      this.settings.maxInFlight,
      this.connectionInFlight,
    );
    this.expire(now);
    const blocked = this.transaction?.sendBlockedBy();
    if (blocked) this.failWaiting(blocked);
    if (!this.accumulator.hasPending) {
      this.events.progress();
      return;
    }
    if (this.transaction && !this.state.ready) {
      // After a failure the transaction only aborts, and the abort bumps the epoch: nothing goes out meanwhile.
      this.schedule(now + IDLE_LOOK_MS);
      return;
    }
    if (this.settings.idempotent && !this.state.ready) {
      if (this.state.bumpRequested) {
        // Answers of the old epoch first; then what may already be written is settled under its old numbers.
        // Meanwhile deadlines are still kept: an answer may never come before its request times out.
        if (this.accumulator.hasInFlight) {
          this.schedule(now + IDLE_LOOK_MS);
          return;
        }
        const inDoubt = this.accumulator.inDoubt();
        if (inDoubt.length > 0) {
          const answered = this.transport.metadataAnswered();
          this.sendGrouped(inDoubt.filter((batch) => retryTime(batch, answered) <= now));
          this.schedule(Math.min(...inDoubt.map((batch) => retryTime(batch, answered)), now + IDLE_LOOK_MS));
          return;
        }
      }
      try {
        await this.ensureProducerId();
      } catch (error) {
        // Without a producer id nothing can be sent: records fail now when asking again cannot help
        // (e.g. CLUSTER_AUTHORIZATION_FAILED), else they wait, within their delivery deadline.
        if (!isRetriable(error)) this.failWaiting(error as Error);
        else this.schedule(now + SHORT_WAIT_MS);
        return;
      }
    }
    const answered = this.transport.metadataAnswered();
    const { batches, nextRetryAt } = this.accumulator.sendable(now, this.settings.maxInFlight, answered);
    let { sent, leaderless } = this.sendGrouped(batches);
    // Up to maxInFlight requests deep now, as Java's sender polls again at once while batches are
    // ready: a backlog draining with no new record appended has no other wake than each answer,
    // and one request per answer is one batch per partition per round trip.
    while (sent > 0) sent = this.sendGrouped(this.accumulator.sendable(now, this.settings.maxInFlight, answered).batches).sent;
    this.schedule(
      Math.min(
        nextLinger,
        nextRetryAt,
        leaderless ? now + SHORT_WAIT_MS : Infinity,
        this.accumulator.hasPending ? now + IDLE_LOOK_MS : Infinity,
      ),
    );
    this.events.progress();
  }

  /** Requests in flight on the partition's connection to its leader (Infinity while it has none). */
  private readonly connectionInFlight = (topic: string, partition: number, connection: number): number => {
    const leader = this.transport.leaderFor(topic, partition);
    return leader < 0 ? Infinity : (this.inFlightByConnection.get(this.connectionKey(leader, connection)) ?? 0);
  };

  /** One number for a broker's produce connection (broker ids are never negative). */
  private connectionKey(broker: number, connection: number): number {
    return broker * this.settings.connectionsPerBroker + connection;
  }

  /**
   * Sends batches to their partitions' leaders, one request per connection; how many went, and
   * whether some partition has no leader now.
   */
  private sendGrouped(batches: ProducerBatch[]): { sent: number; leaderless: boolean } {
    const byConnection = new Map<number, ProducerBatch[]>();
    let leaderless = false;
    for (const batch of batches) {
      const leader = this.transport.leaderFor(batch.topic, batch.partition);
      if (leader < 0) {
        leaderless = true;
        continue;
      }
      const key = this.connectionKey(leader, this.accumulator.connectionOf(batch.topic, batch.partition));
      // A partition's first batch of a transaction waits until it may join (transaction-manager.ts).
      if (this.transaction && !this.transaction.mayProduce(batch.topic, batch.partition, key)) continue;
      let list = byConnection.get(key);
      if (!list) byConnection.set(key, (list = []));
      list.push(batch);
    }
    if (leaderless) this.transport.refreshMetadata();
    let sent = 0;
    const perBroker = this.settings.connectionsPerBroker;
    for (const [key, list] of byConnection) sent += this.sendTo(Math.floor(key / perBroker), key % perBroker, list);
    return { sent, leaderless };
  }

  /**
   * Arms the timer for the next drain at `at`, or at the next delivery deadline if that comes
   * first (records fail at their deadline, not at the next look after it). A timer already due by
   * then is kept: firing early costs one drain, which schedules again, while arming a new timer on
   * every drain (once a millisecond and more under a steady flow of records) made a timer object
   * each time.
   */
  private schedule(wanted: number): void {
    // expire() ran at the start of this drain: the deadline is current.
    const at = Math.min(wanted, this.accumulator.nextDeadline);
    if (!Number.isFinite(at) || (this.closed && !this.accumulator.hasPending)) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(this.timerFired, Math.max(0, at - this.clock.now()));
  }

  private readonly timerFired = () => {
    this.timer = undefined;
    this.wake();
  };

  /**
   * Fails records past their delivery deadline: batches waiting to be (re)sent, and batches in
   * flight, whose answer then only frees them (they may still have been written, as with the
   * Java client).
   */
  private expire(now: number): void {
    const { inFlight, waiting } = this.accumulator.expire(now);
    const timeout = this.settings.deliveryTimeoutMs;
    for (const batch of inFlight) {
      // A request still waiting for the journal or a connection will leave this batch out (dropExpired).
      const error = batch.onWire
        ? new DeliveryTimeoutError(
            `not acknowledged within deliveryTimeoutMs (${timeout} ms); ` +
              `the request to ${batch.topic}-${batch.partition} was still unanswered (it may have been written)` +
              (batch.lastError ? `; last error: ${batch.lastError.message}` : ''),
            { cause: batch.lastError },
          )
        : this.timeoutError(
            batch,
            batch.attempts - 1,
            `; its next request was still waiting for ${batch.awaitsJournal ? "the journal's write" : 'a connection'}`,
          );
      this.failRecords(batch, error);
      if (this.settings.idempotent) this.state.requestBump(`a batch of ${batch.topic}-${batch.partition} expired in flight`);
    }
    for (const batch of waiting) {
      this.failBatch(batch, this.timeoutError(batch, batch.attempts, ''));
      if (this.settings.idempotent && batch.baseSequence >= 0)
        this.state.requestBump(`a batch of ${batch.topic}-${batch.partition} expired`);
    }
  }

  /** The error of a batch that expired before (another) attempt reached the wire, naming the last failure. */
  private timeoutError(batch: ProducerBatch, attempts: number, note: string): DeliveryTimeoutError {
    return new DeliveryTimeoutError(
      `${batch.runs.count} record(s) for ${batch.topic}-${batch.partition} were not acknowledged within deliveryTimeoutMs ` +
        `(${this.settings.deliveryTimeoutMs} ms) after ${attempts} attempt(s)` +
        (batch.inDoubt ? ' (an earlier attempt may have been written)' : '') +
        note +
        (batch.lastError ? `; last error: ${batch.lastError.message}` : ''),
      { cause: batch.lastError },
    );
  }

  /**
   * Sends one Produce request over one of a broker's connections, carrying the first ready batch
   * of each of the partitions that use it (within the request size); returns how many batches it carries.
   */
  private sendTo(broker: number, connectionIndex: number, candidates: ProducerBatch[]): number {
    const key = this.connectionKey(broker, connectionIndex);
    const inFlight = this.inFlightByConnection.get(key) ?? 0;
    if (inFlight >= this.settings.maxInFlight) {
      // Compressed while the requests ahead of them are answered, they are ready when a slot frees.
      if (this.compressionThreads) for (const batch of candidates) if (!batch.built) this.compressOnThread(batch);
      return 0;
    }
    const batches: ProducerBatch[] = [];
    let requestBytes = REQUEST_OVERHEAD_BYTES;
    for (const batch of candidates) {
      if (!batch.built && !this.build(batch)) continue;
      const size = (batch.built as NonNullable<ProducerBatch['built']>).size;
      if (batches.length > 0 && requestBytes + size > this.settings.maxRequestSize) continue;
      requestBytes += size;
      this.accumulator.markSent(batch);
      batches.push(batch);
    }
    if (batches.length === 0) return 0;
    // Write-ahead: a batch's numbers are in the journal before the batch can reach the broker, so a restart resends it as it was.
    const journaled = this.journal && journalBatches(this.journal, batches, this.state.producerId);
    this.inFlightByConnection.set(key, inFlight + 1);
    // Set when the request is written (batches held back are not sent, nor counted); returns its duration.
    let settled: (() => number) | undefined;
    const request = async (): Promise<ProduceAnswer | undefined> => {
      if (journaled) {
        for (const batch of batches) batch.awaitsJournal = true;
        await journaled.finally(() => {
          for (const batch of batches) batch.awaitsJournal = false;
        });
      }
      const connection = await this.transport.connect(broker, connectionIndex).finally(() => this.dropExpired(batches));
      if (batches.length === 0) return undefined;
      if (this.settings.idempotent && this.holdBack(batches)) {
        if (batches.length === 0) return undefined;
        requestBytes = batches.reduce(
          (sum, batch) => sum + (batch.built as NonNullable<ProducerBatch['built']>).size,
          REQUEST_OVERHEAD_BYTES,
        );
      }
      settled = requestStarted(this.metrics, broker, batches.length, requestBytes);
      for (const batch of batches) batch.onWire = true;
      return connection.produce({
        acks: this.settings.acks,
        timeoutMs: this.settings.requestTimeoutMs,
        transactionalId: this.transaction ? this.transaction.transactionalId : null,
        maxVersion: this.transaction?.produceMaxVersion,
        topics: byTopic(batches),
      });
    };
    // The request's bookkeeping is done before its outcome is applied, so whoever a settled record wakes sees it counted.
    const finished = (error?: Error) => {
      this.inFlightByConnection.set(key, (this.inFlightByConnection.get(key) ?? 1) - 1);
      if (this.transaction) for (const batch of batches) this.transaction.produceSettled(batch.topic, batch.partition);
      if (!settled) return;
      const durationMs = settled();
      if (produceChannel.hasSubscribers) {
        const records = batches.reduce((sum, batch) => sum + batch.runs.count, 0);
        produceChannel.publish({
          broker,
          connection: connectionIndex,
          batches: batches.length,
          records,
          bytes: requestBytes,
          durationMs,
          error,
        });
      }
    };
    request()
      .then(
        (answer) => {
          finished();
          this.onAnswer(broker, batches, answer);
        },
        (error: unknown) => {
          finished(error as Error);
          this.onRequestFailed(batches, error as Error, settled !== undefined);
        },
      )
      .catch((error: unknown) => this.internalError(error))
      .finally(() => this.wake());
    return batches.length;
  }

  /**
   * Takes out of a request that waited for the journal or a connection the batches that expired
   * meanwhile: their records have failed, and unwritten they cannot turn up on the broker later.
   */
  private dropExpired(batches: ProducerBatch[]): void {
    for (let i = batches.length - 1; i >= 0; i--) {
      const batch = batches[i] as ProducerBatch;
      if (!batch.expired) continue;
      batches.splice(i, 1);
      this.accumulator.returned(batch);
      batch.built?.release();
      batch.built = undefined;
    }
  }

  /**
   * Takes out of a request about to be written each batch that an earlier batch of its partition
   * has not reached the wire before: one put back after a failed attempt, or one in another
   * request still waiting (for the journal, for a connection). Written first, the later batch
   * would be refused as out of order, or, when the earlier one had landed before its answer was
   * lost, be written while the earlier one waits: then more than the 5 batches the broker
   * remembers per producer could follow it, and its resend would no longer be recognised as a
   * duplicate. The batches taken out go back in sequence order, unsent (not an attempt); returns
   * whether any was.
   */
  private holdBack(batches: ProducerBatch[]): boolean {
    const before = batches.length;
    for (let i = batches.length - 1; i >= 0; i--) {
      const batch = batches[i] as ProducerBatch;
      if (!this.accumulator.hasEarlierNotOnWire(batch)) continue;
      batches.splice(i, 1);
      this.accumulator.returned(batch);
      batch.attempts--;
      this.accumulator.putBack(batch);
    }
    return batches.length < before;
  }

  /**
   * Numbers (with idempotence) and builds a batch for the wire; a batch that cannot be built fails
   * its records. False also while the batch's records are being compressed on a thread.
   */
  private build(batch: ProducerBatch): boolean {
    if (this.compressOnThread(batch)) return false;
    if (this.settings.idempotent) {
      // A batch split from a larger one comes with its sequence already assigned.
      if (batch.baseSequence < 0) this.number(batch);
      Object.assign(batch.settings, {
        producerId: this.state.producerId,
        producerEpoch: batch.epoch,
        baseSequence: batch.baseSequence,
        transactional: this.transaction !== undefined,
      });
    }
    try {
      batch.built = (batch.builder as NonNullable<ProducerBatch['builder']>).build(batch.compressedRecords);
      batch.compressedRecords = undefined;
    } catch (error) {
      // Compression can fail (e.g. zstd on a Node without it): the records fail with the reason, nothing hangs.
      this.accumulator.removeWaiting(batch);
      this.failBatch(batch, error as Error);
      if (this.settings.idempotent) this.state.requestBump(`a batch of ${batch.topic}-${batch.partition} could not be built`);
      return false;
    }
    batch.builder = undefined;
    return true;
  }

  /**
   * Hands a batch worth it (zstd or gzip, records section of 16 KiB or more) to a compression
   * thread, once; true while its compression is under way there. Its sequence is assigned only
   * when it is built, after: compressing ahead reorders nothing.
   */
  private compressOnThread(batch: ProducerBatch): boolean {
    if (batch.compressing) return true;
    const threads = this.compressionThreads;
    const builder = batch.builder;
    if (!threads || !builder || batch.compressedRecords !== undefined || batch.compressInline) return false;
    const codec = batch.settings.compression ?? 'none';
    const records = builder.uncompressedRecords();
    if (records === undefined || !worthOffloading(codec, records.length)) return false;
    batch.compressing = true;
    this.compressionsRunning++;
    threads
      .compress(codec, records, batch.settings.compressionLevel)
      .then(
        // A batch rebuilt meanwhile (a record withdrawn, a split) has a builder of its own: the bytes are not its.
        (compressed) => {
          if (batch.builder !== builder) return;
          batch.compressedRecords = compressed;
          this.metrics.batchesCompressedOnThreads++;
        },
        () => {
          batch.compressInline = true;
        },
      )
      .finally(() => {
        batch.compressing = false;
        // Woken when the last compression under way is done, the batches go out together: one request per connection, not per batch.
        if (--this.compressionsRunning === 0) this.wake();
      });
    return true;
  }

  private onAnswer(broker: number, batches: ProducerBatch[], answer: ProduceAnswer | undefined): void {
    // Each partition's answer found by topic and partition: one pass over the answer, one over the batches.
    const answers = new Map<string, Map<number, ProduceAnswer[number]['partitions'][number]>>();
    for (const topic of answer ?? []) {
      let partitions = answers.get(topic.topic);
      if (!partitions) answers.set(topic.topic, (partitions = new Map()));
      for (const partition of topic.partitions) partitions.set(partition.index, partition);
    }
    const label = this.transport.brokerLabel(broker);
    // The refresh a leadership error asks for is made after this answer came: one already under way may be older than it.
    let metadataAsked = 0;
    for (const batch of batches) {
      const result = answer === undefined ? undefined : (answers.get(batch.topic)?.get(batch.partition) ?? 'missing');
      // The common answer needs no outcome worked out.
      if (result !== undefined && result !== 'missing' && result.errorCode === ErrorCode.NONE) {
        this.complete(batch, result.baseOffset, result.logAppendTimeMs);
        continue;
      }
      if (result !== undefined && result !== 'missing') {
        // Noted first: the refresh picks its broker as it starts, and must not pick this one, which may be fenced.
        this.transport.noteError(result.errorCode, broker);
        if (isLeadershipError(result.errorCode)) batch.awaitsMetadata = metadataAsked ||= this.transport.refreshMetadata();
      }
      const outcome = produceOutcome(batch, result, {
        // A transactional producer cannot bump its own epoch: a sequence error fails the transaction instead.
        idempotent: this.settings.idempotent && !this.transaction,
        freshIdWhenFenced: this.journal !== undefined,
        bumpRequested: this.state.bumpRequested,
        earlierUnacknowledged: this.accumulator.hasEarlierUnacknowledged(batch),
        broker: label,
      });
      if (outcome.kind === 'retry' && outcome.resequence && batch.possiblyWritten && this.journal?.locate) {
        this.locateThenApply(batch, outcome, this.journal.locate(batch, this.state.producerId));
        continue;
      }
      this.apply(batch, outcome);
    }
    this.events.progress();
  }

  /**
   * A batch that may be on the broker was refused as out of sequence. A broker recognises a resent
   * batch among a producer's last five only, so a restarted durable producer's resend of an older
   * one meets this whether or not it was written, and renumbered it would be written twice if it
   * was. So the journal asks the broker first, while the partition sends nothing more: a batch
   * found is complete (at its offset), one surely absent is renumbered with no copy to fear, and
   * one the broker cannot tell about is renumbered as before, announced as a possible duplicate.
   */
  private locateThenApply(batch: ProducerBatch, outcome: ProduceOutcome & { kind: 'retry' }, located: Promise<bigint | undefined>): void {
    this.accumulator.holdPartition(batch);
    located
      .then(
        (offset) => {
          if (offset !== undefined) return this.complete(batch, offset, -1n);
          batch.inDoubt = batch.possiblyWritten = false;
          this.apply(batch, outcome);
        },
        (error: unknown) => {
          outcome.error.message += `; whether the broker has the batch is unknown: ${(error as Error).message}`;
          this.apply(batch, outcome);
        },
      )
      .catch((error: unknown) => this.internalError(error))
      .finally(() => {
        this.events.progress();
        this.wake();
      });
  }

  private apply(batch: ProducerBatch, outcome: ProduceOutcome): void {
    switch (outcome.kind) {
      case 'complete':
        this.complete(batch, outcome.baseOffset, outcome.logAppendTime);
        return;
      case 'split':
        this.split(batch);
        return;
      case 'dropRecords':
        this.dropRecords(batch, outcome.invalid, outcome.error);
        return;
      case 'retry':
        if (outcome.written === 'maybe') batch.inDoubt = batch.possiblyWritten = true;
        else if (outcome.written === 'no') batch.inDoubt = false;
        if (outcome.resequence) {
          batch.resequenced = true;
          this.state.requestBump(`${outcome.error.errorName} on ${batch.topic}-${batch.partition}`, outcome.freshProducerId);
        }
        this.retryOrFail(batch, outcome.error, true);
        return;
      case 'fail':
        this.retryOrFail(batch, outcome.error, false);
    }
  }

  private onRequestFailed(batches: ProducerBatch[], error: Error, sent: boolean): void {
    // The broker may be gone, and its partitions led elsewhere.
    const metadataAsked = this.transport.refreshMetadata();
    const retriable = isRetriable(error);
    for (const batch of batches) {
      batch.awaitsMetadata = metadataAsked;
      // Once on the wire, an attempt that got no answer may have been written.
      if (sent) batch.inDoubt = batch.possiblyWritten = true;
      this.retryOrFail(batch, error, retriable);
    }
    this.events.progress();
  }

  private complete(batch: ProducerBatch, baseOffset: bigint, logAppendTime: bigint): void {
    this.accumulator.completed(batch);
    this.journal?.batchAcknowledged(batch);
    batch.built?.release();
    batch.built = undefined;
    if (batch.expired) return;
    // Written: buffer memory and metrics once per batch.
    const { topic, partition, runs } = batch;
    runs.resolved(topic, partition, baseOffset, logAppendTime >= 0n ? Number(logAppendTime) : -1);
    this.metrics.recordsSent += runs.count;
    this.buffer.free(batch.bytes);
  }

  /** MESSAGE_TOO_LARGE: the broker takes smaller batches; the halves keep the batch's sequence range, so nothing after it is renumbered. */
  private split(batch: ProducerBatch): void {
    this.accumulator.returned(batch);
    if (batch.expired) {
      batch.built?.release();
      return;
    }
    const records = batchRecords(batch);
    const half = Math.ceil(records.length / 2);
    const positions = records.map((_, at) => at);
    const firstBytes = records.slice(0, half).reduce((sum, record) => sum + recordSize(record, 0, 0), 0);
    const sequence = batch.baseSequence;
    this.accumulator.putBack(
      this.accumulator.rebatch(batch, records, positions.slice(0, half), firstBytes, sequence),
      this.accumulator.rebatch(batch, records, positions.slice(half), batch.bytes - firstBytes, sequence < 0 ? -1 : sequence + half),
    );
    this.metrics.recordsRetried += records.length;
  }

  /**
   * KIP-467: the broker refused the batch for some records only. Those fail with the broker's
   * message; the rest go again as a smaller batch. The sequence range shrinks, so the epoch is
   * bumped to renumber what follows.
   */
  private dropRecords(batch: ProducerBatch, invalid: Map<number, string | undefined>, error: KafkaProtocolError): void {
    this.accumulator.returned(batch);
    if (batch.expired) {
      batch.built?.release();
      return;
    }
    const records = batchRecords(batch);
    const keep: number[] = [];
    let kept = batch.bytes;
    records.forEach((record, at) => {
      if (!invalid.has(at)) {
        keep.push(at);
        return;
      }
      const size = recordSize(record, 0, 0);
      kept -= size;
      const subject = `topic ${batch.topic} partition ${batch.partition} record ${at} of its batch`;
      const refused = new KafkaProtocolError(error.code, { api: 'Produce', subject, detail: invalid.get(at) ?? error.detail });
      const { outcome, index } = batch.runs.recordAt(at);
      this.failRecord(outcome, index, size, refused);
    });
    if (keep.length > 0) this.accumulator.putBack(this.accumulator.rebatch(batch, records, keep, kept, batch.baseSequence));
    if (this.settings.idempotent && batch.baseSequence >= 0)
      this.state.requestBump(`records of ${batch.topic}-${batch.partition} were refused`);
  }

  /** Puts a failed batch back in sequence order for another attempt, or fails its records when it may not retry. */
  private retryOrFail(batch: ProducerBatch, error: Error, retriable: boolean): void {
    this.accumulator.returned(batch);
    if (batch.expired) {
      batch.built?.release();
      batch.built = undefined;
      return;
    }
    const now = this.clock.now();
    const expired = batchDue(batch, now);
    batch.lastError = error;
    if (!retriable || expired || (this.closed && this.flushing === 0)) {
      this.failBatch(batch, expired && retriable ? this.timeoutError(batch, batch.attempts, '') : error);
      // The broker never took this sequence range: the next batches of this partition would be out of order.
      if (this.settings.idempotent && batch.baseSequence >= 0)
        this.state.requestBump(`a batch of ${batch.topic}-${batch.partition} failed`);
      return;
    }
    this.metrics.recordsRetried += batch.runs.count;
    const backoffMs = backoffDelay(batch.attempts - 1, this.settings.retryBackoff);
    batch.retryAt = now + backoffMs;
    batch.metadataWaitUntil = now + METADATA_WAIT_MAX_MS;
    this.accumulator.putBack(batch);
    const { topic, partition, runs, attempts: attempt } = batch;
    this.events.retry({ topic, partition, records: runs.count, attempt, backoffMs, error });
  }

  /** Fails one record and frees the `size` bytes of bufferMemory it holds. */
  private failRecord(outcome: RecordOutcome, index: number, size: number, error: Error): void {
    this.buffer.free(size);
    this.metrics.recordsFailed++;
    this.transaction?.recordFailed(error);
    outcome.rejected(index, error);
  }

  /** Fails every record of a batch and frees what they hold (the batch's bytes are someone else's to free). */
  private failRecords(batch: ProducerBatch, error: Error): void {
    const { runs } = batch;
    this.buffer.free(batch.bytes);
    this.metrics.recordsFailed += runs.count;
    this.transaction?.recordFailed(error);
    runs.rejected(error);
    this.events.deliveryFailed({ topic: batch.topic, partition: batch.partition, records: runs.count, error });
  }

  /** Fails every record of a batch (no longer on the wire) and frees what it holds. */
  failBatch(batch: ProducerBatch, error: Error): void {
    batch.built?.release();
    batch.builder?.discard();
    batch.built = undefined;
    batch.builder = undefined;
    this.failRecords(batch, error);
  }

  /** Settles one record that left its batch before going out (an aborted send()). */
  withdrawn(record: PendingRecord, reason: Error): void {
    // The user took it back before it went out: a transaction may still commit without it.
    this.buffer.free(record.size);
    this.metrics.recordsFailed++;
    record.outcome.rejected(record.index, reason);
  }
}

/** Journals every batch whose numbers the journal does not have yet; undefined when none needed it. */
function journalBatches(journal: SenderJournal, batches: ProducerBatch[], producerId: bigint): Promise<unknown> | undefined {
  let writes: Promise<void>[] | undefined;
  for (const batch of batches) {
    const written = journal.batchGoingOut(batch, producerId);
    if (written) (writes ??= []).push(written);
  }
  return writes && Promise.all(writes);
}

/** The request's topics, each with its batches by partition. */
function byTopic(
  batches: ProducerBatch[],
): { name: string; partitions: { index: number; batch: NonNullable<ProducerBatch['built']> }[] }[] {
  const topics = new Map<string, { index: number; batch: NonNullable<ProducerBatch['built']> }[]>();
  for (const batch of batches) {
    let list = topics.get(batch.topic);
    if (!list) topics.set(batch.topic, (list = []));
    list.push({ index: batch.partition, batch: batch.built as NonNullable<ProducerBatch['built']> });
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }));
}
