import zlib from 'node:zlib';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { Random } from '../support/random.js';

type ContextModule = typeof import('../../src/records/compression-contexts.js');

/** A fresh copy of the module, so that each test starts without kept contexts. */
async function freshModule(): Promise<ContextModule> {
  vi.resetModules();
  return import('../../src/records/compression-contexts.js');
}

/** What compression.ts does without a kept context. */
function syncCompress(codec: 'zstd' | 'gzip', input: Buffer, level?: number): Buffer {
  if (codec === 'gzip') return zlib.gzipSync(input, level === undefined ? undefined : { level });
  return zlib.zstdCompressSync(input, level === undefined ? undefined : { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } });
}

function syncDecompress(codec: 'zstd' | 'gzip', input: Buffer): Buffer {
  return codec === 'gzip' ? zlib.gunzipSync(input) : zlib.zstdDecompressSync(input);
}

/** JSON-like text from a small vocabulary, as record values often are. */
function text(length: number, seed: number): Buffer {
  const random = new Random(seed);
  const words = ['user', 'event', 'click', 'view', 'session', 'region', 'eu-west', 'true', 'false'];
  let out = '';
  while (out.length < length) out += `"${random.pick(words)}":${random.int(0, 999_999)},`;
  return Buffer.from(out.slice(0, length));
}

function randomBytes(length: number, seed: number): Buffer {
  const random = new Random(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = random.int(0, 255);
  return out;
}

/** node:zlib with createZstdCompress() and createGzip() replaced; everything else is the real one. */
function zlibWith(create: (codec: 'zstd' | 'gzip', options?: object) => unknown): typeof zlib {
  return {
    ...zlib,
    createZstdCompress: (options?: object) => create('zstd', options),
    createGzip: (options?: object) => create('gzip', options),
  } as unknown as typeof zlib;
}

function realEngine(codec: 'zstd' | 'gzip', options?: object) {
  return codec === 'gzip' ? zlib.createGzip(options) : zlib.createZstdCompress(options);
}

let m: ContextModule;
beforeEach(async () => {
  m = await freshModule();
});

describe.each(['zstd', 'gzip'] as const)('compressWithKeptContext: %s', (codec) => {
  test('makes the bytes the sync function makes, call after call, at each level', () => {
    const inputs = [
      Buffer.alloc(0),
      Buffer.from('k'),
      text(100, 1),
      text(16 * 1024, 2),
      randomBytes(16 * 1024, 3),
      text(256 * 1024, 4),
      randomBytes(300 * 1024, 5),
      text(m.KEPT_CONTEXT_MAX_INPUT, 6),
      randomBytes(m.KEPT_CONTEXT_MAX_INPUT, 10),
      text(1000, 7),
    ];
    const levels = codec === 'zstd' ? [undefined, 1, 3, 9] : [undefined, 1, 6, 9];
    for (const level of levels) {
      // Twice over, so that every input also follows a larger one in the same context.
      for (const input of [...inputs, ...inputs]) {
        const kept = m.compressWithKeptContext(zlib, codec, input, level);
        expect(kept?.equals(syncCompress(codec, input, level)), `${input.length} bytes, level ${level}`).toBe(true);
        expect(syncDecompress(codec, kept as Buffer).equals(input)).toBe(true);
      }
    }
  });

  test('gzip level 0 (stored blocks, whose size follows the output room) stays with gzipSync', () => {
    const input = text(256 * 1024, 11);
    const kept = m.compressWithKeptContext(zlib, codec, input, 0);
    if (codec === 'gzip') expect(kept).toBeUndefined();
    else expect(kept?.equals(syncCompress(codec, input, 0))).toBe(true);
  });

  test('each frame is a Buffer of its own: the next call does not overwrite it', () => {
    const first = m.compressWithKeptContext(zlib, codec, text(5000, 8), undefined) as Buffer;
    const copy = Buffer.from(first);
    m.compressWithKeptContext(zlib, codec, randomBytes(5000, 9), undefined);
    expect(first.equals(copy)).toBe(true);
  });

  test('leaves input above KEPT_CONTEXT_MAX_INPUT to the caller, and makes one context per codec and level, on first use', () => {
    const create = vi.fn(realEngine);
    const patched = zlibWith(create);
    expect(m.compressWithKeptContext(patched, codec, Buffer.alloc(m.KEPT_CONTEXT_MAX_INPUT + 1), undefined)).toBeUndefined();
    expect(create).not.toHaveBeenCalled();
    for (let i = 0; i < 3; i++) m.compressWithKeptContext(patched, codec, text(2000, i), undefined);
    m.compressWithKeptContext(patched, codec, text(2000, 1), 5);
    expect(create).toHaveBeenCalledTimes(2);
    m.compressWithKeptContext(patched, codec === 'zstd' ? 'gzip' : 'zstd', text(2000, 1), undefined);
    expect(create).toHaveBeenCalledTimes(3);
  });

  test('returns undefined when node:zlib has not the internals it uses, and does not ask again', () => {
    const create = vi.fn((kind: 'zstd' | 'gzip') => Object.assign(realEngine(kind), { _handle: undefined }));
    const patched = zlibWith(create);
    expect(m.compressWithKeptContext(patched, codec, text(2000, 1), undefined)).toBeUndefined();
    expect(m.compressWithKeptContext(patched, codec, text(2000, 2), undefined)).toBeUndefined();
    expect(create).toHaveBeenCalledTimes(1);
  });

  test('returns undefined when the kept context makes other bytes than the sync function', () => {
    const other = {
      ...zlib,
      zstdCompressSync: (input: Buffer) => Buffer.concat([zlib.zstdCompressSync(input), Buffer.from([0])]),
      gzipSync: (input: Buffer) => Buffer.concat([zlib.gzipSync(input), Buffer.from([0])]),
    };
    expect(m.compressWithKeptContext(other as typeof zlib, codec, text(2000, 1), undefined)).toBeUndefined();
  });

  test('an error from the engine fails that call; the next call makes a new context', () => {
    let failNext = false;
    const engines: ReturnType<typeof realEngine>[] = [];
    const patched = zlibWith((kind, options) => {
      const engine = realEngine(kind, options);
      const internals = engine as unknown as { _handle: { writeSync: (...args: unknown[]) => void; reset: () => void } };
      const handle = internals._handle;
      internals._handle = {
        writeSync: (...args: unknown[]) => {
          if (!failNext) return handle.writeSync(...args);
          failNext = false;
          engine.emit('error', new Error('zlib said no'));
        },
        reset: () => handle.reset(), // gzip's engine.reset() calls it after each frame
      };
      engines.push(engine);
      return engine;
    });
    const input = text(4000, 3);
    expect(m.compressWithKeptContext(patched, codec, input, undefined)?.equals(syncCompress(codec, input))).toBe(true);
    failNext = true;
    expect(() => m.compressWithKeptContext(patched, codec, input, undefined)).toThrow('zlib said no');
    expect(engines[0]?.destroyed).toBe(true);
    expect(m.compressWithKeptContext(patched, codec, input, undefined)?.equals(syncCompress(codec, input))).toBe(true);
    expect(engines).toHaveLength(2);
  });
});

test('zstd at its fastest negative levels: a valid frame even where the bytes differ from the sync function', () => {
  // Above about 600 KB at levels -5 and below, zstd's one-call path compresses a little
  // differently from the buffered path zstdCompressSync takes (found comparing levels -7 to 22).
  const input = text(m.KEPT_CONTEXT_MAX_INPUT, 12);
  for (const level of [-7, -5, -1]) {
    const kept = m.compressWithKeptContext(zlib, 'zstd', input, level);
    expect(zlib.zstdDecompressSync(kept as Buffer).equals(input)).toBe(true);
  }
});

describe.each(['zstd', 'gzip'] as const)('decompressWithKeptContext: %s', (codec) => {
  /** A frame without the content size in its header, as a streaming compressor (Java's zstd-jni, say) writes it. */
  async function streamedFrame(input: Buffer): Promise<Buffer> {
    const engine = codec === 'zstd' ? zlib.createZstdCompress() : zlib.createGzip();
    const chunks: Buffer[] = [];
    engine.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => engine.on('end', resolve));
    engine.write(input.subarray(0, 1000));
    engine.end(input.subarray(1000));
    await ended;
    return Buffer.concat(chunks);
  }

  const decompress = (data: Buffer, max: number) => m.decompressWithKeptContext(zlib, codec, data, max);

  test('gives what the sync function gives, call after call, for outputs from 0 bytes to past the kept scratch buffer', async () => {
    const inputs = [
      Buffer.alloc(0),
      text(100, 1),
      text(16 * 1024, 2),
      randomBytes(70 * 1024, 3), // past the first scratch buffer of 64 KiB
      text(256 * 1024, 4),
      text(m.KEPT_CONTEXT_MAX_INPUT + 100_000, 5), // past the largest scratch buffer kept
      text(1000, 6),
    ];
    const frames: Buffer[] = inputs.map((input) => syncCompress(codec, input));
    frames.push(await streamedFrame(text(300 * 1024, 7)));
    for (const frame of [...frames, ...frames]) {
      expect(decompress(frame, 1 << 24)?.equals(syncDecompress(codec, frame)), `${frame.length}-byte frame`).toBe(true);
    }
  });

  test('decompresses every frame (gzip: member) of several back to back', () => {
    const parts = [text(100, 1), text(70 * 1024, 2), Buffer.alloc(0), text(5000, 3)];
    const frames = Buffer.concat(parts.map((part) => syncCompress(codec, part)));
    const whole = Buffer.concat(parts);
    // node:zlib's zstdDecompressSync stops after the first frame; gunzipSync reads every member.
    expect(syncDecompress(codec, frames).length).toBe(codec === 'zstd' ? 100 : whole.length);
    expect(decompress(frames, 1 << 24)?.equals(whole)).toBe(true);
    // With the output limit at the total: no room is taken for more than there is.
    expect(decompress(frames, whole.length)?.length).toBe(whole.length);
  });

  test('each output is a Buffer of its own: the next call does not overwrite it', () => {
    const first = decompress(syncCompress(codec, text(5000, 8)), 1 << 20) as Buffer;
    const copy = Buffer.from(first);
    decompress(syncCompress(codec, randomBytes(5000, 9)), 1 << 20);
    expect(first.equals(copy)).toBe(true);
  });

  test('refuses output past maxOutputBytes as node:zlib does (ERR_BUFFER_TOO_LARGE), and goes on', () => {
    const input = text(200_000, 10);
    const frame = syncCompress(codec, input);
    expect(decompress(frame, input.length)?.equals(input)).toBe(true);
    for (const limit of [input.length - 1, 1000]) {
      expect(() => decompress(frame, limit)).toThrow(expect.objectContaining({ code: 'ERR_BUFFER_TOO_LARGE' }) as Error);
    }
    expect(decompress(frame, input.length)?.equals(input)).toBe(true);
  });

  test("corrupt input fails that call with zlib's error; a cut-short frame leaves nothing behind for the next call", () => {
    const input = text(100_000, 11);
    const frame = syncCompress(codec, input);
    const corrupt = Buffer.from(frame);
    for (let at = 20; at < corrupt.length; at += 97) corrupt[at] = (corrupt[at] as number) ^ 0x5a;
    expect(() => decompress(corrupt, 1 << 20)).toThrow();
    expect(decompress(frame, 1 << 20)?.equals(input)).toBe(true);
    // Cut short: node:zlib says so at the end of the input (Node 24; compression.ts checks zstd frames as well).
    const cut = frame.subarray(0, frame.length >> 1);
    try {
      decompress(cut, 1 << 20);
    } catch (error) {
      expect(String(error)).toContain('unexpected end of file');
    }
    expect(decompress(frame, 1 << 20)?.equals(input)).toBe(true);
  });

  test('returns undefined when node:zlib has not the internals it uses, and does not ask again', () => {
    const real = () => (codec === 'zstd' ? zlib.createZstdDecompress() : zlib.createGunzip());
    const create = vi.fn(() => Object.assign(real(), { _handle: undefined }));
    const patched = { ...zlib, createZstdDecompress: create, createGunzip: create } as unknown as typeof zlib;
    const frame = syncCompress(codec, text(2000, 12));
    expect(m.decompressWithKeptContext(patched, codec, frame, 1 << 20)).toBeUndefined();
    expect(m.decompressWithKeptContext(patched, codec, frame, 1 << 20)).toBeUndefined();
    expect(create).toHaveBeenCalledTimes(1);
  });

  test('returns undefined when the kept context gives other output than the sync function', () => {
    const other = {
      ...zlib,
      zstdDecompressSync: (input: Buffer) => Buffer.concat([zlib.zstdDecompressSync(input), Buffer.from([0])]),
      gunzipSync: (input: Buffer) => Buffer.concat([zlib.gunzipSync(input), Buffer.from([0])]),
    };
    expect(m.decompressWithKeptContext(other as typeof zlib, codec, syncCompress(codec, text(2000, 13)), 1 << 20)).toBeUndefined();
  });
});
