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

export const systemClock: Clock = {
  // Date.now itself, not a function around it: it is read for every record, and the extra frame showed in profiles.
  now: Date.now,
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  soon: (callback) => {
    setImmediate(callback);
  },
};
