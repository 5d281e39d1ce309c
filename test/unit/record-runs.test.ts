import { describe, expect, test } from 'vitest';
import type { RecordOutcome } from '../../src/producer/outcomes.js';
import { RecordRuns } from '../../src/producer/record-runs.js';

/** An outcome that writes down what it is told. */
function recorder(name: string) {
  const calls: unknown[][] = [];
  const outcome: RecordOutcome & { calls: unknown[][] } = {
    calls,
    resolved: (...args) => void calls.push([name, 'resolved', ...args]),
    rejected: (index, error) => void calls.push([name, 'rejected', index, error.message]),
  };
  return outcome;
}

describe('RecordRuns', () => {
  test("one call's records in a row make one run, resolved in one call", () => {
    const a = recorder('a');
    const runs = new RecordRuns(a, 5, 100);
    for (let index = 6; index < 10; index++) runs.add(a, index, 100);
    expect(runs.count).toBe(5);
    runs.resolved('t', 2, 40n, -1);
    expect(a.calls).toEqual([['a', 'resolved', 5, 5, 't', 2, 40n, 0, 100]]);
  });

  test('a new run starts at another outcome or timestamp; a run whose places skip resolves record by record', () => {
    const a = recorder('a');
    const b = recorder('b');
    const runs = new RecordRuns(a, 0, 100);
    runs.add(a, 1, 100);
    runs.add(b, 0, 100); // another outcome
    runs.add(b, 1, 100);
    runs.add(b, 2, 200); // another timestamp
    runs.add(b, 4, 200); // a gap (a keyed record went to another partition): same run, places kept
    runs.add(a, 2, 100); // the first outcome again, after others
    expect(runs.count).toBe(7);
    runs.resolved('t', 0, 10n, -1);
    expect([...a.calls, ...b.calls]).toEqual([
      ['a', 'resolved', 0, 2, 't', 0, 10n, 0, 100],
      ['a', 'resolved', 2, 1, 't', 0, 10n, 6, 100],
      ['b', 'resolved', 0, 2, 't', 0, 10n, 2, 100],
      ['b', 'resolved', 2, 1, 't', 0, 10n, 4, 200],
      ['b', 'resolved', 4, 1, 't', 0, 10n, 5, 200],
    ]);
  });

  test("the topic's log-append time replaces every record's timestamp", () => {
    const a = recorder('a');
    const runs = new RecordRuns(a, 0, 100);
    runs.add(a, 1, 200);
    runs.resolved('t', 0, 0n, 999);
    expect(a.calls.map((call) => call.at(-1))).toEqual([999, 999]);
  });

  test('each record is told of a failure, in batch order', () => {
    const a = recorder('a');
    const b = recorder('b');
    const runs = new RecordRuns(a, 3, 1);
    runs.add(b, 0, 1);
    runs.add(a, 4, 1);
    runs.rejected(new Error('refused'));
    expect(a.calls).toEqual([
      ['a', 'rejected', 3, 'refused'],
      ['a', 'rejected', 4, 'refused'],
    ]);
    expect(b.calls).toEqual([['b', 'rejected', 0, 'refused']]);
  });

  test('finds records by position and by outcome and index', () => {
    const a = recorder('a');
    const b = recorder('b');
    const runs = new RecordRuns(a, 0, 10);
    runs.add(a, 1, 10);
    runs.add(b, 7, 5);
    runs.add(b, 8, 5);
    runs.add(b, 11, 5);
    expect(runs.recordAt(3)).toEqual({ outcome: b, index: 8, timestamp: 5 });
    expect(runs.recordAt(4)).toEqual({ outcome: b, index: 11, timestamp: 5 });
    expect(runs.recordAt(1)).toEqual({ outcome: a, index: 1, timestamp: 10 });
    expect(() => runs.recordAt(5)).toThrow(RangeError);
    expect(runs.positionOf(b, 7)).toBe(2);
    expect(runs.positionOf(a, 7)).toBe(-1);
    expect(runs.positionOf(b, 11)).toBe(4);
    expect(runs.indexes()).toEqual([0, 1, 7, 8, 11]);
    expect(runs.earliestTimestamp()).toBe(5);
  });

  test('a subset keeps the chosen records in the order given, as runs again', () => {
    const a = recorder('a');
    const b = recorder('b');
    const runs = new RecordRuns(a, 0, 1);
    for (let index = 1; index < 4; index++) runs.add(a, index, 1);
    runs.add(b, 0, 2);
    const kept = runs.subset([0, 1, 3, 4]);
    expect(kept.count).toBe(4);
    kept.resolved('t', 1, 100n, -1);
    expect([...a.calls, ...b.calls]).toEqual([
      ['a', 'resolved', 0, 1, 't', 1, 100n, 0, 1],
      ['a', 'resolved', 1, 1, 't', 1, 100n, 1, 1],
      ['a', 'resolved', 3, 1, 't', 1, 100n, 2, 1],
      ['b', 'resolved', 0, 1, 't', 1, 100n, 3, 2],
    ]);
    expect(() => runs.subset([5])).toThrow(RangeError);
  });
});
