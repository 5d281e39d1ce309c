import { type BatchSettings, type BuiltBatch, RecordBatchBuilder, type RecordInput } from '../records/batch-builder.js';
import type { CompressionName } from '../records/compression.js';
import type { RecordOutcome } from './outcomes.js';

/** One record waiting for its acknowledgement: its own input to the batch builder, and where its outcome goes. */
export interface PendingRecord extends RecordInput {
  /** Bytes it holds of bufferMemory. */
  size: number;
  deadline: number;
  outcome: RecordOutcome;
  /** Its place in the send() or sendMany() call. */
  index: number;
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
  /** bufferMemory this batch's records hold. */
  bytes: number;
  /** Assigned when the batch is first sent (idempotence); −1 before. */
  baseSequence: number;
  attempts: number;
  /** Not sent again before this time (retry backoff). */
  retryAt: number;
  /** Its records were failed at their delivery deadline while it was in flight; its answer only frees it. */
  expired: boolean;
  /** Already resent once under a bumped epoch after a sequence error (KIP-360). */
  resequenced: boolean;
  /** Why its last attempt failed, for the error its records get if they time out waiting for the next. */
  lastError: Error | undefined;
}

/** Everything the producer tracks for one partition: its open batch, closed batches waiting, and batches in flight. */
export interface PartitionQueue {
  topic: string;
  partition: number;
  open: ProducerBatch | undefined;
  /** Closed batches in send order; batches to retry go back to the front, in sequence order. */
  ready: ProducerBatch[];
  inFlight: ProducerBatch[];
  /** Next sequence number to assign (idempotence). */
  nextSequence: number;
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
 * Per-partition batches filled by concurrent send() calls: a record goes into its partition's
 * open batch until the batch reaches batchSize (then it is closed and a new one opens) or has
 * waited lingerMs. The sender takes closed batches from here.
 */
export class Accumulator {
  /** Every partition's queue, in the order first used. */
  readonly queues: PartitionQueue[] = [];
  /** The same queues by topic, indexed by partition: found without building a key per record. */
  private readonly byTopic = new Map<string, PartitionQueue[]>();

  constructor(private readonly options: AccumulatorOptions) {}

  queue(topic: string, partition: number): PartitionQueue {
    let partitions = this.byTopic.get(topic);
    if (!partitions) this.byTopic.set(topic, (partitions = []));
    let queue = partitions[partition];
    if (!queue) {
      queue = { topic, partition, open: undefined, ready: [], inFlight: [], nextSequence: 0, recovering: false };
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
      createdAt: Date.now(),
      bytes: record.size,
      baseSequence: -1,
      attempts: 0,
      retryAt: 0,
      expired: false,
      resequenced: false,
      lastError: undefined,
    };
  }

  /** Closes the partition's open batch so the sender may take it. */
  close(queue: PartitionQueue): void {
    if (!queue.open) return;
    queue.ready.push(queue.open);
    queue.open = undefined;
  }

  /**
   * Closes every open batch that has lingered long enough (all of them when `everything`);
   * returns the earliest linger deadline still pending.
   */
  closeLingering(now: number, everything: boolean): number {
    let next = Infinity;
    for (const queue of this.queues) {
      const open = queue.open;
      if (!open) continue;
      const due = open.createdAt + this.options.lingerMs;
      if (everything || due <= now) this.close(queue);
      else next = Math.min(next, due);
    }
    return next;
  }

  /** True while any record is held anywhere: open, waiting, or in flight. */
  get hasPending(): boolean {
    for (const queue of this.queues) if (queue.open || queue.ready.length > 0 || queue.inFlight.length > 0) return true;
    return false;
  }
}
