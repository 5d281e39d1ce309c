import { done, Latencies, maxRssMb, readConfig, recordKey, recordValues, runClient, startClock, Tally, valueAt } from './kit.js';

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
  await producer.connect([config.topic]); // before the clock starts, as the other clients connect
  const latencies = new Latencies(config.rate > 0 ? config.count : 0);
  const tally = new Tally(WINDOW);
  const clock = startClock(() => tally.acked);
  await tally.feed(config, (from, to) => {
    const sentAt = performance.now();
    if (config.rate > 0) {
      for (let i = from; i < to; i++) {
        tally.sent();
        producer.send({ topic: config.topic, key: recordKey(config, i), value: valueAt(values, i) }).then(
          () => {
            latencies.add(performance.now() - sentAt);
            tally.ack();
          },
          (error: unknown) => tally.fail(error),
        );
      }
      return;
    }
    for (let first = from; first < to; first += CHUNK) {
      const records = [];
      for (let i = first; i < Math.min(to, first + CHUNK); i++)
        records.push({ topic: config.topic, key: recordKey(config, i), value: valueAt(values, i) });
      tally.sent(records.length);
      void producer.sendMany(records).then((results) => {
        for (const result of results) {
          if (result.status === 'fulfilled') tally.ack();
          else tally.fail(result.reason);
        }
      });
    }
  });
  await producer.flush();
  const elapsedMs = performance.now() - clock.started;
  const { cpuUs } = clock.stop();
  await producer.close();
  done({
    acked: tally.acked,
    failed: tally.failed,
    elapsedMs,
    latencyMs: latencies.summary(),
    cpuUs,
    maxRssMb: maxRssMb(),
    firstError: tally.firstError,
  });
});
