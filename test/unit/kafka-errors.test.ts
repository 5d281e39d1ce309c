import { describe, expect, test } from 'vitest';
import { ErrorCode, errorInfo, KAFKA_ERRORS, KafkaProtocolError } from '../../src/protocol/kafka-errors.js';

// Recorded from org.apache.kafka.common.protocol.Errors.values() in kafka-clients 4.3.1:
// every code present in the jar (135 codes, -1..133, no gaps) ...
const JAR_CODES: readonly number[] = [
  -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
  36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69,
  70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102,
  103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129,
  130, 131, 132, 133,
];
// ... and the codes whose exception() is a RetriableException.
const JAR_RETRIABLE: readonly number[] = [
  2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100, 103, 106, 122, 123, 133,
];

describe('KAFKA_ERRORS table', () => {
  test('holds exactly the codes of the jar, sorted, from -1 to the highest', () => {
    const codes = [...KAFKA_ERRORS.keys()];
    expect(codes).toEqual(JAR_CODES);
    expect(codes[0]).toBe(-1);
    expect(codes.at(-1)).toBe(133);
    expect(KAFKA_ERRORS.size).toBe(135);
    // The jar has no gaps, so neither does the table.
    codes.forEach((code, i) => {
      expect(code).toBe(i - 1);
    });
  });

  test('each entry is keyed by its own code', () => {
    for (const [code, info] of KAFKA_ERRORS) expect(info.code).toBe(code);
  });

  test('names are unique upper-snake identifiers', () => {
    const names = [...KAFKA_ERRORS.values()].map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  test('retriability matches the jar for every code', () => {
    const retriable = [...KAFKA_ERRORS.values()].filter((e) => e.retriable).map((e) => e.code);
    expect(retriable).toEqual(JAR_RETRIABLE);
  });

  test('no message is empty', () => {
    for (const info of KAFKA_ERRORS.values()) expect(info.message.trim()).not.toBe('');
  });

  test.each([
    [-1, 'UNKNOWN_SERVER_ERROR', false],
    [0, 'NONE', false],
    [3, 'UNKNOWN_TOPIC_OR_PARTITION', true],
    [6, 'NOT_LEADER_OR_FOLLOWER', true],
    [35, 'UNSUPPORTED_VERSION', false],
    [36, 'TOPIC_ALREADY_EXISTS', false],
    [45, 'OUT_OF_ORDER_SEQUENCE_NUMBER', false],
    [46, 'DUPLICATE_SEQUENCE_NUMBER', false],
    [58, 'SASL_AUTHENTICATION_FAILED', false],
    [59, 'UNKNOWN_PRODUCER_ID', false],
    [74, 'FENCED_LEADER_EPOCH', true],
  ] as const)('code %i is %s (retriable: %s)', (code, name, retriable) => {
    const info = errorInfo(code);
    expect(info.name).toBe(name);
    expect(info.retriable).toBe(retriable);
    expect(new KafkaProtocolError(code, { api: 'Produce' }).retriable).toBe(retriable);
  });
});

describe('errorInfo', () => {
  test('returns the table entry for a known code', () => {
    expect(errorInfo(6)).toBe(KAFKA_ERRORS.get(6));
  });

  test('gives a generic, non-retriable entry for an unknown code', () => {
    expect(errorInfo(9999)).toEqual({
      code: 9999,
      name: 'UNKNOWN_CODE_9999',
      retriable: false,
      message: 'an error code this client does not know',
    });
    expect(errorInfo(-2).name).toBe('UNKNOWN_CODE_-2');
    expect(errorInfo(9999).retriable).toBe(false);
  });
});

describe('ErrorCode', () => {
  test('every constant names the table entry for its code', () => {
    for (const [name, code] of Object.entries(ErrorCode)) {
      expect(KAFKA_ERRORS.get(code)?.name, `${name} = ${code}`).toBe(name);
    }
  });

  test('covers the codes the client switches on', () => {
    expect(ErrorCode.NONE).toBe(0);
    expect(ErrorCode.UNKNOWN_SERVER_ERROR).toBe(-1);
    expect(ErrorCode.NOT_LEADER_OR_FOLLOWER).toBe(6);
    expect(ErrorCode.TOPIC_ALREADY_EXISTS).toBe(36);
    expect(ErrorCode.PRODUCER_FENCED).toBe(90);
    expect(ErrorCode.TRANSACTION_ABORTABLE).toBe(120);
    expect(ErrorCode.INVALID_RECORD).toBe(87);
  });
});

describe('KafkaProtocolError', () => {
  test('full context produces a complete message and fields', () => {
    const err = new KafkaProtocolError(ErrorCode.NOT_LEADER_OR_FOLLOWER, {
      api: 'Produce',
      broker: 'broker 1 at 127.0.0.1:9092',
      subject: 'topic events partition 3',
      detail: 'leader moved to broker 2',
    });
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(KafkaProtocolError);
    expect(err.name).toBe('KafkaProtocolError');
    expect(err.code).toBe(6);
    expect(err.errorName).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(err.retriable).toBe(true);
    expect(err.api).toBe('Produce');
    expect(err.broker).toBe('broker 1 at 127.0.0.1:9092');
    expect(err.detail).toBe('leader moved to broker 2');
    expect(err.message).toBe(
      'Produce to broker 1 at 127.0.0.1:9092 failed for topic events partition 3: ' +
        `NOT_LEADER_OR_FOLLOWER (6, retriable): ${errorInfo(6).message}; ` +
        'broker said: leader moved to broker 2',
    );
  });

  test('absent parts are omitted and non-retriable codes are not marked', () => {
    const err = new KafkaProtocolError(ErrorCode.TOPIC_ALREADY_EXISTS, { api: 'CreateTopics', detail: null });
    expect(err.broker).toBeUndefined();
    expect(err.detail).toBeUndefined();
    expect(err.retriable).toBe(false);
    expect(err.message).toBe(`CreateTopics failed: TOPIC_ALREADY_EXISTS (36): ${errorInfo(36).message}`);
  });

  test('unknown codes still produce a readable error', () => {
    const err = new KafkaProtocolError(500, { api: 'Metadata', subject: 'topic t' });
    expect(err.errorName).toBe('UNKNOWN_CODE_500');
    expect(err.retriable).toBe(false);
    expect(err.message).toBe('Metadata failed for topic t: UNKNOWN_CODE_500 (500): an error code this client does not know');
  });
});
