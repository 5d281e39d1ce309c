/**
 * KafkaJS: producer.send() with arrays of records (see groups.ts), string keys, Buffer values,
 * its default (Java-compatible) partitioner. Knobs: acks, idempotent, compression,
 * maxInFlightRequests, retry.initialRetryTime. No linger or batch-size knob. KafkaJS ships no
 * lz4/zstd codec: lz4 goes through lz4-napi's frame functions and zstd through node:zlib, both
 * synchronous, as @platformatic/kafka does (the community codec packages need old native
 * addons). In transactions: producer.transaction(), one send() of the transaction's records,
 * commit(); a transactional KafkaJS producer must be idempotent with one request in flight.
 */
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import kafkajs, { type Message } from 'kafkajs';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { closeWithin, sendInGroups } from './groups.js';
import { done, readConfig, recordKey, recordValues, runClient, runTransactions, valueAt } from './kit.js';

// CommonJS without named exports that Node can detect.
const { CompressionCodecs, CompressionTypes, Kafka, Partitioners, logLevel } = kafkajs;

CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => compressFrameSync(encoder.buffer),
  decompress: async (buffer: Buffer) => decompressFrameSync(buffer),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: async (encoder: { buffer: Buffer }) => zstdCompressSync(encoder.buffer),
  decompress: async (buffer: Buffer) => zstdDecompressSync(buffer),
});

const COMPRESSION = { none: CompressionTypes.None, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD } as const;

runClient(async () => {
  const config = readConfig();
  const values = recordValues(config.size);
  const kafka = new Kafka({
    clientId: 'bench-kafkajs',
    brokers: [config.bootstrap],
    logLevel: logLevel.WARN,
    // Its default logger writes to stdout, which carries our protocol.
    logCreator:
      () =>
      ({ namespace, level, log }) => {
        if (level <= logLevel.WARN) process.stderr.write(`kafkajs ${namespace}: ${log.message}\n`);
      },
  });
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
