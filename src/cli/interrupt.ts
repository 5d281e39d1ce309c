/** Ctrl-C for commands that wind down gracefully: the first asks them to stop, the second quits at once. */

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof EXIT_CODES;

export interface Interrupts {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Stops listening (the process's default handling returns). */
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM: the first aborts `signal` and calls `onFirst` (to tell the user
 * what is still being waited for); a second one exits at once with 128 + the signal number,
 * whatever the command is waiting for.
 */
export function listenForInterrupts(
  onFirst: (signal: StopSignal) => void,
  exit: (code: number) => void = (code) => process.exit(code),
  signals: Pick<NodeJS.EventEmitter, 'on' | 'off'> = process,
): Interrupts {
  const controller = new AbortController();
  const handler = (signal: StopSignal) => {
    if (controller.signal.aborted) {
      exit(EXIT_CODES[signal]);
      return;
    }
    controller.abort(new Error(`interrupted by ${signal}`));
    onFirst(signal);
  };
  const listeners = (Object.keys(EXIT_CODES) as StopSignal[]).map((name) => [name, () => handler(name)] as const);
  for (const [name, listener] of listeners) signals.on(name, listener);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, listener] of listeners) signals.off(name, listener);
    },
  };
}

/** Resolves when `promise` settles or `signal` aborts, whichever comes first: a wait that Ctrl-C can cut short. */
export function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
