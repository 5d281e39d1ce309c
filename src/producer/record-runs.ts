import type { RecordOutcome } from './outcomes.js';

/**
 * What a batch keeps of its records for their outcomes, in batch order: where each record's
 * outcome goes, its place in its call (a durable producer's record: its journal id) and its
 * timestamp. Kept as runs of records that share an outcome and a timestamp, as one sendMany() or
 * sendAll() call's records do, with no place per record while their places follow one another
 * (keyless records), so that such a batch holds a few values rather than three per record. Columns of one value per record cost
 * 84 bytes a record in arrays that grew as records came and were still alive, so copied, at the
 * scavenges while their batch was in flight (1M x 100 B in transactions of 1,000: 84 of the
 * 246 MB allocated).
 */
export class RecordRuns {
  /** Records held. */
  count = 1;
  // The first run apart: most batches hold one (one call's records, or one send()).
  private readonly first: Run;
  private later: Run[] | undefined;

  constructor(outcome: RecordOutcome, index: number, timestamp: number) {
    this.first = new Run(outcome, index, timestamp);
  }

  /** A record appended to the batch. */
  add(outcome: RecordOutcome, index: number, timestamp: number): void {
    this.count++;
    const { later } = this;
    if (!(later ? (later[later.length - 1] as Run) : this.first).took(outcome, index, timestamp)) {
      (this.later ??= []).push(new Run(outcome, index, timestamp));
    }
  }

  /**
   * Every record written, at positions in the batch from 0 on, from `baseOffset` (−1 when the
   * broker gave none), with the log-append time when the topic uses it (else −1: each record's
   * own timestamp).
   */
  resolved(topic: string, partition: number, baseOffset: bigint, appendTime: number): void {
    let position = this.first.resolved(topic, partition, baseOffset, 0, appendTime);
    for (const run of this.later ?? []) position = run.resolved(topic, partition, baseOffset, position, appendTime);
  }

  /** Every record failed with `error`, in batch order. */
  rejected(error: Error): void {
    this.visit((outcome, index) => outcome.rejected(index, error));
  }

  /** The record at `position` in the batch. */
  recordAt(position: number): { outcome: RecordOutcome; index: number; timestamp: number } {
    let found: { outcome: RecordOutcome; index: number; timestamp: number } | undefined;
    this.visit((outcome, index, timestamp, at) => {
      if (at !== position) return true;
      found = { outcome, index, timestamp };
      return false;
    });
    if (!found) throw new RangeError(`internal error: no record at position ${position} of a batch of ${this.count}`);
    return found;
  }

  /** Where the record of `outcome` and `index` is in the batch, or −1. */
  positionOf(outcome: RecordOutcome, index: number): number {
    let found = -1;
    this.visit((candidate, candidateIndex, _, position) => {
      if (candidate !== outcome || candidateIndex !== index) return true;
      found = position;
      return false;
    });
    return found;
  }

  /** Each record's place in its call (journal id), in batch order. */
  indexes(): number[] {
    const indexes: number[] = [];
    this.visit((_, index) => indexes.push(index));
    return indexes;
  }

  earliestTimestamp(): number {
    let earliest = this.first.timestamp;
    for (const run of this.later ?? []) earliest = Math.min(earliest, run.timestamp);
    return earliest;
  }

  /** The records at `positions` (in that order), as the runs of another batch. */
  subset(positions: readonly number[]): RecordRuns {
    const all: { outcome: RecordOutcome; index: number; timestamp: number }[] = [];
    this.visit((outcome, index, timestamp) => all.push({ outcome, index, timestamp }));
    const [first, ...rest] = positions.map((position) => all[position]);
    if (!first || rest.includes(undefined)) throw new RangeError('internal error: a batch of no records');
    const runs = new RecordRuns(first.outcome, first.index, first.timestamp);
    for (const record of rest as (typeof first)[]) runs.add(record.outcome, record.index, record.timestamp);
    return runs;
  }

  /** Calls `each` with every record in batch order, until it returns false. */
  private visit(each: (outcome: RecordOutcome, index: number, timestamp: number, position: number) => unknown): void {
    let position = 0;
    for (const run of [this.first, ...(this.later ?? [])]) {
      for (let at = 0; at < run.count; at++, position++) {
        if (each(run.outcome, run.indexAt(at), run.timestamp, position) === false) return;
      }
    }
  }
}

/** Records in a row of one outcome and one timestamp. */
class Run {
  count = 1;
  /** Each record's place, once they no longer follow one another (keyed records spread over partitions); until then implied. */
  private indexes: number[] | undefined;

  constructor(
    readonly outcome: RecordOutcome,
    private readonly firstIndex: number,
    readonly timestamp: number,
  ) {}

  /** Takes the record if it belongs to this run. */
  took(outcome: RecordOutcome, index: number, timestamp: number): boolean {
    if (outcome !== this.outcome || timestamp !== this.timestamp) return false;
    if (this.indexes) this.indexes.push(index);
    else if (index !== this.firstIndex + this.count) {
      this.indexes = Array.from({ length: this.count }, (_, at) => this.firstIndex + at);
      this.indexes.push(index);
    }
    this.count++;
    return true;
  }

  indexAt(at: number): number {
    return this.indexes ? (this.indexes[at] as number) : this.firstIndex + at;
  }

  /** Tells the outcome its records were written from `position` on; returns the position after them. */
  resolved(topic: string, partition: number, baseOffset: bigint, position: number, appendTime: number): number {
    const timestamp = appendTime >= 0 ? appendTime : this.timestamp;
    const { indexes, outcome, count } = this;
    if (!indexes) outcome.resolved(this.firstIndex, count, topic, partition, baseOffset, position, timestamp);
    else
      for (let at = 0; at < count; at++) outcome.resolved(indexes[at] as number, 1, topic, partition, baseOffset, position + at, timestamp);
    return position + count;
  }
}
