import { expect, test } from 'vitest';
import * as api from '../../src/index.js';

/** Every error class the library exports, with whether a fresh one (default options) is retriable. */
const ERRORS = (Object.entries(api) as [string, unknown][]).filter(
  (entry): entry is [string, new (...args: never[]) => Error] =>
    typeof entry[1] === 'function' && /Error$/.test(entry[0]) && entry[1].prototype instanceof Error,
);

test('every error class kafka-wire exports is a KafkaWireError', () => {
  expect(ERRORS.length).toBeGreaterThanOrEqual(20);
  for (const [name, ErrorClass] of ERRORS) {
    expect(ErrorClass.prototype instanceof api.KafkaWireError || ErrorClass === api.KafkaWireError, name).toBe(true);
  }
});

test('isRetriable() is decided by the error: only kafka-wire errors that say so are retried', () => {
  expect(api.isRetriable(new api.ConnectionError('broker 1', 'refused'))).toBe(true);
  expect(api.isRetriable(new api.AuthenticationError('broker 1', 'wrong password'))).toBe(false);
  expect(api.isRetriable(new api.TlsError('broker 1', 'untrusted certificate', { retriable: false }))).toBe(false);
  expect(api.isRetriable(new api.KafkaProtocolError(api.ErrorCode.NOT_LEADER_OR_FOLLOWER, { api: 'Produce' }))).toBe(true);
  expect(api.isRetriable(new api.KafkaProtocolError(api.ErrorCode.TOPIC_AUTHORIZATION_FAILED, { api: 'Produce' }))).toBe(false);
  expect(api.isRetriable(new api.DeliveryTimeoutError('late'))).toBe(true);
  expect(api.isRetriable(new api.InvalidRecordError('bad'))).toBe(false);
  expect(api.isRetriable(new api.ConfigError('bad option'))).toBe(false);
  expect(api.isRetriable(new TypeError('a bug'))).toBe(false);
  expect(api.isRetriable('a string')).toBe(false);
});

test('a KafkaProtocolError carries the Kafka error code on the common base', () => {
  const error: api.KafkaWireError = new api.KafkaProtocolError(api.ErrorCode.MESSAGE_TOO_LARGE, { api: 'Produce' });
  expect(error.code).toBe(10);
  expect(new api.UnknownTopicOrPartitionError('t', undefined, 'gone').code).toBe(api.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  expect(new api.ConfigError('x').code).toBeUndefined();
});
