/**
 * kafka-wire: a Kafka wire-protocol client written from scratch.
 * The public API grows with each layer (codecs, connections, records, producer).
 */
export { parseBootstrap, formatAddress, BootstrapParseError, type BrokerAddress } from './connection/bootstrap.js';
export { API_NAMES, apiName } from './protocol/api-keys.js';
export * from './protocol/generated/index.js';
export {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  requestHeaderVersion,
  responseCorrelationId,
  responseHeaderVersion,
  type DecodedRequest,
  type DecodedResponse,
} from './protocol/frame.js';
export {
  DecodeError,
  EncodeError,
  MessageCodec,
  ProtocolError,
  UnsupportedVersionError,
  type ApiDefinition,
  type TaggedField,
} from './protocol/primitives/index.js';
export { Connection, type ConnectionOptions, type RequestOptions, type TlsOptions } from './connection/connection.js';
export { ConnectionPool, type PoolOptions } from './connection/pool.js';
export { AuthenticationError, ConnectionError, PeerProtocolError, RequestTimeoutError } from './connection/errors.js';
export { SaslError, type SaslOptions, type OAuthBearerToken } from './connection/sasl-mechanisms.js';
export { Cluster, type ClusterOptions } from './cluster/cluster.js';
export { MetadataCache, type BrokerInfo, type PartitionInfo, type TopicInfo, type PartitionCountChange, type MetadataOptions } from './cluster/metadata.js';
export { Admin, type NewTopic, type OffsetSpec, type PartitionOffset } from './cluster/admin.js';
export { ErrorCode, KAFKA_ERRORS, KafkaProtocolError, errorInfo, isRetriable, type KafkaErrorInfo } from './protocol/kafka-errors.js';
export { RecordBatchBuilder, recordSize, type BatchSettings, type BuiltBatch, type RecordHeader, type RecordInput } from './records/batch-builder.js';
export { CorruptRecordError, RecordBatch, parseRecordBatches, type ParseOptions, type ParsedHeader, type ParsedRecord } from './records/batch-parser.js';
export { BufferPool, defaultBufferPool, type PooledBuffer } from './records/buffer-pool.js';
export { CompressionError, compress, decompress, type CompressionName } from './records/compression.js';
export { crc32c } from './records/crc32c.js';
export { encodeProduceFrame, type ProduceFrame, type ProduceRequestParts } from './records/produce-frame.js';
export { Producer, PRODUCE_REQUEST_CHANNEL, type ProducerOptions, type ProducerRecord, type RecordMetadata, type ProducerMetrics, type SendOptions, type BrokerLatency } from './producer/producer.js';
export { BufferFullError, DeliveryTimeoutError, InvalidRecordError, ProducerClosedError, ProducerError, RecordTooLargeError } from './producer/errors.js';
export { StickyPartitioner, keyPartition, murmur2, toPositive, type CustomPartitioner, type PartitionChoice } from './producer/partitioner.js';
export { PartitionReader, readPartition, type ConsumedRecord, type PartitionReaderOptions } from './consumer/partition-reader.js';
