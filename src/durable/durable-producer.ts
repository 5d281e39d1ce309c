import { EventEmitter } from 'node:events';
import { ConfigError } from '../errors.js';
import { describeValue, objectOption } from '../option-checks.js';
import type { PendingRecord } from '../producer/accumulator.js';
import { checkRecordFits } from '../producer/admission.js';
import { InvalidRecordError, ProducerClosedError, RecordTooLargeError } from '../producer/errors.js';
import { PRODUCER_DEFAULTS } from '../producer/options.js';
import { offsetAt, type RecordMetadata, type RecordOutcome } from '../producer/outcomes.js';
import { Producer, type ProducerEvents, type ProducerInternals, type ProducerOptions } from '../producer/producer.js';
import {
  checkRecordObject,
  checkTopicName,
  type ProducerRecord,
  type RecordBytes,
  requestedPartition,
  toPendingRecord,
} from '../producer/record-input.js';
import { recordSize } from '../records/batch-builder.js';
import { BatchJournal, failsForGood } from './batch-journal.js';
import { locateBatch } from './batch-locator.js';
import {
  decodeRecord,
  EntryType,
  encodeCheckpoint,
  encodeFailed,
  encodeTopic,
  type JournalRecord,
  type RecordToJournal,
  recordPayloadBytes,
  writeRecordPayload,
} from './entries.js';
import { QueueFullError, RecordLostError } from './errors.js';
import { Feeder, pendingFromJournal } from './feeder.js';
import { FRAME_HEADER_BYTES } from './frame.js';
import { Journal, type RecoveryReport } from './journal.js';
import type { JournalOptions } from './journal-options.js';
import { OpenRecords } from './open-records.js';
import { type RecoveredState, RecoveryFold } from './recovery-state.js';
import { TopicTable } from './topic-table.js';

/** Where and how the durable producer keeps its journal (see JournalOptions for each). */
export type DurableOptions = Omit<JournalOptions, 'onReadIssue' | 'segmentPreamble'> & {
  /**
   * The cluster's producer.id.expiration.ms (the broker default, a day, unless set): a journal last
   * written longer ago than this may hold batches whose producer id the brokers have forgotten, so
   * a copy they already have would not be recognised. Those batches go out under a fresh producer
   * id, counted as mayDuplicate.
   */
  producerIdExpirationMs?: number;
};

export interface DurableProducerOptions<K = RecordBytes, V = RecordBytes> extends ProducerOptions<K, V> {
  durable: DurableOptions;
}

/** What a restart found in the journal, and what it does with it. */
export interface DurableRecovery {
  journal: RecoveryReport;
  /** Records accepted before the restart and not yet delivered: they go first, in their order. */
  replaying: number;
  /** Batches that may already be on the broker: resent with their producer id, epoch and sequence, so the broker drops copies. */
  inDoubtBatches: number;
  /**
   * Records that go out again under new numbers (their batch's epoch was bumped, or the journal is
   * older than producerIdExpirationMs): a copy already on the broker is not recognised.
   */
  mayDuplicate: number;
  /** Entries that passed their checksum but did not decode, and recovered records no longer in the journal. */
  skipped: { id: number; reason: string }[];
}

export interface DurableProducerEvents extends ProducerEvents {
  /** A record accepted before the restart settled: delivered (with its offset) or failed for good. */
  replayed: [{ id: number; topic: string; partition: number; offset: bigint } | { id: number; error: Error }];
  /** A record settled in this process: acknowledged (its metadata), or failed (for good, or held for the next open). */
  settled: [id: number, result: RecordMetadata | Error];
  /** Records were sent again under numbers the broker cannot match to a copy it may have: duplicates are possible. */
  mayDuplicate: [{ records: number; reason: string }];
}

/** How often acknowledged journal segments are looked for and deleted. */
const TRIM_EVERY_MS = 1000;

/**
 * A producer that keeps every accepted record in an on-disk journal until Kafka acknowledges
 * it (issue 13): a crash, a kill or an outage loses nothing accepted, and a restart on the same
 * directory delivers what was pending first, in order. Unlike an at-least-once replay queue it
 * does not duplicate either: each batch's producer id, epoch, base sequence and records are
 * journaled before the batch can reach the broker, and a restart resends such batches exactly,
 * so the broker recognises what it already has.
 *
 * `enqueue(record)` resolves once the record is accepted (durable as `sync` says); `send(record)`
 * once Kafka acknowledged it.
 */
export class DurableProducer<K = RecordBytes, V = RecordBytes> extends EventEmitter<DurableProducerEvents> {
  readonly recovery: DurableRecovery;
  private readonly producer: Producer<K, V>;
  private readonly journal: Journal;
  private readonly feeder: Feeder;
  private readonly open = new OpenRecords();
  /** send() calls waiting for their record's acknowledgement, by journal id. */
  private readonly waiting = new Map<number, { resolve: (metadata: RecordMetadata) => void; reject: (error: Error) => void }>();
  /** Ids of records accepted before the restart, whose outcome is told as `replayed`. */
  private readonly replaying: Set<number>;
  private readonly serializers: ProducerOptions<K, V>['serializers'];
  private readonly maxRequestSize: number;
  /** The journal's topics by number (recovered, and declared as new ones come). */
  private readonly topics: TopicTable;
  /** The record being journaled: one object reused, as accept() is the hot path. */
  private readonly toJournal: RecordToJournal = {
    topicId: 0,
    partition: -1,
    timestamp: 0,
    key: null,
    value: null,
    headers: undefined,
  };
  private readonly parts: NonNullable<ProducerInternals['parts']>;
  private readonly trimTimer: NodeJS.Timeout;
  private trimmedBelow = 0;
  private closed = false;
  private mayDuplicateRecords = 0;
  /** Records the producer gave up for a reason not their own: kept in the journal for the next open, not tried again before. */
  private held = 0;

  /** Opens (or creates) the journal in `durable.dir`, recovers it, and starts delivering what it holds. */
  static async open<K = RecordBytes, V = RecordBytes>(options: DurableProducerOptions<K, V>): Promise<DurableProducer<K, V>> {
    const durable = objectOption<DurableOptions>('durable', options?.durable);
    if (!durable) throw new ConfigError('a DurableProducer needs option durable: { dir, ... }');
    if (options.transactionalId !== undefined) throw new ConfigError('a DurableProducer cannot be transactional (drop transactionalId)');
    if (options.idempotent === false || (options.acks !== undefined && options.acks !== -1 && options.acks !== 'all')) {
      throw new ConfigError('a DurableProducer is idempotent (acks all): that is how a restart avoids duplicates');
    }
    const skipped: { id: number; reason: string }[] = [];
    /** Filled by the recovery, then by new topics; the journal repeats it at the head of every segment. */
    const topics = new TopicTable();
    const maxDiskBytes = durable.maxDiskBytes ?? DEFAULT_MAX_DISK_BYTES;
    if (!Number.isSafeInteger(maxDiskBytes) || maxDiskBytes < 1) {
      throw new ConfigError(`option durable.maxDiskBytes must be a positive integer, not ${String(durable.maxDiskBytes)}`);
    }
    const producerIdExpirationMs = durable.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
    if (!Number.isSafeInteger(producerIdExpirationMs) || producerIdExpirationMs < 1) {
      throw new ConfigError(`option durable.producerIdExpirationMs must be a positive integer, not ${String(producerIdExpirationMs)}`);
    }
    const { producerIdExpirationMs: _, ...journalOptions } = durable;
    const { journal, recovery } = await Journal.open({
      ...journalOptions,
      // Records stop at maxDiskBytes; the entries that deliver them (batches, acknowledgements, checkpoints) may go past it,
      // or a full journal could never be emptied.
      maxDiskBytes: maxDiskBytes + Math.max(64 * 1024, Math.floor(maxDiskBytes / 16)),
      // Segments small enough that trimming acknowledged ones frees room long before the journal is full.
      segmentBytes: durable.segmentBytes ?? Math.min(64 << 20, Math.max(4096, Math.floor(maxDiskBytes / 8))),
      onReadIssue: (issue) => skipped.push({ id: -1, reason: `${issue.segment} at byte ${issue.offset}: ${issue.message}` }),
      // Every segment declares the topics its RECORD entries may name: deleting older segments loses no declaration.
      segmentPreamble: () => topics.entries().map((topic) => ({ type: EntryType.TOPIC, payload: encodeTopic(topic) })),
    });
    try {
      const fold = new RecoveryFold(topics);
      for await (const entry of journal.readFrom(1)) fold.add(entry.id, entry.type, Buffer.from(entry.payload));
      const state = fold.result();
      skipped.push(...state.undecodable);
      const idle = recovery.lastWrittenAt === undefined ? 0 : Date.now() - recovery.lastWrittenAt;
      if (state.inDoubt.length > 0 && idle > producerIdExpirationMs) forgetProducer(state, idle);
      return new DurableProducer(options, journal, recovery, state, skipped, maxDiskBytes);
    } catch (error) {
      await journal.close();
      throw error;
    }
  }

  private constructor(
    options: DurableProducerOptions<K, V>,
    journal: Journal,
    report: RecoveryReport,
    state: RecoveredState,
    skipped: { id: number; reason: string }[],
    private readonly maxDiskBytes: number,
  ) {
    super();
    this.journal = journal;
    this.serializers = options.serializers;
    this.topics = state.topics;
    this.maxRequestSize = options.maxRequestSize ?? PRODUCER_DEFAULTS.maxRequestSize;
    const internals: ProducerInternals = {
      journal: new BatchJournal(
        journal,
        (records, reason) => this.reportMayDuplicate(records, reason),
        (batch) => locateBatch(this.parts.cluster, batch),
      ),
    };
    const { durable: _, ...producerOptions } = options;
    this.producer = new Producer(producerOptions, internals);
    this.parts = internals.parts as NonNullable<ProducerInternals['parts']>;
    for (const name of ['connect', 'disconnect', 'connectFailed', 'metadataChange', 'retry', 'deliveryFailed'] as const) {
      (this.producer as EventEmitter).on(name, (event: unknown) => (this.emit as (name: string, event: unknown) => boolean)(name, event));
    }
    const outcome: RecordOutcome = {
      // A run of records is a run of journal ids.
      resolved: (firstId, count, topic, partition, baseOffset, firstPosition, timestamp) => {
        for (let at = 0; at < count; at++) {
          this.settled(firstId + at, { topic, partition, offset: offsetAt(baseOffset, firstPosition + at), timestamp });
        }
      },
      rejected: (id, error) => this.settled(id, error),
    };
    this.feeder = new Feeder({
      journal,
      admission: this.parts.admission,
      buffer: this.parts.buffer,
      outcome,
      // The producer's own bufferMemory holds batches; as much again may wait in memory before records wait on disk only.
      topics: this.topics,
      memoryBytes: options.bufferMemory ?? PRODUCER_DEFAULTS.bufferMemory,
      missing: (id, reason) => {
        // Not an open record: another kind of entry, or settled already.
        if (!this.open.done(id)) return;
        skipped.push({ id, reason });
        const error = new RecordLostError(`the record with journal id ${id} cannot be delivered: ${reason}`);
        this.tell(id, error);
        this.tellReplayed(id, error);
      },
    });
    this.replaying = new Set(state.pending);
    for (const batch of state.inDoubt) for (const id of batch.recordIds) this.replaying.add(id);
    for (const id of [...this.replaying].sort((a, b) => a - b)) this.open.add(id);
    this.recovery = {
      journal: report,
      replaying: this.replaying.size,
      inDoubtBatches: state.inDoubt.length,
      mayDuplicate: state.mayDuplicate,
      skipped,
    };
    this.mayDuplicateRecords = state.mayDuplicate;
    this.trimTimer = setInterval(() => this.trim(), TRIM_EVERY_MS).unref();
    void this.resume(state, outcome);
  }

  /**
   * Accepts a record: resolves with its journal id once it is in the journal, durable as the
   * `sync` option says (or rejects: QueueFullError at maxDiskBytes, InvalidRecordError, ...). It is
   * then delivered whatever happens to this process: after a crash, by the next open of the journal.
   */
  enqueue(record: ProducerRecord<K, V>): Promise<{ id: number }> {
    try {
      const { id, durable } = this.accept(record);
      return durable.then(() => ({ id }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Accepts records together, the fast way to enqueue many: every record is checked first, and
   * if one is bad (InvalidRecordError naming its place, RecordTooLargeError) or they would pass
   * maxDiskBytes (QueueFullError), none is accepted. Resolves with their journal ids, in order,
   * once all are durable as `sync` says.
   */
  enqueueMany(records: readonly ProducerRecord<K, V>[]): Promise<{ ids: number[] }> {
    try {
      if (this.closed) throw new ProducerClosedError('enqueueMany() after close()');
      if (!Array.isArray(records)) throw new InvalidRecordError(`enqueueMany() takes an array of records, not ${describeValue(records)}`);
      const now = Date.now();
      const checked: PendingRecord[] = new Array(records.length);
      const lengths: number[] = new Array(records.length);
      let bytes = 0;
      for (let i = 0; i < records.length; i++) {
        try {
          const pending = this.check(records[i] as ProducerRecord<K, V>, now);
          checked[i] = pending;
          lengths[i] = this.prepareEntry(records[i] as ProducerRecord<K, V>, pending);
          bytes += FRAME_HEADER_BYTES + (lengths[i] as number);
        } catch (error) {
          if (error instanceof InvalidRecordError || error instanceof RecordTooLargeError)
            error.message = `records[${i}]: ${error.message}`;
          throw error;
        }
      }
      this.checkRoom(bytes);
      const ids: number[] = new Array(records.length);
      // Appends of one tick share their durability promise, unless the journal's buffer filled or a segment rolled: the
      // last promise settles after those before it (the journal writes and syncs in order).
      let durable: Promise<void> = Promise.resolve();
      for (let i = 0; i < records.length; i++) {
        const record = records[i] as ProducerRecord<K, V>;
        const pending = checked[i] as PendingRecord;
        this.fillEntry(record, pending);
        const appended = this.journalRecord(record, pending, lengths[i] as number);
        ids[i] = appended.id;
        durable = appended.durable;
      }
      return durable.then(() => ({ ids }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Accepts a record as enqueue() does, and resolves once Kafka acknowledged it. */
  send(record: ProducerRecord<K, V>): Promise<RecordMetadata> {
    try {
      const { id } = this.accept(record);
      return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Resolves once every record accepted so far is delivered or failed (the journal keeps what close() leaves). */
  async flush(): Promise<void> {
    // Held records are not tried again before the next open: waiting for them would never end.
    while (this.open.size > this.held && !this.closed) {
      await this.producer.flush();
      if (this.open.size > this.held) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Delivers what it can within timeoutMs, then closes; records not yet acknowledged stay in the journal for the next open. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closed) return;
    const deadline = Date.now() + timeoutMs;
    await Promise.race([this.flush(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    this.closed = true;
    this.feeder.stop();
    clearInterval(this.trimTimer);
    await this.producer.close(Math.max(0, deadline - Date.now()));
    for (const [, waiter] of this.waiting)
      waiter.reject(new ProducerClosedError('closed before the record was acknowledged; it stays in the journal'));
    this.waiting.clear();
    // The last trim done before the journal closes, so that what is acknowledged is deleted now, not at the next open.
    await this.trim();
    await this.journal.close();
  }

  get metrics(): Producer['metrics'] {
    return this.producer.metrics;
  }

  /** Records sent again under numbers the broker could not match to a copy it may have, since open (the recovery's included). */
  get mayDuplicate(): number {
    return this.mayDuplicateRecords;
  }

  /** Records accepted and not yet delivered or failed. */
  get pending(): number {
    return this.open.size;
  }

  /** Records in the producer's batches per topic (open, waiting to be sent, in flight); the rest of `pending` is on disk only. */
  queuedByTopic(): Map<string, { batching: number; waitingToSend: number; waitingForAcks: number }> {
    return this.parts.accumulator.queuedByTopic();
  }

  /** When metadata was last fetched (ms since the epoch; 0: never). */
  get metadataFetchedAt(): number {
    return this.parts.metadata.updatedAt;
  }

  /** Fetches the metadata of every topic this producer has records for now (the daemon's POST /refresh-metadata). */
  refreshMetadata(): Promise<void> {
    return this.parts.metadata.refresh();
  }

  /**
   * enqueue() without a promise per record, for callers that accept records at a high rate (the
   * daemon): throws at once when the record is refused; `durable` resolves once it is durable as
   * `sync` says, and is the same promise for the records accepted in the same turn of the event
   * loop, so such a caller waits on each distinct one once. Outcomes come as `settled` events.
   */
  accept(record: ProducerRecord<K, V>): { id: number; durable: Promise<void> } {
    if (this.closed) throw new ProducerClosedError('enqueue() after close()');
    const pending = this.check(record, Date.now());
    const length = this.prepareEntry(record, pending);
    this.checkRoom(FRAME_HEADER_BYTES + length);
    return this.journalRecord(record, pending, length);
  }

  /** The record checked and turned into bytes, as the producer will hold it (its journal id still to come). */
  private check(record: ProducerRecord<K, V>, now: number): PendingRecord {
    checkRecordObject(record);
    const { topic } = record;
    if (this.topics.idOf(topic) === undefined) {
      checkTopicName(topic);
      // Declared in the journal before the first record that names it (appends are written in order).
      const id = this.topics.nextId;
      this.journal.append(EntryType.TOPIC, encodeTopic({ id, name: topic }));
      this.topics.declare(id, topic);
    }
    const pending = toPendingRecord(
      record as ProducerRecord<unknown, unknown>,
      this.serializers as never,
      now,
      Infinity,
      this.feeder.outcome,
      0,
    );
    pending.size = recordSize(pending, 0, 0);
    checkRecordFits(pending.size, this.maxRequestSize);
    return pending;
  }

  /** Fills this.toJournal with the record's RECORD entry and returns the entry's payload bytes. */
  private prepareEntry(record: ProducerRecord<K, V>, pending: PendingRecord): number {
    this.fillEntry(record, pending);
    return recordPayloadBytes(this.toJournal);
  }

  private fillEntry(record: ProducerRecord<K, V>, pending: PendingRecord): void {
    const toJournal = this.toJournal;
    toJournal.topicId = this.topics.idOf(record.topic) as number;
    toJournal.partition = requestedPartition(record);
    toJournal.timestamp = pending.timestamp;
    // The journal stores bytes: a string key or value is encoded once, and the record keeps the bytes.
    if (typeof pending.key === 'string') pending.key = Buffer.from(pending.key, 'utf8');
    if (typeof pending.value === 'string') pending.value = Buffer.from(pending.value, 'utf8');
    toJournal.key = pending.key;
    toJournal.value = pending.value;
    toJournal.headers = pending.headers;
  }

  /** QueueFullError unless `bytes` more of records fit within maxDiskBytes. */
  private checkRoom(bytes: number): void {
    if (this.journal.bytes + bytes > this.maxDiskBytes) {
      throw new QueueFullError(
        `the durable producer's journal ${this.journal.dir} is full: ${this.journal.bytes} bytes, and ${bytes} more would pass ` +
          `maxDiskBytes (${this.maxDiskBytes}); nothing is dropped: retry once Kafka has acknowledged what it holds`,
      );
    }
  }

  /** Appends the entry prepareEntry() filled in (`length` bytes), and hands the record on to be fed to the producer. */
  private journalRecord(record: ProducerRecord<K, V>, pending: PendingRecord, length: number): { id: number; durable: Promise<void> } {
    const toJournal = this.toJournal;
    const appended = this.journal.appendWith(EntryType.RECORD, length, writeRecordPayload, toJournal);
    pending.index = appended.id;
    pending.journalId = appended.id;
    this.open.add(appended.id);
    this.feeder.add(record.topic, toJournal.partition, pending);
    return appended;
  }

  /** Restores what may be on the broker (same numbers), then feeds the rest in journal order. */
  private async resume(state: RecoveredState, outcome: RecordOutcome): Promise<void> {
    // After open() has returned and its caller could attach listeners (mayDuplicate, replayed); the feeder waits meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    const { accumulator, state: producerState, buffer, metadata } = this.parts;
    if (state.producer) producerState.restore(state.producer.producerId, state.producer.epoch, state.sequences.values());
    if (state.inDoubt.length > 0) {
      // Their records, read back from the journal.
      const wanted = new Map<number, JournalRecord>();
      const ids = new Set(state.inDoubt.flatMap((batch) => batch.recordIds));
      for await (const entry of this.journal.readFrom(Math.min(...ids))) {
        if (entry.type === EntryType.RECORD && ids.has(entry.id))
          wanted.set(entry.id, decodeRecord(Buffer.from(entry.payload), this.topics));
        if (wanted.size === ids.size) break;
      }
      for (const batch of state.inDoubt) {
        const records: PendingRecord[] = [];
        for (const id of batch.recordIds) {
          const stored = wanted.get(id);
          if (!stored) continue;
          const pending = pendingFromJournal(stored, id, outcome);
          pending.size = recordSize(pending, 0, 0);
          buffer.take(pending.size);
          records.push(pending);
        }
        if (records.length !== batch.recordIds.length) {
          // The batch cannot be resent as it was: its records go again under new numbers.
          for (const record of records) buffer.free(record.size);
          state.pending.push(...batch.recordIds.filter((id) => wanted.has(id)));
          this.reportMayDuplicate(records.length, 'a batch that may be on the broker lost records in the journal');
          continue;
        }
        accumulator.restore(batch.topic, batch.partition, records, batch.baseSequence, batch.epoch);
      }
      // Their topics' leaders: no new record may come to load them (the sender's refreshes cover watched topics only).
      metadata.refresh(new Set(state.inDoubt.map((batch) => batch.topic))).catch(() => undefined);
      state.pending.sort((a, b) => a - b);
    }
    // Counted in recovery.mayDuplicate already; told now that listeners can hear it.
    if (state.mayDuplicate > 0) this.emit('mayDuplicate', { records: state.mayDuplicate, reason: state.mayDuplicateReason });
    this.feeder.recover(state.pending);
    this.producer.flush().catch(() => undefined);
  }

  private reportMayDuplicate(records: number, reason: string): void {
    this.mayDuplicateRecords += records;
    this.emit('mayDuplicate', { records, reason });
  }

  private settled(id: number, result: RecordMetadata | Error): void {
    this.tell(id, result);
    if (result instanceof Error) {
      // Stays in the journal for the next start: not the record's own failure (e.g. the producer id refused), or the
      // producer is closing. Until then it is held: the producer gave it up (and told deliveryFailed), flush() no longer waits.
      if (this.closed) return;
      if (!failsForGood(result)) {
        this.held++;
        return;
      }
      // Failed for good (its error was told): never replayed.
      this.journal.append(EntryType.FAILED, encodeFailed([BigInt(id)])).durable.catch(() => undefined);
    }
    this.open.done(id);
    this.tellReplayed(id, result);
  }

  /** Tells a record's outcome as `settled`, and to its send() if one waits. */
  private tell(id: number, result: RecordMetadata | Error): void {
    if (this.listenerCount('settled') > 0) this.emit('settled', id, result);
    if (this.waiting.size === 0) return;
    const waiter = this.waiting.get(id);
    if (waiter) {
      this.waiting.delete(id);
      if (result instanceof Error) waiter.reject(result);
      else waiter.resolve(result);
    }
  }

  /** A final outcome of a record accepted before the restart, told as `replayed`. */
  private tellReplayed(id: number, result: RecordMetadata | Error): void {
    if (this.replaying.size > 0 && this.replaying.delete(id)) {
      this.emit(
        'replayed',
        result instanceof Error ? { id, error: result } : { id, topic: result.topic, partition: result.partition, offset: result.offset },
      );
    }
  }

  /** Deletes journal segments that hold nothing still needed, after a checkpoint of the producer's numbers. */
  private trim(): Promise<void> {
    const oldest = this.open.oldest ?? this.journal.nextId;
    if (oldest <= this.trimmedBelow) return Promise.resolve();
    const { state } = this.parts;
    this.trimmedBelow = oldest;
    // The checkpoint first, durable, so that the numbers the deleted segments held are not lost with them.
    let checkpoint: Promise<void> = Promise.resolve();
    try {
      if (state.producerId >= 0n) {
        const numbers = { producerId: state.producerId, epoch: state.epoch, sequences: state.nextSequences() };
        checkpoint = this.journal.append(EntryType.CHECKPOINT, encodeCheckpoint(numbers)).durable;
      }
    } catch {
      this.trimmedBelow = 0; // the journal refused (closed or failed): try again next time
      return Promise.resolve();
    }
    return checkpoint
      .then(() => this.journal.trim(oldest))
      .then(
        () => undefined,
        () => undefined,
      );
  }
}

const DEFAULT_MAX_DISK_BYTES = 1 << 30;
/** Kafka's default producer.id.expiration.ms: a day. */
const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

/**
 * The journal was idle longer than the brokers keep a producer id: its in-doubt batches cannot be
 * resent as they were (the brokers would take them as new), so they join the pending records, to
 * go out under a fresh producer id, each counted as a possible duplicate.
 */
function forgetProducer(state: RecoveredState, idleMs: number): void {
  const records = state.inDoubt.flatMap((batch) => batch.recordIds);
  state.pending.push(...records);
  state.pending.sort((a, b) => a - b);
  state.inDoubt = [];
  state.producer = undefined;
  state.sequences.clear();
  state.mayDuplicateReason =
    `the journal was last written ${Math.round(idleMs / 60_000)} min ago, longer than producerIdExpirationMs: its batches that ` +
    'may be on the broker go out under a fresh producer id' +
    (state.mayDuplicate > 0 ? `; ${state.mayDuplicateReason}` : '');
  state.mayDuplicate += records.length;
}
