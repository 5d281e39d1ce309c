import { expect, test } from 'vitest';
import { backoffDelay } from '../../src/connection/backoff.js';

test('backoff doubles per attempt, stays within [ceiling/2, ceiling], and is capped', () => {
  const options = { initialMs: 100, maxMs: 5000 };
  expect(backoffDelay(0, options, () => 0)).toBe(50);
  expect(backoffDelay(0, options, () => 1)).toBe(100);
  expect(backoffDelay(3, options, () => 0)).toBe(400);
  expect(backoffDelay(3, options, () => 1)).toBe(800);
  expect(backoffDelay(20, options, () => 1)).toBe(5000);
  expect(backoffDelay(1000, options, () => 0.5)).toBe(3750);
});

test('jitter spreads retries of many clients', () => {
  const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, { initialMs: 100, maxMs: 10_000 })));
  expect(delays.size).toBeGreaterThan(20);
  for (const delay of delays) {
    expect(delay).toBeGreaterThanOrEqual(800);
    expect(delay).toBeLessThanOrEqual(1600);
  }
});
