/**
 * What the KafkaJS runners share: a client that logs to stderr (its default logger writes to
 * stdout, which carries the runner's JSON lines), and codecs for lz4 and zstd, which KafkaJS does
 * not ship: lz4-napi's frame functions and node:zlib's zstd, both synchronous, as
 * @platformatic/kafka does (the community codec packages need old native addons).
 */
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';

// CommonJS without named exports that Node can detect.
const { CompressionCodecs, CompressionTypes, Kafka, logLevel } = kafkajs;

CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => compressFrameSync(encoder.buffer),
  decompress: async (buffer: Buffer) => decompressFrameSync(buffer),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: async (encoder: { buffer: Buffer }) => zstdCompressSync(encoder.buffer),
  decompress: async (buffer: Buffer) => zstdDecompressSync(buffer),
});

export const COMPRESSION = { none: CompressionTypes.None, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD } as const;

export function kafkajsClient(clientId: string, bootstrap: string): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }) => {
        if (level <= logLevel.WARN) process.stderr.write(`kafkajs ${namespace}: ${log.message}\n`);
      },
  });
}
