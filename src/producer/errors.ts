import { isRetriable, KafkaWireError, type KafkaWireErrorOptions } from '../errors.js';

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

/** A record of a sendAll() that failed: its place in the call, and why. */
export interface RecordFailure {
  readonly index: number;
  readonly error: Error;
}

/**
 * Records of a sendAll() failed (the others were written): each with its place in the call and
 * its error, in call order. The first failure's error is the cause; retriable when every one is.
 */
export class RecordsFailedError extends ProducerError {
  override name = 'RecordsFailedError';
  readonly failures: readonly RecordFailure[];

  constructor(failures: readonly RecordFailure[], records: number) {
    const first = failures[0] as RecordFailure;
    super(`${failures.length} of ${records} record(s) failed; the first, record ${first.index}: ${first.error.message}`, {
      cause: first.error,
      retriable: failures.every((failure) => isRetriable(failure.error)),
    });
    this.failures = failures;
  }
}

/** A record that is wrong before anything is sent: the message names the field and what it holds. */
export class InvalidRecordError extends ProducerError {
  override name = 'InvalidRecordError';
}

/** A transactional API called out of order: send() outside a transaction, commit twice, begin before initTransactions(). */
export class TransactionStateError extends ProducerError {
  override name = 'TransactionStateError';
}

/**
 * The transaction hit an error it cannot commit through (a record failed, the coordinator timed
 * it out): only abortTransaction() is allowed, after which the producer can begin a new one.
 */
export class TransactionAbortableError extends ProducerError {
  override name = 'TransactionAbortableError';
}

/** A record of a transaction that was aborted before the record went out: it was never written. */
export class TransactionAbortedError extends ProducerError {
  override name = 'TransactionAbortedError';
}

/**
 * Fatal: another producer with the same transactional id has initialised since this one did (its
 * epoch is newer), so nothing this one sends can commit. Close it; a new producer with the same
 * id recovers (its initTransactions() aborts what this one left open).
 */
export class ProducerFencedError extends ProducerError {
  override name = 'ProducerFencedError';
}

/** A transactional step (InitProducerId, AddPartitionsToTxn, EndTxn, ...) kept failing retriably until maxBlockMs. */
export class TransactionTimeoutError extends ProducerError {
  override name = 'TransactionTimeoutError';
  constructor(message: string, options: KafkaWireErrorOptions = {}) {
    super(message, { retriable: true, ...options });
  }
}
