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
