/**
 * kafka-wire: a Kafka wire-protocol client written from scratch.
 * The public API grows with each layer (codecs, connections, records, producer).
 */

export { Admin, type NewTopic, type OffsetSpec, type PartitionOffset } from './cluster/admin.js';
export { Cluster, type ClusterEvents, type ClusterOptions } from './cluster/cluster.js';
export { UnknownTopicOrPartitionError } from './cluster/errors.js';
export {
  type BrokerInfo,
  type LeaderChange,
  MetadataCache,
  type MetadataChange,
  type MetadataOptions,
  type PartitionCountChange,
  type PartitionInfo,
  type TopicInfo,
} from './cluster/metadata.js';
export { BootstrapParseError, type BrokerAddress, formatAddress, parseBootstrap } from './connection/bootstrap.js';
export { Connection, type ConnectionOptions, type RequestOptions, type TlsOptions } from './connection/connection.js';
export { AuthenticationError, ConnectionError, PeerProtocolError, RequestTimeoutError, TlsError } from './connection/errors.js';
export { ConnectionPool, type PoolOptions } from './connection/pool.js';
export { type OAuthBearerToken, SaslError, type SaslOptions } from './connection/sasl-mechanisms.js';
export { type ConsumedRecord, PartitionReader, type PartitionReaderOptions, readPartition } from './consumer/partition-reader.js';
export { ConfigError, isRetriable, KafkaWireError, type KafkaWireErrorOptions } from './errors.js';
export type { Logger, LogMethod } from './logger.js';
export {
  BufferFullError,
  DeliveryTimeoutError,
  InvalidRecordError,
  ProducerClosedError,
  ProducerError,
  RecordTooLargeError,
} from './producer/errors.js';
export {
  type CustomPartitioner,
  keyPartition,
  murmur2,
  type PartitionChoice,
  StickyPartitioner,
  toPositive,
} from './producer/partitioner.js';
export {
  type BrokerLatency,
  PRODUCE_REQUEST_CHANNEL,
  Producer,
  type ProducerEvents,
  type ProducerMetrics,
  type ProducerOptions,
  type ProducerRecord,
  type RecordBytes,
  type RecordMetadata,
  type SendOptions,
  type Serializers,
} from './producer/producer.js';
export { type PrometheusOptions, prometheusText } from './producer/prometheus.js';
export type { ProducerWritableOptions } from './producer/writable.js';
export { API_NAMES, apiName } from './protocol/api-keys.js';
export {
  type DecodedRequest,
  type DecodedResponse,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  requestHeaderVersion,
  responseCorrelationId,
  responseHeaderVersion,
} from './protocol/frame.js';
export * from './protocol/generated/index.js';
export { ErrorCode, errorInfo, KAFKA_ERRORS, type KafkaErrorInfo, KafkaProtocolError } from './protocol/kafka-errors.js';
export {
  type ApiDefinition,
  DecodeError,
  EncodeError,
  MessageCodec,
  ProtocolError,
  type TaggedField,
  UnsupportedVersionError,
} from './protocol/primitives/index.js';
export {
  type BatchSettings,
  type BuiltBatch,
  RecordBatchBuilder,
  type RecordHeader,
  type RecordInput,
  recordSize,
} from './records/batch-builder.js';
export {
  CorruptRecordError,
  type ParsedHeader,
  type ParsedRecord,
  type ParseOptions,
  parseRecordBatches,
  RecordBatch,
} from './records/batch-parser.js';
export { BufferPool, defaultBufferPool, type PooledBuffer } from './records/buffer-pool.js';
export { CompressionError, type CompressionName, compress, decompress } from './records/compression.js';
export { crc32c } from './records/crc32c.js';
export { encodeProduceFrame, type ProduceFrame, type ProduceRequestParts } from './records/produce-frame.js';
