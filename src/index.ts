/**
 * kafka-wire: the client. Producer, cluster metadata and admin, the partition reader, and the
 * errors they throw. The protocol codecs are in 'kafka-wire/protocol', record batches in
 * 'kafka-wire/records', and the embedded broker for tests in 'kafka-wire/testing'.
 */

export { Admin, type GroupOffset, type ListOffsetsOptions, type NewTopic, type OffsetSpec, type PartitionOffset } from './cluster/admin.js';
export { Cluster, type ClusterEvents, type ClusterOptions } from './cluster/cluster.js';
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
export type { BackoffOptions } from './connection/backoff.js';
export { type BrokerAddress, formatAddress, parseBootstrap } from './connection/bootstrap.js';
export { Connection, type ConnectionOptions, type RequestOptions, type TlsOptions } from './connection/connection.js';
export { ConnectionPool, type PoolOptions } from './connection/pool.js';
export type { OAuthBearerToken, SaslOptions } from './connection/sasl-mechanisms.js';
export { type ConsumedRecord, PartitionReader, type PartitionReaderOptions, readPartition } from './consumer/partition-reader.js';
export { DaemonClient, DaemonConnectionError, type DaemonMessage } from './daemon/client.js';
export {
  type DurableOptions,
  DurableProducer,
  type DurableProducerEvents,
  type DurableProducerOptions,
  type DurableRecovery,
} from './durable/durable-producer.js';
export type { Logger, LogMethod } from './logger.js';
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
  type ConsumerGroupMetadata,
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
  type TransactionOffset,
  type TransactionState,
} from './producer/producer.js';
export { type PrometheusOptions, prometheusText } from './producer/prometheus.js';
export type { ProducerWritableOptions } from './producer/writable.js';
export type { RecordHeader } from './records/batch-builder.js';
export type { CompressionName } from './records/compression.js';

// Errors: every error class the client throws, isRetriable(), and Kafka's error codes.

export { UnknownTopicOrPartitionError } from './cluster/errors.js';
export { BootstrapParseError } from './connection/bootstrap.js';
export { AuthenticationError, ConnectionError, PeerProtocolError, RequestTimeoutError, TlsError } from './connection/errors.js';
export { SaslError } from './connection/sasl-mechanisms.js';
export {
  BatchNotLocatedError,
  InvalidEntryError,
  JournalClosedError,
  JournalError,
  JournalIOError,
  JournalLockedError,
  JournalTimeoutError,
  QueueFullError,
  RecordLostError,
} from './durable/errors.js';
export { ConfigError, isRetriable, KafkaWireError, type KafkaWireErrorOptions } from './errors.js';
export {
  BufferFullError,
  DeliveryTimeoutError,
  InvalidRecordError,
  ProducerClosedError,
  ProducerError,
  ProducerFencedError,
  type RecordFailure,
  RecordsFailedError,
  RecordTooLargeError,
  TransactionAbortableError,
  TransactionAbortedError,
  TransactionStateError,
  TransactionTimeoutError,
} from './producer/errors.js';
export { ErrorCode, errorInfo, KAFKA_ERRORS, type KafkaErrorInfo, KafkaProtocolError } from './protocol/kafka-errors.js';
export { DecodeError, EncodeError, ProtocolError, UnsupportedVersionError } from './protocol/primitives/errors.js';
export { CorruptRecordError } from './records/batch-parser.js';
export { CompressionError } from './records/compression.js';
