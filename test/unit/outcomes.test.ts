import { describe, expect, test } from 'vitest';
import { ConnectionError } from '../../src/connection/errors.js';
import { DeliveryTimeoutError, InvalidRecordError, RecordsFailedError } from '../../src/producer/errors.js';
import { AllSends, ManySends, SingleSend } from '../../src/producer/outcomes.js';

describe('SingleSend', () => {
  test('resolves with the record metadata', async () => {
    const single = new SingleSend();
    single.resolved(0, 1, 't', 3, 40n, 2, 1_700_000_000_000); // the third record of a batch at offset 40
    await expect(single.promise).resolves.toEqual({ topic: 't', partition: 3, offset: 42n, timestamp: 1_700_000_000_000 });
  });

  test('rejects with the error', async () => {
    const single = new SingleSend();
    single.rejected(0, new Error('refused'));
    await expect(single.promise).rejects.toThrow('refused');
  });
});

describe('ManySends', () => {
  test('resolves once every record settled, in call order, whatever order they settled in', async () => {
    const many = new ManySends(4);
    let settled = false;
    void many.promise.then(() => (settled = true));
    many.resolved(2, 1, 'a', 1, 7n, 0, 300);
    many.rejected(1, new Error('too large'));
    many.resolved(0, 1, 'a', 0, 9_007_199_254_740_990n, 3, 100); // above 2^53: kept exact
    await Promise.resolve();
    expect(settled).toBe(false);
    many.resolved(3, 1, 'a', 5, -1n, 4, 400); // no offset from the broker (acks=0): -1 whatever the position
    const results = await many.promise;
    expect(results).toEqual([
      { status: 'fulfilled', value: { topic: 'a', partition: 0, offset: 9_007_199_254_740_993n, timestamp: 100 } },
      { status: 'rejected', reason: new Error('too large') },
      { status: 'fulfilled', value: { topic: 'a', partition: 1, offset: 7n, timestamp: 300 } },
      { status: 'fulfilled', value: { topic: 'a', partition: 5, offset: -1n, timestamp: 400 } },
    ]);
  });

  test('keeps each record its own topic once topics differ', async () => {
    const many = new ManySends(4);
    many.resolved(3, 1, 'x', 0, 1n, 0, 1);
    many.resolved(0, 1, 'x', 0, 2n, 0, 2);
    many.resolved(1, 1, 'y', 0, 3n, 0, 3);
    many.resolved(2, 1, 'x', 0, 4n, 0, 4);
    const topics = (await many.promise).map((result) => (result.status === 'fulfilled' ? result.value.topic : undefined));
    expect(topics).toEqual(['x', 'y', 'x', 'x']);
  });

  test('takes a run of records at once: consecutive indexes at consecutive positions', async () => {
    const many = new ManySends(5);
    many.resolved(1, 3, 'a', 2, 10n, 4, 500); // records 1-3 at positions 4-6 of a batch at offset 10
    many.resolved(0, 1, 'b', 0, 7n, 0, 100);
    many.resolved(4, 1, 'a', 2, -1n, 0, 600);
    const results = await many.promise;
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value : result.reason))).toEqual([
      { topic: 'b', partition: 0, offset: 7n, timestamp: 100 },
      { topic: 'a', partition: 2, offset: 14n, timestamp: 500 },
      { topic: 'a', partition: 2, offset: 15n, timestamp: 500 },
      { topic: 'a', partition: 2, offset: 16n, timestamp: 500 },
      { topic: 'a', partition: 2, offset: -1n, timestamp: 600 },
    ]);
  });

  test('an empty call resolves at once with no results', async () => {
    await expect(new ManySends(0).promise).resolves.toEqual([]);
  });
});

describe('AllSends', () => {
  test('resolves once every record was written, not before', async () => {
    const all = new AllSends(3);
    let settled = false;
    void all.promise.then(() => (settled = true));
    all.resolved(0, 1);
    all.resolved(0, 1);
    await Promise.resolve();
    expect(settled).toBe(false);
    all.resolved(0, 1);
    await expect(all.promise).resolves.toBeUndefined();
  });

  test('rejects once every record settled, with the failures in call order and the first as the cause', async () => {
    const all = new AllSends(5);
    let settled = false;
    all.promise.catch(() => (settled = true));
    const tooLate = new DeliveryTimeoutError('not acknowledged within deliveryTimeoutMs');
    const bad = new InvalidRecordError('record.value is missing');
    all.rejected(3, tooLate);
    all.resolved(0, 1);
    all.rejected(1, bad);
    all.resolved(0, 1);
    await Promise.resolve();
    expect(settled).toBe(false);
    all.resolved(0, 1);
    const error = (await all.promise.catch((caught: unknown) => caught)) as RecordsFailedError;
    expect(error).toBeInstanceOf(RecordsFailedError);
    expect(error.failures.map(({ index, error }) => [index, error])).toEqual([
      [1, bad],
      [3, tooLate],
    ]);
    expect(error.message).toBe('2 of 5 record(s) failed; the first, record 1: record.value is missing');
    expect(error.cause).toBe(bad);
    expect(error.retriable).toBe(false);
  });

  test('counts a run as its records', async () => {
    const all = new AllSends(1000);
    all.resolved(0, 600);
    all.resolved(600, 399);
    let settled = false;
    void all.promise.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    all.resolved(999, 1);
    await expect(all.promise).resolves.toBeUndefined();
  });

  test('is retriable only when every failure is', async () => {
    const all = new AllSends(2);
    all.rejected(0, new DeliveryTimeoutError('late'));
    all.rejected(1, new ConnectionError('broker at 127.0.0.1:9092', 'the connection closed'));
    const error = (await all.promise.catch((caught: unknown) => caught)) as RecordsFailedError;
    expect(error.retriable).toBe(true);
  });

  test('an empty call resolves at once', async () => {
    await expect(new AllSends(0).promise).resolves.toBeUndefined();
  });
});
