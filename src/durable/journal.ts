import { mkdirSync, openSync, realpathSync, statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { describeValue } from '../option-checks.js';
import { acquireDirLock, type DirLock, LOCK_FILE_NAME, type StaleLock } from './dir-lock.js';
import { InvalidEntryError, ioError, JournalClosedError, JournalTimeoutError, QueueFullError } from './errors.js';
import { FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES, writeFrameWith } from './frame.js';
import { type JournalOptions, type ResolvedJournalOptions, resolveJournalOptions } from './journal-options.js';
import { JournalWriter, newBatch, type WriteBatch } from './journal-writer.js';
import { recoverSegments } from './recovery.js';
import { Segment } from './segment.js';
import { segmentFileName } from './segment-files.js';
import { type JournalEntry, type ReadIssue, readSegmentEntries } from './segment-reader.js';
import type { RecoveryIssue } from './segment-scan.js';

/**
 * An append-only journal of typed entries in segment files, for the durable producer: every
 * accepted record is appended (and made durable by the sync mode) before acceptance resolves, and
 * read back after a restart. Entry ids are consecutive safe integers from 1, kept across restarts
 * and segments; at a million appends a second they last 285 years.
 *
 * Appends made in the same tick are framed into one buffer and written with one call; see
 * JournalSync for when their promise resolves.
 */

export type { JournalOptions, JournalSync } from './journal-options.js';
export type { JournalEntry, ReadIssue } from './segment-reader.js';
export type { RecoveryIssue, RecoveryIssueKind } from './segment-scan.js';

export interface Appended {
  id: number;
  /** Resolves when the entry is durable by the journal's sync mode; shared by the entries appended with it. */
  durable: Promise<void>;
}

export interface AppendOptions {
  /**
   * With sync 'interval': fsync as soon as the entry is written instead of at the next interval
   * (for an entry something waits on besides acceptance; everything written before is covered too).
   */
  syncNow?: boolean;
}

export interface RecoveryReport {
  /** Intact entries found on disk. */
  entries: number;
  /** Bytes of the segment files after recovery. */
  bytes: number;
  segments: number;
  /** Entries lost to damage (skipped or truncated); a truncated tail counts as 1 when its size is unknown. */
  droppedEntries: number;
  /** Bytes of skipped frames (still on disk) and truncated tails (cut off). */
  droppedBytes: number;
  /** Each damaged place, with what was done and why; empty after a clean shutdown. */
  issues: RecoveryIssue[];
  /** The lock of a process that is gone, which this open replaced. */
  staleLock: StaleLock | undefined;
  /** Files in the directory that are not the journal's, left alone. */
  ignoredFiles: string[];
  /**
   * Empty segment files at the end, deleted: a crash right after a segment was rolled, before the
   * previous one was all written, leaves one. Appends then go on right after the last entry kept.
   */
  removedEmptySegments: string[];
  /** When the journal was last written before this open (its newest segment's modification time, ms); undefined when new. */
  lastWrittenAt: number | undefined;
}

export interface OpenedJournal {
  journal: Journal;
  recovery: RecoveryReport;
}

export interface JournalStats {
  /** Intact entries in the segments (appended ones included, written or not). */
  entries: number;
  bytes: number;
  segments: number;
  /** The oldest intact entry, or undefined when there is none. */
  oldestId: number | undefined;
  /** The id the next append gets. */
  nextId: number;
  /** Bytes appended but not yet written to their files (held in memory): what a caller may bound. */
  unwrittenBytes: number;
  /** fsync rounds completed since open. */
  fsyncs: number;
  /** Damage found by reads after open (see JournalOptions.onReadIssue). */
  readIssues: number;
}

export interface SegmentLength {
  path: string;
  firstId: number;
  /** Bytes known to survive a power loss: covered by an fsync, the file's directory entry included. */
  bytes: number;
}

export interface TrimResult {
  segments: number;
  entries: number;
  bytes: number;
}

/** Appends of a tick are framed into this much shared memory before a write. */
const ARENA_BYTES = 1 << 20;
/** Written arenas kept for reuse: enough for the writes a busy journal has queued. */
const MAX_RETIRED_ARENAS = 4;

export class Journal {
  readonly dir: string;
  private readonly options: ResolvedJournalOptions;
  private readonly lock: DirLock;
  private readonly segments: Segment[];
  private readonly writer: JournalWriter;
  private totalBytes: number;
  /** Appends are framed here; batches are consecutive slices of it, written from it directly. */
  private arena: Buffer = Buffer.alloc(0);
  /** Where the arena's free room begins: after the last batch framed in it. */
  private arenaFill = 0;
  /** The id of the last entry framed in the arena. */
  private arenaLastId = 0;
  /**
   * Full arenas, oldest first, each reusable once its last entry is written: fresh 1 MiB buffers
   * cost page faults and garbage collection, about a quarter of framing an entry (measured with
   * 100-byte records).
   */
  private readonly retiredArenas: { arena: Buffer; lastId: number }[] = [];
  private current: WriteBatch | undefined;
  private sealScheduled: NodeJS.Immediate | undefined;
  private closing: Promise<void> | undefined;
  private trimming: Promise<unknown> = Promise.resolve();
  private readIssues = 0;

  /**
   * Opens (or creates) the journal in options.dir: takes its lock, then recovers what is on disk.
   * Throws JournalLockedError if another process holds it, JournalIOError if the filesystem
   * refuses; damaged data never throws, it is reported in `recovery`.
   */
  static async open(options: JournalOptions): Promise<OpenedJournal> {
    const resolved = resolveJournalOptions(options);
    let dir = resolve(resolved.dir);
    try {
      mkdirSync(dir, { recursive: true });
      // One name per directory, so a second open here through a symlink is recognised as the same journal.
      dir = realpathSync(dir);
    } catch (error) {
      throw ioError('create the journal directory', dir, error);
    }
    const lock = acquireDirLock(dir);
    try {
      const recovered = await recoverSegments(dir, LOCK_FILE_NAME);

      let created = false;
      if (recovered.segments.length === 0) {
        recovered.segments.push(new Segment(1, join(dir, segmentFileName(1))));
        created = true;
      }
      const active = recovered.segments[recovered.segments.length - 1]!;
      const lastWrittenAt = created ? undefined : modifiedAt(active.path);
      active.fd = openSegmentFile(active.path, created ? 'wx' : 'r+');
      const writer = new JournalWriter(dir, resolved.sync, resolved.syncIntervalMs, active.endId - 1);
      writer.track(active, created);
      const journal = new Journal(dir, resolved, lock, recovered.segments, writer);
      const issues = recovered.issues;
      const stats = journal.stats();
      const recovery: RecoveryReport = {
        entries: stats.entries,
        bytes: stats.bytes,
        segments: stats.segments,
        droppedEntries: issues.reduce((sum, issue) => sum + issue.entries, 0),
        droppedBytes: issues.reduce((sum, issue) => sum + issue.bytes, 0),
        issues,
        staleLock: lock.tookOver,
        ignoredFiles: recovered.ignoredFiles,
        removedEmptySegments: recovered.removedEmptySegments,
        lastWrittenAt,
      };
      return { journal, recovery };
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  private constructor(dir: string, options: ResolvedJournalOptions, lock: DirLock, segments: Segment[], writer: JournalWriter) {
    this.dir = dir;
    this.options = options;
    this.lock = lock;
    this.segments = segments;
    this.writer = writer;
    this.totalBytes = segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** The id the next append gets. */
  /** Bytes of the segment files (appended entries included). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** close() has been called: append() throws. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  get nextId(): number {
    return this.active.endId;
  }

  /**
   * Appends an entry and returns its id at once. Throws (having written nothing) InvalidEntryError
   * for a type outside 0-255 or a payload that is not bytes, QueueFullError when the journal would
   * pass maxDiskBytes, JournalClosedError after close(), and the JournalIOError that stopped the
   * journal after a failed write. The payload is copied: the caller may reuse it at once.
   */
  append(type: number, payload: Uint8Array, options?: AppendOptions): Appended {
    if (!(payload instanceof Uint8Array)) {
      throw new InvalidEntryError(`journal entry payload must be a Uint8Array, not ${describeValue(payload)}`);
    }
    return this.appendWith(type, payload.length, copyPayload, payload, options);
  }

  /**
   * As append(), for a payload of `length` bytes that `encode(target, offset, item)` writes
   * straight into the journal's write buffer, so the hot path builds no payload of its own. It
   * must write exactly `length` bytes from `offset`.
   */
  appendWith<T>(
    type: number,
    length: number,
    encode: (target: Buffer, offset: number, item: T) => void,
    item: T,
    options?: AppendOptions,
  ): Appended {
    if (this.closing !== undefined) throw new JournalClosedError(`journal ${this.dir} is closed`);
    if (this.writer.failure !== undefined) throw this.writer.failure;
    if ((type & 0xff) !== type) {
      throw new InvalidEntryError(`journal entry type must be an integer from 0 to 255, not ${describeValue(type)}`);
    }
    if (length > MAX_PAYLOAD_BYTES) {
      throw new InvalidEntryError(`journal entry payload of ${length} bytes is larger than the largest entry (${MAX_PAYLOAD_BYTES})`);
    }
    const size = FRAME_HEADER_BYTES + length;
    if (this.totalBytes + size > this.options.maxDiskBytes) {
      throw new QueueFullError(
        `journal ${this.dir} is full: ${this.totalBytes} bytes on disk and an entry of ${size} would pass maxDiskBytes ` +
          `(${this.options.maxDiskBytes}); trim() what is acknowledged to make room`,
      );
    }
    let segment = this.active;
    if (segment.bytes > 0 && segment.bytes + size > this.options.segmentBytes) {
      segment = this.roll();
      for (const entry of this.options.segmentPreamble?.() ?? []) {
        this.place(segment, entry.type, entry.payload.length, copyPayload, entry.payload, undefined);
      }
    }
    return this.place(segment, type, length, encode, item, options);
  }

  /** Frames the entry into this tick's batch of `segment`. */
  private place<T>(
    segment: Segment,
    type: number,
    length: number,
    encode: (target: Buffer, offset: number, item: T) => void,
    item: T,
    options: AppendOptions | undefined,
  ): Appended {
    const size = FRAME_HEADER_BYTES + length;
    const batch = this.batchWithRoom(segment, size);
    const id = segment.endId;
    batch.end = writeFrameWith(batch.arena, batch.end, id, type, length, encode, item);
    segment.addEntry(id, segment.bytes);
    segment.bytes += size;
    this.totalBytes += size;
    batch.lastId = id;
    this.arenaLastId = id;
    if (options?.syncNow) batch.syncNow = true;
    return { id, durable: batch.durable };
  }

  /**
   * The intact entries from `fromId` (default: the oldest) up to the last one appended before
   * this call, in id order, read from disk a chunk at a time (memory stays bounded however long
   * the journal). Entries trimmed meanwhile are left out. Damage found that recovery had not seen
   * is skipped and passed to onReadIssue. Stops with JournalClosedError if the journal closes.
   */
  readFrom(fromId = 1): AsyncGenerator<JournalEntry> {
    if (!Number.isSafeInteger(fromId) || fromId < 0) {
      throw new ConfigError(`readFrom() takes an entry id (an integer ≥ 0), not ${describeValue(fromId)}`);
    }
    if (this.closing !== undefined) throw new JournalClosedError(`journal ${this.dir} is closed`);
    return this.entriesBetween(fromId, this.nextId);
  }

  private async *entriesBetween(fromId: number, toId: number): AsyncGenerator<JournalEntry> {
    if (toId > fromId) await this.whenWritten(toId - 1);
    const onIssue = (issue: ReadIssue) => {
      this.readIssues++;
      this.options.onReadIssue?.(issue);
    };
    let id = fromId;
    while (id < toId) {
      if (this.closing !== undefined) throw new JournalClosedError(`journal ${this.dir} closed while being read`);
      const segment = this.segmentHolding(id);
      if (segment === undefined || segment.firstId >= toId) return;
      id = Math.max(id, segment.firstId);
      for await (const entry of readSegmentEntries(segment, id, toId, onIssue)) {
        yield entry;
        if (this.closing !== undefined) throw new JournalClosedError(`journal ${this.dir} closed while being read`);
      }
      id = Math.min(segment.endId, toId);
    }
  }

  /**
   * Deletes the segments all of whose entries are older than `oldestNeededId`; never the one being
   * appended to. With sync 'interval' or 'always', make the entry that records what is no longer
   * needed durable first, so a power loss cannot bring back a state that still needs the entries.
   */
  trim(oldestNeededId: number): Promise<TrimResult> {
    if (!Number.isSafeInteger(oldestNeededId)) {
      return Promise.reject(new ConfigError(`trim() takes an entry id, not ${describeValue(oldestNeededId)}`));
    }
    const run = this.trimming.then(() => this.deleteSegmentsBefore(oldestNeededId));
    this.trimming = run.catch(() => {});
    return run;
  }

  private async deleteSegmentsBefore(oldestNeededId: number): Promise<TrimResult> {
    const result: TrimResult = { segments: 0, entries: 0, bytes: 0 };
    while (this.segments.length > 1 && this.segments[0]!.endId <= oldestNeededId) {
      const segment = this.segments[0]!;
      try {
        await unlink(segment.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('delete', segment.path, error);
      }
      this.segments.shift();
      this.totalBytes -= segment.bytes;
      result.segments++;
      result.entries += segment.entries;
      result.bytes += segment.bytes;
    }
    return result;
  }

  stats(): JournalStats {
    let entries = 0;
    let unwrittenBytes = 0;
    let oldestId: number | undefined;
    for (const segment of this.segments) {
      entries += segment.entries;
      unwrittenBytes += segment.bytes - segment.writtenBytes;
      oldestId ??= segment.oldestId;
    }
    return {
      entries,
      bytes: this.totalBytes,
      segments: this.segments.length,
      oldestId,
      nextId: this.nextId,
      unwrittenBytes,
      fsyncs: this.writer.fsyncs,
      readIssues: this.readIssues,
    };
  }

  /** For power-loss tests: how much of each segment an fsync has covered (truncating to it is what a power cut may do). */
  fsyncedLengths(): SegmentLength[] {
    return this.segments.map((segment) => ({
      path: segment.path,
      firstId: segment.firstId,
      bytes: segment.dirEntrySynced ? segment.syncedBytes : 0,
    }));
  }

  /**
   * Writes and fsyncs everything appended, closes the files and releases the lock. Waits at most
   * closeTimeoutMs (JournalTimeoutError; the lock is then kept until the disk answers). Rejects
   * with the JournalIOError of a failed write or fsync, after releasing everything.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    clearImmediate(this.sealScheduled);
    this.sealCurrentBatch();
    const finished = this.writer.finish().finally(() => this.lock.release());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new JournalTimeoutError(
            `journal ${this.dir}: close() gave up after ${this.options.closeTimeoutMs} ms waiting for the disk; ` +
              'the lock is released when the pending writes and fsyncs end',
          ),
        );
      }, this.options.closeTimeoutMs);
    });
    finished.catch(() => {});
    this.closing = Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
    return this.closing;
  }

  private whenWritten(id: number): Promise<void> {
    // The entry may still be in the batch of this tick: hand that to the writer now rather than at the tick's end.
    this.sealCurrentBatch();
    return this.writer.whenWritten(id);
  }

  /** The first segment holding ids at or after `id`. */
  private segmentHolding(id: number): Segment | undefined {
    let low = 0;
    let high = this.segments.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.segments[middle]!.endId <= id) low = middle + 1;
      else high = middle;
    }
    return this.segments[low];
  }

  /** The batch of this tick if it has room in its arena, else a new one (in a new arena if need be). */
  private batchWithRoom(segment: Segment, size: number): WriteBatch {
    const current = this.current;
    if (current !== undefined && current.end + size <= current.arena.length) return current;
    this.sealCurrentBatch();
    if (this.arena.length - this.arenaFill < size) {
      this.arena = this.freshArena(size);
      this.arenaFill = 0;
    }
    const batch = newBatch(segment, this.arena, this.arenaFill);
    this.current = batch;
    this.sealScheduled ??= setImmediate(() => {
      this.sealScheduled = undefined;
      this.sealCurrentBatch();
    });
    return batch;
  }

  /** An arena for an entry of `size` bytes: a written one again where one is free, the current one retired. */
  private freshArena(size: number): Buffer {
    if (this.arena.length === ARENA_BYTES && this.arenaLastId > 0) {
      this.retiredArenas.push({ arena: this.arena, lastId: this.arenaLastId });
      if (this.retiredArenas.length > MAX_RETIRED_ARENAS) this.retiredArenas.shift();
    }
    this.arenaLastId = 0;
    if (size > ARENA_BYTES) return Buffer.allocUnsafe(size);
    // Written in order: the oldest is the first to be free.
    const oldest = this.retiredArenas[0];
    if (oldest !== undefined && oldest.lastId <= this.writer.writtenThrough) {
      this.retiredArenas.shift();
      return oldest.arena;
    }
    return Buffer.allocUnsafe(ARENA_BYTES);
  }

  private sealCurrentBatch(): void {
    const batch = this.current;
    if (batch === undefined) return;
    this.current = undefined;
    this.arenaFill = batch.end;
    this.writer.enqueue(batch);
  }

  /** Starts the next segment, named by the next id; the current one is sealed. Throws JournalIOError if the file cannot be made. */
  private roll(): Segment {
    const previous = this.active;
    const segment = new Segment(previous.endId, join(this.dir, segmentFileName(previous.endId)));
    segment.fd = openSegmentFile(segment.path, 'wx');
    this.sealCurrentBatch();
    this.segments.push(segment);
    this.writer.track(segment, true);
    this.writer.seal(previous);
    return segment;
  }
}

function modifiedAt(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function copyPayload(target: Buffer, offset: number, payload: Uint8Array): void {
  target.set(payload, offset);
}

function openSegmentFile(path: string, flags: 'wx' | 'r+'): number {
  try {
    return openSync(path, flags);
  } catch (error) {
    throw ioError(flags === 'wx' ? 'create' : 'open', path, error);
  }
}
