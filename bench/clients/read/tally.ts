/**
 * What the read runners share: the checksum of a record value, and a tally of what a run has
 * read that knows when every partition has been read up to its end offset.
 */
import { crc32c } from '../../../src/records/crc32c.js';
import { type DoneLine, maxRssMb, type ReadPlan, type RunConfig, startClock } from '../kit.js';

/** The CRC-32C of a record value (0 for a null value); the run's checksum sums these modulo 2^32, in any order. */
export function valueChecksum(value: Uint8Array | null | undefined): number {
  return value ? crc32c(value) : 0;
}

/** Adds a value's checksum to a running one: order does not matter, so partitions may interleave. */
export function addChecksum(checksum: number, value: Uint8Array | null | undefined): number {
  return (checksum + valueChecksum(value)) >>> 0;
}

export function readPlan(config: RunConfig): ReadPlan {
  if (!config.reading) throw new Error('a read runner needs config.reading');
  return config.reading;
}

/**
 * Counts the records read and sums their values' checksums; `readTo()` tells it how far each
 * partition has been read, and `finished` resolves once every partition is at its end offset.
 */
export class ReadTally {
  records = 0;
  checksum = 0;
  readonly finished: Promise<void>;
  private readonly positions: number[];
  private partitionsLeft: number;
  private finish!: () => void;

  constructor(private readonly ends: readonly number[]) {
    this.positions = ends.map(() => 0);
    this.partitionsLeft = ends.filter((end) => end > 0).length;
    this.finished = new Promise((resolve) => (this.finish = resolve));
    if (this.partitionsLeft === 0) this.finish();
  }

  get done(): boolean {
    return this.partitionsLeft === 0;
  }

  value(value: Uint8Array | null | undefined): void {
    this.records++;
    this.checksum = addChecksum(this.checksum, value);
  }

  /** Every record of `partition` below `offset` has been read. */
  readTo(partition: number, offset: number): void {
    const end = this.ends[partition] ?? 0;
    const before = this.positions[partition] ?? 0;
    if (offset <= before) return;
    this.positions[partition] = offset;
    if (before < end && offset >= end && --this.partitionsLeft === 0) this.finish();
  }

  /** The partitions not yet read to their end offset. */
  partitionsToRead(): number[] {
    return this.ends.flatMap((end, partition) => ((this.positions[partition] ?? 0) < end ? [partition] : []));
  }

  position(partition: number): number {
    return this.positions[partition] ?? 0;
  }
}

/**
 * Times a read: the clock starts now, `read()` reads until the tally is done, and the done line
 * carries the records read, their checksum, the CPU time and the elapsed time until the last record.
 */
export async function timeRead(tally: ReadTally, read: () => Promise<void>): Promise<DoneLine> {
  const clock = startClock(() => tally.records);
  await read();
  const elapsedMs = performance.now() - clock.started;
  const { cpuUs } = clock.stop();
  return { acked: tally.records, failed: 0, elapsedMs, latencyMs: null, cpuUs, maxRssMb: maxRssMb(), checksum: tally.checksum };
}
