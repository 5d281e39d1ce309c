/**
 * Calls `send(i)` for i in 0..count−1 with at most `window` calls outstanding, as an application
 * with backpressure would; `pace(i)` may pause between calls. Returns the errors of failed calls.
 */
export async function sendWindowed(
  count: number,
  window: number,
  send: (i: number) => Promise<unknown>,
  pace?: (i: number) => Promise<void> | undefined,
): Promise<{ failed: unknown[] }> {
  const failed: unknown[] = [];
  let outstanding = 0;
  let resume: (() => void) | undefined;
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    if (outstanding >= window) await new Promise<void>((resolve) => (resume = resolve));
    outstanding++;
    all.push(
      send(i)
        .catch((error: unknown) => failed.push(error))
        .finally(() => {
          outstanding--;
          if (resume && outstanding <= window / 2) {
            const wake = resume;
            resume = undefined;
            wake();
          }
        }),
    );
    await pace?.(i);
  }
  await Promise.all(all);
  return { failed };
}
