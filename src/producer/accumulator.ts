import {
  BATCH_HEADER_SIZE,
  type BatchSettings,
  type BuiltBatch,
  RecordBatchBuilder,
  type RecordInput,
  recordSize,
} from '../records/batch-builder.js';
import type { CompressionName } from '../records/compression.js';
import type { Clock } from './clock.js';
import type { RecordOutcome } from './outcomes.js';

/** One record waiting for its acknowledgement: its own input to the batch builder, and where its outcome goes. */
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
  records: PendingRecord[];
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
}

/** Everything kept for one partition: its open batch, closed batches waiting, and batches in flight. */
interface PartitionQueue {
  topic: string;
  partition: number;
  open: ProducerBatch | undefined;
  /** Closed batches in send order; batches to retry go back to the front, in sequence order. */
  ready: ProducerBatch[];
  inFlight: ProducerBatch[];
  /** True after a retriable failure until every batch in flight has come back: then batches go one at a time. */
  recovering: boolean;
}

export interface AccumulatorOptions {
  batchSize: number;
  lingerMs: number;
  compression: CompressionName;
  compressionLevel?: number;
}

/**
 * A batch is past its delivery deadline once its first (oldest) record is, as the Java client
 * times a batch from its creation: its later records then fail a little before their own
 * deadline rather than its first one long after.
 */
export function batchDue(batch: ProducerBatch, now: number): boolean {
  return batch.deadline <= now;
}

/** When a batch put back may go again: after its backoff, and after the metadata it awaits (or the wait for it) if any. */
export function retryTime(batch: ProducerBatch, metadataAnswered: number): number {
  return batch.awaitsMetadata > metadataAnswered ? Math.max(batch.retryAt, batch.metadataWaitUntil) : batch.retryAt;
}

function earliestDeadline(records: readonly PendingRecord[]): number {
  let first = Number.POSITIVE_INFINITY;
  for (const record of records) if (record.deadline < first) first = record.deadline;
  return first;
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
      queue = { topic, partition, open: undefined, ready: [], inFlight: [], recovering: false };
      partitions[partition] = queue;
      this.queues.push(queue);
    }
    return queue;
  }

  /** Adds a record to its partition's open batch (closing it and opening another when full). */
  append(topic: string, partition: number, record: PendingRecord): void {
    const queue = this.queue(topic, partition);
    const open = queue.open;
    if (open?.builder?.tryAppend(record)) {
      open.records.push(record);
      open.bytes += record.size;
      if (record.deadline < open.deadline) open.deadline = record.deadline;
      if (open.builder.sizeInBytes >= this.options.batchSize) this.close(queue);
      return;
    }
    if (open) this.close(queue);
    const settings: BatchSettings = { compression: this.options.compression, compressionLevel: this.options.compressionLevel };
    queue.open = {
      topic,
      partition,
      records: [record],
      builder: new RecordBatchBuilder(settings, this.options.batchSize, record),
      built: undefined,
      settings,
      createdAt: this.clock.now(),
      deadline: record.deadline,
      bytes: record.size,
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
    };
  }

  /**
   * Puts back a batch a durable producer's journal says went out before a restart, with its
   * numbers, behind the partition's other restored batches: it is resent as it was, so that
   * the broker recognises a copy it already has.
   */
  restore(topic: string, partition: number, records: PendingRecord[], baseSequence: number, epoch: number): void {
    const queue = this.queue(topic, partition);
    const settings: BatchSettings = { compression: this.options.compression, compressionLevel: this.options.compressionLevel };
    // Room for every record (with slack for their offset and timestamp deltas): the batch must hold exactly the records it held before.
    const capacity = records.reduce((sum, record) => sum + recordSize(record, 0, 0) + 20, BATCH_HEADER_SIZE);
    const builder = new RecordBatchBuilder(settings, capacity);
    for (const record of records) {
      if (!builder.tryAppend(record)) throw new Error('internal error: a restored batch did not fit the room made for it');
    }
    queue.ready.push({
      topic,
      partition,
      records,
      builder,
      built: undefined,
      settings,
      createdAt: this.clock.now(),
      deadline: earliestDeadline(records),
      bytes: records.reduce((sum, record) => sum + record.size, 0),
      baseSequence,
      epoch,
      attempts: 0,
      retryAt: 0,
      awaitsMetadata: 0,
      metadataWaitUntil: 0,
      expired: false,
      resequenced: false,
      inDoubt: true,
      possiblyWritten: true,
      onWire: false,
      lastError: undefined,
    });
  }

  /** Closes the partition's open batch so the sender may take it. */
  private close(queue: PartitionQueue): void {
    if (!queue.open) return;
    queue.ready.push(queue.open);
    queue.open = undefined;
  }

  /**
   * Closes each open batch that can go now and should: at once when its leader has nothing in
   * flight (an idle connection gains nothing by waiting: low latency at modest rates), else once
   * it has lingered lingerMs, so that batches fill while requests are in flight (full batches at
   * high rates). Either way only when nothing waits before it in its partition, which has room
   * in flight, as does its leader (`leaderInFlight`: requests in flight to the partition's
   * leader, Infinity without one). One that cannot go stays open and keeps taking records until
   * it can, as Java's accumulator appends to a partition's last batch until it is drained: behind
   * a slow broker the backlog then travels in full batches, not in one small batch per linger
   * (found by npm run faults: under a slow disk a producer sent 5 records a request and fell
   * behind its load). `everything` closes every open batch. Returns the earliest linger deadline
   * still to come.
   */
  closeLingering(
    now: number,
    everything: boolean,
    maxInFlight: number,
    leaderInFlight: (topic: string, partition: number) => number,
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
      const leaderLoad = leaderInFlight(queue.topic, queue.partition);
      if (due > now) {
        if (leaderLoad === 0 && queue.inFlight.length === 0) this.close(queue);
        else next = Math.min(next, due);
      } else if (leaderLoad === Infinity || (this.hasRoom(queue, maxInFlight) && leaderLoad < maxInFlight)) {
        // Without a leader it goes to the sender all the same, which asks for metadata and looks again soon.
        this.close(queue);
      }
    }
    return next;
  }

  /** May the partition put another batch in flight? One recovering from an error sends one at a time. */
  private hasRoom(queue: PartitionQueue, maxInFlight: number): boolean {
    return queue.inFlight.length < (queue.recovering ? 1 : maxInFlight);
  }

  /** Records held per topic: in open batches, in closed batches waiting to be sent, and in flight (waiting for acks). */
  queuedByTopic(): Map<string, { batching: number; waitingToSend: number; waitingForAcks: number }> {
    const byTopic = new Map<string, { batching: number; waitingToSend: number; waitingForAcks: number }>();
    const count = (batches: readonly ProducerBatch[]) => batches.reduce((sum, batch) => sum + batch.records.length, 0);
    for (const queue of this.queues) {
      let entry = byTopic.get(queue.topic);
      if (!entry) byTopic.set(queue.topic, (entry = { batching: 0, waitingToSend: 0, waitingForAcks: 0 }));
      entry.batching += queue.open?.records.length ?? 0;
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
   * recovering from an error sends one batch at a time; none has more than `maxInFlight` out.
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

  /** A new, unbuilt batch for some of a batch's records, keeping their order (and, when given, a sequence). */
  rebatch(batch: ProducerBatch, records: PendingRecord[], baseSequence: number): ProducerBatch {
    const first = records[0] as PendingRecord;
    // The builder reads these settings when it builds, so it must share the batch's object.
    const settings = { ...batch.settings };
    const replacement: ProducerBatch = {
      ...batch,
      records: [first],
      builder: new RecordBatchBuilder(settings, this.options.batchSize, first),
      built: undefined,
      settings,
      deadline: earliestDeadline(records),
      bytes: records.reduce((sum, record) => sum + record.size, 0),
      baseSequence,
      expired: false,
      inDoubt: false,
      // Split (too large to have been written) or stripped of records the broker refused: this content was never written.
      possiblyWritten: false,
      onWire: false,
    };
    for (const record of records.slice(1)) {
      if (!replacement.builder?.tryAppend(record)) throw new Error('internal error: a record no longer fits the batch it came from');
      replacement.records.push(record);
    }
    return replacement;
  }

  /**
   * Takes an aborted record out of the batch holding it, if that batch has not been built for the
   * wire (the rest of the batch is rebuilt without it). False when it is on its way already.
   */
  withdraw(topic: string, partition: number, record: PendingRecord): boolean {
    const queue = this.queue(topic, partition);
    const batch = [queue.open, ...queue.ready].find((candidate) => candidate?.builder && candidate.records.includes(record));
    if (!batch) return false;
    const remaining = batch.records.filter((other) => other !== record);
    const replacement = remaining.length > 0 ? this.rebatch(batch, remaining, -1) : undefined;
    batch.builder?.discard();
    if (queue.open === batch) queue.open = replacement;
    else if (replacement) queue.ready.splice(queue.ready.indexOf(batch), 1, replacement);
    else queue.ready.splice(queue.ready.indexOf(batch), 1);
    return true;
  }

  /**
   * Batches whose every record is past its delivery deadline: those in flight (marked expired,
   * left in flight for their answer) and those waiting at the front of a partition with nothing
   * in flight, open ones included (taken out).
   */
  expire(now: number): { inFlight: ProducerBatch[]; waiting: ProducerBatch[] } {
    const inFlight: ProducerBatch[] = [];
    const waiting: ProducerBatch[] = [];
    for (const queue of this.queues) {
      for (const batch of queue.inFlight) {
        if (batch.expired || !batchDue(batch, now)) continue;
        batch.expired = true;
        inFlight.push(batch);
      }
      // Behind batches still in flight, a waiting one expires once those have (their answers only free them).
      while (queue.ready.length > 0 && queue.inFlight.every((batch) => batch.expired) && batchDue(queue.ready[0] as ProducerBatch, now)) {
        waiting.push(queue.ready.shift() as ProducerBatch);
      }
      // An open batch kept open because its partition could not send (closeLingering) expires as a closed one would.
      const open = queue.open;
      if (open && queue.ready.length === 0 && queue.inFlight.every((batch) => batch.expired) && batchDue(open, now)) {
        waiting.push(open);
        queue.open = undefined;
      }
    }
    return { inFlight, waiting };
  }

  /**
   * After an epoch bump: every partition starts afresh (no longer recovering), and `renumber` is
   * called for each waiting batch that has a sequence, partition by partition in sequence order.
   */
  renumber(renumber: (batch: ProducerBatch) => void): void {
    for (const queue of this.queues) {
      queue.recovering = false;
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
