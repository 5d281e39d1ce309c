/**
 * KafkaJS: producer.send() with arrays of records (see groups.ts), string keys, Buffer values,
 * its default (Java-compatible) partitioner. Knobs: acks, idempotent, compression,
 * maxInFlightRequests, retry.initialRetryTime. No linger or batch-size knob. lz4 and zstd go
 * through the codecs kafkajs-setup.ts registers. In transactions: producer.transaction(), one
 * send() of the transaction's records, commit(); a transactional KafkaJS producer must be
 * idempotent with one request in flight.
 */
import kafkajs, { type Message } from 'kafkajs';
import { closeWithin, sendInGroups } from './groups.js';
import { COMPRESSION, kafkajsClient } from './kafkajs-setup.js';
import { done, readConfig, recordKey, recordValues, runClient, runTransactions, valueAt } from './kit.js';

// CommonJS without named exports that Node can detect.
const { Partitioners } = kafkajs;

runClient(async () => {
  const config = readConfig();
  const values = recordValues(config.size);
  const kafka = kafkajsClient('bench-kafkajs', config.bootstrap);
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: config.idempotent,
    maxInFlightRequests: config.transactionalId ? 1 : config.maxInFlight,
    transactionalId: config.transactionalId,
    // Retries without limit for an idempotent producer, as Java's (KafkaJS warns when they are limited).
    retry: { initialRetryTime: config.retryBackoffMs, ...(config.idempotent ? { retries: Number.MAX_SAFE_INTEGER } : {}) },
  });
  await producer.connect();
  const acks = config.acks === 'all' ? -1 : 1;
  const compression = COMPRESSION[config.compression];
  const messages = (from: number, to: number) => {
    const batch: Message[] = new Array(to - from);
    for (let i = from; i < to; i++) batch[i - from] = { key: recordKey(config, i), value: valueAt(values, i) };
    return batch;
  };
  const line = config.transactionalId
    ? await runTransactions(config, async (from, to) => {
        const transaction = await producer.transaction();
        try {
          await transaction.send({ topic: config.topic, messages: messages(from, to), acks, compression });
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => {});
          throw error;
        }
      })
    : await sendInGroups(config, (from, to) => producer.send({ topic: config.topic, messages: messages(from, to), acks, compression }));
  await closeWithin(() => producer.disconnect());
  done(line);
});
