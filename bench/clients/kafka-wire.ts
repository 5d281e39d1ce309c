import diagnostics from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonProcess } from '../../test/support/daemon.js';
import { processCpuMicros, residentMb } from '../../test/support/proc.js';
import {
  type DoneLine,
  done,
  Latencies,
  maxRssMb,
  type RunConfig,
  readConfig,
  recordKey,
  recordValues,
  runClient,
  runTransactions,
  startClock,
  Tally,
  valueAt,
} from './kit.js';

/**
 * kafka-wire, as built for users (dist/, compiled by tsc; `npm run bench` builds it first).
 * Flat out, records go in sendAll() calls of CHUNK records (its fastest bulk call: no metadata
 * per record, only failures), at most WINDOW awaiting their acknowledgement; at a fixed rate,
 * one send() per record, timing each, and each Produce request's round trip (from the producer's
 * diagnostics channel). In transactions: each transaction's records in one sendAll(), not
 * awaited, then commitTransaction(), which sends them, waits for their acknowledgement and
 * commits. Durable (config.durable): the durable producer's enqueueMany() per CHUNK, timing
 * acceptance, then flush() until every record is acknowledged; the journal lives in a temporary
 * directory of the run's own.
 */
const CHUNK = 1000;
const WINDOW = 20_000;
const DIST = '../../dist/bundle/index.js';

runClient(async () => {
  const { Producer, RecordsFailedError, PRODUCE_REQUEST_CHANNEL } = (await import(DIST)) as typeof import('../../src/index.js');
  const config = readConfig();
  if (config.daemon) {
    done(await runDaemon(config));
    return;
  }
  if (config.durable) {
    done(await runDurable(config));
    return;
  }
  const values = recordValues(config.size);
  const producer = new Producer({
    ...tuning(config),
    clientId: 'bench-kafka-wire',
    acks: config.acks,
    idempotent: config.idempotent,
    transactionalId: config.transactionalId,
  });
  await producer.connect([config.topic]); // before the clock starts, as the other clients connect
  const records = (from: number, to: number) => {
    const batch = [];
    for (let i = from; i < to; i++) batch.push({ topic: config.topic, key: recordKey(config, i), value: valueAt(values, i) });
    return batch;
  };
  if (config.transactionalId) {
    await producer.initTransactions();
    const line = await runTransactions(config, async (from, to) => {
      producer.beginTransaction();
      const sent = producer.sendAll(records(from, to));
      sent.catch(() => {}); // the commit's own error comes first; sent is awaited below
      try {
        await producer.commitTransaction();
      } catch (error) {
        await producer.abortTransaction().catch(() => {}); // a fatal error leaves nothing to abort
        throw error;
      }
      await sent.catch((error: unknown) => {
        throw new Error(`committed, yet a record failed: ${String(error)}`);
      });
    });
    await producer.close();
    done(line);
    return;
  }
  const tally = new Tally(WINDOW);
  const warmup = config.warmupRecords ?? 0;
  const latencies = new Latencies(config.rate > 0 ? config.count : 0, warmup);
  // Paced: each Produce request's round trip too (at most one request per record); one answered
  // while the warm-up's records are still being acknowledged counts in the warm-up.
  const requestLatencies = new Latencies(config.rate > 0 ? config.count : 0, warmup);
  const onRequest = (message: unknown) => requestLatencies.add((message as { durationMs: number }).durationMs, tally.acked);
  if (config.rate > 0) diagnostics.subscribe(PRODUCE_REQUEST_CHANNEL, onRequest);
  const clock = startClock(() => tally.acked);
  await tally.feed(config, (from, to) => {
    const sentAt = performance.now();
    if (config.rate > 0) {
      for (let i = from; i < to; i++) {
        tally.sent();
        producer.send({ topic: config.topic, key: recordKey(config, i), value: valueAt(values, i) }).then(
          () => {
            latencies.add(performance.now() - sentAt, i);
            tally.ack();
          },
          (error: unknown) => tally.fail(error),
        );
      }
      return;
    }
    for (let first = from; first < to; first += CHUNK) {
      const count = Math.min(to, first + CHUNK) - first;
      tally.sent(count);
      producer.sendAll(records(first, first + count)).then(
        () => tally.ack(count),
        (error: unknown) => {
          const failed = error instanceof RecordsFailedError ? error.failures.length : count;
          tally.ack(count - failed);
          tally.fail(error, failed);
        },
      );
    }
  });
  await producer.flush();
  const elapsedMs = performance.now() - clock.started;
  const { cpuUs } = clock.stop();
  if (config.rate > 0) diagnostics.unsubscribe(PRODUCE_REQUEST_CHANNEL, onRequest);
  await producer.close();
  done({
    acked: tally.acked,
    failed: tally.failed,
    elapsedMs,
    latencyMs: latencies.summary(),
    wholeRunLatencyMs: latencies.wholeRun(),
    requestLatencyMs: requestLatencies.summary(),
    cpuUs,
    maxRssMb: maxRssMb(),
    firstError: tally.firstError,
  });
});

/** The run's shared tuning, as both producers take it. */
function tuning(config: RunConfig) {
  return {
    bootstrap: config.bootstrap,
    lingerMs: config.lingerMs,
    batchSize: config.batchSize,
    maxInFlight: config.maxInFlight,
    retryBackoff: { initialMs: config.retryBackoffMs, maxMs: 1000 },
    compression: config.compression,
    bufferMemory: 256 * 1024 * 1024,
    connectionsPerBroker: config.connectionsPerBroker,
  };
}

/** Connections the daemon scenario sends over, records dealt out in turn. */
const DAEMON_CONNECTIONS = 4;

/**
 * `kafka-wire daemon` from dist/ as a child process: DAEMON_CONNECTIONS stream connections send
 * the records in Dory's format, then its status page is polled until it says all are delivered.
 * CPU and peak RSS are the daemon's (from /proc), not this sender's.
 */
async function runDaemon(config: RunConfig): Promise<DoneLine> {
  const { DaemonClient } = (await import(DIST)) as typeof import('../../src/index.js');
  const values = recordValues(config.size);
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-daemon-'));
  const socket = join(dir, 'in.sock');
  // The built daemon, as an installed package runs it.
  const entry = fileURLToPath(new URL('../../dist/bundle/cli.js', import.meta.url));
  const args = [
    '--bootstrap',
    config.bootstrap,
    '--stream',
    socket,
    '--journal',
    join(dir, 'journal'),
    '--sync',
    config.durable ?? 'interval',
  ];
  const daemon = await DaemonProcess.start(args, { entry });
  try {
    let delivered = 0;
    const clock = startClock(() => delivered);
    const cpuAtStart = processCpuMicros(daemon.pid);
    const clients = await Promise.all(Array.from({ length: DAEMON_CONNECTIONS }, () => DaemonClient.connect({ path: socket })));
    for (let i = 0; i < config.count; i++) {
      const client = clients[i % DAEMON_CONNECTIONS] as (typeof clients)[number];
      const key = recordKey(config, i);
      if (!client.send({ topic: config.topic, key, value: valueAt(values, i) })) await client.drained();
    }
    await Promise.all(clients.map((client) => client.close()));
    let discarded = 0;
    while (delivered + discarded < config.count) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      ({ delivered, discarded } = await daemon.status());
    }
    const elapsedMs = performance.now() - clock.started;
    const cpuUs = processCpuMicros(daemon.pid) - cpuAtStart;
    const rssMb = residentMb(daemon.pid, 'peak');
    clock.stop();
    await daemon.stop();
    return { acked: delivered, failed: discarded, elapsedMs, latencyMs: null, cpuUs, maxRssMb: rssMb };
  } finally {
    daemon.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runDurable(config: RunConfig): Promise<DoneLine> {
  const { DurableProducer } = (await import(DIST)) as typeof import('../../src/index.js');
  const values = recordValues(config.size);
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-journal-'));
  try {
    const producer = await DurableProducer.open({
      ...tuning(config),
      clientId: 'bench-kafka-wire-durable',
      durable: { dir, sync: config.durable, syncIntervalMs: 10 },
    });
    let undelivered = 0;
    let deliveryError: string | undefined;
    producer.on('deliveryFailed', ({ records, error }) => {
      undelivered += records;
      deliveryError ??= error.message;
    });
    const latencies = new Latencies(config.count);
    const tally = new Tally(WINDOW);
    const clock = startClock(() => tally.acked);
    await tally.feed(config, (from, to) => {
      for (let first = from; first < to; first += CHUNK) {
        const last = Math.min(to, first + CHUNK);
        const chunk = [];
        for (let i = first; i < last; i++) chunk.push({ topic: config.topic, key: recordKey(config, i), value: valueAt(values, i) });
        const sentAt = performance.now();
        tally.sent(chunk.length);
        producer.enqueueMany(chunk).then(
          () => {
            const latency = performance.now() - sentAt;
            latencies.add(latency, first, chunk.length);
            tally.ack(chunk.length);
          },
          (error: unknown) => tally.fail(error, chunk.length),
        );
      }
    });
    await producer.flush();
    const elapsedMs = performance.now() - clock.started;
    const { cpuUs } = clock.stop();
    await producer.close();
    return {
      acked: tally.acked - undelivered,
      failed: tally.failed + undelivered,
      elapsedMs,
      latencyMs: latencies.summary(),
      cpuUs,
      maxRssMb: maxRssMb(),
      firstError: tally.firstError ?? deliveryError,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
