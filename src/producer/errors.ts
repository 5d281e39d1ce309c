/** Errors a send() can reject with, besides the KafkaProtocolError of a broker's refusal. */

export class ProducerError extends Error {
  override name = 'ProducerError';
}

/** The record did not settle within deliveryTimeoutMs (retries included). */
export class DeliveryTimeoutError extends ProducerError {
  override name = 'DeliveryTimeoutError';
}

/** bufferMemory stayed full until the record's delivery timeout. */
export class BufferFullError extends ProducerError {
  override name = 'BufferFullError';
}

/** send() after close(), or a record still pending when close() gave up waiting. */
export class ProducerClosedError extends ProducerError {
  override name = 'ProducerClosedError';
}

/** The record is larger than a single Produce request may be. */
export class RecordTooLargeError extends ProducerError {
  override name = 'RecordTooLargeError';
}

/** A record or option that is wrong before anything is sent. */
export class InvalidRecordError extends ProducerError {
  override name = 'InvalidRecordError';
}
