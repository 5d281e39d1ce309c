import type { Clock, Timer } from './clock.js';
import { BufferFullError } from './errors.js';

interface Waiter {
  size: number;
  /** Left the line (timed out or aborted); skipped when its turn comes. */
  gone: boolean;
  grant(): void;
}

/**
 * The producer's byte budget (Java's BufferPool, bufferMemory): records hold their size from
 * admission until they settle. When it is full, send() calls wait in line, first come first
 * served, until their delivery deadline. A record bigger than the whole budget goes alone.
 */
export class BufferMemory {
  private usedBytes = 0;
  /** Entries before `head` have left the line. */
  private waiters: Waiter[] = [];
  private head = 0;
  /** Called once their bytes fit (onRoomFor). */
  private roomListeners: { bytes: number; listener: () => void }[] = [];

  constructor(
    readonly limit: number,
    private readonly clock: Clock,
    /** Where the bytes in use are shown (producer.metrics.bufferUsed). */
    private readonly metrics: { bufferUsed: number },
  ) {}

  get used(): number {
    return this.usedBytes;
  }

  /** True when `size` bytes can be taken now without jumping the line. */
  fitsNow(size: number): boolean {
    return this.head === this.waiters.length && (this.usedBytes + size <= this.limit || this.usedBytes === 0);
  }

  /** Takes `size` bytes at once (the caller checked fitsNow(), or is the producer re-admitting what it holds). */
  take(size: number): void {
    // Sizes come from checked records; anything else would corrupt the accounting for good.
    if (!(Number.isSafeInteger(size) && size > 0)) throw new Error(`internal error: a record size of ${size} bytes`);
    this.usedBytes += size;
    this.metrics.bufferUsed = this.usedBytes;
  }

  /** Takes `size` bytes, waiting in line while the budget is full, until `deadline` (then BufferFullError) or an abort. */
  reserve(size: number, deadline: number, signal?: AbortSignal): Promise<void> {
    if (this.fitsNow(size)) {
      this.take(size);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let timer: Timer | undefined;
      const waiter: Waiter = {
        size,
        gone: false,
        grant: () => {
          this.clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.take(size);
          resolve();
        },
      };
      const leave = (error: Error) => {
        waiter.gone = true;
        this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
        this.grant(); // the next in line may fit now
      };
      const onAbort = () => leave(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      // A durable producer's records have no deadline: they wait for room as long as it takes.
      if (Number.isFinite(deadline)) {
        timer = this.clock.setTimeout(
          () => leave(new BufferFullError(`bufferMemory (${this.limit} bytes) stayed full until the delivery timeout`)),
          Math.max(0, deadline - this.clock.now()),
        );
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  free(size: number): void {
    this.usedBytes -= size;
    this.metrics.bufferUsed = this.usedBytes;
    this.grant();
    if (this.roomListeners.length > 0) this.tellRoom();
  }

  /**
   * Calls `listener` once `bytes` fit now (fitsNow), at the latest with the free() that makes them
   * fit; returns a function that cancels it. For a feeder that holds records back while the budget
   * is full, instead of lining each up in reserve().
   */
  onRoomFor(bytes: number, listener: () => void): () => void {
    if (this.fitsNow(bytes)) {
      listener();
      return () => {};
    }
    const entry = { bytes, listener };
    this.roomListeners.push(entry);
    return () => {
      this.roomListeners = this.roomListeners.filter((other) => other !== entry);
    };
  }

  private tellRoom(): void {
    const ready = this.roomListeners.filter((entry) => this.fitsNow(entry.bytes));
    if (ready.length === 0) return;
    this.roomListeners = this.roomListeners.filter((entry) => !ready.includes(entry));
    for (const entry of ready) entry.listener();
  }

  /** Lets everybody still waiting in (on close: what they hold is failed by the caller right after). */
  releaseWaiting(): void {
    for (const waiter of this.waiters.slice(this.head)) if (!waiter.gone) waiter.grant();
    this.waiters = [];
    this.head = 0;
  }

  /** Lets waiting calls in, in order, while their records fit. */
  private grant(): void {
    const waiters = this.waiters;
    while (this.head < waiters.length) {
      const next = waiters[this.head] as Waiter;
      if (!next.gone && this.usedBytes + next.size > this.limit && this.usedBytes > 0) break;
      this.head++;
      if (!next.gone) next.grant();
    }
    // Drop the served front of the line now and then, so it costs O(1) per waiter overall.
    if (this.head > 1024 && this.head * 2 > waiters.length) {
      this.waiters = waiters.slice(this.head);
      this.head = 0;
    }
  }
}
