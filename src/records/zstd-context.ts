import type Zlib from 'node:zlib';

/**
 * zstd compression through one kept node:zlib context instead of a new one per call.
 *
 * `zstdCompressSync` builds a stream object and a fresh ZSTD_CCtx (about a megabyte of native
 * tables at level 3) for every batch, and frees them again: a fixed cost per call, and native
 * memory churn that V8 counts as external memory and answers with extra garbage collections.
 * A kept context compresses each batch as one ZSTD_e_end call, which makes the same frame.
 *
 * node:zlib has no public API for this; it is reached through the engine's `_handle`, which
 * node:zlib's own sync functions use. Before the first use the kept context's output is
 * compared with `zstdCompressSync`'s on a sample: if anything differs or is missing, this
 * returns undefined and the caller keeps using `zstdCompressSync`.
 */

/** What this module uses of a node:zlib engine's internals. */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOffset: number, inLength: number, out: Buffer, outOffset: number, outLength: number): void;
}

interface ZlibEngineInternals {
  _handle?: ZlibHandle;
  _writeState?: Uint32Array;
}

/** zstd's ZSTD_compressBound(): the most a frame of `size` bytes can take. */
function compressBound(size: number): number {
  const margin = size < 128 << 10 ? ((128 << 10) - size) >> 11 : 0;
  return size + (size >> 8) + margin;
}

/** Batches above this go through `zstdCompressSync`: its fixed cost no longer shows, and the scratch buffer stays small. */
export const KEPT_CONTEXT_MAX_INPUT = 1 << 20;

class KeptZstdContext {
  /** Where each frame is written before it is copied out: as large as the largest batch's bound so far. */
  private scratch = Buffer.allocUnsafe(0);
  /** An error the engine reported (it then closes itself): the context is dropped. */
  failure: Error | undefined;

  constructor(
    /** Held so that the engine, which owns the handle, lives as long as this does. */
    readonly engine: Zlib.ZstdCompress,
    private readonly handle: ZlibHandle,
    private readonly writeState: Uint32Array,
    private readonly endFlag: number,
  ) {
    engine.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  compress(data: Buffer): Buffer {
    const needed = compressBound(data.length);
    if (this.scratch.length < needed) this.scratch = Buffer.allocUnsafe(needed);
    const out = this.scratch;
    this.handle.writeSync(this.endFlag, data, 0, data.length, out, 0, out.length);
    if (this.failure) throw this.failure;
    const outLeft = this.writeState[0] as number;
    const inLeft = this.writeState[1] as number;
    // With room for the bound, one ZSTD_e_end call ends the frame; anything else is not what this relies on.
    if (inLeft !== 0 || outLeft === 0) throw new Error(`zstd: the frame did not end in one call (${inLeft} bytes left)`);
    return Buffer.from(out.subarray(0, out.length - outLeft));
  }
}

/** One kept context per level, made on first use; undefined when node:zlib cannot give one that matches. */
const contexts = new Map<number | undefined, KeptZstdContext | undefined>();

/**
 * Compresses `data` into one zstd frame through the level's kept context, or returns undefined
 * when there is none (or `data` is above KEPT_CONTEXT_MAX_INPUT): then the caller compresses.
 * A context that fails is dropped, and the next call makes a new one.
 */
export function compressWithKeptContext(zlib: typeof Zlib, data: Buffer, level: number | undefined): Buffer | undefined {
  if (data.length > KEPT_CONTEXT_MAX_INPUT) return undefined;
  let context = contexts.get(level);
  if (context === undefined) {
    if (contexts.has(level)) return undefined;
    context = keptContext(zlib, level);
    contexts.set(level, context);
    if (context === undefined) return undefined;
  }
  try {
    return context.compress(data);
  } catch (error) {
    contexts.delete(level);
    context.engine.destroy();
    throw error;
  }
}

function keptContext(zlib: typeof Zlib, level: number | undefined): KeptZstdContext | undefined {
  const options = level === undefined ? undefined : { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } };
  let context: KeptZstdContext | undefined;
  try {
    const engine = zlib.createZstdCompress(options);
    const { _handle: handle, _writeState: writeState } = engine as unknown as ZlibEngineInternals;
    if (typeof handle?.writeSync !== 'function' || !(writeState instanceof Uint32Array)) {
      engine.destroy();
      return undefined;
    }
    context = new KeptZstdContext(engine, handle, writeState, zlib.constants.ZSTD_e_end);
    // Twice: the second frame shows that the context starts afresh after the first.
    const sample = Buffer.from('kafka-wire checks its kept zstd context against zstdCompressSync. '.repeat(64));
    for (let i = 0; i < 2; i++) {
      if (!context.compress(sample).equals(zlib.zstdCompressSync(sample, options))) throw new Error('different frames');
    }
    return context;
  } catch {
    context?.engine.destroy();
    return undefined;
  }
}
