import { describe, expect, test } from 'vitest';
import { OpenRecords } from '../../src/durable/open-records.js';
import { Random } from '../support/random.js';

describe('OpenRecords', () => {
  test('the oldest open id, as ids finish in order and out of it', () => {
    const open = new OpenRecords();
    for (const id of [3, 5, 6, 9]) open.add(id);
    expect([open.oldest, open.size]).toEqual([3, 4]);
    open.done(6);
    expect([open.oldest, open.size]).toEqual([3, 3]);
    open.done(6); // twice: counted once
    open.done(7); // never added: ignored
    expect(open.size).toBe(3);
    open.done(3);
    expect([open.oldest, open.size]).toEqual([5, 2]);
    open.done(5);
    expect([open.oldest, open.size]).toEqual([9, 1]);
    open.done(9);
    expect([open.oldest, open.size]).toEqual([undefined, 0]);
  });

  test('agrees with a plain set over 200,000 random adds and finishes, through many compactions', () => {
    const random = new Random(20261130);
    const open = new OpenRecords();
    const model = new Set<number>();
    let next = 1;
    for (let step = 0; step < 200_000; step++) {
      if (model.size === 0 || random.int(0, 1) > 0) {
        next += random.int(1, 3);
        open.add(next);
        model.add(next);
      } else {
        // Mostly the oldest few, sometimes any open id, sometimes one already done.
        const ids = [...model].slice(0, 8);
        const id = random.int(0, 9) === 0 ? next - random.int(0, 50) : (ids[random.int(0, ids.length - 1)] as number);
        open.done(id);
        model.delete(id);
      }
      if (step % 997 === 0 || model.size < 3) {
        expect(open.size).toBe(model.size);
        expect(open.oldest).toBe(model.size === 0 ? undefined : Math.min(...model));
      }
    }
  });
});
