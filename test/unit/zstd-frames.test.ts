import { randomBytes } from 'node:crypto';
import { constants, zstdCompressSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { zstdFramesProblem } from '../../src/records/zstd-frames.js';

const { ZSTD_c_checksumFlag, ZSTD_c_contentSizeFlag, ZSTD_c_compressionLevel } = constants;

const text = Buffer.from('{"id":1,"word":"kafka","n":42}\n'.repeat(20_000)); // several 128 KiB blocks
const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
const small = zstdCompressSync(Buffer.from('first'));
const several = Buffer.concat([small, skippable, zstdCompressSync(text)]);

// Frames with each header and block variant: checksum or not, content size or not, raw blocks
// (random bytes do not compress), an RLE block (one repeated byte), several frames, a skippable frame.
const inputs: Record<string, Buffer> = {
  'default frame': zstdCompressSync(text),
  'with content checksum': zstdCompressSync(text, { params: { [ZSTD_c_checksumFlag]: 1 } }),
  'without content size': zstdCompressSync(text, { params: { [ZSTD_c_contentSizeFlag]: 0 } }),
  'raw blocks': zstdCompressSync(randomBytes(300_000), { params: { [ZSTD_c_compressionLevel]: 1 } }),
  'one repeated byte': zstdCompressSync(Buffer.alloc(200_000, 7)),
  'empty content': zstdCompressSync(Buffer.alloc(0)),
  'two frames and a skippable one': several,
};

describe('zstd frame walker', () => {
  test.each(Object.entries(inputs))('%s: complete, and every shorter prefix is reported', (_, frames) => {
    expect(zstdFramesProblem(frames)).toBeUndefined();
    const cuts = new Set([1, 3, 4, 5, 6, 9, 12, frames.length - 4, frames.length - 1]);
    for (let cut = 0; cut < frames.length; cut += Math.max(1, Math.floor(frames.length / 97))) cuts.add(cut);
    // A cut that ends exactly between whole frames is a valid, shorter input, as zstd itself accepts.
    const frameEnds = frames === several ? [small.length, small.length + skippable.length] : [];
    for (const cut of cuts) {
      if (cut <= 0 || cut >= frames.length || frameEnds.includes(cut)) continue;
      expect(zstdFramesProblem(frames.subarray(0, cut)), `cut at ${cut} of ${frames.length}`).toMatch(/cut off|missing/);
    }
  });

  test('bytes that are no zstd frame are reported, not walked', () => {
    expect(zstdFramesProblem(Buffer.from('not zstd at all'))).toBe('no zstd frame at byte 0');
  });
});
