import { describe, expect, test } from 'vitest';
import { BufferMemory } from '../../src/producer/buffer-memory.js';
import { FakeClock } from '../support/fake-clock.js';

function budget(limit: number): BufferMemory {
  return new BufferMemory(limit, new FakeClock(), { bufferUsed: 0 });
}

describe('BufferMemory', () => {
  test('reserve() lines callers up while the budget is full; free() lets them in, in order', async () => {
    const buffer = budget(100);
    buffer.take(80);
    const order: string[] = [];
    const first = buffer.reserve(30, Number.POSITIVE_INFINITY).then(() => order.push('first'));
    const second = buffer.reserve(10, Number.POSITIVE_INFINITY).then(() => order.push('second'));
    // The second would fit, but does not jump the line.
    expect(buffer.fitsNow(10)).toBe(false);
    buffer.free(40);
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(buffer.used).toBe(80);
  });

  test('onRoomFor() tells at once when the bytes fit, else with the free() that makes them fit', () => {
    const buffer = budget(100);
    const told: string[] = [];
    buffer.onRoomFor(50, () => told.push('at once'));
    expect(told).toEqual(['at once']);

    buffer.take(90);
    buffer.onRoomFor(50, () => told.push('fifty'));
    buffer.free(20);
    expect(told).toEqual(['at once']);
    buffer.free(20);
    expect(told).toEqual(['at once', 'fifty']);
    // Told once only.
    buffer.free(50);
    expect(told).toEqual(['at once', 'fifty']);
  });

  test('onRoomFor() waits behind callers lined up in reserve(), and a cancelled listener is not told', async () => {
    const buffer = budget(100);
    buffer.take(100);
    const told: string[] = [];
    const reserved = buffer.reserve(60, Number.POSITIVE_INFINITY);
    const cancel = buffer.onRoomFor(10, () => told.push('cancelled'));
    buffer.onRoomFor(10, () => told.push('ten'));
    cancel();
    buffer.free(50);
    // 50 free, but the reserve() of 60 is ahead in line: nobody fits yet.
    expect(told).toEqual([]);
    buffer.free(50);
    await reserved;
    expect(told).toEqual(['ten']);
  });
});
