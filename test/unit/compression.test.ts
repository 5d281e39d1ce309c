import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  COMPRESSION_CODES,
  CompressionError,
  type CompressionName,
  compress,
  compressionName,
  decompress,
} from '../../src/records/compression.js';
import { xxhash32 } from '../../src/records/xxhash32.js';
import { Random } from '../support/random.js';

type CompressionModule = typeof import('../../src/records/compression.js');

const require = createRequire(import.meta.url);
const snappyPackage = require('snappy') as typeof import('snappy');
const lz4Napi = require('lz4-napi') as typeof import('lz4-napi');

const CODECS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const COMPRESSING: readonly CompressionName[] = ['gzip', 'snappy', 'lz4', 'zstd'];
const MiB = 1024 * 1024;

/** Text that compresses the way record batches do: JSON-ish lines from a small vocabulary. */
function compressibleText(length: number, seed: number): Buffer {
  const random = new Random(seed);
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'kafka', 'record', 'batch', 'offset'];
  const lines: string[] = [];
  let size = 0;
  while (size < length) {
    const id = random.int(0, 99999);
    const word = random.pick(words);
    const n = random.int(0, 999);
    const line = `{"id":${id},"word":"${word}","n":${n},"tag":"${random.pick(words)}-${random.pick(words)}"}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, length);
}

/** Where the chunks of a xerial snappy stream end (a stream cut there is a valid, shorter stream). */
function xerialChunkBoundaries(framed: Buffer): Set<number> {
  const boundaries = new Set<number>([16]);
  for (let offset = 16; offset < framed.length; ) {
    offset += 4 + framed.readUInt32BE(offset);
    boundaries.add(offset);
  }
  return boundaries;
}

/** Flips the bits of `mask` in byte `index` of `buffer`. */
function flip(buffer: Buffer, index: number, mask: number): void {
  buffer.writeUInt8(buffer.readUInt8(index) ^ mask, index);
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function expectCompressionError(
  fn: () => unknown,
  message?: RegExp,
  errorClass: typeof CompressionError = CompressionError,
): CompressionError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(errorClass);
  const error = thrown as CompressionError;
  expect(error.name).toBe('CompressionError');
  if (message !== undefined) expect(error.message).toMatch(message);
  return error;
}

/** A fresh copy of the module, with lz4-napi ('native') or the TypeScript LZ4 codec ('js'). */
async function loadCompression(lz4: 'native' | 'js'): Promise<CompressionModule> {
  vi.resetModules();
  const previous = process.env.KAFKA_WIRE_LZ4;
  if (lz4 === 'js') process.env.KAFKA_WIRE_LZ4 = 'js';
  else delete process.env.KAFKA_WIRE_LZ4;
  try {
    const module = await import('../../src/records/compression.js');
    module.compress('lz4', Buffer.from('load the codec now')); // the LZ4 codec is picked on first use
    return module;
  } finally {
    if (previous === undefined) delete process.env.KAFKA_WIRE_LZ4;
    else process.env.KAFKA_WIRE_LZ4 = previous;
  }
}

describe('codec ids', () => {
  test('COMPRESSION_CODES are the batch attribute values', () => {
    expect(COMPRESSION_CODES).toEqual({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 });
  });

  test('compressionName maps 0-4 back to names', () => {
    for (const name of CODECS) expect(compressionName(COMPRESSION_CODES[name])).toBe(name);
  });

  test.each([5, 6, 7, -1, 1.5])('compressionName(%s) is an unknown codec', (code) => {
    const error = expectCompressionError(() => compressionName(code));
    expect(error.message).toBe(`unknown compression codec ${code}`);
    expect(error.codec).toBe(code);
  });

  test('an unknown codec name is refused by compress and decompress', () => {
    expectCompressionError(() => compress('brotli' as CompressionName, Buffer.from('x')), /unknown compression codec brotli/);
    expectCompressionError(() => decompress('brotli' as CompressionName, Buffer.from('x'), 10), /unknown compression codec brotli/);
  });

  test('maxOutputBytes must be a non-negative integer', () => {
    expect(() => decompress('gzip', gzipSync(Buffer.from('x')), -1)).toThrow(RangeError);
    expect(() => decompress('gzip', gzipSync(Buffer.from('x')), 1.5)).toThrow(RangeError);
  });
});

describe('round trips', () => {
  const random = new Random(0x5eed);
  const inputs: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['1 byte', Buffer.from([0x2a])],
    ['100 KiB of random bytes', random.bytes(100 * 1024)],
    ['1 MiB of compressible text', compressibleText(MiB, 7)],
    ['64 KiB + 1 of one byte value', Buffer.alloc(64 * 1024 + 1, 0x61)],
  ];

  describe.each(CODECS)('%s', (codec) => {
    test.each(inputs)('%s', (_label, input) => {
      const compressed = compress(codec, input);
      const back = decompress(codec, compressed, input.length);
      expect(back.equals(input)).toBe(true);
      if (codec !== 'none' && input.length === MiB) expect(compressed.length).toBeLessThan(input.length / 2);
    });

    test('Buffer[] input is compressed as its concatenation', () => {
      const parts = [random.bytes(1000), Buffer.alloc(0), compressibleText(70_000, 3), Buffer.from([1, 2, 3])];
      const whole = Buffer.concat(parts);
      expect(decompress(codec, compress(codec, parts), whole.length).equals(whole)).toBe(true);
      expect(decompress(codec, compress(codec, [whole]), whole.length).equals(whole)).toBe(true);
      expect(decompress(codec, compress(codec, []), 0).length).toBe(0);
    });

    test('output of exactly maxOutputBytes is accepted, one byte less is refused', () => {
      const input = compressibleText(100_000, 11);
      const compressed = compress(codec, input);
      expect(decompress(codec, compressed, input.length).equals(input)).toBe(true);
      expectCompressionError(() => decompress(codec, compressed, input.length - 1), /exceed maxOutputBytes/);
    });
  });

  test('levels are passed to gzip and zstd', () => {
    const input = compressibleText(200_000, 5);
    for (const codec of ['gzip', 'zstd'] as const) {
      const fast = compress(codec, input, { level: 1 });
      const best = compress(codec, input, { level: 9 });
      expect(best.length).toBeLessThan(fast.length);
      expect(decompress(codec, fast, input.length).equals(input)).toBe(true);
      expect(decompress(codec, best, input.length).equals(input)).toBe(true);
    }
    expect(() => compress('gzip', input, { level: 10 })).toThrow(RangeError);
  });
});

describe('snappy (xerial framing)', () => {
  test('the header is the xerial magic, version 1 and compatible version 1', () => {
    const framed = compress('snappy', Buffer.from('kafka'));
    expect(framed.subarray(0, 16).toString('hex')).toBe('82534e415050590000000001' + '00000001');
    expect(compress('snappy', Buffer.alloc(0)).toString('hex')).toBe('82534e41505059000000000100000001');
  });

  test('chunks are [uint32 BE length][raw snappy block] of at most 32 KiB of input each', () => {
    const input = new Random(3).bytes(100 * 1024);
    const framed = compress('snappy', input);
    const blocks: Buffer[] = [];
    let offset = 16;
    while (offset < framed.length) {
      const length = framed.readUInt32BE(offset);
      blocks.push(framed.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    expect(offset).toBe(framed.length);
    const decoded = blocks.map((block) => snappyPackage.uncompressSync(block, { asBuffer: true }) as Buffer);
    expect(decoded.map((b) => b.length)).toEqual([32768, 32768, 32768, 4096]);
    expect(Buffer.concat(decoded).equals(input)).toBe(true);
  });

  test('reads a raw snappy block (no xerial framing)', () => {
    // snappy's raw format: varint length 35 (0x23), then literal and copy elements.
    const raw = hex('231468656c6c6f205e060010776f726c64');
    expect(decompress('snappy', raw, 100).toString()).toBe('hello hello hello hello hello world');
    const text = compressibleText(50_000, 9);
    expect(decompress('snappy', snappyPackage.compressSync(text), text.length).equals(text)).toBe(true);
    expect(decompress('snappy', hex('00'), 0).length).toBe(0);
  });

  test('reads concatenated xerial streams, as snappy-java does', () => {
    const a = compressibleText(40_000, 1);
    const b = Buffer.from('second stream');
    const both = Buffer.concat([compress('snappy', a), compress('snappy', b)]);
    expect(decompress('snappy', both, MiB).equals(Buffer.concat([a, b]))).toBe(true);
  });

  test('truncated and malformed framing is corrupt input', () => {
    const framed = compress('snappy', compressibleText(70_000, 2));
    expectCompressionError(() => decompress('snappy', framed.subarray(0, 12), MiB), /corrupt/); // short header
    expectCompressionError(() => decompress('snappy', framed.subarray(0, 18), MiB), /truncated chunk length/);
    expectCompressionError(() => decompress('snappy', framed.subarray(0, 40), MiB), /runs past the end/);
    expectCompressionError(() => decompress('snappy', framed.subarray(0, framed.length - 1), MiB), /corrupt/);
    const zeroChunk = Buffer.concat([framed.subarray(0, 16), hex('00000000')]);
    expectCompressionError(() => decompress('snappy', zeroChunk, MiB), /chunk length 0/);
    const negative = Buffer.concat([framed.subarray(0, 16), hex('ffffff00 00')]);
    expectCompressionError(() => decompress('snappy', negative, MiB), /out of range/);
    const oldVersion = Buffer.from(framed);
    oldVersion.writeInt32BE(0, 8);
    expectCompressionError(() => decompress('snappy', oldVersion, MiB), /version 0/);
  });

  test('a block is refused on its declared length, before it is uncompressed', () => {
    const spy = vi.spyOn(snappyPackage, 'uncompressSync');
    try {
      // A raw block claiming 4 GiB - 1 bytes.
      expectCompressionError(() => decompress('snappy', hex('ffffffff0f 00'), MiB), /exceed maxOutputBytes/);
      // A xerial chunk claiming 2 MiB, with a limit of 1 MiB.
      const chunk = hex('80808001 00');
      const framed = Buffer.concat([compress('snappy', Buffer.alloc(0)), hex('00000005'), chunk]);
      expectCompressionError(() => decompress('snappy', framed, MiB), /exceed maxOutputBytes/);
      expect(spy).not.toHaveBeenCalled();
      // A varint longer than 32 bits is corrupt.
      expectCompressionError(() => decompress('snappy', hex('ffffffffff01'), MiB), /varint/);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('lz4 (frame format)', () => {
  // The Kafka-style header: magic 0x184D2204 (LE), FLG 0x60 (version 01, independent blocks),
  // BD 0x40 (64 KiB blocks), HC = (xxhash32(FLG BD) >> 8) & 0xff.
  const KAFKA_HEADER = '04224d18604082';

  test('the header checksum byte is the second byte of xxhash32 of the descriptor', () => {
    expect((xxhash32(Uint8Array.of(0x60, 0x40)) >>> 8) & 0xff).toBe(0x82);
  });

  // Fixtures made with the reference lz4 CLI (Debian's lz4 1.9.4), from the 151 bytes
  // 'hello kafka-wire! ' x 8 + 'the end':
  const FIXTURE_TEXT = Buffer.from(`${'hello kafka-wire! '.repeat(8)}the end`);
  // lz4 -B4 -BX --content-size -c fx1.txt (independent 64 KiB blocks, block checksums, content size, content checksum)
  const FIXTURE_CHECKSUMS = hex(
    '04224d187c4097000000000000002a1f000000ff0368656c6c6f206b61666b612d77697265212012006b7074686520656e6400361d3600000000bc97439e',
  );
  // lz4 -1 -B4 -BI --no-frame-crc -c fx1.txt (the layout Kafka's Lz4BlockOutputStream writes)
  const FIXTURE_KAFKA_STYLE = hex('04224d186040821f000000ff0368656c6c6f206b61666b612d77697265212012006b7074686520656e6400000000');
  // lz4 -B4 -c fx2.bin, fx2.bin being the 16 bytes below: stored as an uncompressed block (high bit of its length set),
  // with a content checksum
  const FIXTURE_RAW_INPUT = hex('8f1351a007ee4299103cd56b2e71c408');
  const FIXTURE_RAW_BLOCK = hex('04224d186440a7100000808f1351a007ee4299103cd56b2e71c4080000000070f1c5e8');
  // Hand-made, checked with `lz4 -d`: a raw block 'hello world', then a compressed block whose match
  // (offset 11, length 11) reaches into the previous block, then 5 literals '!'. Valid with linked
  // blocks (FLG 0x40); the same blocks under FLG 0x60 (independent) are rejected by `lz4 -d` too.
  const LINKED_FRAME = hex('04224d184040c00b00008068656c6c6f20776f726c6409000000070b0050212121212100000000');
  const INDEPENDENT_FRAME_WITH_BACK_REFERENCE = hex('04224d186040820b00008068656c6c6f20776f726c6409000000070b0050212121212100000000');

  describe.each(['native', 'js'] as const)('with the %s block codec', (variant) => {
    let m: CompressionModule;

    beforeAll(async () => {
      m = await loadCompression(variant);
    });
    const expectError = (fn: () => unknown, message?: RegExp) => expectCompressionError(fn, message, m.CompressionError);

    test('writes the Kafka header, 64 KiB blocks and an EndMark', () => {
      const input = compressibleText(200_000, 4);
      const frame = m.compress('lz4', input);
      expect(frame.subarray(0, 7).toString('hex')).toBe(KAFKA_HEADER);
      let offset = 7;
      let blocks = 0;
      let decoded = 0;
      for (;;) {
        const word = frame.readUInt32LE(offset);
        offset += 4;
        if (word === 0) break;
        expect(word & 0x80000000).toBe(0); // compressible text: compressed blocks
        const block = frame.subarray(offset, offset + word);
        decoded += (lz4Napi.uncompressSync(Buffer.concat([hex('00000100'), block])) as Buffer).length;
        offset += word;
        blocks++;
      }
      expect(offset).toBe(frame.length);
      expect(blocks).toBe(4);
      expect(decoded).toBe(input.length);
    });

    test('stores incompressible blocks raw, flagged by the high bit', () => {
      const input = new Random(8).bytes(70_000);
      const frame = m.compress('lz4', input);
      expect(frame.readUInt32LE(7)).toBe((0x80000000 | 65536) >>> 0);
      expect(frame.subarray(11, 11 + 65536).equals(input.subarray(0, 65536))).toBe(true);
      expect(frame.readUInt32LE(11 + 65536)).toBe((0x80000000 | 4464) >>> 0);
      expect(frame.length).toBe(7 + 4 + 65536 + 4 + 4464 + 4);
    });

    test('empty input is a header and an EndMark, as Kafka writes it', () => {
      expect(m.compress('lz4', Buffer.alloc(0)).toString('hex')).toBe(`${KAFKA_HEADER}00000000`);
    });

    test('decodes frames written by the reference lz4 tool', () => {
      expect(m.decompress('lz4', FIXTURE_CHECKSUMS, 151).equals(FIXTURE_TEXT)).toBe(true);
      expect(m.decompress('lz4', FIXTURE_KAFKA_STYLE, 151).equals(FIXTURE_TEXT)).toBe(true);
      expect(m.decompress('lz4', FIXTURE_RAW_BLOCK, 16).equals(FIXTURE_RAW_INPUT)).toBe(true);
      expect(FIXTURE_KAFKA_STYLE.subarray(0, 7).toString('hex')).toBe(KAFKA_HEADER);
    });

    test('decodes linked blocks, and refuses a back reference across independent blocks', () => {
      expect(m.decompress('lz4', LINKED_FRAME, 100).toString()).toBe('hello worldhello world!!!!!');
      expectError(() => m.decompress('lz4', INDEPENDENT_FRAME_WITH_BACK_REFERENCE, 100), /corrupt/);
    });

    test('decodes concatenated and skippable frames', () => {
      const skippable = hex('5a2a4d18 03000000 010203');
      const both = Buffer.concat([FIXTURE_KAFKA_STYLE, skippable, m.compress('lz4', Buffer.from('!'))]);
      expect(m.decompress('lz4', both, 200).toString()).toBe(`${FIXTURE_TEXT.toString()}!`);
    });

    test('checks the header checksum, block checksums, content checksum and content size', () => {
      const badHeader = Buffer.from(FIXTURE_KAFKA_STYLE);
      flip(badHeader, 6, 0x01);
      expectError(() => m.decompress('lz4', badHeader, 1000), /descriptor checksum/);

      // FIXTURE_CHECKSUMS: header 15 bytes, block length at 15, block data 19..50, block checksum 50..54.
      const badBlock = Buffer.from(FIXTURE_CHECKSUMS);
      flip(badBlock, 30, 0x20);
      expectError(() => m.decompress('lz4', badBlock, 1000), /block checksum/);
      const badBlockChecksum = Buffer.from(FIXTURE_CHECKSUMS);
      flip(badBlockChecksum, 51, 0x01);
      expectError(() => m.decompress('lz4', badBlockChecksum, 1000), /block checksum/);

      const badContent = Buffer.from(FIXTURE_CHECKSUMS);
      flip(badContent, badContent.length - 1, 0x01);
      expectError(() => m.decompress('lz4', badContent, 1000), /content checksum/);

      // Declare 150 bytes of content instead of 151 (and fix the header checksum).
      const badSize = Buffer.from(FIXTURE_CHECKSUMS);
      badSize[6] = 150;
      badSize[14] = (xxhash32(badSize, 0, 4, 14) >>> 8) & 0xff;
      expectError(() => m.decompress('lz4', badSize, 1000), /more content than the frame declares|declares/);
    });

    test('refuses what it cannot or should not read', () => {
      const frameWith = (flg: number, bd: number, rest: string) =>
        Buffer.concat([hex('04224d18'), Buffer.of(flg, bd, (xxhash32(Uint8Array.of(flg, bd)) >>> 8) & 0xff), hex(rest)]);
      expectError(() => m.decompress('lz4', hex('02214c18 00000000'), 100), /magic/); // legacy format
      expectError(() => m.decompress('lz4', frameWith(0x80, 0x40, '00000000'), 100), /version/);
      expectError(() => m.decompress('lz4', frameWith(0x62, 0x40, '00000000'), 100), /reserved/);
      expectError(() => m.decompress('lz4', frameWith(0x60, 0x30, '00000000'), 100), /block maximum size/);
      // FLG 0x61: a dictionary id (4 bytes) follows BD.
      const withDictionary = Buffer.concat([hex('04224d18'), Buffer.of(0x61, 0x40), hex('01000000'), Buffer.of(0), hex('00000000')]);
      withDictionary[10] = (xxhash32(withDictionary, 0, 4, 10) >>> 8) & 0xff;
      expectError(() => m.decompress('lz4', withDictionary, 100), /dictionary/);
      // A block longer than the 64 KiB maximum.
      expectError(() => m.decompress('lz4', frameWith(0x60, 0x40, `01000100${'00'.repeat(65537)}00000000`), MiB), /out of range/);
      // The high bit alone is not an EndMark.
      expectError(() => m.decompress('lz4', frameWith(0x60, 0x40, '00000080 00000000'), 100), /out of range/);
    });

    test('truncation anywhere is corrupt input', () => {
      const frame = m.compress('lz4', compressibleText(150_000, 6));
      for (const cut of [1, 4, 5, 6, 7, 8, 10, 11, 500, frame.length - 5, frame.length - 4, frame.length - 1]) {
        expectError(() => m.decompress('lz4', frame.subarray(0, cut), MiB), /corrupt/);
      }
      expectError(() => m.decompress('lz4', FIXTURE_CHECKSUMS.subarray(0, FIXTURE_CHECKSUMS.length - 2), MiB), /content checksum/);
    });

    test('a declared content size over the limit is refused before decoding', () => {
      const huge = Buffer.concat([hex('04224d18'), Buffer.of(0x68, 0x40), hex('0000000001000000'), Buffer.of(0)]);
      huge[14] = (xxhash32(huge, 0, 4, 14) >>> 8) & 0xff;
      expectError(() => m.decompress('lz4', Buffer.concat([huge, hex('00000000')]), MiB), /exceed maxOutputBytes/);
    });

    test('round trips with both codecs, written by one and read by the other', () => {
      const input = compressibleText(300_000, 12);
      expect(decompress('lz4', m.compress('lz4', input), input.length).equals(input)).toBe(true);
      expect(m.decompress('lz4', compress('lz4', input), input.length).equals(input)).toBe(true);
    });
  });

  test('the default instance writes lz4-napi blocks (the native codec is in use here)', () => {
    const input = compressibleText(1000, 13);
    const sized = lz4Napi.compressSync(input);
    const expected = Buffer.concat([hex(KAFKA_HEADER), Buffer.alloc(4), sized.subarray(4), hex('00000000')]);
    expected.writeUInt32LE(sized.length - 4, 7);
    expect(compress('lz4', input).equals(expected)).toBe(true);
  });
});

describe('decompression bombs', () => {
  // 100 MiB of zeros, compressed once per codec.
  const zeros = Buffer.alloc(100 * MiB);
  const bombs = new Map<CompressionName, Buffer>();
  const bomb = (codec: CompressionName): Buffer => {
    let b = bombs.get(codec);
    if (b === undefined) {
      b = compress(codec, zeros);
      bombs.set(codec, b);
    }
    return b;
  };

  test.each(COMPRESSING)('%s: 100 MiB of zeros with maxOutputBytes 1 MiB is refused', (codec) => {
    const compressed = bomb(codec);
    expect(compressed.length).toBeLessThan(5 * MiB); // snappy, the weakest here, gets about 21:1 on zeros
    expectCompressionError(() => decompress(codec, compressed, MiB), /exceed maxOutputBytes/);
  });

  test('none: input longer than maxOutputBytes is refused', () => {
    expectCompressionError(() => decompress('none', Buffer.alloc(10), 9), /exceed maxOutputBytes/);
  });

  test('snappy: the bomb is refused at the first chunk over the budget, before uncompressing it', () => {
    const frame = bomb('snappy');
    const spy = vi.spyOn(snappyPackage, 'uncompressSync');
    try {
      expectCompressionError(() => decompress('snappy', frame, MiB), /exceed maxOutputBytes/);
      expect(spy).toHaveBeenCalledTimes(32); // 32 chunks of 32 KiB fill the 1 MiB budget
    } finally {
      spy.mockRestore();
    }
  });

  test('lz4 (TypeScript codec too): never allocates more than the limit', async () => {
    const js = await loadCompression('js');
    const frame = bomb('lz4');
    const spy = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      expectCompressionError(() => js.decompress('lz4', frame, MiB), /exceed maxOutputBytes/, js.CompressionError);
      expectCompressionError(() => decompress('lz4', frame, MiB), /exceed maxOutputBytes/);
      for (const [size] of spy.mock.calls) expect(size).toBeLessThanOrEqual(MiB);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('corrupt input', () => {
  const input = compressibleText(200_000, 21);

  test.each(COMPRESSING)('%s: empty input', (codec) => {
    expectCompressionError(() => decompress(codec, Buffer.alloc(0), MiB), /empty input/);
  });

  test.each(COMPRESSING)('%s: bytes that are not compressed data', (codec) => {
    const garbage = Buffer.from('this is not compressed data, it is a sentence of plain text');
    expectCompressionError(() => decompress(codec, garbage, MiB), /corrupt/);
  });

  test.each(COMPRESSING)('%s: truncated input', (codec) => {
    const compressed = compress(codec, input);
    const boundaries = codec === 'snappy' ? xerialChunkBoundaries(compressed) : new Set<number>();
    for (const fraction of [0.1, 0.5, 0.9]) {
      let cut = Math.floor(compressed.length * fraction);
      // Snappy's xerial framing ends cleanly between chunks (as snappy-java's does): cut inside one.
      while (boundaries.has(cut)) cut++;
      expectCompressionError(() => decompress(codec, compressed.subarray(0, cut), MiB), /corrupt/);
    }
    expectCompressionError(() => decompress(codec, compressed.subarray(0, compressed.length - 1), MiB), /corrupt/);
  });

  test.each(COMPRESSING)('%s: random damage yields a CompressionError or some output, never another error', (codec) => {
    const random = new Random(COMPRESSION_CODES[codec]);
    const compressed = compress(codec, input);
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      const damaged = Buffer.from(compressed);
      const flips = random.int(1, 8);
      for (let j = 0; j < flips; j++) damaged[random.int(0, damaged.length - 1)] = random.int(0, 255);
      const data = random.chance(0.3) ? damaged.subarray(0, random.int(1, damaged.length)) : damaged;
      try {
        const out = decompress(codec, data, 2 * input.length);
        expect(out.length).toBeLessThanOrEqual(2 * input.length);
      } catch (err) {
        expect(err).toBeInstanceOf(CompressionError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(50);
  });

  test('gzip: a damaged CRC is corrupt input', () => {
    const compressed = compress('gzip', input);
    flip(compressed, compressed.length - 6, 0xff);
    expectCompressionError(() => decompress('gzip', compressed, MiB), /corrupt/);
  });
});

describe('zstd on a Node without zstd in node:zlib', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test('says that zstd needs Node 22.15+', async () => {
    // compression.ts loads node:zlib on first use, through process.getBuiltinModule.
    const load = process.getBuiltinModule.bind(process) as (id: string) => object;
    const zlib = load('node:zlib');
    vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) =>
      id === 'node:zlib' ? { ...zlib, zstdCompressSync: undefined, zstdDecompressSync: undefined } : load(id)) as never);
    const m = await import('../../src/records/compression.js');
    expectCompressionError(() => m.compress('zstd', Buffer.from('x')), /zstd needs Node 22\.15\+/, m.CompressionError);
    expectCompressionError(() => m.decompress('zstd', hex('28b52ffd2000010000'), 10), /zstd needs Node 22\.15\+/, m.CompressionError);
    // The other codecs still work.
    expect(m.decompress('gzip', m.compress('gzip', Buffer.from('x')), 1).toString()).toBe('x');
  });
});

describe('a kept compression context that fails', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test.each(['zstd', 'gzip'] as const)(
    '%s: the batch fails with a CompressionError naming the cause; the next one compresses',
    async (codec) => {
      const load = process.getBuiltinModule.bind(process) as (id: string) => object;
      const zlib = load('node:zlib') as typeof import('node:zlib');
      let writes = 0;
      const failing = (engine: import('node:stream').Transform) => {
        const internals = engine as unknown as { _handle: { writeSync: (...args: unknown[]) => void; reset: () => void } };
        const handle = internals._handle;
        internals._handle = {
          // The first two writes are the context's check against the sync function; the fourth fails.
          writeSync: (...args: unknown[]) =>
            ++writes === 4 ? void engine.emit('error', new Error('out of memory')) : handle.writeSync(...args),
          reset: () => handle.reset(),
        };
        return engine;
      };
      vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) =>
        id === 'node:zlib'
          ? {
              ...zlib,
              createZstdCompress: (options?: object) => failing(zlib.createZstdCompress(options)),
              createGzip: (options?: object) => failing(zlib.createGzip(options)),
            }
          : load(id)) as never);
      vi.resetModules();
      const m = await import('../../src/records/compression.js');
      const input = compressibleText(20_000, 9);
      expect(m.decompress(codec, m.compress(codec, input), input.length).equals(input)).toBe(true);
      expectCompressionError(
        () => m.compress(codec, input),
        new RegExp(`^${codec}: compressing failed \\(out of memory\\)`),
        m.CompressionError,
      );
      expect(m.decompress(codec, m.compress(codec, input), input.length).equals(input)).toBe(true);
    },
  );
});

describe('xxhash32', () => {
  test.each([
    ['', 0, 0x02cc5d05],
    ['', 1, 0x0b2cb792],
    ['a', 0, 0x550d7456],
    ['abc', 0, 0x32d153ff],
    ['Nobody inspects the spammish repetition', 0, 0xe2293b2f],
    ['The quick brown fox jumps over the lazy dog', 0, 0xe85ea4de],
  ])('xxhash32(%j, %d) = %d', (text, seed, expected) => {
    expect(xxhash32(Buffer.from(text), seed)).toBe(expected);
  });

  test('the xxHash reference sanity buffer (101 bytes, PRIME32 generator): 0x1F1AA412 and 0x498EC8E2 with seed PRIME32', () => {
    const prime = 2654435761;
    const buffer = new Uint8Array(101);
    let generator = prime;
    for (let i = 0; i < buffer.length; i++) {
      buffer[i] = generator >>> 24;
      generator = Math.imul(generator, generator) >>> 0;
    }
    expect(xxhash32(buffer, 0)).toBe(0x1f1aa412);
    expect(xxhash32(buffer, prime)).toBe(0x498ec8e2);
  });

  test('a range hashes like the same bytes alone', () => {
    const data = new Random(1).bytes(1000);
    for (const [start, end] of [
      [0, 0],
      [3, 17],
      [100, 999],
      [0, 1000],
    ] as const) {
      expect(xxhash32(data, 7, start, end)).toBe(xxhash32(data.subarray(start, end), 7));
    }
    expect(() => xxhash32(data, 0, 10, 1001)).toThrow(RangeError);
  });
});

describe('zstd: a records section of several frames', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  test.each(['on', 'off'] as const)('every frame is read, kept contexts %s', (contexts) => {
    vi.stubEnv('KAFKA_WIRE_ZLIB_CONTEXTS', contexts);
    const zlib = process.getBuiltinModule('node:zlib');
    const parts = [compressibleText(100, 1), compressibleText(70_000, 2), Buffer.alloc(0), compressibleText(5000, 3)];
    const frames = Buffer.concat(parts.map((part) => zlib.zstdCompressSync(part)));
    const whole = Buffer.concat(parts);
    expect(decompress('zstd', frames, whole.length).equals(whole)).toBe(true);
    expectCompressionError(() => decompress('zstd', frames, whole.length - 1), /exceed maxOutputBytes/, CompressionError);
    expectCompressionError(
      () => decompress('zstd', frames.subarray(0, frames.length - 3), whole.length),
      /corrupt or truncated/,
      CompressionError,
    );
  });
});
