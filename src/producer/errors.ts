import { KafkaWireError, type KafkaWireErrorOptions } from '../errors.js';

/**
 * Errors a send() can reject with, besides the KafkaProtocolError of a broker's refusal and the
 * ConnectionError of an unreachable cluster.
 */

export class ProducerError extends KafkaWireError {
  override name = 'ProducerError';
}

/** The record did not settle within deliveryTimeoutMs (retries included). It may or may not have been written. */
export class DeliveryTimeoutError extends ProducerError {
  override name = 'DeliveryTimeoutError';
  constructor(message: string, options: KafkaWireErrorOptions = {}) {
    super(message, { retriable: true, ...options });
  }
}

/** bufferMemory stayed full until the record's delivery timeout. */
export class BufferFullError extends ProducerError {
  override name = 'BufferFullError';
  constructor(message: string, options: KafkaWireErrorOptions = {}) {
    super(message, { retriable: true, ...options });
  }
}

/** send() after close(), or a record still pending when close() gave up waiting. */
export class ProducerClosedError extends ProducerError {
  override name = 'ProducerClosedError';
}

/** The record is larger than a single Produce request may be. */
export class RecordTooLargeError extends ProducerError {
  override name = 'RecordTooLargeError';
}

/** A record that is wrong before anything is sent: the message names the field and what it holds. */
export class InvalidRecordError extends ProducerError {
  override name = 'InvalidRecordError';
}
