/**
 * @confluentinc/kafka-javascript through its node-rdkafka API (Producer.produce() per record,
 * delivery reports polled on librdkafka's background thread), not its KafkaJS-compatible
 * promise API, which wraps the same calls with a promise per record. librdkafka batches by
 * itself: linger.ms, batch.size, max.in.flight, acks, idempotence and compression are all its
 * own settings. At most WINDOW records await their delivery report. In transactions:
 * beginTransaction(), produce() per record, commitTransaction(), which in librdkafka flushes the
 * transaction's records and fails if any of them failed, so no delivery reports are asked for.
 */
import rdkafka, { type LibrdKafkaError } from '@confluentinc/kafka-javascript';
import { closeWithin } from './groups.js';
import {
  done,
  Latencies,
  maxRssMb,
  readConfig,
  recordKey,
  recordValues,
  runClient,
  runTransactions,
  startClock,
  Tally,
  valueAt,
} from './kit.js';

const WINDOW = 100_000;
/** How long librdkafka may take for a transactional step before it fails it. */
const TRANSACTION_TIMEOUT_MS = 30_000;

/** A callback-taking call of the node-rdkafka API as a promise. */
function call(invoke: (callback: (error: LibrdKafkaError | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => invoke((error) => (error ? reject(error) : resolve())));
}

runClient(async () => {
  const config = readConfig();
  const values = recordValues(config.size);
  if (config.compression !== 'none' && !rdkafka.features.includes(config.compression)) {
    throw new Error(
      `this librdkafka build has no ${config.compression} ` +
        '(for zstd: install libzstd-dev, then KAFKA_WIRE_REBUILD_CONFLUENT=1 npm run bench:confluent)',
    );
  }
  const producer = new rdkafka.Producer({
    'bootstrap.servers': config.bootstrap,
    'client.id': 'bench-confluent',
    acks: config.acks === 'all' ? -1 : 1,
    'enable.idempotence': config.idempotent,
    'compression.type': config.compression,
    'linger.ms': config.lingerMs,
    'batch.size': config.batchSize,
    // Else batches also stop at 10,000 records.
    'batch.num.messages': 1_000_000,
    'max.in.flight.requests.per.connection': config.maxInFlight,
    'retry.backoff.ms': config.retryBackoffMs,
    'queue.buffering.max.messages': 2 * WINDOW,
    dr_cb: !config.transactionalId,
    ...(config.transactionalId ? { 'transactional.id': config.transactionalId } : {}),
  });
  producer.on('event.error', (error) => process.stderr.write(`librdkafka: ${error.message}\n`));
  await new Promise<void>((resolve, reject) => producer.connect({}, (error) => (error ? reject(error) : resolve())));
  producer.setPollInBackground(true);
  if (config.transactionalId) {
    await call((callback) => producer.initTransactions(TRANSACTION_TIMEOUT_MS, callback));
    const line = await runTransactions(config, async (from, to) => {
      await call((callback) => producer.beginTransaction(callback));
      try {
        for (let i = from; i < to; i++) producer.produce(config.topic, null, valueAt(values, i), recordKey(config, i));
        await call((callback) => producer.commitTransaction(TRANSACTION_TIMEOUT_MS, callback));
      } catch (error) {
        await call((callback) => producer.abortTransaction(TRANSACTION_TIMEOUT_MS, callback)).catch(() => {});
        throw error;
      }
    });
    await closeWithin(() => new Promise((resolve) => producer.disconnect(5000, resolve)));
    done(line);
    return;
  }

  const warmup = config.warmupRecords ?? 0;
  const latencies = new Latencies(config.count, warmup);
  const tally = new Tally(WINDOW);
  let finished: (() => void) | undefined;
  const allSettled = new Promise<void>((resolve) => (finished = resolve));
  const checkFinished = () => tally.acked + tally.failed === config.count && finished?.();
  producer.on('delivery-report', (error, report) => {
    if (error) tally.fail(error);
    else {
      tally.ack();
      // The opaque is the send time, negated for a warm-up record (no object per record to carry both);
      // for Latencies, record 0 stands for any warm-up record and Infinity for any after.
      const opaque = report.opaque as number;
      latencies.add(tally.lastSettled - Math.abs(opaque), opaque < 0 ? 0 : Number.POSITIVE_INFINITY);
    }
    checkFinished();
  });

  const clock = startClock(() => tally.acked);
  await tally.feed(config, (from, to) => {
    for (let i = from; i < to; i++) {
      tally.sent();
      try {
        // The opaque (send time; negated for a warm-up record) comes back with the record's delivery report.
        const sentAt = performance.now();
        producer.produce(config.topic, null, valueAt(values, i), recordKey(config, i), null, i < warmup ? -sentAt : sentAt);
      } catch (error) {
        tally.fail(error);
      }
    }
    checkFinished();
  });
  await allSettled;
  const { cpuUs } = clock.stop();
  const line = {
    acked: tally.acked,
    failed: tally.failed,
    elapsedMs: tally.lastSettled - clock.started,
    latencyMs: latencies.summary(),
    wholeRunLatencyMs: latencies.wholeRun(),
    cpuUs,
    maxRssMb: maxRssMb(),
    firstError: tally.firstError,
  };
  await closeWithin(() => new Promise((resolve) => producer.disconnect(5000, resolve)));
  done(line);
});
