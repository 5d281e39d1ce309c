import zlib from 'node:zlib';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { Random } from '../support/random.js';

type ContextModule = typeof import('../../src/records/zstd-context.js');

/** A fresh copy of the module, so that each test starts without kept contexts. */
async function freshModule(): Promise<ContextModule> {
  vi.resetModules();
  return import('../../src/records/zstd-context.js');
}

function levelOptions(level: number | undefined) {
  return level === undefined ? undefined : { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } };
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

/** node:zlib with createZstdCompress() replaced; everything else is the real one. */
function zlibWith(createZstdCompress: (options?: zlib.ZstdOptions) => unknown): typeof zlib {
  return { ...zlib, createZstdCompress } as unknown as typeof zlib;
}

let m: ContextModule;
beforeEach(async () => {
  m = await freshModule();
});

describe('compressWithKeptContext', () => {
  test('makes the frames zstdCompressSync makes, call after call, at each level', () => {
    const inputs = [
      Buffer.alloc(0),
      Buffer.from('k'),
      text(100, 1),
      text(16 * 1024, 2),
      randomBytes(16 * 1024, 3),
      text(256 * 1024, 4),
      randomBytes(300 * 1024, 5),
      text(m.KEPT_CONTEXT_MAX_INPUT, 6),
      text(1000, 7),
    ];
    for (const level of [undefined, 1, 3, 9]) {
      // Twice over, so that every input also follows a larger one in the same context.
      for (const input of [...inputs, ...inputs]) {
        const kept = m.compressWithKeptContext(zlib, input, level);
        expect(kept?.equals(zlib.zstdCompressSync(input, levelOptions(level))), `${input.length} bytes, level ${level}`).toBe(true);
        expect(zlib.zstdDecompressSync(kept as Buffer).equals(input)).toBe(true);
      }
    }
  });

  test('each frame is a Buffer of its own: the next call does not overwrite it', () => {
    const first = m.compressWithKeptContext(zlib, text(5000, 8), undefined) as Buffer;
    const copy = Buffer.from(first);
    m.compressWithKeptContext(zlib, randomBytes(5000, 9), undefined);
    expect(first.equals(copy)).toBe(true);
  });

  test('leaves input above KEPT_CONTEXT_MAX_INPUT to the caller, and makes one context per level, on first use', () => {
    const create = vi.fn((options?: zlib.ZstdOptions) => zlib.createZstdCompress(options));
    const patched = zlibWith(create);
    expect(m.compressWithKeptContext(patched, Buffer.alloc(m.KEPT_CONTEXT_MAX_INPUT + 1), undefined)).toBeUndefined();
    expect(create).not.toHaveBeenCalled();
    for (let i = 0; i < 3; i++) m.compressWithKeptContext(patched, text(2000, i), undefined);
    m.compressWithKeptContext(patched, text(2000, 1), 5);
    expect(create).toHaveBeenCalledTimes(2);
  });

  test('returns undefined when node:zlib has not the internals it uses, and does not ask again', () => {
    const create = vi.fn(() => Object.assign(zlib.createZstdCompress(), { _handle: undefined }));
    const patched = zlibWith(create);
    expect(m.compressWithKeptContext(patched, text(2000, 1), undefined)).toBeUndefined();
    expect(m.compressWithKeptContext(patched, text(2000, 2), undefined)).toBeUndefined();
    expect(create).toHaveBeenCalledTimes(1);
  });

  test('returns undefined when the kept context makes other frames than zstdCompressSync', () => {
    const other = { ...zlib, zstdCompressSync: (input: Buffer) => Buffer.concat([zlib.zstdCompressSync(input), Buffer.from([0])]) };
    expect(m.compressWithKeptContext(other as typeof zlib, text(2000, 1), undefined)).toBeUndefined();
  });

  test('an error from the engine fails that call; the next call makes a new context', () => {
    let failNext = false;
    const engines: zlib.ZstdCompress[] = [];
    const patched = zlibWith((options) => {
      const engine = zlib.createZstdCompress(options);
      const internals = engine as unknown as { _handle: { writeSync: (...args: unknown[]) => void } };
      const handle = internals._handle;
      internals._handle = {
        writeSync: (...args: unknown[]) => {
          if (!failNext) return handle.writeSync(...args);
          failNext = false;
          engine.emit('error', new Error('zstd said no'));
        },
      };
      engines.push(engine);
      return engine;
    });
    const input = text(4000, 3);
    expect(m.compressWithKeptContext(patched, input, undefined)?.equals(zlib.zstdCompressSync(input))).toBe(true);
    failNext = true;
    expect(() => m.compressWithKeptContext(patched, input, undefined)).toThrow('zstd said no');
    expect(engines[0]?.destroyed).toBe(true);
    expect(m.compressWithKeptContext(patched, input, undefined)?.equals(zlib.zstdCompressSync(input))).toBe(true);
    expect(engines).toHaveLength(2);
  });
});
