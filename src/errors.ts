/**
 * The root of every error kafka-wire throws, and the one place that decides whether a failure is
 * worth trying again. Each layer subclasses KafkaWireError (ProtocolError, ConnectionError,
 * KafkaProtocolError, ProducerError, ...) and says, when it makes the error, whether the same
 * operation may succeed later; everything above asks isRetriable() instead of testing classes.
 */

export interface KafkaWireErrorOptions {
  cause?: unknown;
  /** Trying the same thing again later may succeed (a broker down, a leader moving). Default false. */
  retriable?: boolean;
  /** The Kafka error code a broker answered with, when the error comes from one. */
  code?: number;
}

export class KafkaWireError extends Error {
  override name = 'KafkaWireError';
  readonly retriable: boolean;
  /** The Kafka error code (see ErrorCode) when a broker's answer carried one. */
  readonly code: number | undefined;

  constructor(message: string, options: KafkaWireErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retriable = options.retriable ?? false;
    this.code = options.code;
  }
}

/** An option given to a constructor or call is wrong: nothing was sent. */
export class ConfigError extends KafkaWireError {
  override name = 'ConfigError';
}

/**
 * Whether trying the failed operation again may succeed. Only kafka-wire's own errors can say
 * so; anything else (a bug, a user callback that threw) is never retried.
 */
export function isRetriable(error: unknown): boolean {
  return error instanceof KafkaWireError && error.retriable;
}
