/**
 * The driver for clients whose send() takes an array of records and resolves when the whole
 * array is acknowledged (KafkaJS, @platformatic/kafka). Neither has a batch-size or linger knob:
 * a send call becomes one Produce request, so the batch is what we hand over per call.
 *
 * Unpaced: records go out in groups of `groupSize(config)`, with `maxInFlight` calls awaiting
 * their acknowledgement at once. Paced (rate > 0): whatever is due every millisecond goes out as
 * one call, with at most PACED_WINDOW records unacknowledged. Every record's send-to-ack latency
 * is the latency of its call (cheap: one timestamp per call).
 */
import { type DoneLine, feed, Latencies, maxRssMb, type RunConfig, startClock } from './kit.js';

const PACED_WINDOW = 100_000;

/**
 * Records per send call: batchSize bytes of values, spread over the partitions. (Calls of
 * batchSize bytes per partition, the size of a Java request with full batches, were slower for
 * both clients here: 15,728 records of 100 B per call instead of 2,621.)
 */
export function groupSize(config: RunConfig): number {
  return Math.max(1, Math.floor(config.batchSize / config.size));
}

/** Runs the workload through `send(from, to)` (records from..to-1); returns the figures for the done line. */
export async function sendInGroups(config: RunConfig, send: (from: number, to: number) => Promise<unknown>): Promise<DoneLine> {
  const group = groupSize(config);
  const latencies = new Latencies(config.count, config.warmupRecords);
  let acked = 0;
  let failed = 0;
  let firstError: string | undefined;
  let calls = 0;
  let outstanding = 0;
  let wake: (() => void) | undefined;
  const hasRoom = () => (config.rate > 0 ? outstanding < PACED_WINDOW : calls < config.maxInFlight);
  const clock = startClock(() => acked);
  const started = clock.started;
  let lastAck = started;
  const pending = new Set<Promise<void>>();

  await feed(
    config.count,
    config.rate,
    () => (config.rate > 0 ? Math.min(group, PACED_WINDOW - outstanding) : hasRoom() ? group : 0),
    (from, to) => {
      const n = to - from;
      calls++;
      outstanding += n;
      const sentAt = performance.now();
      const call = send(from, to).then(
        () => {
          lastAck = performance.now();
          acked += n;
          latencies.add(lastAck - sentAt, from, n);
        },
        (error: unknown) => {
          failed += n;
          firstError ??= error instanceof Error ? error.message : String(error);
        },
      );
      const tracked = call.finally(() => {
        pending.delete(tracked);
        calls--;
        outstanding -= n;
        if (wake && hasRoom()) {
          wake();
          wake = undefined;
        }
      });
      pending.add(tracked);
    },
    () => (hasRoom() ? Promise.resolve() : new Promise<void>((resolve) => (wake = resolve))),
  );
  await Promise.all(pending);
  const { cpuUs } = clock.stop();
  return {
    acked,
    failed,
    elapsedMs: lastAck - started,
    latencyMs: latencies.summary(),
    wholeRunLatencyMs: latencies.wholeRun(),
    cpuUs,
    maxRssMb: maxRssMb(),
    firstError,
  };
}

/** Closes a client, giving up (with a note on stderr) after `ms`, so a slow close cannot hang the run. */
export async function closeWithin(close: () => Promise<unknown>, ms = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      process.stderr.write(`close did not finish within ${ms} ms\n`);
      resolve();
    }, ms);
  });
  await Promise.race([close().catch((error: unknown) => process.stderr.write(`close failed: ${String(error)}\n`)), timeout]);
  clearTimeout(timer);
}
