import { expect, test } from 'vitest';
import { type OutcomeContext, produceOutcome } from '../../src/producer/produce-outcome.js';
import type { ProduceResponsePartitionProduceResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/kafka-errors.js';

const batch = { topic: 't', partition: 3, runs: { count: 4 }, resequenced: false };
const context: OutcomeContext = { idempotent: true, bumpRequested: false, earlierUnacknowledged: false, broker: 'broker 1' };

function answer(errorCode: number, extra: Partial<ProduceResponsePartitionProduceResponse> = {}): ProduceResponsePartitionProduceResponse {
  return {
    index: 3,
    errorCode,
    baseOffset: 10n,
    logAppendTimeMs: -1n,
    logStartOffset: 0n,
    recordErrors: [],
    errorMessage: null,
    ...extra,
  } as ProduceResponsePartitionProduceResponse;
}

/** [case, the answer, context changes, batch changes, the outcome's kind and fields]. */
const TABLE: [string, Parameters<typeof produceOutcome>[1], Partial<OutcomeContext>, Partial<typeof batch>, object][] = [
  ['acks=0: no answer to wait for', undefined, {}, {}, { kind: 'complete', baseOffset: -1n }],
  ['written', answer(ErrorCode.NONE), {}, {}, { kind: 'complete', baseOffset: 10n }],
  ['a duplicate of a batch already written', answer(ErrorCode.DUPLICATE_SEQUENCE_NUMBER), {}, {}, { kind: 'complete', baseOffset: -1n }],
  ['the partition left out of the answer', 'missing', {}, {}, { kind: 'fail' }],
  ['too large, several records: split', answer(ErrorCode.MESSAGE_TOO_LARGE), {}, {}, { kind: 'split' }],
  ['too large, one record: fail', answer(ErrorCode.MESSAGE_TOO_LARGE), {}, { runs: { count: 1 } }, { kind: 'fail' }],
  [
    'some records refused (KIP-467)',
    answer(ErrorCode.INVALID_RECORD, { recordErrors: [{ batchIndex: 2, batchIndexErrorMessage: 'no key' }] }),
    {},
    {},
    { kind: 'dropRecords', invalid: new Map([[2, 'no key']]) },
  ],
  [
    'a leader moved: retry, nothing known of earlier attempts',
    answer(ErrorCode.NOT_LEADER_OR_FOLLOWER),
    {},
    {},
    { kind: 'retry', resequence: false, written: 'unknown' },
  ],
  [
    'the broker gave up waiting: retry, maybe written',
    answer(ErrorCode.REQUEST_TIMED_OUT),
    {},
    {},
    { kind: 'retry', resequence: false, written: 'maybe' },
  ],
  [
    'written but under-replicated: retry, maybe written',
    answer(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND),
    {},
    {},
    { kind: 'retry', written: 'maybe' },
  ],
  [
    'out of order, first unacknowledged: bump and renumber (KIP-360)',
    answer(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
    {},
    {},
    { kind: 'retry', resequence: true, written: 'no' },
  ],
  ['out of order a second time: fail', answer(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), {}, { resequenced: true }, { kind: 'fail' }],
  [
    'out of order behind an earlier retry: retry as is',
    answer(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
    { earlierUnacknowledged: true },
    {},
    { kind: 'retry', resequence: false, written: 'no' },
  ],
  [
    'out of order while a bump is due: retry as is',
    answer(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
    { bumpRequested: true },
    {},
    { kind: 'retry', resequence: false },
  ],
  ['unknown producer id: bump and renumber', answer(ErrorCode.UNKNOWN_PRODUCER_ID), {}, {}, { kind: 'retry', resequence: true }],
  [
    'unknown producer id, log start unknown: retry unchanged',
    answer(ErrorCode.UNKNOWN_PRODUCER_ID, { logStartOffset: -1n }),
    {},
    {},
    { kind: 'retry', resequence: false },
  ],
  ['out of order without idempotence: fail', answer(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), { idempotent: false }, {}, { kind: 'fail' }],
  ['fenced by a newer epoch: fail', answer(ErrorCode.INVALID_PRODUCER_EPOCH), {}, {}, { kind: 'fail' }],
  [
    'fenced by a newer epoch, durable: a fresh producer id, once',
    answer(ErrorCode.INVALID_PRODUCER_EPOCH),
    { freshIdWhenFenced: true },
    {},
    { kind: 'retry', resequence: true, written: 'no', freshProducerId: true },
  ],
  [
    'fenced again after the fresh id: fail',
    answer(ErrorCode.INVALID_PRODUCER_EPOCH),
    { freshIdWhenFenced: true },
    { resequenced: true },
    { kind: 'fail' },
  ],
  ['not authorised: fail', answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED), {}, {}, { kind: 'fail' }],
];

test.each(TABLE)('%s', (_name, given, contextChanges, batchChanges, expected) => {
  const outcome = produceOutcome({ ...batch, ...batchChanges }, given, { ...context, ...contextChanges });
  expect(outcome).toMatchObject(expected);
  if ('error' in outcome) {
    expect(outcome.error.message).toContain('topic t partition 3');
    expect(outcome.error.message).toContain('broker 1');
  }
});
