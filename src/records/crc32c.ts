import { createRequire } from 'node:module';

/**
 * CRC-32C (Castagnoli), unsigned. Tiny inputs stay in the crc-32 package's JavaScript, which is
 * faster below a few hundred bytes because it avoids the native call's overhead; larger ones go
 * through @node-rs/crc32's native, hardware-assisted code once the process checksums enough to
 * pay for loading it. bench/crc32c.ts has the figures behind both thresholds. Where the native
 * module cannot load, the JavaScript one does everything.
 */

type Crc = (data: Uint8Array, previous: number) => number;

const NATIVE_FROM_BYTES = 512;
/**
 * Loading the native module adds about 4 MB to the process's RSS, and the JavaScript code checksums
 * about 1.7 GB/s, so native pays only in volume. It loads once 8 MiB of inputs of NATIVE_FROM_BYTES
 * or more were checksummed within 250 ms (32 MiB/s, about 2% of a core in JavaScript): a producer
 * flat out gets there within its first 8 MiB, one paced at 20,000 records of 100 B a second (about
 * 2.5 MB/s) never does.
 */
const NATIVE_AFTER_BYTES = 8 * 1024 * 1024;
const NATIVE_WITHIN_MS = 250;

// Both packages are CommonJS; require() reads them the same under Node and under test runners.
const require = createRequire(import.meta.url);
const crc32cJs = (require('crc-32/crc32c') as { buf(data: Uint8Array, seed?: number): number }).buf;

/**
 * True once `limit` bytes were counted within `withinMs` of the first of them. A window starts
 * with the first bytes counted after the last one ended, so time spent idle (between import and
 * the first batch) does not count against it. Reads the clock twice per window, not per call.
 */
export class VolumeGate {
  private counted = 0;
  private since = 0;

  constructor(
    private readonly limit: number,
    private readonly withinMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  count(bytes: number): boolean {
    if (this.counted === 0) this.since = this.now();
    this.counted += bytes;
    if (this.counted < this.limit) return false;
    const reached = this.now() - this.since <= this.withinMs;
    this.counted = 0;
    return reached;
  }
}

let native: Crc | undefined;
let nativeTried = false;
const volume = new VolumeGate(NATIVE_AFTER_BYTES, NATIVE_WITHIN_MS);

/** Loads the native code on the first call; undefined where it cannot load. */
export function loadCrc32cNative(): Crc | undefined {
  if (nativeTried) return native;
  nativeTried = true;
  try {
    const { crc32c: load } = require('@node-rs/crc32') as { crc32c: (input: Uint8Array, initial?: number) => number };
    native = (data, previous) => load(data, previous) >>> 0;
  } catch {
    native = undefined;
  }
  return native;
}

/** Which code checksums inputs of NATIVE_FROM_BYTES or more right now. */
export function crc32cImplementation(): 'native' | 'javascript' {
  return native ? 'native' : 'javascript';
}

export function crc32cJavaScript(data: Uint8Array, previous = 0): number {
  return crc32cJs(data, previous | 0) >>> 0;
}

/** CRC-32C of `data`; pass the previous result to continue over more bytes. */
export function crc32c(data: Uint8Array, previous = 0): number {
  if (data.length >= NATIVE_FROM_BYTES) {
    if (native !== undefined) return native(data, previous);
    if (!nativeTried && volume.count(data.length)) loadCrc32cNative();
  }
  return crc32cJs(data, previous | 0) >>> 0;
}
