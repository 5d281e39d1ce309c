/**
 * Where the producer's state machine reads time and sets its timers, so that a test can run it
 * on fake time (test/support/fake-clock.ts) and a scripted broker.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
  /** Runs `callback` once the current turn of work is done (setImmediate): many calls in one turn share one drain. */
  soon(callback: () => void): void;
}

/** An opaque timer handle. */
export type Timer = unknown;

const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  // Date.now itself, not a function around it: it is read for every record, and the extra frame showed in profiles.
  now: Date.now,
  // Node fires a timer longer than 2^31 − 1 ms at once; a durable producer's records wait without a deadline.
  setTimeout: (callback, ms) => setTimeout(callback, Math.min(ms, MAX_TIMER_MS)),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  soon: (callback) => {
    setImmediate(callback);
  },
};
