import { afterEach, expect, test } from 'vitest';
import { CompressionError, compress, decompress } from '../../src/records/compression.js';
import { CompressionThreads, OFFLOAD_FROM_BYTES, worthOffloading } from '../../src/records/compression-threads.js';

let threads: CompressionThreads | undefined;
afterEach(async () => {
  await threads?.close();
  threads = undefined;
});

/** 256 KiB of text that compresses, with some variety from a fixed-seed generator. */
function recordsSection(bytes: number): Buffer {
  let seed = 7;
  let text = '';
  while (text.length < bytes) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    text += `{"user":${seed % 10_000},"event":"view","page":${seed % 97}}`;
  }
  return Buffer.from(text.slice(0, bytes));
}

test.each([
  ['zstd', undefined],
  ['zstd', 1],
  ['zstd', 9],
  ['gzip', undefined],
  ['gzip', 1],
] as const)('%s at level %s: a thread writes byte for byte what compress() writes inline', async (codec, level) => {
  threads = new CompressionThreads(2);
  const input = recordsSection(256 * 1024);
  const inline = compress(codec, input, { level });
  // Several at once over both threads, the input's memory reused as soon as each call returns.
  const scratch = Buffer.from(input);
  const results = await Promise.all(
    Array.from({ length: 6 }, () => {
      const pending = threads!.compress(codec, scratch, level);
      scratch.fill(0x20, 0, 16); // the caller's buffer may change once compress() has returned
      scratch.set(input.subarray(0, 16), 0);
      return pending;
    }),
  );
  for (const result of results) {
    expect(result.equals(inline)).toBe(true);
    expect(decompress(codec, result, input.length).equals(input)).toBe(true);
  }
});

test('a codec failure on the thread rejects with a CompressionError naming the codec; the thread keeps working', async () => {
  threads = new CompressionThreads(1);
  const input = recordsSection(32 * 1024);
  const error = await threads.compress('gzip', input, 99).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(CompressionError);
  expect((error as CompressionError).codec).toBe('gzip');
  expect(String((error as Error).message)).toMatch(/^gzip: compression thread: .*level/i);
  expect((await threads.compress('gzip', input, undefined)).equals(compress('gzip', input))).toBe(true);
});

test('close() rejects compressions under way and refuses new ones', async () => {
  threads = new CompressionThreads(1);
  const pending = threads.compress('zstd', recordsSection(1024 * 1024), 19).catch((caught: unknown) => caught);
  await threads.close();
  const error = await pending;
  expect(error).toBeInstanceOf(CompressionError);
  expect(String((error as Error).message)).toMatch(/zstd: compression thread exited/);
  await expect(threads.compress('zstd', recordsSection(1024), undefined)).rejects.toThrow(/the compression threads are closed/);
});

test('only zstd and gzip batches of OFFLOAD_FROM_BYTES or more go to a thread; the pool size is checked', () => {
  expect(worthOffloading('zstd', OFFLOAD_FROM_BYTES)).toBe(true);
  expect(worthOffloading('gzip', OFFLOAD_FROM_BYTES * 4)).toBe(true);
  expect(worthOffloading('zstd', OFFLOAD_FROM_BYTES - 1)).toBe(false);
  expect(worthOffloading('lz4', OFFLOAD_FROM_BYTES * 4)).toBe(false);
  expect(worthOffloading('snappy', OFFLOAD_FROM_BYTES * 4)).toBe(false);
  expect(worthOffloading('none', OFFLOAD_FROM_BYTES * 4)).toBe(false);
  expect(() => new CompressionThreads(0)).toThrow(RangeError);
  expect(() => new CompressionThreads(1.5)).toThrow(RangeError);
});
