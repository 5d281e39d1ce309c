import { KafkaWireError } from '../errors.js';

/** Errors of the connection layer. Each names the broker it concerns. */

export interface ConnectionErrorOptions {
  cause?: unknown;
  /** Default true: a broker that is down, restarting or slow may answer later. */
  retriable?: boolean;
  /**
   * The failure points at the client's settings rather than at a broker that is down: a host
   * name that does not resolve, or a port that is not a Kafka listener of the configured kind
   * (TLS or not, SASL or not). Before a cluster has ever been reached this is final; once it
   * has, the same symptom is taken for a broker in trouble and retried.
   */
  misconfiguration?: boolean;
}

/** The connection failed, closed, or could not be made; pending requests on it fail with this. */
export class ConnectionError extends KafkaWireError {
  override name = 'ConnectionError';
  readonly misconfiguration: boolean;

  constructor(
    readonly broker: string,
    message: string,
    options: ConnectionErrorOptions = {},
  ) {
    super(`${broker}: ${message}`, { cause: options.cause, retriable: options.retriable ?? true });
    this.misconfiguration = options.misconfiguration ?? false;
  }
}

/** A request got no answer within its timeout; the connection it was on is closed. */
export class RequestTimeoutError extends ConnectionError {
  override name = 'RequestTimeoutError';
}

/** SASL authentication was refused. Retrying with the same credentials cannot succeed. */
export class AuthenticationError extends ConnectionError {
  override name = 'AuthenticationError';
  constructor(broker: string, message: string, options: { cause?: unknown } = {}) {
    super(broker, message, { ...options, retriable: false });
  }
}

/**
 * The TLS handshake failed: the broker's certificate is not trusted or does not name the host
 * (final), or the peer does not speak TLS at all (a plaintext listener: a misconfiguration).
 */
export class TlsError extends ConnectionError {
  override name = 'TlsError';
}

/** The peer sent bytes that are not Kafka frames (a wrong port, TLS versus plaintext, a broken broker). */
export class PeerProtocolError extends ConnectionError {
  override name = 'PeerProtocolError';
}

/**
 * The same failure, marked final. A failure that points at the settings (see misconfiguration)
 * is retriable in itself, because a broker in trouble can look the same; before the cluster was
 * ever reached with these settings it is not, and the cluster layer says so with this.
 */
export function finalError<E extends ConnectionError>(error: E): E {
  if (!error.retriable) return error;
  const final = Object.create(Object.getPrototypeOf(error), Object.getOwnPropertyDescriptors(error)) as E;
  Object.defineProperty(final, 'retriable', { value: false, enumerable: true });
  return final;
}
