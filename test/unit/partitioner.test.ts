import { describe, expect, test } from 'vitest';
import { keyPartition, murmur2, StickyPartitioner, toPositive } from '../../src/producer/partitioner.js';
import { Random } from '../support/random.js';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/**
 * Vectors from the real Java implementation. Produced by a throwaway program (not in this repo) run with javac/java 17 against
 * the classpath "/root/.cache/kafka-wire/kafka/4.3.1/lib/*" (Kafka 4.3.1's kafka-clients): for each key (hex), it printed
 * org.apache.kafka.common.utils.Utils.murmur2(byte[]) and Utils.toPositive(murmur2) % n for n = 1, 3, 6, 7, 10, 100.
 * Keys: ASCII, UTF-8 multi-byte, and binary keys (many with every byte >= 0x80, where Java's signed bytes matter),
 * lengths 0..40 (plus the 43-byte "quick brown fox" sentence).
 */
const PARTITION_COUNTS = [1, 3, 6, 7, 10, 100] as const;
const JAVA_VECTORS: ReadonlyArray<readonly [hex: string, murmur2: number, partitions: readonly number[]]> = [
  ['', 275646681, [0, 0, 3, 2, 1, 81]], // empty key
  ['30', 971027396, [0, 2, 2, 3, 6, 96]], // "0"
  ['31', -1993445489, [0, 0, 3, 2, 9, 59]], // "1"
  ['313238', -326012175, [0, 2, 5, 3, 3, 73]], // "128"
  ['61', -1563381124, [0, 1, 4, 5, 4, 24]], // "a"
  ['6162', 316155434, [0, 2, 2, 0, 4, 34]], // "ab"
  ['616263', 479470107, [0, 0, 3, 4, 7, 7]], // "abc"
  ['61626364', -1323649548, [0, 2, 2, 5, 0, 0]], // "abcd"
  ['6162636465', 461995741, [0, 1, 1, 4, 1, 41]], // "abcde"
  ['757365722d31', 1404122828, [0, 2, 2, 3, 8, 28]], // "user-1"
  ['757365722d3432', 1459644460, [0, 1, 4, 1, 0, 60]], // "user-42"
  ['757365722d353939', -262481679, [0, 2, 5, 4, 9, 69]], // "user-599"
  ['68656c6c6f20776f726c64', 1221641059, [0, 1, 1, 2, 9, 59]], // "hello world"
  // "The quick brown fox jumps over the lazy dog"
  ['54686520717569636b2062726f776e20666f78206a756d7073206f76657220746865206c617a7920646f67', 495243318, [0, 0, 0, 3, 8, 18]],
  ['6b61666b612d77697265', -1160557046, [0, 0, 0, 4, 2, 2]], // "kafka-wire"
  ['6f726465723a323032342d30312d30313a303030303137', 1680552317, [0, 2, 5, 3, 7, 17]], // "order:2024-01-01:000017"
  // "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  ['78787878787878787878787878787878787878787878787878787878787878787878787878787878', -284334276, [0, 2, 2, 0, 2, 72]],
  // "0123456789012345678901234567890123456789"
  ['30313233343536373839303132333435363738393031323334353637383930313233343536373839', 1523616294, [0, 0, 0, 4, 4, 94]],
  ['c3a9', 186971271, [0, 0, 3, 4, 1, 71]], // "é"
  ['c3bc', 1419834458, [0, 2, 2, 0, 8, 58]], // "ü"
  ['e697a5', 887896795, [0, 1, 1, 2, 5, 95]], // "日"
  ['e697a5e69cac', -700811021, [0, 0, 3, 1, 7, 27]], // "日本"
  ['e697a5e69cace8aa9e', 1431860170, [0, 1, 4, 6, 0, 70]], // "日本語"
  ['cebacebbceb5ceb9ceb4ceaf', -842732785, [0, 1, 1, 3, 3, 63]], // "κλειδί"
  ['d0bad0bbd18ed187', 2122343024, [0, 2, 2, 4, 4, 24]], // "ключ"
  ['f09f9491', 2080712807, [0, 2, 5, 5, 7, 7]], // "🔑"
  ['f09f9491f09f9491', 1125048981, [0, 0, 3, 0, 1, 81]], // "🔑🔑"
  ['6e61c3af766520636166c3a9', 1338837213, [0, 0, 3, 0, 3, 13]], // "naïve café"
  ['4772c3bcc39f6520617573204bc3b66c6e', 2123417415, [0, 0, 3, 0, 5, 15]], // "Grüße aus Köln"
  ['e4b8ade69687e994aee580bce6b58be8af95', 2004871526, [0, 2, 2, 0, 6, 26]], // "中文键值测试"
  ['656d6f6a692df09f98802d6b6579', -1602214731, [0, 2, 5, 4, 7, 17]], // "emoji-😀-key"
  ['c3b1c3b1c3b1c3b1c3b1c3b1c3b1c3b1c3b1c3b1c3b1c3b1c3b1', 343364457, [0, 0, 3, 2, 7, 57]], // "ñññññññññññññ"
  ['9f', 1896891531, [0, 0, 3, 3, 1, 31]], // binary, 1 bytes
  ['83dd', -1804680307, [0, 1, 1, 6, 1, 41]], // binary, 2 bytes
  ['d1989e', 1190393021, [0, 2, 5, 6, 1, 21]], // binary, 3 bytes
  ['a2fabced', -1605032487, [0, 2, 5, 0, 1, 61]], // binary, 4 bytes
  ['f1ddf7eb93', 516546660, [0, 0, 0, 0, 0, 60]], // binary, 5 bytes
  ['d6f5d69780a1', -1418312663, [0, 0, 3, 4, 5, 85]], // binary, 6 bytes
  ['a8c7b9a89db09b', 84207156, [0, 0, 0, 5, 6, 56]], // binary, 7 bytes
  ['f6b39e83b7a49d8c', -781126341, [0, 2, 5, 0, 7, 7]], // binary, 8 bytes
  ['d6edf89481cabcb5a1b6b5', 1564284621, [0, 0, 3, 4, 1, 21]], // binary, 11 bytes
  ['cce5efeef4b8efb58bc5f294abf9f6d7b1', 1380132469, [0, 1, 1, 2, 9, 69]], // binary, 17 bytes
  ['ffb58cb8c5acfd9ef597b7fdfcf186b286f7f6d8fea5d2cd91b7a7abab', -526376664, [0, 2, 2, 0, 4, 84]], // binary, 29 bytes
  // binary, 40 bytes
  ['a9c1cff8b6abd4e3dbb39799d4e3b5869c8787d6f0adacf4cc9ffe8decea9b8dccdadca0a7fbe0b2', -1009036324, [0, 1, 4, 0, 4, 24]],
  ['7a', -581646306, [0, 2, 2, 6, 2, 42]], // "z"
  ['9881', 1848867847, [0, 1, 1, 1, 7, 47]], // binary, 2 bytes
  ['6e80be', 1004242985, [0, 2, 5, 4, 5, 85]], // binary, 3 bytes
  ['5c413739cd', 620489243, [0, 2, 5, 3, 3, 43]], // binary, 5 bytes
  ['56d994701b631da0ba', -878159166, [0, 2, 2, 6, 2, 82]], // binary, 9 bytes
  ['91de7a20dea4daf888fa', -810514665, [0, 2, 5, 0, 3, 83]], // binary, 10 bytes
  ['5cb0892d5b729d49f42b421a03', 922129780, [0, 1, 4, 5, 0, 80]], // binary, 13 bytes
  ['87b22c24f1eacab296a601ca62619d48', 336070029, [0, 0, 3, 1, 9, 29]], // binary, 16 bytes
  ['015829c8de87f3a526aa05fcc53d2ca9677bf3', 75563412, [0, 0, 0, 1, 2, 12]], // binary, 19 bytes
  ['487761a73423ab548a55d4c626b91989a4bd76e85f8b', -664291675, [0, 1, 1, 4, 3, 73]], // binary, 22 bytes
  ['a7f07410286dbff734ebdcaec8b5265fa0d8baf737207422ca18', 1793960300, [0, 2, 2, 6, 0, 0]], // binary, 26 bytes
  ['f04b550d899f940c5c0a02de4538dd12df941ff2884b848b5a498aa9323a6b', -986052479, [0, 0, 3, 3, 9, 69]], // binary, 31 bytes
  ['d8ab89246323647157b4b4cd803b287669532b66605ae8596f6a4ccd626002fcc7d778', 275375111, [0, 2, 5, 4, 1, 11]], // binary, 35 bytes
  ['e3e82dd83ed27c0f8851a1c9fef137719cfd9c341e82eafe004cfe7b7de67316929ea6fcfb7e', -1895566635, [0, 2, 5, 5, 3, 13]], // binary, 38 bytes
  ['b4193352761977a88b67c3ca4d30d3c5da6023650ba3ee367f65318390d1a7595bd4ce84bc19e0', 1520074933, [0, 1, 1, 6, 3, 33]], // binary, 39 bytes
  ['8f4f0edac86fdd7839397335af897b4fb5fb63c098ea554464733e59e572ca39a78364e1f501390d', 496281384, [0, 0, 0, 4, 4, 84]], // binary, 40 bytes
  ['ff', -311467685, [0, 0, 3, 5, 3, 63]], // binary, 1 bytes
  ['ffff', -1642832928, [0, 2, 2, 0, 0, 20]], // binary, 2 bytes
  ['ffffff', 1548199422, [0, 0, 0, 0, 2, 22]], // binary, 3 bytes
  ['ffffffff', 644171429, [0, 2, 5, 6, 9, 29]], // binary, 4 bytes
  ['80', 857690492, [0, 2, 2, 1, 2, 92]], // binary, 1 bytes
  ['00', 375494588, [0, 2, 2, 0, 8, 88]], // binary, 1 bytes
  ['000000', 1013532917, [0, 2, 5, 5, 7, 17]], // binary, 3 bytes
  ['7f8081', 756355482, [0, 0, 0, 1, 2, 82]], // binary, 3 bytes
];

describe('murmur2', () => {
  test('matches the reference vectors in kafka-facts.md', () => {
    expect(murmur2(utf8('0'))).toBe(971027396);
    expect(murmur2(utf8('1'))).toBe(-1993445489);
    expect(murmur2(utf8('128'))).toBe(-326012175);
  });

  test(`matches Java's Utils.murmur2 on ${JAVA_VECTORS.length} keys`, () => {
    expect(JAVA_VECTORS.length).toBeGreaterThanOrEqual(60);
    for (const [hex, expected] of JAVA_VECTORS) expect(murmur2(Buffer.from(hex, 'hex')), hex).toBe(expected);
  });

  test('covers every tail length and bytes >= 0x80 in the fixtures', () => {
    const keys = JAVA_VECTORS.map(([hex]) => Buffer.from(hex, 'hex'));
    expect(new Set(keys.map((key) => key.length % 4))).toEqual(new Set([0, 1, 2, 3]));
    for (let rest = 1; rest <= 3; rest++)
      expect(keys.some((key) => key.length % 4 === rest && key.subarray(key.length - rest).every((b) => b >= 0x80))).toBe(true);
    expect(Math.min(...keys.map((key) => key.length))).toBe(0);
    expect(keys.filter((key) => key.length >= 40).length).toBeGreaterThanOrEqual(3);
  });

  test('is a signed 32-bit integer', () => {
    for (const [hex] of JAVA_VECTORS) {
      const h = murmur2(Buffer.from(hex, 'hex'));
      expect(Number.isInteger(h)).toBe(true);
      expect(h | 0).toBe(h);
    }
  });

  test('reads only the view it is given (plain Uint8Array, subarray with an offset)', () => {
    for (const [hex, expected] of JAVA_VECTORS) {
      const bytes = Buffer.from(hex, 'hex');
      expect(murmur2(new Uint8Array(bytes))).toBe(expected);
      const padded = new Uint8Array(bytes.length + 7).fill(0xaa);
      padded.set(bytes, 3);
      expect(murmur2(padded.subarray(3, 3 + bytes.length))).toBe(expected);
    }
  });
});

describe('toPositive', () => {
  test('clears the sign bit like Java', () => {
    expect(toPositive(0)).toBe(0);
    expect(toPositive(42)).toBe(42);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(2147483647)).toBe(2147483647);
    expect(toPositive(-1993445489)).toBe(154038159);
  });
});

describe('keyPartition', () => {
  test(`matches Java's toPositive(murmur2(key)) % n for n in ${PARTITION_COUNTS.join(', ')}`, () => {
    for (const [hex, , partitions] of JAVA_VECTORS) {
      const key = Buffer.from(hex, 'hex');
      PARTITION_COUNTS.forEach((n, i) => {
        expect(keyPartition(key, n), `${hex} % ${n}`).toBe(partitions[i]);
      });
    }
  });

  test('rejects a partition count below one', () => {
    expect(() => keyPartition(utf8('k'), 0)).toThrow(RangeError);
    expect(() => keyPartition(utf8('k'), -3)).toThrow(RangeError);
  });
});

/** Splits the partitions a sequence of records got into runs of the same partition. */
function stints(partitions: number[]): Array<{ partition: number; length: number }> {
  const runs: Array<{ partition: number; length: number }> = [];
  for (const p of partitions) {
    const last = runs.at(-1);
    if (last && last.partition === p) last.length++;
    else runs.push({ partition: p, length: 1 });
  }
  return runs;
}

describe('StickyPartitioner', () => {
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);

  test('stays on one partition until about batchSize bytes, then switches to a different one', () => {
    const random = new Random(1);
    const sticky = new StickyPartitioner(1000, () => random.next());
    const got = Array.from({ length: 1000 }, () => sticky.partition('t', 6, all(6), 100));
    const runs = stints(got);
    // 1000 bytes / 100 bytes a record: exactly 10 records a stint, and every switch lands elsewhere.
    expect(runs).toHaveLength(100);
    for (const run of runs) expect(run.length).toBe(10);
  });

  test('switches after the record that reaches batchSize (uneven record sizes)', () => {
    const random = new Random(2);
    const sticky = new StickyPartitioner(1000, () => random.next());
    const sizes = Array.from({ length: 2000 }, () => random.int(1, 300));
    const got = sizes.map((size) => sticky.partition('t', 4, all(4), size));
    let i = 0;
    for (const run of stints(got).slice(0, -1)) {
      const bytes = sizes.slice(i, i + run.length);
      const total = bytes.reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThanOrEqual(1000);
      expect(total - bytes.at(-1)!).toBeLessThan(1000);
      i += run.length;
    }
  });

  test('a record larger than batchSize gets a stint of its own', () => {
    const random = new Random(3);
    const sticky = new StickyPartitioner(100, () => random.next());
    const got = Array.from({ length: 50 }, () => sticky.partition('t', 5, all(5), 500));
    for (let i = 1; i < got.length; i++) expect(got[i]).not.toBe(got[i - 1]);
  });

  test('chooses only among the available partitions', () => {
    const random = new Random(4);
    const sticky = new StickyPartitioner(100, () => random.next());
    const available = [1, 3, 5];
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) seen.add(sticky.partition('t', 6, available, 60));
    expect(seen).toEqual(new Set(available));
  });

  test('leaves a sticky partition at once when it stops being available', () => {
    const random = new Random(5);
    const sticky = new StickyPartitioner(1_000_000, () => random.next());
    const first = sticky.partition('t', 4, all(4), 10);
    expect(sticky.partition('t', 4, all(4), 10)).toBe(first);
    const rest = all(4).filter((p) => p !== first);
    const next = sticky.partition('t', 4, rest, 10);
    expect(rest).toContain(next);
    expect(sticky.partition('t', 4, rest, 10)).toBe(next);
  });

  test('falls back to all partitions when none is available', () => {
    const random = new Random(6);
    const sticky = new StickyPartitioner(10, () => random.next());
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(sticky.partition('t', 3, [], 10));
    expect(seen).toEqual(new Set([0, 1, 2]));
  });

  test('spreads roughly uniformly over many switches', () => {
    const random = new Random(7);
    const sticky = new StickyPartitioner(1000, () => random.next());
    const counts = new Array<number>(8).fill(0);
    const records = 80_000; // 10 records a stint: 8000 stints, about 1000 on each partition
    for (let i = 0; i < records; i++) counts[sticky.partition('t', 8, all(8), 100)]!++;
    const stintsPer = counts.map((c) => c / 10);
    for (const c of stintsPer) {
      expect(c).toBeGreaterThan(900);
      expect(c).toBeLessThan(1100);
    }
  });

  test('new partitions join the random choice from the next switch on', () => {
    const random = new Random(8);
    const sticky = new StickyPartitioner(1000, () => random.next());
    // Half a stint on 3 partitions.
    const start = Array.from({ length: 5 }, () => sticky.partition('t', 3, all(3), 100));
    expect(new Set(start).size).toBe(1);
    const current = start[0]!;
    expect(current).toBeLessThan(3);
    // Metadata refresh: 6 partitions now. The stint in progress carries on where it is.
    const rest = Array.from({ length: 5 }, () => sticky.partition('t', 6, all(6), 100));
    expect(rest).toEqual(new Array(5).fill(current));
    // Later stints use the new partitions too.
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) seen.add(sticky.partition('t', 6, all(6), 100));
    expect(seen).toEqual(new Set(all(6)));
  });

  test('a single available partition is always returned', () => {
    const random = new Random(9);
    const sticky = new StickyPartitioner(50, () => random.next());
    for (let i = 0; i < 200; i++) expect(sticky.partition('t', 5, [2], 40)).toBe(2);
    for (let i = 0; i < 200; i++) expect(sticky.partition('solo', 1, [0], 40)).toBe(0);
  });

  test('keeps a separate sticky partition for each topic', () => {
    const random = new Random(10);
    const sticky = new StickyPartitioner(1000, () => random.next());
    const a = sticky.partition('a', 100, all(100), 100);
    const b = sticky.partition('b', 100, all(100), 100);
    for (let i = 0; i < 8; i++) {
      expect(sticky.partition('a', 100, all(100), 100)).toBe(a);
      expect(sticky.partition('b', 100, all(100), 100)).toBe(b);
    }
  });

  test('works with the default random source', () => {
    const sticky = new StickyPartitioner(16_384);
    const p = sticky.partition('t', 6, all(6), 100);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThan(6);
  });

  test('rejects a bad batchSize or partition count', () => {
    expect(() => new StickyPartitioner(0)).toThrow(RangeError);
    expect(() => new StickyPartitioner(100).partition('t', 0, [], 1)).toThrow(RangeError);
  });
});

describe('keyPartition of a string key', () => {
  // ASCII, 2-, 3- and 4-byte UTF-8, a lone surrogate (sent as U+FFFD, as Buffer.from writes it), empty, and longer than the scratch buffer.
  const KEYS = ['key-1234', 'ünïcödé', '日本語のキー', '🔑🗝️', 'a\uD800b', '', 'x'.repeat(300), 'é'.repeat(700)];

  test('goes to the partition of its UTF-8 bytes, for each partition count', () => {
    for (const key of KEYS)
      for (const count of [1, 3, 6, 7, 10, 100]) expect(keyPartition(key, count), key.slice(0, 20)).toBe(keyPartition(utf8(key), count));
  });

  test('a long key does not change what a short one after it hashes to', () => {
    const short = keyPartition('key-1', 1000);
    keyPartition('z'.repeat(5000), 1000);
    expect(keyPartition('key-1', 1000)).toBe(short);
    expect(keyPartition('key-1', 1000)).toBe(keyPartition(utf8('key-1'), 1000));
  });
});
