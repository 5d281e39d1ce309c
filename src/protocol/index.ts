/**
 * kafka-wire/protocol: the typed codecs generated from protocol-schemas/ (one definition per
 * API, with request and response codecs and message types), request/response framing, Kafka's
 * error codes, and the errors the codecs throw.
 */

export { API_NAMES, apiName } from './api-keys.js';
export {
  type DecodedRequest,
  type DecodedResponse,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  requestHeaderVersion,
  responseCorrelationId,
  responseHeaderVersion,
} from './frame.js';
export * from './generated/index.js';
export { ErrorCode, errorInfo, KAFKA_ERRORS, type KafkaErrorInfo, KafkaProtocolError } from './kafka-errors.js';
export {
  type ApiDefinition,
  DecodeError,
  EncodeError,
  MessageCodec,
  ProtocolError,
  type TaggedField,
  UnsupportedVersionError,
  ZERO_UUID,
} from './primitives/index.js';
