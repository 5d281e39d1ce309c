import { KafkaWireError } from '../errors.js';

/** What went wrong while provisioning or running the embedded Kafka. */
export type EmbeddedKafkaErrorCode =
  | 'TOOL_MISSING'
  | 'UNKNOWN_VERSION'
  | 'FETCH_FAILED'
  | 'PORT_IN_USE'
  | 'ALREADY_RUNNING'
  | 'NOT_RUNNING'
  | 'UNKNOWN_NODE'
  | 'FORMAT_FAILED'
  | 'START_FAILED'
  | 'START_TIMEOUT'
  | 'STOP_FAILED'
  | 'BUSY'
  | 'BAD_ARGUMENT';

/** What went wrong with the embedded Kafka; `reason` says which kind of failure it is. */
export class EmbeddedKafkaError extends KafkaWireError {
  override readonly name = 'EmbeddedKafkaError';
  constructor(
    readonly reason: EmbeddedKafkaErrorCode,
    message: string,
  ) {
    super(message);
  }
}
