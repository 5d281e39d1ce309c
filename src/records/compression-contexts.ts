import { constants as bufferConstants } from 'node:buffer';
import type Zlib from 'node:zlib';

/**
 * zstd and gzip compression through one kept node:zlib context per codec and level, instead of
 * a new one per call.
 *
 * `zstdCompressSync` and `gzipSync` build a stream object and a fresh native context (a
 * ZSTD_CCtx of about a megabyte at level 3; a deflate state and window of about 256 KiB) for
 * every batch, and free them again: a fixed cost per call, and native memory churn that V8
 * counts as external memory and answers with full collections. A kept context compresses each
 * batch in one call that ends the frame (ZSTD_e_end, Z_FINISH), which makes the same bytes
 * (except zstd at levels -5 and below on inputs above about 600 KB: valid frames, compressed a
 * little differently; gzip level 0 is left to gzipSync for the same reason).
 *
 * node:zlib has no public API for a one-call compression into a given buffer; it is reached
 * through the engine's `_handle.writeSync`, which node:zlib's own sync functions use. Before the
 * first use a kept context's output is compared with the sync function's on a sample: if
 * anything differs or is missing, the caller keeps using the sync function.
 */

export type KeptCodec = 'zstd' | 'gzip';

/** Batches above this go through the sync functions: their fixed cost no longer shows, and the scratch buffer stays small. */
export const KEPT_CONTEXT_MAX_INPUT = 1 << 20;

/** What this module uses of a node:zlib engine's internals. */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOffset: number, inLength: number, out: Buffer, outOffset: number, outLength: number): void;
}

interface ZlibEngineInternals {
  _handle?: ZlibHandle;
  _writeState?: Uint32Array;
}

/** node:zlib's Gzip has reset() at run time (its typings give it only to Deflate and Inflate). */
type Engine = Zlib.ZstdCompress | (Zlib.Gzip & Zlib.ZlibReset);

interface CodecCalls {
  create(): Engine;
  /** The sync function the kept context must match byte for byte. */
  reference(data: Buffer): Buffer;
  endFlag: number;
  /** A gzip stream ends with Z_FINISH and must be reset before the next; zstd starts a new frame by itself. */
  resetAfterFrame: boolean;
  /** The most one frame of `size` bytes can take (zstd's ZSTD_compressBound; a generous bound for deflate). */
  bound(size: number): number;
}

/** zstd's level is a parameter, gzip's an option of its own: one shape that both node:zlib option types accept. */
interface LevelOptions {
  params?: Record<number, number>;
  level?: number;
}

/** The node:zlib options that give `level` (undefined: the codec's default), for the kept contexts and the sync functions alike. */
export function levelOptions(zlib: typeof Zlib, codec: KeptCodec, level: number | undefined): LevelOptions | undefined {
  if (level === undefined) return undefined;
  return codec === 'zstd' ? { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } } : { level };
}

function codecCalls(zlib: typeof Zlib, codec: KeptCodec, level: number | undefined): CodecCalls {
  const options = levelOptions(zlib, codec, level);
  if (codec === 'zstd') {
    return {
      create: () => zlib.createZstdCompress(options),
      reference: (data) => zlib.zstdCompressSync(data, options),
      endFlag: zlib.constants.ZSTD_e_end,
      resetAfterFrame: false,
      bound: (size) => size + (size >> 8) + (size < 128 << 10 ? ((128 << 10) - size) >> 11 : 0),
    };
  }
  return {
    create: () => zlib.createGzip(options) as Zlib.Gzip & Zlib.ZlibReset,
    reference: (data) => zlib.gzipSync(data, options),
    endFlag: zlib.constants.Z_FINISH,
    resetAfterFrame: true,
    // Above zlib's deflateBound() for any window and memory level, plus the gzip header and trailer.
    bound: (size) => size + (size >> 3) + (size >> 6) + 64,
  };
}

class KeptContext {
  /** Where each frame is written before it is copied out: as large as the largest batch's bound so far. */
  private scratch = Buffer.allocUnsafe(0);
  /** An error the engine reported (it then closes itself): the context is dropped. */
  private failure: Error | undefined;

  constructor(
    /** Held so that the engine, which owns the handle, lives as long as this does. */
    readonly engine: Engine,
    private readonly handle: ZlibHandle,
    private readonly writeState: Uint32Array,
    private readonly calls: CodecCalls,
  ) {
    engine.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  compress(data: Buffer): Buffer {
    const needed = this.calls.bound(data.length);
    if (this.scratch.length < needed) this.scratch = Buffer.allocUnsafe(needed);
    const out = this.scratch;
    this.handle.writeSync(this.calls.endFlag, data, 0, data.length, out, 0, out.length);
    if (this.failure) throw this.failure;
    const outLeft = this.writeState[0] as number;
    const inLeft = this.writeState[1] as number;
    // With room for the bound, one call ends the frame; anything else is not what this relies on.
    if (inLeft !== 0 || outLeft === 0) throw new Error(`compression: the frame did not end in one call (${inLeft} bytes left)`);
    const frame = Buffer.from(out.subarray(0, out.length - outLeft));
    if (this.calls.resetAfterFrame) (this.engine as Zlib.ZlibReset).reset();
    return frame;
  }
}

/** One kept context per codec and level, made on first use; undefined when node:zlib cannot give one that matches. */
const contexts = new Map<string, KeptContext | undefined>();

/**
 * Compresses `data` into one frame through the kept context of its codec and level, or returns
 * undefined when there is none (or `data` is above KEPT_CONTEXT_MAX_INPUT): then the caller
 * compresses. A context that fails is dropped, and the next call makes a new one.
 */
export function compressWithKeptContext(zlib: typeof Zlib, codec: KeptCodec, data: Buffer, level: number | undefined): Buffer | undefined {
  // gzip level 0 writes stored blocks as large as the output room allows, so its bytes would differ from gzipSync's.
  if (data.length > KEPT_CONTEXT_MAX_INPUT || (codec === 'gzip' && level === 0)) return undefined;
  const key = `${codec}:${level}`;
  let context = contexts.get(key);
  if (context === undefined) {
    if (contexts.has(key)) return undefined;
    context = keptContext(codecCalls(zlib, codec, level));
    contexts.set(key, context);
    if (context === undefined) return undefined;
  }
  try {
    return context.compress(data);
  } catch (error) {
    contexts.delete(key);
    context.engine.destroy();
    throw error;
  }
}

function keptContext(calls: CodecCalls): KeptContext | undefined {
  const sample = Buffer.from('kafka-wire checks its kept compression context against the sync function. '.repeat(64));
  return checkedContext(
    calls.create,
    (engine, handle, writeState) => new KeptContext(engine, handle, writeState, calls),
    (context) => context.compress(sample).equals(calls.reference(sample)),
  );
}

/**
 * A kept context around a new engine, checked twice against the sync function (the second call
 * shows that it starts afresh after the first); undefined, the engine destroyed, when node:zlib
 * has not the internals used here or the output differs.
 */
function checkedContext<E extends { destroy(): unknown }, C>(
  create: () => E,
  make: (engine: E, handle: ZlibHandle, writeState: Uint32Array) => C,
  matches: (context: C) => boolean,
): C | undefined {
  let engine: E | undefined;
  try {
    engine = create();
    const { _handle: handle, _writeState: writeState } = engine as unknown as ZlibEngineInternals;
    if (typeof handle?.writeSync !== 'function' || !(writeState instanceof Uint32Array)) throw new Error('no internals');
    const context = make(engine, handle, writeState);
    for (let i = 0; i < 2; i++) if (!matches(context)) throw new Error('different output');
    return context;
  } catch {
    engine?.destroy();
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Decompression: `zstdDecompressSync` and `gunzipSync` likewise make a context (and a stream
// object) per call, and `zstdDecompressSync` stops after the first frame. Through decompress()
// (checks and copy-out included), a 16 KiB zstd batch took 16-20 µs with a kept context against
// 20-26, 256 KiB 83-126 against 127-138; gzip 10-13 against 14-23 and 127-136 against 174-182
// (a loop of calls on its own), 2026-12-04; reading 200k x 1 KiB records, 4-22% less CPU.

/** An output-limit error shaped as node:zlib's own, which compression.ts already maps. */
export function outputTooLarge(limit: number): Error {
  return Object.assign(new RangeError(`Cannot create a Buffer larger than ${limit} bytes`), { code: 'ERR_BUFFER_TOO_LARGE' });
}

type DecompressEngine = (Zlib.ZstdDecompress | Zlib.Gunzip) & Zlib.ZlibReset;

interface DecompressCalls {
  create(): DecompressEngine;
  /** The sync function the kept context must match. */
  reference(data: Buffer): Buffer;
  /** Makes a sample to check the kept context on. */
  compress(data: Buffer): Buffer;
  endFlag: number;
  /**
   * zstd returns at the end of each frame, so a call with input left goes on with the next frame.
   * node:zlib's gunzip reads every member in one call; input it leaves is padding (zero bytes).
   */
  stopsAtFrameEnd: boolean;
}

function decompressCalls(zlib: typeof Zlib, codec: KeptCodec): DecompressCalls {
  if (codec === 'zstd') {
    return {
      create: () => zlib.createZstdDecompress() as DecompressEngine,
      reference: (data) => zlib.zstdDecompressSync(data),
      compress: (data) => zlib.zstdCompressSync(data),
      endFlag: zlib.constants.ZSTD_e_end,
      stopsAtFrameEnd: true,
    };
  }
  return {
    create: () => zlib.createGunzip() as DecompressEngine,
    reference: (data) => zlib.gunzipSync(data),
    compress: (data) => zlib.gzipSync(data),
    endFlag: zlib.constants.Z_FINISH,
    stopsAtFrameEnd: false,
  };
}

class KeptDecompressor {
  /** Where output is written first, kept between calls up to KEPT_CONTEXT_MAX_INPUT. */
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(
    readonly engine: DecompressEngine,
    private readonly handle: ZlibHandle,
    private readonly writeState: Uint32Array,
    private readonly calls: DecompressCalls,
  ) {
    // An error is read from `engine.errored` right after the call; the listener only keeps it from being unhandled.
    engine.on('error', () => undefined);
  }

  /** Every frame of `data`, decompressed into one new Buffer of at most `maxOutputBytes`. */
  decompress(data: Buffer, maxOutputBytes: number): Buffer {
    let out = this.scratch;
    let produced = 0;
    let inOffset = 0;
    try {
      for (;;) {
        const before = inOffset + produced;
        this.handle.writeSync(this.calls.endFlag, data, inOffset, data.length - inOffset, out, produced, out.length - produced);
        if (this.engine.errored) throw this.engine.errored;
        const outLeft = this.writeState[0] as number;
        inOffset = data.length - (this.writeState[1] as number);
        produced = out.length - outLeft;
        if (produced > maxOutputBytes) throw outputTooLarge(maxOutputBytes);
        // Room to spare: everything is out, unless zstd stopped at a frame's end with more frames to go.
        if (outLeft > 0 && (inOffset === data.length || !this.calls.stopsAtFrameEnd)) break;
        if (outLeft > 0) {
          if (inOffset + produced === before) throw new Error(`decompression stopped at byte ${inOffset} of ${data.length}`);
          continue;
        }
        const limit = Math.min(maxOutputBytes + 1, bufferConstants.MAX_LENGTH);
        if (out.length >= limit) throw outputTooLarge(maxOutputBytes);
        const grown = Buffer.allocUnsafe(Math.min(out.length * 2, limit));
        out.copy(grown, 0, 0, produced);
        out = grown;
      }
    } finally {
      // A frame cut short would otherwise carry over into the next call's input.
      if (!this.engine.errored) this.engine.reset();
    }
    if (out !== this.scratch && out.length <= KEPT_CONTEXT_MAX_INPUT) this.scratch = out;
    else if (out !== this.scratch) return out.subarray(0, produced);
    return Buffer.from(out.subarray(0, produced));
  }
}

/** One kept decompression context per codec, made on first use; null when node:zlib cannot give one that matches. */
const decompressors = new Map<KeptCodec, KeptDecompressor | null>();

/**
 * Decompresses `data` (zstd frames or gzip members) through the codec's kept decompression
 * context, or returns undefined when node:zlib cannot give one that matches its sync function:
 * then the caller decompresses. Errors are node:zlib's (corrupt input; ERR_BUFFER_TOO_LARGE past
 * `maxOutputBytes`); a context that failed is dropped, and the next call makes a new one.
 */
export function decompressWithKeptContext(zlib: typeof Zlib, codec: KeptCodec, data: Buffer, maxOutputBytes: number): Buffer | undefined {
  let context = decompressors.get(codec);
  if (context === undefined) {
    context = keptDecompressor(decompressCalls(zlib, codec)) ?? null;
    decompressors.set(codec, context);
  }
  if (context === null) return undefined;
  try {
    return context.decompress(data, maxOutputBytes);
  } catch (error) {
    if (context.engine.errored) {
      decompressors.delete(codec);
      context.engine.destroy();
    }
    throw error;
  }
}

function keptDecompressor(calls: DecompressCalls): KeptDecompressor | undefined {
  // Past the first scratch buffer's size: the check covers its growth.
  const sample = Buffer.from('kafka-wire checks its kept decompression context against the sync function. '.repeat(2048));
  const frame = calls.compress(sample);
  return checkedContext(
    calls.create,
    (engine, handle, writeState) => {
      if (typeof engine.reset !== 'function') throw new Error('no reset()');
      return new KeptDecompressor(engine, handle, writeState, calls);
    },
    (context) => context.decompress(frame, sample.length).equals(calls.reference(frame)),
  );
}
