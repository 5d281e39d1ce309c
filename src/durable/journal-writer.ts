import { close as closeFd, fdatasync, writev } from 'node:fs';
import { ioError, type JournalIOError } from './errors.js';
import type { JournalSync } from './journal-options.js';
import type { Segment } from './segment.js';
import { syncFile } from './sync-file.js';

/**
 * Entries appended together (in one tick, into one segment), framed in a shared arena. They are
 * written with one call and settle together: `durable` resolves when the sync mode is satisfied.
 */
export interface WriteBatch {
  readonly segment: Segment;
  readonly arena: Buffer;
  readonly start: number;
  end: number;
  lastId: number;
  /** An entry in it is waited for by more than acceptance (a batch about to go on the wire): fsync at once, not at the next interval. */
  syncNow: boolean;
  readonly durable: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

export function newBatch(segment: Segment, arena: Buffer, start: number): WriteBatch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const durable = new Promise<void>((resolvePromise, rejectPromise) => {
    resolve = resolvePromise;
    reject = rejectPromise;
  });
  // An append whose promise nobody awaits must not turn a failed write into an unhandled rejection:
  // the failure still reaches every awaiting caller, later appends and close().
  durable.catch(() => {});
  return { segment, arena, start, end: start, lastId: 0, syncNow: false, durable, resolve, reject };
}

// Linux takes at most this many buffers in one writev().
const MAX_BUFFERS_PER_WRITE = 1024;

interface Waiter {
  id: number;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Writes batches in order, one write at a time, and fsyncs by the sync mode: group commit, so
 * every fsync covers everything written before it began. The first failed write or fsync stops
 * the writer for good (after a failed fsync the kernel may have dropped the dirty pages, so
 * nothing written since the last good one can be trusted); recovery on the next open sorts out
 * what reached the disk.
 */
export class JournalWriter {
  private readonly queue: WriteBatch[] = [];
  private writing = false;
  private awaitingSync: WriteBatch[] = [];
  private syncing = false;
  /** A sync was asked for while one ran: 'now' runs the next at once, 'later' at the next interval. */
  private syncRequested: 'now' | 'later' | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private lastSyncStartedAt = Number.NEGATIVE_INFINITY;
  private writeWaiters: Waiter[] = [];
  private idleWaiters: (() => void)[] = [];
  /** Segments with a write descriptor: the one being appended to and rolled ones not yet synced. */
  private readonly openSegments = new Set<Segment>();
  /** New segment files whose directory entry no fsync of the directory has covered yet. */
  private readonly newFiles = new Set<Segment>();
  failure: JournalIOError | undefined;
  fsyncs = 0;

  constructor(
    private readonly dir: string,
    private readonly mode: JournalSync,
    private readonly syncIntervalMs: number,
    /** The last id already on disk at open. */
    private writtenThroughId: number,
  ) {}

  /** A segment opened for writing; `created` when its file is new. */
  track(segment: Segment, created: boolean): void {
    this.openSegments.add(segment);
    if (created) this.newFiles.add(segment);
  }

  /** `segment` takes no more appends: its descriptor is closed once what it holds is written and synced. */
  seal(segment: Segment): void {
    segment.sealed = true;
    if (segment.writtenBytes === segment.bytes) this.requestSync(true);
  }

  enqueue(batch: WriteBatch): void {
    if (this.failure !== undefined) {
      batch.reject(this.failure);
      return;
    }
    this.queue.push(batch);
    this.pump();
  }

  /** The last id written to its segment file (not necessarily synced). */
  get writtenThrough(): number {
    return this.writtenThroughId;
  }

  /** Resolves once the entry `id` is written (at once if it is), or rejects with the writer's failure. */
  whenWritten(id: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (id <= this.writtenThroughId) return Promise.resolve();
    return new Promise((resolve, reject) => this.writeWaiters.push({ id, resolve, reject }));
  }

  /** Waits for every queued write, fsyncs all written data and new directory entries, and closes every descriptor. */
  async finish(): Promise<void> {
    await this.idle();
    if (this.failure === undefined) {
      this.requestSync(true);
      await this.idle();
    }
    clearTimeout(this.syncTimer);
    const closing = [...this.openSegments].map((segment) => this.closeSegment(segment));
    await Promise.all(closing);
    if (this.failure !== undefined) throw this.failure;
  }

  private idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Nothing queued or in flight: after a failure too, descriptors are closed only once the calls using them have returned. */
  private isIdle(): boolean {
    return !this.writing && !this.syncing && this.queue.length === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    if (this.writing || this.failure !== undefined || this.queue.length === 0) return;
    const segment = this.queue[0]!.segment;
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < MAX_BUFFERS_PER_WRITE && this.queue[count]!.segment === segment) {
      bytes += this.queue[count]!.end - this.queue[count]!.start;
      count++;
    }
    const batches = this.queue.splice(0, count);
    this.writing = true;
    const buffers = batches.map((batch) => batch.arena.subarray(batch.start, batch.end));
    writeAll(segment.fd!, buffers, segment.writtenBytes, (error) => {
      this.writing = false;
      if (error !== null) {
        this.fail(ioError('write to', segment.path, error));
        for (const batch of batches) batch.reject(this.failure!);
        return;
      }
      segment.writtenBytes += bytes;
      this.written(batches);
      this.pump();
      this.checkIdle();
    });
  }

  private written(batches: WriteBatch[]): void {
    this.writtenThroughId = Math.max(this.writtenThroughId, batches[batches.length - 1]!.lastId);
    if (this.writeWaiters.length > 0) {
      const ready = this.writeWaiters.filter((waiter) => waiter.id <= this.writtenThroughId);
      this.writeWaiters = this.writeWaiters.filter((waiter) => waiter.id > this.writtenThroughId);
      for (const waiter of ready) waiter.resolve();
    }
    const segment = batches[0]!.segment;
    const rolledAndWritten = segment.sealed && segment.writtenBytes === segment.bytes;
    if (this.mode === 'none') {
      for (const batch of batches) batch.resolve();
      if (rolledAndWritten) this.requestSync(true);
      return;
    }
    let syncNow = this.mode === 'always' || rolledAndWritten;
    for (const batch of batches) {
      this.awaitingSync.push(batch);
      syncNow ||= batch.syncNow;
    }
    this.requestSync(syncNow);
  }

  /** An fsync now (`urgent`) or at the next interval; while one runs, another follows it. */
  private requestSync(urgent: boolean): void {
    if (this.failure !== undefined) return;
    if (this.syncing) {
      if (urgent || this.syncRequested === undefined) this.syncRequested = urgent ? 'now' : 'later';
      return;
    }
    if (urgent) {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
      this.runSync();
      return;
    }
    if (this.syncTimer !== undefined) return;
    const wait = Math.max(0, this.lastSyncStartedAt + this.syncIntervalMs - performance.now());
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.runSync();
    }, wait);
  }

  private runSync(): void {
    if (this.syncing || this.failure !== undefined) return;
    this.syncing = true;
    this.syncRequested = undefined;
    this.lastSyncStartedAt = performance.now();
    const covered = this.awaitingSync;
    this.awaitingSync = [];
    const targets = [...this.openSegments]
      .filter((segment) => segment.writtenBytes > segment.syncedBytes)
      .map((segment) => ({ segment, length: segment.writtenBytes }));
    const newFiles = [...this.newFiles];
    this.newFiles.clear();
    const syncs = targets.map(({ segment }) => syncDescriptor(segment.fd!, segment.path));
    Promise.all(syncs)
      .then(() => (newFiles.length > 0 ? syncFile(this.dir) : undefined))
      .then(
        () => {
          this.syncing = false;
          if (targets.length > 0 || newFiles.length > 0) this.fsyncs++;
          for (const { segment, length } of targets) segment.syncedBytes = Math.max(segment.syncedBytes, length);
          for (const segment of newFiles) segment.dirEntrySynced = true;
          for (const batch of covered) batch.resolve();
          this.closeFinishedSegments();
          const requested = this.syncRequested;
          this.syncRequested = undefined;
          if (requested !== undefined || this.awaitingSync.length > 0) this.requestSync(this.mode === 'always' || requested === 'now');
          this.checkIdle();
        },
        (error: unknown) => {
          this.syncing = false;
          for (const segment of newFiles) this.newFiles.add(segment);
          this.fail(ioError('fsync', this.dir, error));
          for (const batch of covered) batch.reject(this.failure!);
        },
      );
  }

  /** Rolled segments whose every byte is written and synced: their descriptors are no longer needed. */
  private closeFinishedSegments(): void {
    for (const segment of this.openSegments) {
      if (segment.sealed && segment.writtenBytes === segment.bytes && segment.syncedBytes === segment.bytes && segment.dirEntrySynced) {
        void this.closeSegment(segment).catch((error: unknown) => this.fail(ioError('close', segment.path, error)));
      }
    }
  }

  private closeSegment(segment: Segment): Promise<void> {
    const fd = segment.fd;
    this.openSegments.delete(segment);
    segment.fd = undefined;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => closeFd(fd, (error) => (error === null ? resolve() : reject(error))));
  }

  private fail(error: JournalIOError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    for (const batch of this.queue.splice(0)) batch.reject(error);
    for (const batch of this.awaitingSync.splice(0)) batch.reject(error);
    for (const waiter of this.writeWaiters.splice(0)) waiter.reject(error);
    this.checkIdle();
  }
}

/** fdatasync: the data and the size that reads need, without the rest of the metadata. */
function syncDescriptor(fd: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(ioError('fsync', path, error)))));
}

/** writev() until every byte is written: a short write continues where it stopped. */
function writeAll(fd: number, buffers: Buffer[], position: number, done: (error: Error | null) => void): void {
  const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  writev(fd, buffers, position, (error, written) => {
    if (error !== null) return done(error);
    if (written === total) return done(null);
    if (written === 0) return done(new Error(`writev wrote nothing of ${total} bytes`));
    writeAll(fd, remainingAfter(buffers, written), position + written, done);
  });
}

function remainingAfter(buffers: Buffer[], written: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = written;
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}
