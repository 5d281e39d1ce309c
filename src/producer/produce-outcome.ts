import type { ProduceResponsePartitionProduceResponse } from '../protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';

/** What happens to a batch after a Produce answer (Java's Sender.completeBatch / canRetry, as one function). */
export type ProduceOutcome =
  /** Written (or, for a duplicate or acks=0, nothing to learn but that): settle its records. */
  | { kind: 'complete'; baseOffset: bigint; logAppendTime: bigint }
  /** MESSAGE_TOO_LARGE with more than one record: resend in two halves, keeping the sequence range. */
  | { kind: 'split' }
  /** KIP-467: the broker refused these records (batch index → its message); the rest go again. */
  | { kind: 'dropRecords'; invalid: Map<number, string | undefined>; error: KafkaProtocolError }
  /**
   * Another attempt after the backoff. `resequence`: under a bumped epoch, renumbered (KIP-360).
   * `written`: what the answer says of this and earlier attempts: 'maybe' (the broker gave up
   * waiting, perhaps after writing), 'no' (a sequence verdict: nothing of it was written), or
   * 'unknown' (this attempt was refused; an earlier one may still have been written).
   * `freshProducerId`: the epoch cannot simply be raised (it was fenced): ask for a new producer id.
   */
  | { kind: 'retry'; error: KafkaProtocolError; resequence: boolean; written: 'maybe' | 'no' | 'unknown'; freshProducerId?: boolean }
  /** Its records fail with this error. */
  | { kind: 'fail'; error: KafkaProtocolError };

export interface OutcomeContext {
  idempotent: boolean;
  /**
   * A durable producer (src/durable/): a fenced epoch (INVALID_PRODUCER_EPOCH, its last bump lost
   * with a crash) is left behind for a fresh producer id instead of failing records it holds on disk.
   */
  freshIdWhenFenced?: boolean;
  /** An epoch bump is already due. */
  bumpRequested: boolean;
  /** A batch with a lower sequence of the same partition is still unacknowledged. */
  earlierUnacknowledged: boolean;
  /** How errors name the broker, e.g. "broker 1 at 127.0.0.1:9092". */
  broker: string;
}

export interface OutcomeBatch {
  topic: string;
  partition: number;
  runs: { count: number };
  /** Already resent once under a bumped epoch after a sequence error. */
  resequenced: boolean;
}

/** Errors after which the attempt may have been written: the broker gave up waiting, not before writing. */
const MAYBE_WRITTEN: ReadonlySet<number> = new Set([
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.NETWORK_EXCEPTION,
]);

/**
 * The outcome of one partition's answer to a Produce request, as a pure function of the batch,
 * the answer (undefined when acks=0 asked for none, 'missing' when the answer left the partition
 * out) and what the producer knows of the partition.
 */
export function produceOutcome(
  batch: OutcomeBatch,
  answer: ProduceResponsePartitionProduceResponse | 'missing' | undefined,
  context: OutcomeContext,
): ProduceOutcome {
  if (answer === undefined) return { kind: 'complete', baseOffset: -1n, logAppendTime: -1n };
  const subject = `topic ${batch.topic} partition ${batch.partition}`;
  if (answer === 'missing') {
    const error = new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, {
      api: 'Produce',
      broker: context.broker,
      subject,
      detail: 'the answer did not mention this partition',
    });
    return { kind: 'fail', error };
  }
  const code = answer.errorCode;
  if (code === ErrorCode.NONE) return { kind: 'complete', baseOffset: answer.baseOffset, logAppendTime: answer.logAppendTimeMs };
  // Already written by an earlier attempt.
  if (code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) return { kind: 'complete', baseOffset: -1n, logAppendTime: -1n };
  const error = new KafkaProtocolError(code, { api: 'Produce', broker: context.broker, subject, detail: answer.errorMessage });
  if (code === ErrorCode.MESSAGE_TOO_LARGE && batch.runs.count > 1) return { kind: 'split' };
  if (answer.recordErrors.length > 0) {
    const invalid = new Map(answer.recordErrors.map((entry) => [entry.batchIndex, entry.batchIndexErrorMessage ?? undefined]));
    return { kind: 'dropRecords', invalid, error };
  }
  // The broker could not tell its log start offset (the partition was moving): as the Java client does, ask again unchanged.
  if (code === ErrorCode.UNKNOWN_PRODUCER_ID && answer.logStartOffset < 0n) {
    return { kind: 'retry', error, resequence: false, written: 'unknown' };
  }
  const sequenceError = code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code === ErrorCode.UNKNOWN_PRODUCER_ID;
  // An out-of-order answer is expected for batches behind one that is being resent.
  const behindRetry = code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && (context.bumpRequested || context.earlierUnacknowledged);
  if (sequenceError && !behindRetry && context.idempotent && !batch.resequenced) {
    // The broker lost this producer's state or the records before this batch (KIP-360): as the
    // Java client does, bump the epoch and resend the batch renumbered, once; a second time it fails loudly.
    return { kind: 'retry', error, resequence: true, written: 'no' };
  }
  // An idempotent producer's epoch the broker has seen overtaken (a restarted durable producer whose
  // last epoch bump was not journaled): a new producer id, and the batch renumbered under it, once.
  if (code === ErrorCode.INVALID_PRODUCER_EPOCH && context.freshIdWhenFenced && context.idempotent && !batch.resequenced) {
    return { kind: 'retry', error, resequence: true, written: 'no', freshProducerId: true };
  }
  if (error.retriable || behindRetry) {
    const written = MAYBE_WRITTEN.has(code) ? 'maybe' : sequenceError ? 'no' : 'unknown';
    return { kind: 'retry', error, resequence: false, written };
  }
  return { kind: 'fail', error };
}
