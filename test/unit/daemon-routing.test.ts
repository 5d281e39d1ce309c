import { describe, expect, test } from 'vitest';
import { TopicRateLimiter } from '../../src/daemon/rate-limiter.js';
import { partitionForKey as forKey, sortedPartitions } from '../../src/producer/partitioner.js';

const partitionForKey = (key: number, partitions: { partition: number; leader: number }[]) => forKey(key, sortedPartitions(partitions));

describe("Dory's PartitionKey rule", () => {
  const up = (ids: number[]) => ids.map((partition) => ({ partition, leader: 1 }));

  test('key mod n over the sorted partition ids, the key unsigned', () => {
    const partitions = up([2, 0, 1]);
    expect([0, 1, 2, 3, 6, 7].map((key) => partitionForKey(key, partitions))).toEqual([0, 1, 2, 0, 0, 1]);
    // -1 is 4294967295 unsigned: 4294967295 mod 3 = 0.
    expect(partitionForKey(-1, partitions)).toBe(0);
    expect(partitionForKey(0xffffffff, up([0, 1, 2, 3, 4]))).toBe(0);
  });

  test('a partition without a leader: the next in order that has one, wrapping; none with a leader: key mod n; no partitions: -1', () => {
    const partitions = [
      { partition: 0, leader: -1 },
      { partition: 1, leader: 2 },
      { partition: 2, leader: -1 },
    ];
    expect(partitionForKey(0, partitions)).toBe(1);
    expect(partitionForKey(2, partitions)).toBe(1);
    expect(
      partitionForKey(
        5,
        partitions.map((p) => ({ ...p, leader: -1 })),
      ),
    ).toBe(2);
    expect(partitionForKey(5, [])).toBe(-1);
  });
});

describe('per-topic rate limits', () => {
  test('fixed windows from the first message: 5,000 in one window at 1,000 allowed, exactly 4,000 refused', () => {
    let now = 10;
    const limiter = new TopicRateLimiter({ topics: { limited: { intervalMs: 1000, maxCount: 1000 } } }, () => now);
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      now = 10 + i / 10; // 5,000 messages over 500 ms
      if (!limiter.allow('limited')) refused++;
    }
    expect(refused).toBe(4000);
    // The next window begins a whole interval after the first: 1,010.
    now = 1009;
    expect(limiter.allow('limited')).toBe(false);
    now = 1010;
    expect(limiter.allow('limited')).toBe(true);
    // Other topics: no default, no limit.
    for (let i = 0; i < 5000; i++) expect(limiter.allow('free')).toBe(true);
  });

  test('a default limit for unlisted topics, each counted on its own; null exempts a topic; reload starts over', () => {
    const now = 0;
    const limiter = new TopicRateLimiter({ default: { intervalMs: 100, maxCount: 2 }, topics: { exempt: null } }, () => now);
    expect([1, 2, 3].map(() => limiter.allow('a'))).toEqual([true, true, false]);
    expect([1, 2, 3].map(() => limiter.allow('b'))).toEqual([true, true, false]);
    expect([1, 2, 3].map(() => limiter.allow('exempt'))).toEqual([true, true, true]);
    limiter.reload({ default: { intervalMs: 100, maxCount: 0 } });
    expect(limiter.allow('exempt')).toBe(false);
  });
});
