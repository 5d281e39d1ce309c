import { KafkaWireError } from '../errors.js';
import { ErrorCode } from '../protocol/kafka-errors.js';

/**
 * The cluster's metadata says the topic (or the partition) does not exist, and asking again did
 * not change that. Final: a Produce or Fetch answer with the same code is retriable (a leader
 * moving), this is not. `code` is UNKNOWN_TOPIC_OR_PARTITION.
 */
export class UnknownTopicOrPartitionError extends KafkaWireError {
  override name = 'UnknownTopicOrPartitionError';
  constructor(
    readonly topic: string,
    readonly partition: number | undefined,
    message: string,
  ) {
    super(message, { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, retriable: false });
  }
}
