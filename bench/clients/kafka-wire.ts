import { Latencies, cpuMicros, done, feed, maxRssMb, readConfig, recordKey, recordValues, valueOf, reportProgress, runClient } from './kit.js';

/**
 * kafka-wire, as built for users (dist/, compiled by tsc; `npm run bench` builds it first).
 * Flat out, records go in sendMany() calls of CHUNK records, at most WINDOW awaiting their
 * acknowledgement; at a fixed rate, one send() per record, timing each.
 */
const CHUNK = 1000;
const WINDOW = 20_000;
const DIST = '../../dist/index.js';

runClient(async () => {
  const { Producer } = (await import(DIST)) as typeof import('../../src/index.js');
  const config = readConfig();
  const values = recordValues(config.size);
  const producer = new Producer({
    bootstrap: config.bootstrap,
    clientId: 'bench-kafka-wire',
    acks: config.acks,
    idempotent: config.idempotent,
    lingerMs: config.lingerMs,
    batchSize: config.batchSize,
    maxInFlight: config.maxInFlight,
    compression: config.compression,
    bufferMemory: 256 * 1024 * 1024,
  });
  const latencies = new Latencies(config.rate > 0 ? config.count : 0);
  let acked = 0;
  let failed = 0;
  let firstError: string | undefined;
  let outstanding = 0;
  let wake: (() => void) | undefined;
  const settled = (records: number) => {
    outstanding -= records;
    if (wake && outstanding <= WINDOW / 2) {
      wake();
      wake = undefined;
    }
  };
  const fail = (error: unknown) => {
    failed++;
    firstError ??= String(error);
  };
  const stopProgress = reportProgress(() => acked);
  const cpuAtStart = cpuMicros();
  const started = performance.now();
  await feed(
    config.count,
    config.rate,
    () => WINDOW - outstanding,
    (from, to) => {
      const sentAt = performance.now();
      if (config.rate > 0) {
        for (let i = from; i < to; i++) {
          outstanding++;
          producer.send({ topic: config.topic, key: recordKey(config, i), value: valueOf(values, i) }).then(() => {
            acked++;
            latencies.add(performance.now() - sentAt);
            settled(1);
          }, (error: unknown) => (fail(error), settled(1)));
        }
        return;
      }
      for (let first = from; first < to; first += CHUNK) {
        const records = [];
        for (let i = first; i < Math.min(to, first + CHUNK); i++) records.push({ topic: config.topic, key: recordKey(config, i), value: valueOf(values, i) });
        outstanding += records.length;
        void producer.sendMany(records).then((results) => {
          for (const result of results) {
            if (result.status === 'fulfilled') acked++;
            else fail(result.reason);
          }
          settled(results.length);
        });
      }
    },
    () => new Promise<void>((resolve) => (wake = resolve)),
  );
  await producer.flush();
  const elapsedMs = performance.now() - started;
  const cpuUs = cpuMicros() - cpuAtStart;
  stopProgress();
  await producer.close();
  done({ acked, failed, elapsedMs, latencyMs: latencies.summary(), cpuUs, maxRssMb: maxRssMb(), firstError });
});
