/** Errors of the connection layer. Each names the broker it concerns. */

/** The connection failed, closed, or could not be made; pending requests on it fail with this. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  constructor(
    readonly broker: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${broker}: ${message}`, options);
  }
}

/** A request got no answer within its timeout; the connection it was on is closed. */
export class RequestTimeoutError extends ConnectionError {
  override name = 'RequestTimeoutError';
}

/** SASL authentication was refused. Retrying with the same credentials cannot succeed. */
export class AuthenticationError extends ConnectionError {
  override name = 'AuthenticationError';
}

/** The peer sent bytes that are not Kafka frames (a wrong port, TLS versus plaintext, a broken broker). */
export class PeerProtocolError extends ConnectionError {
  override name = 'PeerProtocolError';
}
