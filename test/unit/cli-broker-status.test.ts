import { EventEmitter } from 'node:events';
import { expect, test } from 'vitest';
import { watchBrokers } from '../../src/cli/broker-status.js';
import { ConnectionError } from '../../src/connection/errors.js';

test('the progress note names the brokers that do not answer and why, until they connect again', () => {
  const producer = new EventEmitter();
  const status = watchBrokers(producer as never);
  expect(status.note()).toBeUndefined();
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });
  const failed = (broker: string, address: string, error: Error) => producer.emit('connectFailed', { broker, address, error });
  failed(
    'bootstrap broker 127.0.0.1:9092',
    '127.0.0.1:9092',
    new ConnectionError('bootstrap broker', 'could not connect', { cause: refused }),
  );
  expect(status.note()).toBe('no answer from bootstrap broker 127.0.0.1:9092: ECONNREFUSED; retrying');
  // The same address under its node's name is one broker, not two.
  failed('broker 1 at 127.0.0.1:9092', '127.0.0.1:9092', new ConnectionError('broker 1', 'could not connect', { cause: refused }));
  expect(status.note()).toBe('no answer from broker 1 at 127.0.0.1:9092: ECONNREFUSED; retrying');
  // ...and keeps that name when the bootstrap entry fails again.
  failed(
    'bootstrap broker 127.0.0.1:9092',
    '127.0.0.1:9092',
    new ConnectionError('bootstrap broker', 'could not connect', { cause: refused }),
  );
  expect(status.note()).toBe('no answer from broker 1 at 127.0.0.1:9092: ECONNREFUSED; retrying');
  failed('broker 2 at 127.0.0.1:9102', '127.0.0.1:9102', new ConnectionError('broker 2', 'connecting took longer than 10000 ms'));
  expect(status.note()).toBe(
    'no answer from broker 1 at 127.0.0.1:9092, broker 2 at 127.0.0.1:9102: broker 2: connecting took longer than 10000 ms; retrying',
  );
  producer.emit('connect', { broker: 'broker 1 at 127.0.0.1:9092', address: '127.0.0.1:9092' });
  producer.emit('connect', { broker: 'broker 2 at 127.0.0.1:9102', address: '127.0.0.1:9102' });
  expect(status.note()).toBeUndefined();
  status.stop();
  expect(producer.listenerCount('connectFailed') + producer.listenerCount('connect')).toBe(0);
});
