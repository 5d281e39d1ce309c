/**
 * kafka-wire/records: record batches (builder and parser), compression, CRC-32C, pooled memory,
 * and the Produce request frame the producer writes batches into.
 */

export {
  type BatchSettings,
  type BuiltBatch,
  RecordBatchBuilder,
  type RecordHeader,
  type RecordInput,
  recordSize,
} from './batch-builder.js';
export {
  CorruptRecordError,
  type ParsedHeader,
  type ParsedRecord,
  type ParseOptions,
  parseRecordBatches,
  RecordBatch,
} from './batch-parser.js';
export { CompressionError, type CompressionName, compress, decompress } from './compression.js';
export { crc32c } from './crc32c.js';
export { defaultMemoryPool, MemoryPool, type PooledBuffer } from './memory-pool.js';
export { encodeProduceFrame, type ProduceFrame, type ProduceRequestParts } from './produce-frame.js';
