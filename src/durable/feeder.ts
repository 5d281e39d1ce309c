import type { Admission } from '../producer/admission.js';
import type { RecordOutcome } from '../producer/outcomes.js';
import type { ProducerRecord } from '../producer/record-input.js';
import { decodeRecord, EntryType, type JournalRecord } from './entries.js';
import type { Journal } from './journal.js';

/** Records handed to the producer and not yet in a batch: beyond this, the feeder waits (the producer's bufferMemory fills first). */
const IN_ADMISSION = 1024;

export interface FeederParts {
  journal: Journal;
  admission: Admission;
  /** Takes every fed record's outcome, with its journal id as the index. */
  outcome: RecordOutcome;
  /** Bytes of accepted records kept in memory for the producer; records beyond wait on disk only. */
  memoryBytes: number;
  /** A recovered record id that is no longer in the journal (trimmed or damaged): reported, skipped. */
  missing: (id: number) => void;
}

/**
 * Moves journaled records into the producer in journal order: first those a restart recovered
 * (read back from disk), then accepted ones. An accepted record is kept in memory while the
 * records waiting for the producer take less than `memoryBytes`; past that (the cluster is
 * away, or slower than enqueue()), records wait on disk only and are read back in order when
 * there is room, so memory stays bounded however long the outage.
 */
export class Feeder {
  private readonly parts: FeederParts;
  private recovered: number[] = [];
  private recoveredAt = 0;
  private readonly memory: ({ id: number; record: JournalRecord; size: number } | undefined)[] = [];
  private memoryAt = 0;
  private memoryUsed = 0;
  /** Accepted records from this id on wait on disk only. */
  private spilledFrom: number | undefined;
  private lastAdded = 0;
  private inAdmission = 0;
  private room: (() => void) | undefined;
  private running = false;
  private stopped = false;
  /** Until recover() is called nothing is fed: what the journal held goes before anything accepted since. */
  private held = true;

  constructor(parts: FeederParts) {
    this.parts = parts;
  }

  /** Recovered record ids (ascending), fed before anything accepted after the restart. */
  recover(ids: number[]): void {
    this.recovered = ids;
    this.recoveredAt = 0;
    this.held = false;
    this.run();
  }

  /** A record just appended to the journal. */
  add(id: number, record: JournalRecord, size: number): void {
    this.lastAdded = id;
    if (this.spilledFrom === undefined && this.memoryUsed + size <= this.parts.memoryBytes) {
      this.memory.push({ id, record, size });
      this.memoryUsed += size;
    } else {
      this.spilledFrom ??= id;
    }
    this.run();
  }

  /** Records accepted but not yet handed to the producer (in memory or on disk). */
  get backlog(): number {
    return this.recovered.length - this.recoveredAt + this.memory.length - this.memoryAt + (this.spilledFrom === undefined ? 0 : 1);
  }

  stop(): void {
    this.stopped = true;
    this.room?.();
  }

  /** A record handed over has left admission (in a batch, or failed): room for the next. */
  private left(): void {
    this.inAdmission--;
    const room = this.room;
    this.room = undefined;
    room?.();
  }

  private run(): void {
    if (this.running || this.stopped || this.held) return;
    this.running = true;
    this.feed()
      .catch(() => undefined) // a closed journal: the records stay on disk for the next start
      .finally(() => {
        this.running = false;
        // A record added after the loop's last look, while it was finishing, must not wait for the next add().
        if (this.recoveredAt < this.recovered.length || this.memoryAt < this.memory.length || this.spilledFrom !== undefined) this.run();
      });
  }

  private async feed(): Promise<void> {
    while (!this.stopped) {
      if (this.recoveredAt < this.recovered.length) await this.feedRecovered();
      else if (this.memoryAt < this.memory.length) {
        const entry = this.memory[this.memoryAt] as { id: number; record: JournalRecord; size: number };
        this.memory[this.memoryAt++] = undefined;
        this.memoryUsed -= entry.size;
        if (this.memoryAt === this.memory.length) {
          this.memory.length = 0;
          this.memoryAt = 0;
        }
        await this.hand(entry.id, entry.record);
      } else if (this.spilledFrom !== undefined) await this.feedSpilled(this.spilledFrom);
      else return;
    }
  }

  /** The recovered ids, read from disk in one pass. */
  private async feedRecovered(): Promise<void> {
    for await (const entry of this.parts.journal.readFrom(this.recovered[this.recoveredAt])) {
      if (this.stopped) return;
      while (this.recoveredAt < this.recovered.length && (this.recovered[this.recoveredAt] as number) < entry.id) {
        this.parts.missing(this.recovered[this.recoveredAt++] as number);
      }
      if (this.recoveredAt >= this.recovered.length) return;
      if (entry.id !== this.recovered[this.recoveredAt] || entry.type !== EntryType.RECORD) continue;
      this.recoveredAt++;
      await this.hand(entry.id, decodeRecord(Buffer.from(entry.payload)));
    }
    while (this.recoveredAt < this.recovered.length) this.parts.missing(this.recovered[this.recoveredAt++] as number);
  }

  /** Accepted records that went to disk only, from `from` on, in order; memory takes over again once they are all fed. */
  private async feedSpilled(from: number): Promise<void> {
    let next = from;
    for await (const entry of this.parts.journal.readFrom(from)) {
      if (this.stopped) return;
      next = entry.id + 1;
      if (entry.type !== EntryType.RECORD) continue;
      await this.hand(entry.id, decodeRecord(Buffer.from(entry.payload)));
    }
    // Everything added before this point has been read: later records may go through memory again.
    this.spilledFrom = this.lastAdded >= next ? next : undefined;
  }

  /** Hands one record to the producer, once fewer than IN_ADMISSION are waiting there. */
  private async hand(id: number, record: JournalRecord): Promise<void> {
    while (this.inAdmission >= IN_ADMISSION && !this.stopped) await new Promise<void>((resolve) => (this.room = resolve));
    if (this.stopped) return;
    this.inAdmission++;
    const input: ProducerRecord<unknown, unknown> = {
      topic: record.topic,
      partition: record.partition >= 0 ? record.partition : null,
      key: record.key,
      value: record.value,
      headers: record.headers,
      timestamp: record.timestamp,
    };
    let handled = false;
    const leave = () => {
      if (handled) return;
      handled = true;
      this.left();
    };
    const outcome: RecordOutcome = {
      resolved: (index, metadata) => {
        leave();
        this.parts.outcome.resolved(index, metadata);
      },
      rejected: (index, error) => {
        leave();
        this.parts.outcome.rejected(index, error);
      },
    };
    this.parts.admission.admit(input, {}, outcome, id, leave, id);
  }
}
