import { ConnectionError } from '../connection/errors.js';
import { isRetriable } from '../errors.js';
import type { Clock, Timer } from './clock.js';
import { DeliveryTimeoutError } from './errors.js';
import type { ProducerSettings } from './options.js';

/** How often a wait for metadata, a connection or a producer id tries again. */
export const RETRY_INTERVAL_MS = 200;

/**
 * Runs `attempt` until it succeeds, fails for good (at once), or `deadline` passes: then it
 * throws an error naming the last failure: a ConnectionError when no broker could be reached.
 * `startedAt` is when the caller began to wait (its send(), say), for the message.
 */
export async function retryUntil<T>(
  clock: Clock,
  settings: Pick<ProducerSettings, 'maxBlockMs' | 'deliveryTimeoutMs'>,
  wait: { startedAt: number; deadline: number; what: string },
  attempt: () => Promise<T>,
): Promise<T> {
  let last: unknown;
  for (;;) {
    let timer: Timer | undefined;
    try {
      // An attempt may wait on a connection's backoff or timeout; the deadline does not.
      const outcome = await Promise.race([
        attempt().then((value) => ({ value })),
        new Promise<undefined>((resolve) => {
          timer = clock.setTimeout(() => resolve(undefined), Math.max(0, wait.deadline - clock.now()));
        }),
      ]);
      if (outcome) return outcome.value;
    } catch (error) {
      if (!isRetriable(error)) throw error;
      last = error;
    } finally {
      clock.clearTimeout(timer);
    }
    const left = wait.deadline - clock.now();
    if (left <= 0) throw blockedTooLong(settings, wait.what, clock.now() - wait.startedAt, last);
    await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(RETRY_INTERVAL_MS, left)));
  }
}

/** The error a wait for metadata, a connection or a producer id ends with: it names the last failure, not the wait. */
function blockedTooLong(
  settings: Pick<ProducerSettings, 'maxBlockMs' | 'deliveryTimeoutMs'>,
  what: string,
  waitedMs: number,
  last: unknown,
): Error {
  const waited = `within ${waitedMs} ms (maxBlockMs ${settings.maxBlockMs}, deliveryTimeoutMs ${settings.deliveryTimeoutMs})`;
  if (last instanceof ConnectionError) {
    const detail = last.message.startsWith(`${last.broker}: `) ? last.message.slice(last.broker.length + 2) : last.message;
    return new ConnectionError(last.broker, `${detail} (kept trying ${what} ${waited})`, { cause: last });
  }
  if (last instanceof Error) return new DeliveryTimeoutError(`failed ${what} ${waited}: ${last.message}`, { cause: last });
  return new DeliveryTimeoutError(`no broker answered ${what} ${waited}: a connection or request was still pending`);
}
