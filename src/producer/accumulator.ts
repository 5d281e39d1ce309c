import {
  BATCH_HEADER_SIZE,
  type BatchSettings,
  type BuiltBatch,
  RecordBatchBuilder,
  type RecordInput,
  recordSize,
} from '../records/batch-builder.js';
import { parseRecordBatches, type RecordBatch } from '../records/batch-parser.js';
import type { CompressionName } from '../records/compression.js';
import type { Clock } from './clock.js';
import type { RecordOutcome } from './outcomes.js';
import { RecordRuns } from './record-runs.js';

/**
 * One record on its way into a batch: its input to the batch builder, and where its outcome goes.
 * A batch keeps only the outcome and index of each record it holds: the record itself lives on in
 * the batch's bytes, so nothing per record survives the young generation while batches wait and fly.
 */
export interface PendingRecord extends RecordInput {
  /** Bytes it holds of bufferMemory. */
  size: number;
  deadline: number;
  outcome: RecordOutcome;
  /** Its place in the send() or sendMany() call. */
  index: number;
  /** Its entry in the durable producer's journal; −1 without one. */
  journalId: number;
}

/** A batch of one partition: open (taking records), then built and sent, possibly more than once. */
export interface ProducerBatch {
  topic: string;
  partition: number;
  /**
   * Its records' outcomes, places in their calls (in a durable producer's batch: journal ids) and
   * timestamps (CreateTime: a record's metadata gives it unless the topic uses log-append time).
   */
  runs: RecordRuns;
  /** Its records are entries of a durable producer's journal (their indexes are their journal ids). */
  journaled: boolean;
  builder: RecordBatchBuilder | undefined;
  built: BuiltBatch | undefined;
  settings: BatchSettings;
  createdAt: number;
  /** The earliest delivery deadline of its records (kept as records join, so that checking it is cheap). */
  deadline: number;
  /** bufferMemory this batch's records hold. */
  bytes: number;
  /** Assigned when the batch is first sent (idempotence); −1 before. */
  baseSequence: number;
  /** The producer epoch its sequence belongs to (−1 before it has one). */
  epoch: number;
  attempts: number;
  /** Not sent again before this time (retry backoff). */
  retryAt: number;
  /**
   * After a failure that may mean its leader moved: the number of the metadata refresh asked for
   * then, which must answer before the batch goes again (0: none), or metadataWaitUntil pass.
   */
  awaitsMetadata: number;
  metadataWaitUntil: number;
  /** Its records were failed at their delivery deadline while it was in flight; its answer only frees it. */
  expired: boolean;
  /** Already resent once under a bumped epoch after a sequence error (KIP-360). */
  resequenced: boolean;
  /**
   * An attempt went out and no definite answer came back (the connection was lost, the request
   * timed out, the broker said REQUEST_TIMED_OUT): the broker may have written it. Such a batch
   * keeps its producer id, epoch and sequence until an answer settles it, so that a copy already
   * written is recognised as a duplicate instead of being written again under new numbers.
   */
  inDoubt: boolean;
  /**
   * Some attempt may have been written, ever (unlike inDoubt, not cleared by a later attempt's
   * sequence error, which can also mean the broker lost this producer's state): going out again
   * under new numbers, it may duplicate. A batch restored from a durable producer's journal starts so.
   */
  possiblyWritten: boolean;
  /** Its current attempt has been written to a connection (false from markSent() until its request is written). */
  onWire: boolean;
  /** Its current attempt's request is waiting for the durable producer's journal (then for a connection). */
  awaitsJournal?: boolean;
  /** Why its last attempt failed, for the error its records get if they time out waiting for the next. */
  lastError: Error | undefined;
  /** The numbers ("producerId:epoch:baseSequence:records") under which the durable producer's journal has it; undefined: not journaled. */
  journaledAs?: string;
  /** Its records section is being compressed on a compression thread: it waits for that before it is built. */
  compressing: boolean;
  /** Its builder's records section, compressed on a compression thread; build() takes it. */
  compressedRecords: Buffer | undefined;
  /** A compression thread failed it: build() compresses inline (and fails the batch with the real reason if that fails too). */
  compressInline: boolean;
}

/** Everything kept for one partition: its open batch, closed batches waiting, and batches in flight. */
interface PartitionQueue {
  topic: string;
  partition: number;
  /** Which of its leader's produce connections its requests go over: always the same one, so they stay in order. */
  connection: number;
  open: ProducerBatch | undefined;
  /** Closed batches in send order; batches to retry go back to the front, in sequence order. */
  ready: ProducerBatch[];
  inFlight: ProducerBatch[];
  /** True after a retriable failure until every batch in flight has come back: then batches go one at a time. */
  recovering: boolean;
  /**
   * A batch of it has been acknowledged under the current producer id and epoch. Until then it
   * sends one batch at a time: a broker with no state for a producer takes any sequence, so
   * while a new partition's leader is still starting (NOT_LEADER_OR_FOLLOWER to the first batch)
   * the batches behind it would be written first (found by a producer test on a fresh topic).
   */
  acknowledged: boolean;
}

export interface AccumulatorOptions {
  batchSize: number;
  lingerMs: number;
  compression: CompressionName;
  compressionLevel?: number;
  /** Produce connections per broker, dealt to partitions in turn as they first take a record (default 1). */
  connectionsPerBroker?: number;
}

/**
 * A batch is past its delivery deadline once its first (oldest) record is, as the Java client
 * times a batch from its creation: its later records then fail a little before their own
 * deadline rather than its first one long after.
 */
export function batchDue(batch: ProducerBatch, now: number): boolean {
  return batch.deadline <= now;
}

function isExpired(batch: ProducerBatch): boolean {
  return batch.expired;
}

/** Batches past their delivery deadline: in flight (their answers will only free them), and waiting. */
export interface ExpiredBatches {
  readonly inFlight: readonly ProducerBatch[];
  readonly waiting: readonly ProducerBatch[];
}

const NOTHING_EXPIRED: ExpiredBatches = { inFlight: [], waiting: [] };

/** When a batch put back may go again: after its backoff, and after the metadata it awaits (or the wait for it) if any. */
export function retryTime(batch: ProducerBatch, metadataAnswered: number): number {
  return batch.awaitsMetadata > metadataAnswered ? Math.max(batch.retryAt, batch.metadataWaitUntil) : batch.retryAt;
}

/** A batch of one partition holding `first`, waiting to be sent; `builder` already holds `first`. */
function newBatch(
  topic: string,
  partition: number,
  first: PendingRecord,
  builder: RecordBatchBuilder,
  settings: BatchSettings,
  now: number,
): ProducerBatch {
  return {
    topic,
    partition,
    runs: new RecordRuns(first.outcome, first.index, first.timestamp),
    journaled: first.journalId >= 0,
    builder,
    built: undefined,
    settings,
    createdAt: now,
    deadline: first.deadline,
    bytes: first.size,
    baseSequence: -1,
    epoch: -1,
    attempts: 0,
    retryAt: 0,
    awaitsMetadata: 0,
    metadataWaitUntil: 0,
    expired: false,
    resequenced: false,
    inDoubt: false,
    possiblyWritten: false,
    onWire: false,
    lastError: undefined,
    compressing: false,
    compressedRecords: undefined,
    compressInline: false,
  };
}

/** Adds a record the batch's builder has just taken to the batch's columns. */
function joined(batch: ProducerBatch, record: PendingRecord): void {
  batch.runs.add(record.outcome, record.index, record.timestamp);
  batch.bytes += record.size;
  if (record.deadline < batch.deadline) batch.deadline = record.deadline;
}

/**
 * A batch's records read back from its bytes (built, or built now and given up: the caller
 * replaces the batch), for the rare paths that regroup records: a split, records the broker
 * refused, a withdrawn send(). Copies: the batch's pooled memory is returned here.
 */
export function batchRecords(batch: ProducerBatch): RecordInput[] {
  let built = batch.built;
  if (!built) {
    built = (batch.builder as RecordBatchBuilder).build();
    batch.builder = undefined;
  }
  const bytes = Buffer.concat(built.pieces, built.size);
  built.release();
  batch.built = undefined;
  const records: RecordInput[] = [];
  for (const record of (parseRecordBatches(bytes)[0] as RecordBatch).records()) {
    const headers = record.headers.length > 0 ? record.headers : undefined;
    records.push({ key: record.key, value: record.value, headers, timestamp: Number(record.timestamp) });
  }
  return records;
}

/** Is `other` a numbered batch that comes before `batch` in their partition's sequence? */
function isEarlier(other: ProducerBatch, batch: ProducerBatch): boolean {
  return other !== batch && other.baseSequence >= 0 && other.baseSequence < batch.baseSequence;
}

/** Sequence order, with batches not numbered yet after all the numbered ones, oldest first. */
function bySequence(a: ProducerBatch, b: ProducerBatch): number {
  return (a.baseSequence < 0 ? Infinity : a.baseSequence) - (b.baseSequence < 0 ? Infinity : b.baseSequence) || a.createdAt - b.createdAt;
}

/**
 * Per-partition batches (Java's RecordAccumulator): a record goes into its partition's open batch
 * until the batch reaches batchSize (then it is closed and a new one opens) or has waited
 * lingerMs. The sender asks what may be sent and hands batches back as they go out, come back
 * for another attempt, or settle; the queues themselves stay in here.
 */
export class Accumulator {
  /** Every partition's queue, in the order first used. */
  private readonly queues: PartitionQueue[] = [];
  /** The same queues by topic, indexed by partition: found without building a key per record. */
  private readonly byTopic = new Map<string, PartitionQueue[]>();
  /** The earliest delivery deadline of a batch not yet expired, as of the last expire(); Infinity when none. */
  nextDeadline = Infinity;

  constructor(
    private readonly options: AccumulatorOptions,
    /** Read only when a batch opens: a clock call per record costs more than the rest of appending it. */
    private readonly clock: Clock,
  ) {}

  private queue(topic: string, partition: number): PartitionQueue {
    let partitions = this.byTopic.get(topic);
    if (!partitions) this.byTopic.set(topic, (partitions = []));
    let queue = partitions[partition];
    if (!queue) {
      const connection = this.queues.length % (this.options.connectionsPerBroker ?? 1);
      queue = { topic, partition, connection, open: undefined, ready: [], inFlight: [], recovering: false, acknowledged: false };
      partitions[partition] = queue;
      this.queues.push(queue);
    }
    return queue;
  }

  /** Which of its leader's produce connections the partition's requests go over (0 for one not seen yet). */
  connectionOf(topic: string, partition: number): number {
    return this.byTopic.get(topic)?.[partition]?.connection ?? 0;
  }

  /** Adds a record to its partition's open batch (closing it and opening another when full). */
  append(topic: string, partition: number, record: PendingRecord): void {
    const queue = this.queue(topic, partition);
    const open = queue.open;
    if (open?.builder?.tryAppend(record)) {
      joined(open, record);
      if (open.builder.sizeInBytes >= this.options.batchSize) this.close(queue);
      return;
    }
    if (open) this.close(queue);
    const settings = this.batchSettings();
    queue.open = newBatch(
      topic,
      partition,
      record,
      new RecordBatchBuilder(settings, this.options.batchSize, record),
      settings,
      this.clock.now(),
    );
  }

  private batchSettings(): BatchSettings {
    return { compression: this.options.compression, compressionLevel: this.options.compressionLevel };
  }

  /**
   * Puts back a batch a durable producer's journal says went out before a restart, with its
   * numbers, behind the partition's other restored batches: it is resent as it was, so that
   * the broker recognises a copy it already has.
   */
  restore(topic: string, partition: number, records: PendingRecord[], baseSequence: number, epoch: number): void {
    const queue = this.queue(topic, partition);
    const settings = this.batchSettings();
    // Room for every record (with slack for their offset and timestamp deltas): the batch must hold exactly the records it held before.
    const capacity = records.reduce((sum, record) => sum + recordSize(record, 0, 0) + 20, BATCH_HEADER_SIZE);
    const builder = new RecordBatchBuilder(settings, capacity);
    const [first, ...rest] = records as [PendingRecord, ...PendingRecord[]];
    if (!builder.tryAppend(first)) throw new Error('internal error: a restored batch did not fit the room made for it');
    const batch = newBatch(topic, partition, first, builder, settings, this.clock.now());
    for (const record of rest) {
      if (!builder.tryAppend(record)) throw new Error('internal error: a restored batch did not fit the room made for it');
      joined(batch, record);
    }
    Object.assign(batch, { baseSequence, epoch, inDoubt: true, possiblyWritten: true });
    queue.ready.push(batch);
  }

  /** Closes the partition's open batch so the sender may take it. */
  private close(queue: PartitionQueue): void {
    if (!queue.open) return;
    queue.ready.push(queue.open);
    queue.open = undefined;
  }

  /**
   * Closes each open batch that can go now and should: at once when its connection to its leader
   * has nothing in flight (an idle connection gains nothing by waiting: low latency at modest
   * rates), else once it has lingered lingerMs, so that batches fill while requests are in flight
   * (full batches at high rates). Either way only when nothing waits before it in its partition,
   * which has room in flight, as does that connection (`connectionInFlight`: requests in flight on
   * it, Infinity while the partition has no leader). One that cannot go stays open and keeps
   * taking records until it can, as Java's accumulator appends to a partition's last batch until
   * it is drained: behind a slow broker the backlog then travels in full batches, not in one small
   * batch per linger (found by npm run faults: under a slow disk a producer sent 5 records a
   * request and fell behind its load). `everything` closes every open batch. Returns the earliest
   * linger deadline still to come.
   */
  closeLingering(
    now: number,
    everything: boolean,
    maxInFlight: number,
    connectionInFlight: (topic: string, partition: number, connection: number) => number,
  ): number {
    let next = Infinity;
    for (const queue of this.queues) {
      const open = queue.open;
      if (!open) continue;
      if (everything) {
        this.close(queue);
        continue;
      }
      const due = open.createdAt + this.options.lingerMs;
      if (queue.ready.length > 0) {
        if (due > now) next = Math.min(next, due);
        continue;
      }
      const connectionLoad = connectionInFlight(queue.topic, queue.partition, queue.connection);
      if (due > now) {
        if (connectionLoad === 0 && queue.inFlight.length === 0) this.close(queue);
        else next = Math.min(next, due);
      } else if (connectionLoad === Infinity || (this.hasRoom(queue, maxInFlight) && connectionLoad < maxInFlight)) {
        // Without a leader it goes to the sender all the same, which asks for metadata and looks again soon.
        this.close(queue);
      }
    }
    return next;
  }

  /** May the partition put another batch in flight? One recovering from an error, or not yet acknowledged, sends one at a time. */
  private hasRoom(queue: PartitionQueue, maxInFlight: number): boolean {
    return queue.inFlight.length < (queue.recovering || !queue.acknowledged ? 1 : maxInFlight);
  }

  /** Records held per topic: in open batches, in closed batches waiting to be sent, and in flight (waiting for acks). */
  queuedByTopic(): Map<string, { batching: number; waitingToSend: number; waitingForAcks: number }> {
    const byTopic = new Map<string, { batching: number; waitingToSend: number; waitingForAcks: number }>();
    const count = (batches: readonly ProducerBatch[]) => batches.reduce((sum, batch) => sum + batch.runs.count, 0);
    for (const queue of this.queues) {
      let entry = byTopic.get(queue.topic);
      if (!entry) byTopic.set(queue.topic, (entry = { batching: 0, waitingToSend: 0, waitingForAcks: 0 }));
      entry.batching += queue.open?.runs.count ?? 0;
      entry.waitingToSend += count(queue.ready);
      entry.waitingForAcks += count(queue.inFlight);
    }
    return byTopic;
  }

  /** True while any record is held anywhere: open, waiting, or in flight. */
  get hasPending(): boolean {
    for (const queue of this.queues) if (queue.open || queue.ready.length > 0 || queue.inFlight.length > 0) return true;
    return false;
  }

  get hasInFlight(): boolean {
    for (const queue of this.queues) if (queue.inFlight.length > 0) return true;
    return false;
  }

  /**
   * The batch each partition may send now (its first waiting one), and the earliest time a
   * partition held back by a retry backoff, or waiting for metadata, may send. A partition
   * recovering from an error, or with nothing acknowledged yet, sends one batch at a time; none
   * has more than `maxInFlight` out.
   */
  sendable(now: number, maxInFlight: number, metadataAnswered: number): { batches: ProducerBatch[]; nextRetryAt: number } {
    const batches: ProducerBatch[] = [];
    let nextRetryAt = Infinity;
    for (const queue of this.queues) {
      const batch = queue.ready[0];
      if (!batch) continue;
      const at = retryTime(batch, metadataAnswered);
      if (at > now) {
        nextRetryAt = Math.min(nextRetryAt, at);
        continue;
      }
      if (!this.hasRoom(queue, maxInFlight)) continue;
      batches.push(batch);
    }
    return { batches, nextRetryAt };
  }

  /** The batch goes on the wire: from the front of its queue to its in-flight list. */
  markSent(batch: ProducerBatch): void {
    const queue = this.queue(batch.topic, batch.partition);
    queue.ready.splice(queue.ready.indexOf(batch), 1);
    queue.inFlight.push(batch);
    batch.attempts++;
    batch.onWire = false;
    batch.awaitsMetadata = 0;
  }

  /** Takes a waiting batch out (it could not be built, or it failed for good before going out). */
  removeWaiting(batch: ProducerBatch): void {
    const queue = this.queue(batch.topic, batch.partition);
    const at = queue.ready.indexOf(batch);
    if (at >= 0) queue.ready.splice(at, 1);
  }

  /** The answer (or failure) of an attempt came back: the batch is no longer in flight. */
  returned(batch: ProducerBatch): void {
    const queue = this.queue(batch.topic, batch.partition);
    queue.inFlight.splice(queue.inFlight.indexOf(batch), 1);
  }

  /** The partition sends nothing more while this batch is in flight: what comes of it is being worked out. */
  holdPartition(batch: ProducerBatch): void {
    this.queue(batch.topic, batch.partition).recovering = true;
  }

  /** The batch was written: it leaves its in-flight list, and a partition with nothing more in flight has recovered. */
  completed(batch: ProducerBatch): void {
    const queue = this.queue(batch.topic, batch.partition);
    queue.inFlight.splice(queue.inFlight.indexOf(batch), 1);
    queue.acknowledged = true;
    if (queue.inFlight.length === 0) queue.recovering = false;
  }

  /** Puts batches back for another attempt, in sequence order, and sends the partition's batches one at a time until it recovers. */
  putBack(...batches: ProducerBatch[]): void {
    if (batches.length === 0) return;
    const queue = this.queue((batches[0] as ProducerBatch).topic, (batches[0] as ProducerBatch).partition);
    queue.recovering = true;
    queue.ready.push(...batches);
    queue.ready.sort(bySequence);
  }

  /**
   * Is a batch with a lower sequence of the same partition not on the wire: waiting to be sent
   * again (put back after a failed attempt), or in another request that has not been written yet?
   */
  hasEarlierNotOnWire(batch: ProducerBatch): boolean {
    const queue = this.queue(batch.topic, batch.partition);
    // `ready` is in sequence order (numbered batches first): its front is the earliest.
    const front = queue.ready[0];
    return (
      (front !== undefined && isEarlier(front, batch)) ||
      queue.inFlight.some((other) => isEarlier(other, batch) && !other.onWire && !other.expired)
    );
  }

  /** Is a batch with a lower sequence of the same partition still unacknowledged (waiting or in flight)? */
  hasEarlierUnacknowledged(batch: ProducerBatch): boolean {
    const queue = this.queue(batch.topic, batch.partition);
    const earlier = (other: ProducerBatch) => isEarlier(other, batch);
    return queue.inFlight.some(earlier) || queue.ready.some(earlier);
  }

  /**
   * A new, unbuilt batch for some of a batch's records (`records`: all of them, read back by
   * batchRecords(); `positions`: which to keep, in order), holding `bytes` of bufferMemory, with
   * `baseSequence` when given.
   */
  rebatch(
    batch: ProducerBatch,
    records: readonly RecordInput[],
    positions: readonly number[],
    bytes: number,
    baseSequence: number,
  ): ProducerBatch {
    const first = records[positions[0] as number] as RecordInput;
    // The builder reads these settings when it builds, so it must share the batch's object.
    const settings = { ...batch.settings };
    const builder = new RecordBatchBuilder(settings, this.options.batchSize, first);
    for (let i = 1; i < positions.length; i++) {
      if (!builder.tryAppend(records[positions[i] as number] as RecordInput))
        throw new Error('internal error: a record no longer fits the batch it came from');
    }
    return {
      ...batch,
      runs: batch.runs.subset(positions),
      builder,
      built: undefined,
      settings,
      bytes,
      baseSequence,
      expired: false,
      inDoubt: false,
      // Split (too large to have been written) or stripped of records the broker refused: this content was never written.
      possiblyWritten: false,
      onWire: false,
      compressing: false,
      compressedRecords: undefined,
      compressInline: false,
    };
  }

  /**
   * Takes an aborted record out of the batch holding it, if that batch has not been built for the
   * wire (the rest of the batch is rebuilt without it). False when it is on its way already.
   */
  withdraw(topic: string, partition: number, record: PendingRecord): boolean {
    const queue = this.queue(topic, partition);
    let position = -1;
    const batch = [queue.open, ...queue.ready].find((candidate) => {
      if (!candidate?.builder) return false;
      position = candidate.runs.positionOf(record.outcome, record.index);
      return position >= 0;
    });
    if (!batch) return false;
    const records = batchRecords(batch);
    const remaining = records.map((_, at) => at).filter((at) => at !== position);
    const replacement = remaining.length > 0 ? this.rebatch(batch, records, remaining, batch.bytes - record.size, -1) : undefined;
    if (queue.open === batch) queue.open = replacement;
    else if (replacement) queue.ready.splice(queue.ready.indexOf(batch), 1, replacement);
    else queue.ready.splice(queue.ready.indexOf(batch), 1);
    return true;
  }

  /**
   * Batches whose every record is past its delivery deadline: those in flight (marked expired,
   * left in flight for their answer) and those waiting at the front of a partition with nothing
   * in flight, open ones included (taken out). Sets nextDeadline.
   */
  expire(now: number): ExpiredBatches {
    // Called on every drain, and nothing expires almost always: the lists are made only when needed.
    let inFlight: ProducerBatch[] | undefined;
    let waiting: ProducerBatch[] | undefined;
    let nextDeadline = Infinity;
    for (const queue of this.queues) {
      for (const batch of queue.inFlight) {
        if (batch.expired) continue;
        if (!batchDue(batch, now)) {
          nextDeadline = Math.min(nextDeadline, batch.deadline);
          continue;
        }
        batch.expired = true;
        (inFlight ??= []).push(batch);
      }
      // Behind batches still in flight, a waiting one expires once those have (their answers only free them).
      while (queue.ready.length > 0 && queue.inFlight.every(isExpired) && batchDue(queue.ready[0] as ProducerBatch, now)) {
        (waiting ??= []).push(queue.ready.shift() as ProducerBatch);
      }
      // An open batch kept open because its partition could not send (closeLingering) expires as a closed one would.
      const open = queue.open;
      if (open && queue.ready.length === 0 && queue.inFlight.every(isExpired) && batchDue(open, now)) {
        (waiting ??= []).push(open);
        queue.open = undefined;
      }
      // A queue's batches are in creation order: the first waiting one (or the open one) is due first.
      const first = queue.ready[0] ?? queue.open;
      if (first) nextDeadline = Math.min(nextDeadline, first.deadline);
    }
    this.nextDeadline = nextDeadline;
    return inFlight || waiting ? { inFlight: inFlight ?? [], waiting: waiting ?? [] } : NOTHING_EXPIRED;
  }

  /**
   * After an epoch bump: every partition starts afresh (no longer recovering, and nothing yet
   * acknowledged under the new epoch, which may be a new producer id), and `renumber` is called
   * for each waiting batch that has a sequence, partition by partition in sequence order.
   */
  renumber(renumber: (batch: ProducerBatch) => void): void {
    for (const queue of this.queues) {
      queue.recovering = false;
      queue.acknowledged = false;
      for (const batch of queue.ready) if (batch.baseSequence >= 0) renumber(batch);
    }
  }

  /**
   * The first waiting batch of each partition that may already have been written (see
   * ProducerBatch.inDoubt), to be settled one at a time: a broker keeps one batch per partition
   * of a request, and a later batch first would be refused as out of order. Only the front of a
   * partition can be in doubt: a batch behind one the broker surely did not write was not
   * written either (the broker keeps sequences in order), so those lose their doubt here.
   */
  inDoubt(): ProducerBatch[] {
    const found: ProducerBatch[] = [];
    for (const queue of this.queues) {
      let front = true;
      for (const batch of queue.ready) {
        if (batch.baseSequence < 0) break;
        if (front && batch.inDoubt) {
          if (batch === queue.ready[0]) found.push(batch);
        } else {
          front = false;
          batch.inDoubt = false;
        }
      }
    }
    return found;
  }

  /** Takes every batch not on the wire out (open and waiting), for the caller to fail. */
  takeAllWaiting(): ProducerBatch[] {
    const taken: ProducerBatch[] = [];
    for (const queue of this.queues) {
      if (queue.open) taken.push(queue.open);
      taken.push(...queue.ready);
      queue.open = undefined;
      queue.ready = [];
    }
    return taken;
  }
}
