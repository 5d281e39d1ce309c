import type { Clock, Timer } from '../../src/producer/clock.js';

interface FakeTimer {
  at: number;
  order: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * Time that moves only when the test says so. Timers fire in time order as `advance()` passes
 * them; `soon()` callbacks run when the test settles the clock. Nothing here touches real time,
 * so a test of the producer's state machine is the same on a busy machine as on an idle one.
 */
export class FakeClock implements Clock {
  private current: number;
  private readonly timers: FakeTimer[] = [];
  private readonly queued: (() => void)[] = [];
  private order = 0;
  /** Timers set so far, cancelled ones included. */
  timersSet = 0;

  constructor(start = 1_800_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    const timer: FakeTimer = { at: this.current + Math.max(0, ms), order: this.order++, callback, cancelled: false };
    this.timers.push(timer);
    this.timersSet++;
    return timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer) (timer as FakeTimer).cancelled = true;
  }

  soon(callback: () => void): void {
    this.queued.push(callback);
  }

  /** Runs queued work and lets promises resolve until nothing more happens at the current time. */
  async settle(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      // Let pending promise reactions (and real I/O callbacks of the test itself) run.
      await new Promise((resolve) => setImmediate(resolve));
      const due = this.takeDue();
      if (this.queued.length === 0 && due.length === 0) return;
      for (const callback of this.queued.splice(0)) callback();
      for (const timer of due) timer.callback();
    }
    throw new Error('the fake clock did not settle: something reschedules itself without end');
  }

  /** Moves time forward by `ms`, firing every timer that comes due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    await this.settle();
    for (;;) {
      const next = this.timers.filter((timer) => !timer.cancelled && timer.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      await this.settle();
    }
    this.current = end;
    await this.settle();
  }

  private takeDue(): FakeTimer[] {
    const due = this.timers
      .filter((timer) => !timer.cancelled && timer.at <= this.current)
      .sort((a, b) => a.at - b.at || a.order - b.order);
    for (const timer of due) timer.cancelled = true;
    return due;
  }
}
