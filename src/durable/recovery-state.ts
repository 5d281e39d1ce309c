import {
  decodeAck,
  decodeBatch,
  decodeCheckpoint,
  decodeFailed,
  decodeRecord,
  decodeTopic,
  EntryType,
  type JournalBatch,
  JournalEntryError,
} from './entries.js';
import { TopicTable } from './topic-table.js';

/** What a restart resumes from: the producer's numbers, the batches that may be on the broker, and the records still to send. */
export interface RecoveredState {
  /** The producer id and epoch of the last batch journaled (or of the checkpoint); undefined: none yet. */
  producer: { producerId: bigint; epoch: number } | undefined;
  /** Next sequence of each partition under that id and epoch ("topic\0partition" → sequence). */
  sequences: Map<string, { topic: string; partition: number; next: number }>;
  /**
   * Batches of the current id and epoch journaled but not acknowledged, each partition's in
   * sequence order: they may already be on the broker, so they are resent with the same numbers
   * and records, and the broker drops what it already has.
   */
  inDoubt: JournalBatch[];
  /** Ids of records accepted and not yet delivered, failed or in an in-doubt batch, in acceptance order. */
  pending: number[];
  /**
   * Records that went out in a batch of an older epoch and were never acknowledged: they are
   * sent again under new numbers, so the broker cannot recognise a copy it already has.
   */
  mayDuplicate: number;
  /** Why mayDuplicate is not 0. */
  mayDuplicateReason: string;
  /** Entries that passed their checksum but did not decode (reported, skipped). */
  undecodable: { id: number; reason: string }[];
  /** The topics RECORD entries name by number. */
  topics: TopicTable;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const batchKey = (batch: { topic: string; partition: number; producerId: bigint; epoch: number; baseSequence: number }) =>
  `${batch.topic}\u0000${batch.partition}\u0000${batch.producerId}\u0000${batch.epoch}\u0000${batch.baseSequence}`;

/**
 * Folds journal entries, oldest first, into what a restart needs. Records are only counted by
 * id here (their content is read back from the journal as they are sent), so recovering a
 * journal of millions of waiting records takes memory for their ids, not their bytes.
 */
export class RecoveryFold {
  private producer: RecoveredState['producer'];
  private readonly sequences: RecoveredState['sequences'] = new Map();
  /** Every record accepted and not yet done, by id, with the batch it was last journaled in. */
  private readonly open = new Map<number, string | undefined>();
  private readonly batches = new Map<string, JournalBatch>();
  private readonly undecodable: RecoveredState['undecodable'] = [];
  /** Declared so far (into the table given, if one is): a RECORD is decoded against the declarations before it. */
  constructor(readonly topics = new TopicTable()) {}

  add(id: number, type: number, payload: Buffer): void {
    try {
      this.apply(id, type, payload);
    } catch (error) {
      if (!(error instanceof JournalEntryError)) throw error;
      this.undecodable.push({ id, reason: error.message });
    }
  }

  private apply(id: number, type: number, payload: Buffer): void {
    switch (type) {
      case EntryType.RECORD:
        decodeRecord(payload, this.topics); // a record that does not decode is reported now, not when it is sent
        this.open.set(id, undefined);
        return;
      case EntryType.TOPIC: {
        const topic = decodeTopic(payload);
        this.topics.declare(topic.id, topic.name);
        return;
      }
      case EntryType.BATCH: {
        const batch = decodeBatch(payload);
        this.useProducer(batch.producerId, batch.epoch);
        const name = batchKey(batch);
        this.batches.set(name, batch);
        for (const recordId of batch.recordIds) if (this.open.has(recordId)) this.open.set(recordId, name);
        const next = (batch.baseSequence + batch.recordIds.length) % 0x80000000;
        const current = this.sequences.get(key(batch.topic, batch.partition));
        if (!current || isAfter(next, current.next)) {
          this.sequences.set(key(batch.topic, batch.partition), { topic: batch.topic, partition: batch.partition, next });
        }
        return;
      }
      case EntryType.ACK: {
        const name = batchKey(decodeAck(payload));
        const batch = this.batches.get(name);
        this.batches.delete(name);
        for (const recordId of batch?.recordIds ?? []) this.open.delete(recordId);
        return;
      }
      case EntryType.FAILED:
        for (const recordId of decodeFailed(payload)) this.open.delete(Number(recordId));
        return;
      case EntryType.CHECKPOINT: {
        const checkpoint = decodeCheckpoint(payload);
        this.useProducer(checkpoint.producerId, checkpoint.epoch);
        for (const entry of checkpoint.sequences) this.sequences.set(key(entry.topic, entry.partition), entry);
        return;
      }
      default:
        throw new JournalEntryError(`entry ${id} has type ${type}, which this version does not write`);
    }
  }

  /** A new producer id or epoch starts every partition at sequence 0. */
  private useProducer(producerId: bigint, epoch: number): void {
    if (this.producer?.producerId === producerId && this.producer.epoch === epoch) return;
    this.producer = { producerId, epoch };
    this.sequences.clear();
  }

  result(): RecoveredState {
    const current = this.producer;
    const inDoubt: JournalBatch[] = [];
    const inDoubtNames = new Set<string>();
    for (const [name, batch] of this.batches) {
      const live = batch.recordIds.some((recordId) => this.open.get(recordId) === name);
      if (!live || batch.producerId !== current?.producerId || batch.epoch !== current.epoch) continue;
      inDoubt.push(batch);
      inDoubtNames.add(name);
    }
    inDoubt.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.baseSequence - b.baseSequence);
    const pending: number[] = [];
    let mayDuplicate = 0;
    for (const [recordId, name] of this.open) {
      if (name !== undefined && inDoubtNames.has(name)) continue;
      pending.push(recordId);
      if (name !== undefined) mayDuplicate++;
    }
    pending.sort((a, b) => a - b);
    const mayDuplicateReason = 'records whose batch went out under an epoch since bumped are sent again under new numbers';
    return {
      producer: current,
      sequences: this.sequences,
      inDoubt,
      pending,
      mayDuplicate,
      mayDuplicateReason,
      undecodable: this.undecodable,
      topics: this.topics,
    };
  }
}

/** Sequence a comes after b (they wrap at 2^31). */
function isAfter(a: number, b: number): boolean {
  const distance = (a - b + 0x80000000) % 0x80000000;
  return distance > 0 && distance < 0x40000000;
}
