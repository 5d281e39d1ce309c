/**
 * Compression codecs of Kafka record batches (magic v2).
 *
 * The records section of a batch is compressed as one unit; bits 0-2 of the batch attributes name
 * the codec. Every codec writes what Apache Kafka's Java client writes, and reads that and the
 * other forms a Kafka client may meet:
 *
 * - gzip: a gzip member (node:zlib).
 * - snappy: xerial snappy-java's stream framing (what the Java client's `SnappyOutputStream`
 *   writes): an 8-byte magic, two big-endian int32 versions, then chunks of
 *   [uint32 BE length][raw snappy block], each block holding at most 32 KiB of input. Reading also
 *   accepts one raw snappy block (as librdkafka and some other clients write it) and concatenated xerial streams.
 *   Blocks come from the `snappy` npm package (native, loaded on first use).
 * - lz4: the LZ4 frame format (magic 0x184D2204), written as Kafka's `Lz4BlockOutputStream` writes
 *   it: independent blocks of at most 64 KiB, no checksums, no content size, incompressible blocks
 *   stored raw. The frame layer is here; blocks are compressed and decoded by the `lz4-napi`
 *   package's block functions (native, chosen by measurement: see bench/compression-choice.md),
 *   or by the TypeScript block codec here where lz4-napi does not load (or KAFKA_WIRE_LZ4=js).
 *   Reading accepts any version-01 frame: content size, block and content checksums, linked or
 *   independent blocks, raw blocks, block sizes 64 KiB to 4 MiB, concatenated and skippable
 *   frames. Frames that need a dictionary are refused.
 * - zstd: a zstd frame (node:zlib's zstd, Node >= 22.15 / 23.8).
 * - gzip and zstd batches up to 1 MiB are compressed through one kept node:zlib context per codec
 *   and level instead of a new one per batch (compression-contexts.ts), unless
 *   KAFKA_WIRE_ZLIB_CONTEXTS=off.
 *
 * Decompression is bounded: output beyond `maxOutputBytes` throws a {@link CompressionError}
 * before a buffer of that size is allocated, so a small "bomb" cannot exhaust memory. Corrupt or
 * truncated input throws a {@link CompressionError} as well, never another error type.
 */

import { constants as bufferConstants } from 'node:buffer';
import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import { KafkaWireError } from '../errors.js';
import { compressWithKeptContext, decompressWithKeptContext, levelOptions, outputTooLarge } from './compression-contexts.js';
import { xxhash32 } from './xxhash32.js';
import { zstdFrameEnds, zstdFramesProblem } from './zstd-frames.js';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** The codec ids of the record batch attributes (bits 0-2). */
export const COMPRESSION_CODES: Record<CompressionName, number> = Object.freeze({
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
});

const NAMES_BY_CODE: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** A payload could not be compressed or decompressed: corrupt or truncated input, output over the limit, codec unavailable. */
export class CompressionError extends KafkaWireError {
  override name = 'CompressionError';
  constructor(
    readonly codec: CompressionName | number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, { cause: options?.cause });
  }
}

/** The codec named by a batch's compression id (attributes & 0x07). */
export function compressionName(code: number): CompressionName {
  const name = Number.isInteger(code) ? NAMES_BY_CODE[code] : undefined;
  if (name === undefined) throw new CompressionError(code, `unknown compression codec ${code}`);
  return name;
}

export interface CompressOptions {
  /**
   * Compression level. gzip: 0-9 or -1 (zlib's default, 6). zstd: zstd's levels (default 3).
   * Ignored by snappy (no levels) and lz4 (always LZ4's fast compressor, which is also what the
   * Java client uses at its default level).
   */
  level?: number;
}

/**
 * Compresses `input` (the concatenation of the buffers, if an array) with `codec`.
 * For 'none' the result is the input itself (a single buffer is returned as is).
 */
export function compress(codec: CompressionName, input: Buffer | Buffer[], options: CompressOptions = {}): Buffer {
  const data = Array.isArray(input) ? (input.length === 1 ? (input[0] as Buffer) : Buffer.concat(input)) : input;
  switch (codec) {
    case 'none':
      return data;
    case 'gzip':
      return gzipCompress(data, options.level);
    case 'snappy':
      return snappyCompress(data);
    case 'lz4':
      return lz4Compress(data);
    case 'zstd':
      return zstdCompress(data, options.level);
    default:
      throw new CompressionError(codec, `unknown compression codec ${String(codec)}`);
  }
}

/**
 * Decompresses `input`, a whole compressed records section. Throws a {@link CompressionError} if
 * the input is corrupt or truncated, or if the output would be longer than `maxOutputBytes` (which
 * is checked before the output is allocated). For 'none' the result is the input itself.
 */
export function decompress(codec: CompressionName, input: Buffer, maxOutputBytes: number): Buffer {
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new RangeError(`maxOutputBytes must be a non-negative integer, got ${maxOutputBytes}`);
  }
  if (codec === 'none') {
    if (input.length > maxOutputBytes) throw tooLarge(codec, maxOutputBytes);
    return input;
  }
  if (codec !== 'gzip' && codec !== 'snappy' && codec !== 'lz4' && codec !== 'zstd') {
    throw new CompressionError(codec, `unknown compression codec ${String(codec)}`);
  }
  // No codec encodes anything, not even empty data, in zero bytes.
  if (input.length === 0) throw new CompressionError(codec, `${codec}: empty input`);
  switch (codec) {
    case 'gzip':
      return gzipDecompress(input, maxOutputBytes);
    case 'snappy':
      return snappyDecompress(input, maxOutputBytes);
    case 'lz4':
      return lz4Decompress(input, maxOutputBytes);
    case 'zstd':
      return zstdDecompress(input, maxOutputBytes);
  }
}

function tooLarge(codec: CompressionName, maxOutputBytes: number, cause?: unknown): CompressionError {
  return new CompressionError(
    codec,
    `${codec}: decompressed output would exceed maxOutputBytes (${maxOutputBytes} bytes)`,
    cause === undefined ? undefined : { cause },
  );
}

function corrupt(codec: CompressionName, detail: string, cause?: unknown): CompressionError {
  return new CompressionError(codec, `${codec}: corrupt or truncated input (${detail})`, cause === undefined ? undefined : { cause });
}

// ---------------------------------------------------------------------------------------------
// gzip and zstd: node:zlib

/** node:zlib, loaded on first use: a producer that does not compress with gzip or zstd does not carry it. */
function zlib(): typeof Zlib {
  return process.getBuiltinModule('node:zlib');
}

/** zlib's sync helpers refuse a maxOutputLength below 1 or above buffer.constants.MAX_LENGTH. */
function zlibOutputLimit(maxOutputBytes: number): number {
  return Math.min(Math.max(maxOutputBytes, 1), bufferConstants.MAX_LENGTH);
}

function wrapZlibError(codec: 'gzip' | 'zstd', err: unknown, maxOutputBytes: number): CompressionError {
  const code = (err as { code?: unknown } | null)?.code;
  // zlib stops inflating once the output passes maxOutputLength and throws ERR_BUFFER_TOO_LARGE.
  if (code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(codec, maxOutputBytes, err);
  return corrupt(codec, err instanceof Error ? err.message : String(err), err);
}

function checkedLength(codec: CompressionName, out: Buffer, maxOutputBytes: number): Buffer {
  if (out.length > maxOutputBytes) throw tooLarge(codec, maxOutputBytes);
  return out;
}

/** Through the codec's kept context, or undefined: then the caller compresses with node:zlib's sync function. */
function keptContextCompress(codec: 'gzip' | 'zstd', data: Buffer, level: number | undefined): Buffer | undefined {
  if (process.env.KAFKA_WIRE_ZLIB_CONTEXTS === 'off') return undefined;
  try {
    return compressWithKeptContext(zlib(), codec, data, level);
  } catch (error) {
    throw new CompressionError(codec, `${codec}: compressing failed (${(error as Error)?.message ?? String(error)})`, { cause: error });
  }
}

/** Through the codec's kept decompression context, or undefined: then the caller uses node:zlib's sync function. */
function keptContextDecompress(codec: 'gzip' | 'zstd', input: Buffer, limit: number): Buffer | undefined {
  return process.env.KAFKA_WIRE_ZLIB_CONTEXTS === 'off' ? undefined : decompressWithKeptContext(zlib(), codec, input, limit);
}

function gzipCompress(data: Buffer, level: number | undefined): Buffer {
  if (level !== undefined && !(Number.isInteger(level) && level >= -1 && level <= 9)) {
    throw new RangeError(`gzip level must be an integer from -1 to 9, got ${level}`);
  }
  return keptContextCompress('gzip', data, level) ?? zlib().gzipSync(data, levelOptions(zlib(), 'gzip', level));
}

function gzipDecompress(input: Buffer, maxOutputBytes: number): Buffer {
  let out: Buffer;
  try {
    const limit = zlibOutputLimit(maxOutputBytes);
    out = keptContextDecompress('gzip', input, limit) ?? zlib().gunzipSync(input, { maxOutputLength: limit });
  } catch (err) {
    throw wrapZlibError('gzip', err, maxOutputBytes);
  }
  return checkedLength('gzip', out, maxOutputBytes);
}

interface ZstdZlib {
  zstdCompressSync?: typeof Zlib.zstdCompressSync;
  zstdDecompressSync?: typeof Zlib.zstdDecompressSync;
}

function zstdFunctions(): Required<ZstdZlib> {
  const z = zlib() as unknown as ZstdZlib;
  if (typeof z.zstdCompressSync !== 'function' || typeof z.zstdDecompressSync !== 'function') {
    throw new CompressionError(
      'zstd',
      `zstd needs Node 22.15+ (or 23.8+), whose node:zlib has zstd; this is Node ${process.versions.node}`,
    );
  }
  return { zstdCompressSync: z.zstdCompressSync, zstdDecompressSync: z.zstdDecompressSync };
}

function zstdCompress(data: Buffer, level: number | undefined): Buffer {
  const { zstdCompressSync } = zstdFunctions();
  if (level !== undefined && !Number.isInteger(level)) {
    throw new RangeError(`zstd level must be an integer, got ${level}`);
  }
  return keptContextCompress('zstd', data, level) ?? zstdCompressSync(data, levelOptions(zlib(), 'zstd', level));
}

function zstdDecompress(input: Buffer, maxOutputBytes: number): Buffer {
  const { zstdDecompressSync } = zstdFunctions();
  let out: Buffer;
  try {
    const limit = zlibOutputLimit(maxOutputBytes);
    out = keptContextDecompress('zstd', input, limit) ?? zstdDecompressEachFrame(zstdDecompressSync, input, limit);
  } catch (err) {
    throw wrapZlibError('zstd', err, maxOutputBytes);
  }
  const problem = zstdFramesProblem(input);
  if (problem !== undefined) throw corrupt('zstd', problem);
  return checkedLength('zstd', out, maxOutputBytes);
}

/**
 * zstdDecompressSync stops at the end of the first frame, and a records section may hold several
 * (RFC 8878 §3.1, and the broker reads them all): each frame is decompressed on its own.
 */
function zstdDecompressEachFrame(sync: typeof Zlib.zstdDecompressSync, input: Buffer, limit: number): Buffer {
  const ends = zstdFrameEnds(input);
  if (typeof ends === 'string' || ends.length <= 1) return sync(input, { maxOutputLength: limit });
  const parts: Buffer[] = [];
  let start = 0;
  let total = 0;
  for (const end of ends) {
    const part = sync(input.subarray(start, end), { maxOutputLength: Math.max(1, limit - total) });
    total += part.length;
    if (total > limit) throw outputTooLarge(limit);
    parts.push(part);
    start = end;
  }
  return Buffer.concat(parts, total);
}

// ---------------------------------------------------------------------------------------------
// snappy: xerial snappy-java framing over raw snappy blocks from the `snappy` package

type SnappyModule = typeof import('snappy');

let snappyModule: SnappyModule | undefined;

/** Loads the native `snappy` package on first use, so a platform without its binary can still use the other codecs. */
function snappy(): SnappyModule {
  if (snappyModule === undefined) {
    try {
      snappyModule = createRequire(import.meta.url)('snappy') as SnappyModule;
    } catch (err) {
      throw new CompressionError('snappy', `snappy: the native snappy module could not be loaded (${String(err)})`, {
        cause: err,
      });
    }
  }
  return snappyModule;
}

/** 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00: snappy-java's SnappyCodec.MAGIC_HEADER. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** The magic's first four bytes read as a big-endian uint32: where a chunk length would be, it starts a concatenated stream. */
const XERIAL_MAGIC_HEAD = 0x82534e41;
const XERIAL_HEADER_LENGTH = 16;
const XERIAL_VERSION = 1;
const XERIAL_MIN_COMPATIBLE_VERSION = 1;
/** SnappyOutputStream.DEFAULT_BLOCK_SIZE, the block size the Java client uses. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

function snappyCompress(data: Buffer): Buffer {
  const { compressSync } = snappy();
  const header = Buffer.allocUnsafe(XERIAL_HEADER_LENGTH);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12);
  const parts: Buffer[] = [header];
  let total = XERIAL_HEADER_LENGTH;
  for (let offset = 0; offset < data.length; offset += XERIAL_BLOCK_SIZE) {
    const block = compressSync(data.subarray(offset, Math.min(offset + XERIAL_BLOCK_SIZE, data.length)));
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(block.length, 0);
    parts.push(length, block);
    total += 4 + block.length;
  }
  return Buffer.concat(parts, total);
}

/**
 * The uncompressed length a raw snappy block declares: a little-endian base-128 varint of at
 * most 32 bits at its start.
 */
function snappyDeclaredLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw corrupt('snappy', 'truncated block length');
    const byte = block[i] as number;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) break;
      return value;
    }
  }
  throw corrupt('snappy', 'block length is not a 32-bit varint');
}

/** Uncompresses one raw snappy block, having checked its declared length against what is left of the budget. */
function snappyBlock(block: Buffer, budget: number, maxOutputBytes: number): Buffer {
  const declared = snappyDeclaredLength(block);
  if (declared > budget) throw tooLarge('snappy', maxOutputBytes);
  let out: Buffer;
  try {
    out = snappy().uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (err) {
    if (err instanceof CompressionError) throw err;
    throw corrupt('snappy', err instanceof Error ? err.message : String(err), err);
  }
  if (out.length !== declared) {
    throw corrupt('snappy', `block declared ${declared} bytes but held ${out.length}`);
  }
  return out;
}

function isXerialHeaderAt(input: Buffer, offset: number): boolean {
  return input.length - offset >= XERIAL_MAGIC.length && XERIAL_MAGIC.equals(input.subarray(offset, offset + XERIAL_MAGIC.length));
}

function snappyDecompress(input: Buffer, maxOutputBytes: number): Buffer {
  if (!isXerialHeaderAt(input, 0)) {
    // One raw snappy block, as librdkafka and some other non-Java clients write.
    return snappyBlock(input, maxOutputBytes, maxOutputBytes);
  }
  const parts: Buffer[] = [];
  let produced = 0;
  let offset = 0;
  while (offset < input.length) {
    if (input.length - offset < 4) throw corrupt('snappy', 'truncated chunk length');
    const length = input.readUInt32BE(offset);
    if (length === XERIAL_MAGIC_HEAD) {
      // A xerial header, at the start or where snappy-java's reader accepts a concatenated stream.
      if (input.length - offset < XERIAL_HEADER_LENGTH) throw corrupt('snappy', 'truncated xerial header');
      if (!isXerialHeaderAt(input, offset)) throw corrupt('snappy', 'chunk length out of range');
      const version = input.readInt32BE(offset + 8);
      if (version < XERIAL_MIN_COMPATIBLE_VERSION) {
        throw corrupt('snappy', `xerial stream version ${version} is older than ${XERIAL_MIN_COMPATIBLE_VERSION}`);
      }
      offset += XERIAL_HEADER_LENGTH;
      continue;
    }
    if (length === 0 || length > 0x7fffffff) throw corrupt('snappy', `chunk length ${length} out of range`);
    const start = offset + 4;
    if (length > input.length - start) {
      throw corrupt('snappy', `chunk of ${length} bytes runs past the end of the input`);
    }
    const block = snappyBlock(input.subarray(start, start + length), maxOutputBytes - produced, maxOutputBytes);
    parts.push(block);
    produced += block.length;
    offset = start + length;
  }
  if (parts.length === 1) return parts[0] as Buffer;
  return Buffer.concat(parts, produced);
}

// ---------------------------------------------------------------------------------------------
// lz4: the LZ4 frame format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) over
// LZ4 blocks (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md)

const LZ4_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50; // 0x184D2A50 to 0x184D2A5F
const LZ4_RAW_BLOCK = 0x80000000;
const LZ4_FLG_VERSION_MASK = 0xc0;
const LZ4_FLG_VERSION_01 = 0x40;
const LZ4_FLG_BLOCK_INDEPENDENCE = 0x20;
const LZ4_FLG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_CONTENT_CHECKSUM = 0x04;
const LZ4_FLG_RESERVED = 0x02;
const LZ4_FLG_DICT_ID = 0x01;

/**
 * What Kafka's Lz4BlockOutputStream writes: FLG version 01 with independent blocks and no
 * checksums or content size; BD block maximum size id 4 (64 KiB).
 */
const LZ4_WRITE_FLG = LZ4_FLG_VERSION_01 | LZ4_FLG_BLOCK_INDEPENDENCE;
const LZ4_WRITE_BD = 4 << 4;
const LZ4_WRITE_BLOCK_SIZE = 64 * 1024;
const LZ4_WRITE_HC = (xxhash32(Uint8Array.of(LZ4_WRITE_FLG, LZ4_WRITE_BD)) >>> 8) & 0xff;
const LZ4_FRAME_HEADER_LENGTH = 7;

// Block compressor (LZ4's "fast" single-probe hash search, acceleration 1).
const LZ4_MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals. */
const LZ4_LAST_LITERALS = 5;
/** The last match must start at least 12 bytes before the end of the block. */
const LZ4_MF_LIMIT = 12;
const LZ4_MAX_OFFSET = 65535;
const LZ4_HASH_LOG = 12;
const LZ4_HASH_SHIFT = 32 - LZ4_HASH_LOG;
const LZ4_SKIP_TRIGGER = 6;
const lz4HashTable = new Int32Array(1 << LZ4_HASH_LOG);

/** LZ4_compressBound: the most bytes an LZ4 block of `n` input bytes can take. */
function lz4BlockBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function read32(b: Uint8Array, i: number): number {
  return (b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24);
}

function lz4Hash(sequence: number): number {
  return Math.imul(sequence, 0x9e3779b1) >>> LZ4_HASH_SHIFT;
}

/** Writes an LZ4 length extension (the part of a length at or beyond 15) and returns the new position. */
function writeLengthExtension(dst: Uint8Array, d: number, n: number): number {
  while (n >= 255) {
    dst[d++] = 255;
    n -= 255;
  }
  dst[d++] = n;
  return d;
}

function copyBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  if (n < 32) {
    for (const end = s + n; s < end; ) dst[d++] = src[s++] as number;
  } else {
    dst.set(src.subarray(s, s + n), d);
  }
}

/**
 * Compresses `src[start, end)` as one independent LZ4 block into `dst` from `d`, which must have
 * lz4BlockBound(end - start) bytes of room. Returns the position after the block.
 */
function lz4CompressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, d: number): number {
  let anchor = start;
  if (end - start >= LZ4_MF_LIMIT + 1) {
    const table = lz4HashTable;
    table.fill(-1);
    const matchStartLimit = end - LZ4_MF_LIMIT;
    const matchEndLimit = end - LZ4_LAST_LITERALS;
    let ip = start;
    search: for (;;) {
      // Find a 4-byte match, probing one hash slot per position, stepping faster the longer nothing matches.
      let ref = -1;
      let attempts = 1 << LZ4_SKIP_TRIGGER;
      for (;;) {
        if (ip > matchStartLimit) break search;
        const sequence = read32(src, ip);
        const h = lz4Hash(sequence);
        ref = table[h] as number;
        table[h] = ip;
        if (ref >= start && ip - ref <= LZ4_MAX_OFFSET && read32(src, ref) === sequence) break;
        ip += attempts++ >> LZ4_SKIP_TRIGGER;
      }
      // Extend the match backwards over pending literals, then forwards.
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let matchEnd = ip + LZ4_MIN_MATCH;
      let r = ref + LZ4_MIN_MATCH;
      while (matchEnd < matchEndLimit && src[matchEnd] === src[r]) {
        matchEnd++;
        r++;
      }
      // Emit the sequence: token, literal length, literals, offset, match length.
      const literalLength = ip - anchor;
      const matchLength = matchEnd - ip - LZ4_MIN_MATCH;
      const tokenAt = d++;
      let token: number;
      if (literalLength >= 15) {
        token = 0xf0;
        d = writeLengthExtension(dst, d, literalLength - 15);
      } else {
        token = literalLength << 4;
      }
      copyBytes(src, anchor, dst, d, literalLength);
      d += literalLength;
      const offset = ip - ref;
      dst[d++] = offset & 0xff;
      dst[d++] = offset >>> 8;
      if (matchLength >= 15) {
        token |= 15;
        d = writeLengthExtension(dst, d, matchLength - 15);
      } else {
        token |= matchLength;
      }
      dst[tokenAt] = token;
      ip = matchEnd;
      anchor = ip;
      if (ip > matchStartLimit) break;
      table[lz4Hash(read32(src, ip - 2))] = ip - 2;
    }
  }
  // The last sequence: literals only.
  const literalLength = end - anchor;
  if (literalLength >= 15) {
    dst[d++] = 0xf0;
    d = writeLengthExtension(dst, d, literalLength - 15);
  } else {
    dst[d++] = literalLength << 4;
  }
  copyBytes(src, anchor, dst, d, literalLength);
  return d + literalLength;
}

/** Returned by lz4DecompressBlock when the output would pass its limit. */
const LZ4_OVERFLOW = -1;

/**
 * Decodes the LZ4 block `src[s, sEnd)` into `dst` from `d`, writing nothing at or past `dLimit`.
 * Matches may reach back to `windowStart`. Returns the position after the output, or LZ4_OVERFLOW;
 * throws a CompressionError for a malformed block.
 */
function lz4DecompressBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dLimit: number,
  windowStart: number,
): number {
  for (;;) {
    if (s >= sEnd) throw corrupt('lz4', 'block ends inside a sequence');
    const token = src[s++] as number;
    let literalLength = token >>> 4;
    if (literalLength === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw corrupt('lz4', 'block ends inside a literal length');
        b = src[s++] as number;
        literalLength += b;
      } while (b === 255);
    }
    if (literalLength > 0) {
      if (literalLength > sEnd - s) throw corrupt('lz4', 'literals run past the end of the block');
      if (literalLength > dLimit - d) return LZ4_OVERFLOW;
      copyBytes(src, s, dst, d, literalLength);
      s += literalLength;
      d += literalLength;
    }
    if (s === sEnd) return d;
    if (sEnd - s < 2) throw corrupt('lz4', 'block ends inside a match offset');
    const offset = (src[s] as number) | ((src[s + 1] as number) << 8);
    s += 2;
    if (offset === 0 || offset > d - windowStart) throw corrupt('lz4', `match offset ${offset} out of range`);
    let matchLength = token & 15;
    if (matchLength === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw corrupt('lz4', 'block ends inside a match length');
        b = src[s++] as number;
        matchLength += b;
      } while (b === 255);
    }
    matchLength += LZ4_MIN_MATCH;
    if (matchLength > dLimit - d) return LZ4_OVERFLOW;
    const m = d - offset;
    if (matchLength < 32) {
      for (let i = m, end = d + matchLength; d < end; ) dst[d++] = dst[i++] as number;
    } else if (offset >= matchLength) {
      dst.copyWithin(d, m, m + matchLength);
      d += matchLength;
    } else {
      // Overlapping copy: the output from m on repeats with period `offset`, so copy in doubling runs.
      let remaining = matchLength;
      while (remaining > 0) {
        const n = Math.min(remaining, d - m);
        dst.copyWithin(d, m, m + n);
        d += n;
        remaining -= n;
      }
    }
  }
}

// The block codec in use: lz4-napi's (native, lz4_flex) when it loads, else the TypeScript one above.

type Lz4Native = Pick<typeof import('lz4-napi'), 'compressSync' | 'uncompressSync'>;

let lz4NativeModule: Lz4Native | null | undefined;

/**
 * lz4-napi, loaded on first use; null if it does not load on this platform, if it does not
 * behave as this code expects (its block functions carry a 4-byte little-endian uncompressed
 * length before the block), or if KAFKA_WIRE_LZ4=js asks for the TypeScript codec.
 */
function lz4Native(): Lz4Native | null {
  if (lz4NativeModule === undefined) {
    lz4NativeModule = null;
    if (process.env.KAFKA_WIRE_LZ4 !== 'js') {
      try {
        const candidate = createRequire(import.meta.url)('lz4-napi') as Lz4Native;
        const probe = Buffer.from('kafka-wire kafka-wire kafka-wire kafka-wire');
        const block = candidate.compressSync(probe);
        const back = Buffer.alloc(probe.length);
        const end = lz4DecompressBlock(block, 4, block.length, back, 0, back.length, 0);
        if (block.readUInt32LE(0) === probe.length && end === probe.length && back.equals(probe)) {
          const sized = Buffer.from(block);
          sized.writeUInt32LE(probe.length + 100, 0); // a larger bound must be accepted
          if (candidate.uncompressSync(sized).equals(probe)) lz4NativeModule = candidate;
        }
      } catch {
        // Not available here: the TypeScript codec does the work.
      }
    }
  }
  return lz4NativeModule;
}

const LZ4_WRITE_HEADER = Buffer.from([0x04, 0x22, 0x4d, 0x18, LZ4_WRITE_FLG, LZ4_WRITE_BD, LZ4_WRITE_HC]);
const LZ4_END_MARK = Buffer.alloc(4);

function lz4Compress(data: Buffer): Buffer {
  const native = lz4Native();
  return native === null ? lz4CompressJs(data) : lz4CompressNative(native, data);
}

function lz4CompressNative(native: Lz4Native, data: Buffer): Buffer {
  const parts: Buffer[] = [LZ4_WRITE_HEADER];
  let total = LZ4_WRITE_HEADER.length;
  for (let start = 0; start < data.length; start += LZ4_WRITE_BLOCK_SIZE) {
    const block = data.subarray(start, Math.min(start + LZ4_WRITE_BLOCK_SIZE, data.length));
    const sized = native.compressSync(block); // [uint32 LE uncompressed length][LZ4 block]
    if (sized.length - 4 >= block.length) {
      // Incompressible: store the block as is, flagged by the high bit of its length.
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32LE((LZ4_RAW_BLOCK | block.length) >>> 0, 0);
      parts.push(length, block);
      total += 4 + block.length;
    } else {
      // The 4-byte prefix becomes the frame's block length.
      sized.writeUInt32LE(sized.length - 4, 0);
      parts.push(sized);
      total += sized.length;
    }
  }
  parts.push(LZ4_END_MARK);
  total += LZ4_END_MARK.length;
  return Buffer.concat(parts, total);
}

let lz4Scratch: Buffer = Buffer.alloc(0);
/** Frames up to this size are built in a reused scratch buffer, then copied out at their exact size. */
const LZ4_SCRATCH_MAX = 4 * 1024 * 1024 + 1024;

function lz4CompressJs(data: Buffer): Buffer {
  const blockCount = Math.ceil(data.length / LZ4_WRITE_BLOCK_SIZE);
  const bound = LZ4_FRAME_HEADER_LENGTH + blockCount * (4 + lz4BlockBound(LZ4_WRITE_BLOCK_SIZE)) + 4;
  let out: Buffer;
  if (bound <= lz4Scratch.length) {
    out = lz4Scratch;
  } else {
    out = Buffer.allocUnsafe(bound);
    if (bound <= LZ4_SCRATCH_MAX) lz4Scratch = out;
  }
  LZ4_WRITE_HEADER.copy(out, 0);
  let d = LZ4_FRAME_HEADER_LENGTH;
  for (let start = 0; start < data.length; start += LZ4_WRITE_BLOCK_SIZE) {
    const end = Math.min(start + LZ4_WRITE_BLOCK_SIZE, data.length);
    const blockEnd = lz4CompressBlock(data, start, end, out, d + 4);
    const compressedLength = blockEnd - d - 4;
    if (compressedLength >= end - start) {
      // Incompressible: store the block as is, flagged by the high bit of its length.
      out.writeUInt32LE((LZ4_RAW_BLOCK | (end - start)) >>> 0, d);
      data.copy(out, d + 4, start, end);
      d += 4 + end - start;
    } else {
      out.writeUInt32LE(compressedLength, d);
      d = blockEnd;
    }
  }
  out.writeUInt32LE(0, d); // EndMark
  d += 4;
  const result = Buffer.allocUnsafe(d);
  out.copy(result, 0, 0, d);
  return result;
}

/**
 * Decodes the independent block `input[start, start + size)` with lz4-napi into `out` from `d`,
 * writing nothing at or past `limit`. Returns like lz4DecompressBlock.
 */
function lz4DecompressBlockNative(
  native: Lz4Native,
  input: Buffer,
  start: number,
  size: number,
  out: Buffer,
  d: number,
  limit: number,
): number {
  const sized = Buffer.allocUnsafe(4 + size);
  sized.writeUInt32LE(limit - d, 0); // lz4-napi takes this as the output bound
  input.copy(sized, 4, start, start + size);
  let block: Buffer;
  try {
    block = native.uncompressSync(sized);
  } catch {
    // Let the TypeScript decoder say whether the block is corrupt or too long for the limit.
    return lz4DecompressBlock(input, start, start + size, out, d, limit, d);
  }
  if (block.length > limit - d) return LZ4_OVERFLOW;
  block.copy(out, d);
  return d + block.length;
}

interface Lz4FrameLayout {
  readonly independentBlocks: boolean;
  readonly blockChecksums: boolean;
  readonly blockMaximumSize: number;
  readonly contentSize: number | undefined;
  /** The stored content checksum, if the frame has one. */
  readonly contentChecksum: number | undefined;
  /** [data offset, data length (high bit set for a raw block)] per block. */
  readonly blocks: number[];
}

/**
 * Walks the frames of `input` without decoding them: checks the headers, the header checksums and
 * that every block lies inside the input. Also returns an upper bound on the decoded size.
 */
function lz4ScanFrames(input: Buffer, maxOutputBytes: number): { frames: Lz4FrameLayout[]; outputBound: number } {
  const frames: Lz4FrameLayout[] = [];
  let outputBound = 0;
  let p = 0;
  while (p < input.length) {
    if (input.length - p < 4) throw corrupt('lz4', 'truncated frame magic');
    const magic = input.readUInt32LE(p);
    if ((magic & 0xfffffff0) >>> 0 === LZ4_SKIPPABLE_MAGIC) {
      if (input.length - p < 8) throw corrupt('lz4', 'truncated skippable frame');
      const size = input.readUInt32LE(p + 4);
      if (size > input.length - p - 8) throw corrupt('lz4', 'skippable frame runs past the end of the input');
      p += 8 + size;
      continue;
    }
    if (magic !== LZ4_MAGIC) {
      throw corrupt('lz4', `bad frame magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x184d2204`);
    }
    p += 4;
    const descriptorStart = p;
    if (input.length - p < 3) throw corrupt('lz4', 'truncated frame descriptor');
    const flg = input[p++] as number;
    const bd = input[p++] as number;
    if ((flg & LZ4_FLG_VERSION_MASK) !== LZ4_FLG_VERSION_01) {
      throw corrupt('lz4', `unsupported frame version ${flg >>> 6}`);
    }
    if ((flg & LZ4_FLG_RESERVED) !== 0 || (bd & 0x8f) !== 0) throw corrupt('lz4', 'reserved descriptor bits set');
    const blockSizeId = (bd >>> 4) & 7;
    if (blockSizeId < 4) throw corrupt('lz4', `invalid block maximum size id ${blockSizeId}`);
    const blockMaximumSize = 1 << (2 * blockSizeId + 8);
    let contentSize: number | undefined;
    if ((flg & LZ4_FLG_CONTENT_SIZE) !== 0) {
      if (input.length - p < 9) throw corrupt('lz4', 'truncated frame descriptor');
      const low = input.readUInt32LE(p);
      const high = input.readUInt32LE(p + 4);
      p += 8;
      // Anything at or above 2^53 is far beyond any limit; keep it as a number that compares as such.
      contentSize = high * 2 ** 32 + low;
    }
    if ((flg & LZ4_FLG_DICT_ID) !== 0) {
      throw new CompressionError('lz4', 'lz4: frames that need a dictionary are not supported');
    }
    if (input.length - p < 1) throw corrupt('lz4', 'truncated frame descriptor');
    const headerChecksum = (xxhash32(input, 0, descriptorStart, p) >>> 8) & 0xff;
    if (input[p] !== headerChecksum) {
      throw corrupt('lz4', `frame descriptor checksum 0x${(input[p] as number).toString(16)} != 0x${headerChecksum.toString(16)}`);
    }
    p++;
    if (contentSize !== undefined && contentSize > maxOutputBytes) {
      // The frame says how long it is; refuse before decoding anything.
      throw tooLarge('lz4', maxOutputBytes);
    }
    const blockChecksums = (flg & LZ4_FLG_BLOCK_CHECKSUM) !== 0;
    const blocks: number[] = [];
    let frameBound = 0;
    for (;;) {
      if (input.length - p < 4) throw corrupt('lz4', 'truncated block length (no EndMark)');
      const word = input.readUInt32LE(p);
      p += 4;
      if (word === 0) break; // EndMark
      const size = (word & ~LZ4_RAW_BLOCK) >>> 0;
      const raw = word !== size;
      if (size === 0 || size > blockMaximumSize) {
        throw corrupt('lz4', `block length ${size} out of range (maximum ${blockMaximumSize})`);
      }
      if (size + (blockChecksums ? 4 : 0) > input.length - p) throw corrupt('lz4', 'block runs past the end of the input');
      blocks.push(p, word);
      // An LZ4 block expands at most 255-fold (a match length byte of 255 per input byte).
      frameBound += raw ? size : Math.min(blockMaximumSize, size * 255);
      p += size + (blockChecksums ? 4 : 0);
    }
    let contentChecksum: number | undefined;
    if ((flg & LZ4_FLG_CONTENT_CHECKSUM) !== 0) {
      if (input.length - p < 4) throw corrupt('lz4', 'truncated content checksum');
      contentChecksum = input.readUInt32LE(p);
      p += 4;
    }
    outputBound += contentSize ?? frameBound;
    frames.push({
      independentBlocks: (flg & LZ4_FLG_BLOCK_INDEPENDENCE) !== 0,
      blockChecksums,
      blockMaximumSize,
      contentSize,
      contentChecksum,
      blocks,
    });
  }
  return { frames, outputBound };
}

function lz4Decompress(input: Buffer, maxOutputBytes: number): Buffer {
  const { frames, outputBound } = lz4ScanFrames(input, maxOutputBytes);
  const native = lz4Native();
  // Start with room for the bound, the limit or 16 times the input, whichever is least; grow as needed up to the limit.
  const hardLimit = Math.min(outputBound, maxOutputBytes);
  let out = Buffer.allocUnsafe(Math.min(hardLimit, Math.max(16 * input.length, 1024 * 1024)));
  let d = 0;
  const ensureRoom = (end: number): void => {
    if (end <= out.length) return;
    const grown = Buffer.allocUnsafe(Math.min(hardLimit, Math.max(end, 2 * out.length)));
    out.copy(grown, 0, 0, d);
    out = grown;
  };
  for (const frame of frames) {
    const frameStart = d;
    if (frame.contentSize !== undefined && frame.contentSize > maxOutputBytes - frameStart) {
      throw tooLarge('lz4', maxOutputBytes);
    }
    const frameLimit = frame.contentSize === undefined ? maxOutputBytes : frameStart + frame.contentSize;
    const blocks = frame.blocks;
    for (let i = 0; i < blocks.length; i += 2) {
      const start = blocks[i] as number;
      const word = blocks[i + 1] as number;
      const size = (word & ~LZ4_RAW_BLOCK) >>> 0;
      const raw = word !== size;
      if (frame.blockChecksums) {
        const stored = input.readUInt32LE(start + size);
        if (xxhash32(input, 0, start, start + size) !== stored) throw corrupt('lz4', 'block checksum mismatch');
      }
      const blockLimit = d + (raw ? size : Math.min(frame.blockMaximumSize, size * 255));
      const limit = Math.min(blockLimit, frameLimit);
      ensureRoom(limit);
      let end: number;
      if (raw) {
        end = size <= limit - d ? d + size : LZ4_OVERFLOW;
        if (end !== LZ4_OVERFLOW) input.copy(out, d, start, start + size);
      } else if (native !== null && frame.independentBlocks) {
        end = lz4DecompressBlockNative(native, input, start, size, out, d, limit);
      } else {
        end = lz4DecompressBlock(input, start, start + size, out, d, limit, frame.independentBlocks ? d : frameStart);
      }
      if (end === LZ4_OVERFLOW) {
        if (limit === maxOutputBytes && limit < blockLimit && frame.contentSize === undefined) {
          throw tooLarge('lz4', maxOutputBytes);
        }
        throw corrupt(
          'lz4',
          frame.contentSize === undefined ? 'block longer than the maximum block size' : 'more content than the frame declares',
        );
      }
      d = end;
    }
    if (frame.contentSize !== undefined && d - frameStart !== frame.contentSize) {
      throw corrupt('lz4', `frame declares ${frame.contentSize} bytes of content but holds ${d - frameStart}`);
    }
    if (frame.contentChecksum !== undefined && xxhash32(out, 0, frameStart, d) !== frame.contentChecksum) {
      throw corrupt('lz4', 'content checksum mismatch');
    }
  }
  if (d === out.length) return out;
  // Do not pin a much larger buffer than the result.
  return d >= out.length * 0.75 ? out.subarray(0, d) : Buffer.from(out.subarray(0, d));
}
