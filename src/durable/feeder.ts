import type { PendingRecord } from '../producer/accumulator.js';
import type { Admission } from '../producer/admission.js';
import type { BufferMemory } from '../producer/buffer-memory.js';
import type { RecordOutcome } from '../producer/outcomes.js';
import { recordSize } from '../records/batch-builder.js';
import { decodeRecord, EntryType, type JournalRecord } from './entries.js';
import type { Journal } from './journal.js';
import type { TopicTable } from './topic-table.js';

/** Records handed to the producer and waiting there for metadata: beyond this, the feeder waits. */
const IN_ADMISSION = 1024;
/**
 * Once the producer's bufferMemory is full, feeding resumes when this much of it (at most a
 * quarter) is free again: records go over in runs, not one per acknowledged batch, and none
 * waits in the producer's slower line for buffer room.
 */
const REFILL_BYTES = 1 << 20;

export interface FeederParts {
  journal: Journal;
  admission: Admission;
  /** The producer's bufferMemory: records are handed over while they fit in it. */
  buffer: BufferMemory;
  /** Takes every fed record's outcome, with its journal id as the index. */
  outcome: RecordOutcome;
  /** The journal's topics, for RECORD entries read back. */
  topics: TopicTable;
  /** Bytes of accepted records kept in memory for the producer; records beyond wait on disk only. */
  memoryBytes: number;
  /**
   * An id whose record, if it is one, cannot be read back: recovered as pending but no longer in
   * the journal (trimmed or damaged), or accepted, then found damaged on disk. Called for every
   * such id, records or not; `reason` says which.
   */
  missing: (id: number, reason: string) => void;
}

/**
 * Moves journaled records into the producer in journal order: first those a restart recovered
 * (read back from disk), then accepted ones. An accepted record is kept in memory while the
 * records waiting for the producer take less than `memoryBytes`; past that (the cluster is
 * away, or slower than enqueue()), records wait on disk only and are read back in order when
 * there is room, so memory stays bounded however long the outage.
 *
 * The hot path (an accepted record, the producer keeping up) hands the record over at once,
 * allocating nothing of its own.
 */
export class Feeder {
  /** The outcome every fed record carries: the producer's, and a wake-up when a record fails before joining a batch. */
  readonly outcome: RecordOutcome;
  private readonly parts: FeederParts;
  private readonly admission: Admission;
  private recovered: number[] = [];
  private recoveredAt = 0;
  /** Accepted records kept in memory, in order: topic, requested partition (−1: any) and the record, side by side. */
  private memoryTopics: string[] = [];
  private memoryPartitions: number[] = [];
  private memoryRecords: (PendingRecord | undefined)[] = [];
  private memoryAt = 0;
  private memoryUsed = 0;
  /** Accepted records from this id on wait on disk only. */
  private spilledFrom: number | undefined;
  private lastAdded = 0;
  private room: (() => void) | undefined;
  /** Cancels the wait for bufferMemory room, if one is set. */
  private cancelBufferWait: (() => void) | undefined;
  private readonly wake = (): void => {
    const room = this.room;
    this.room = undefined;
    this.cancelBufferWait?.();
    this.cancelBufferWait = undefined;
    room?.();
  };
  private running = false;
  private stopped = false;
  /** Until recover() is called nothing is fed: what the journal held goes before anything accepted since. */
  private held = true;

  constructor(parts: FeederParts) {
    this.parts = parts;
    this.admission = parts.admission;
    const { outcome } = parts;
    this.outcome = {
      resolved: outcome.resolved,
      rejected: (index, error) => {
        this.wake();
        outcome.rejected(index, error);
      },
    };
  }

  /** Recovered record ids (ascending), fed before anything accepted after the restart. */
  recover(ids: number[]): void {
    this.recovered = ids;
    this.recoveredAt = 0;
    this.held = false;
    this.run();
  }

  /**
   * A record just appended to the journal: `record` carries this feeder's outcome, its journal id
   * as index and journalId, and its size; `partition` is −1 for the partitioner to choose.
   */
  add(topic: string, partition: number, record: PendingRecord): void {
    this.lastAdded = record.journalId;
    if (this.spilledFrom === undefined && this.memoryUsed + record.size <= this.parts.memoryBytes) {
      // Straight through when nothing is ahead of it and the producer has room.
      if (!this.held && !this.running && this.memoryAt === this.memoryRecords.length && !this.blocked(record.size)) {
        this.admission.admitJournaled(topic, partition, record, this.wake);
        return;
      }
      this.memoryTopics.push(topic);
      this.memoryPartitions.push(partition);
      this.memoryRecords.push(record);
      this.memoryUsed += record.size;
    } else {
      this.spilledFrom ??= record.journalId;
    }
    this.run();
  }

  /** Records accepted but not yet handed to the producer (in memory or on disk). */
  get backlog(): number {
    return this.recovered.length - this.recoveredAt + this.memoryRecords.length - this.memoryAt + (this.spilledFrom === undefined ? 0 : 1);
  }

  stop(): void {
    this.stopped = true;
    this.wake();
  }

  /** Whether a record of `size` bytes must wait before it is handed over (the producer would line it up). */
  private blocked(size: number): boolean {
    return this.admission.waiting >= IN_ADMISSION || !this.parts.buffer.fitsNow(size);
  }

  private run(): void {
    if (this.running || this.stopped || this.held) return;
    this.running = true;
    this.feed()
      .catch(() => undefined) // a closed journal: the records stay on disk for the next start
      .finally(() => {
        this.running = false;
        // A record added after the loop's last look, while it was finishing, must not wait for the next add().
        if (this.recoveredAt < this.recovered.length || this.memoryAt < this.memoryRecords.length || this.spilledFrom !== undefined) {
          this.run();
        }
      });
  }

  private async feed(): Promise<void> {
    while (!this.stopped) {
      if (this.recoveredAt < this.recovered.length) await this.feedRecovered();
      else if (this.memoryAt < this.memoryRecords.length) await this.feedFromMemory();
      else if (this.spilledFrom !== undefined) await this.feedSpilled(this.spilledFrom);
      else return;
    }
  }

  /** Accepted records kept in memory, as the producer has room. */
  private async feedFromMemory(): Promise<void> {
    while (this.memoryAt < this.memoryRecords.length && !this.stopped) {
      const size = (this.memoryRecords[this.memoryAt] as PendingRecord).size;
      if (this.blocked(size)) {
        await this.whenRoom(size);
        continue;
      }
      const at = this.memoryAt++;
      const record = this.memoryRecords[at] as PendingRecord;
      this.memoryRecords[at] = undefined;
      this.memoryUsed -= record.size;
      this.admission.admitJournaled(this.memoryTopics[at] as string, this.memoryPartitions[at] as number, record, this.wake);
    }
    if (this.memoryAt === this.memoryRecords.length) {
      this.memoryTopics = [];
      this.memoryPartitions = [];
      this.memoryRecords = [];
      this.memoryAt = 0;
    }
  }

  /** The recovered ids, read from disk in one pass. */
  private async feedRecovered(): Promise<void> {
    for await (const entry of this.parts.journal.readFrom(this.recovered[this.recoveredAt])) {
      if (this.stopped) return;
      while (this.recoveredAt < this.recovered.length && (this.recovered[this.recoveredAt] as number) < entry.id) {
        this.parts.missing(this.recovered[this.recoveredAt++] as number, NOT_IN_JOURNAL);
      }
      if (this.recoveredAt >= this.recovered.length) return;
      if (entry.id !== this.recovered[this.recoveredAt] || entry.type !== EntryType.RECORD) continue;
      this.recoveredAt++;
      if (!(await this.handOverFromDisk(entry.id, entry.payload))) return;
    }
    while (this.recoveredAt < this.recovered.length) this.parts.missing(this.recovered[this.recoveredAt++] as number, NOT_IN_JOURNAL);
  }

  /**
   * Accepted records that went to disk only, from `from` to what the journal holds now, in order;
   * memory takes over again once they are all fed. An id the read skipped (damage found since the
   * record was accepted) is reported missing: read again, it would only fail again.
   */
  private async feedSpilled(from: number): Promise<void> {
    const end = this.parts.journal.nextId;
    let expected = from;
    for await (const entry of this.parts.journal.readFrom(from)) {
      if (this.stopped) return;
      while (expected < entry.id) this.parts.missing(expected++, DAMAGED_ON_DISK);
      expected = entry.id + 1;
      if (entry.type !== EntryType.RECORD) continue;
      if (!(await this.handOverFromDisk(entry.id, entry.payload))) return;
    }
    if (this.stopped) return;
    while (expected < end) this.parts.missing(expected++, DAMAGED_ON_DISK);
    // Everything added before this point has been read: later records may go through memory again.
    this.spilledFrom = this.lastAdded >= end ? end : undefined;
  }

  /**
   * A RECORD entry read back, handed to the producer once it has room; false when the feeder
   * stopped meanwhile. No await when there is room: a read-back runs at the pace of the decode.
   */
  private async handOverFromDisk(id: number, payload: Buffer): Promise<boolean> {
    const stored = decodeRecord(payload, this.parts.topics);
    const pending = pendingFromJournal(stored, id, this.outcome);
    pending.size = recordSize(pending, 0, 0);
    if (this.blocked(pending.size)) await this.whenRoom(pending.size);
    if (this.stopped) return false;
    this.admission.admitJournaled(stored.topic, stored.partition, pending, this.wake);
    return true;
  }

  /** Until a record of `size` bytes can be handed over: the producer's line is short enough and bufferMemory has room. */
  private async whenRoom(size: number): Promise<void> {
    const buffer = this.parts.buffer;
    while (this.blocked(size) && !this.stopped) {
      await new Promise<void>((resolve) => {
        this.room = resolve;
        // Woken by a record leaving the line (wake), or by enough bufferMemory freed.
        if (this.admission.waiting < IN_ADMISSION) {
          this.cancelBufferWait = buffer.onRoomFor(Math.max(size, Math.min(REFILL_BYTES, buffer.limit / 4)), this.wake);
        }
      });
    }
  }
}

const NOT_IN_JOURNAL = 'recovered as pending, but no longer in the journal';
const DAMAGED_ON_DISK = 'accepted, but its journal entry was found damaged when read back to be sent';

/** A record read back from the journal, as the producer holds it: no delivery deadline (it waits on disk for the cluster). */
export function pendingFromJournal(stored: JournalRecord, id: number, outcome: RecordOutcome): PendingRecord {
  return {
    key: stored.key,
    value: stored.value,
    headers: stored.headers.length > 0 ? stored.headers : undefined,
    timestamp: stored.timestamp,
    size: 0,
    deadline: Number.POSITIVE_INFINITY,
    outcome,
    index: id,
    journalId: id,
  };
}
