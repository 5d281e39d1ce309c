import { createRequire } from 'node:module';

/**
 * CRC-32C (Castagnoli), unsigned. Batches go through @node-rs/crc32's native, hardware-assisted
 * code; tiny inputs stay in the crc-32 package's JavaScript, which is faster below a few hundred
 * bytes because it avoids the native call's overhead. bench/crc32c.ts has the figures behind the
 * threshold. Where the native module cannot load, the JavaScript one does everything.
 */

type Crc = (data: Uint8Array, previous: number) => number;

const NATIVE_FROM_BYTES = 512;
// Both packages are CommonJS; require() reads them the same under Node and under test runners.
const require = createRequire(import.meta.url);
const crc32cJs = (require('crc-32/crc32c') as { buf(data: Uint8Array, seed?: number): number }).buf;

function loadNative(): Crc | undefined {
  try {
    const { crc32c: native } = require('@node-rs/crc32') as { crc32c: (input: Uint8Array, initial?: number) => number };
    return (data, previous) => native(data, previous) >>> 0;
  } catch {
    return undefined;
  }
}

const native = loadNative();

export const crc32cImplementation: 'native' | 'javascript' = native ? 'native' : 'javascript';

export function crc32cJavaScript(data: Uint8Array, previous = 0): number {
  return crc32cJs(data, previous | 0) >>> 0;
}

/** CRC-32C of `data`; pass the previous result to continue over more bytes. */
export function crc32c(data: Uint8Array, previous = 0): number {
  if (native !== undefined && data.length >= NATIVE_FROM_BYTES) return native(data, previous);
  return crc32cJs(data, previous | 0) >>> 0;
}
