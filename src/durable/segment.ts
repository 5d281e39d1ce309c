/**
 * What the journal knows about one segment file. `index` keeps the id and byte offset of every
 * INDEX_EVERY-th intact entry, so a reader starting mid-segment skips most of it without parsing.
 */

export const INDEX_EVERY = 256;

export class Segment {
  /** Intact entries (frames left in place after damage are not counted). */
  entries = 0;
  /** The last intact entry's id; firstId - 1 while there is none. */
  lastId: number;
  /** Bytes appended, including those still in memory waiting to be written. */
  bytes = 0;
  /** Bytes the filesystem has taken (write() returned). */
  writtenBytes = 0;
  /** Bytes an fdatasync() has covered. */
  syncedBytes = 0;
  /** Whether the directory entry is known on disk (a new file is lost with the power until its directory is fsynced). */
  dirEntrySynced = false;
  /** Offsets of the damaged frames recovery left in place: reads pass over them without a report. */
  damagedOffsets: number[] = [];
  /** Pairs of (id, offset), by id. */
  indexIds: number[] = [];
  indexOffsets: number[] = [];
  /** Write descriptor; only the segment being appended to, and those rolled but not yet synced, have one. */
  fd: number | undefined;
  /** Rolled: no more appends; closed once written and synced. */
  sealed = false;

  constructor(
    /** The id its file is named by: no entry in it is older. */
    readonly firstId: number,
    readonly path: string,
  ) {
    this.lastId = firstId - 1;
  }

  /** One past the last id this segment holds: the next append's id if it is the last segment. */
  get endId(): number {
    return this.lastId + 1;
  }

  get oldestId(): number | undefined {
    return this.indexIds[0];
  }

  /** Counts an intact entry found or appended at `offset`, indexing it if its turn has come. */
  addEntry(id: number, offset: number): void {
    if (this.entries % INDEX_EVERY === 0) {
      this.indexIds.push(id);
      this.indexOffsets.push(offset);
    }
    this.entries++;
    this.lastId = id;
  }

  /** The offset of the indexed entry nearest at or before `id` (0 when there is none). */
  seek(id: number): number {
    let low = 0;
    let high = this.indexIds.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.indexIds[middle]! <= id) low = middle + 1;
      else high = middle;
    }
    return low === 0 ? 0 : this.indexOffsets[low - 1]!;
  }
}
