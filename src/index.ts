/**
 * kafka-wire: a Kafka wire-protocol client written from scratch.
 * The public API grows with each layer (codecs, connections, records, producer).
 */
export { parseBootstrap, formatAddress, BootstrapParseError, type BrokerAddress } from './connection/bootstrap.js';
export { API_NAMES, apiName } from './protocol/api-keys.js';
