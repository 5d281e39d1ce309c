import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { crc32c, crc32cImplementation, crc32cJavaScript, VolumeGate } from '../../src/records/crc32c.js';

const native = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c(data: Uint8Array, initial?: number): number }).crc32c;

/** CRC-32C one bit at a time: slow and obviously right. */
function bitwise(data: Uint8Array): number {
  let crc = -1;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('CRC-32C', () => {
  test('the check value and the RFC 3720 (iSCSI) vectors', () => {
    expect(crc32cJavaScript(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cJavaScript(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32cJavaScript(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32cJavaScript(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32cJavaScript(new Uint8Array(0))).toBe(0);
  });

  test('the JavaScript code, the native code and the bitwise reference agree on every length up to 600', () => {
    const data = Buffer.alloc(700);
    for (let i = 0; i < data.length; i++) data[i] = (i * 167 + 13) ^ (i >>> 3);
    for (let length = 0; length <= 600; length++) {
      const start = (length * 7) % 97;
      const slice = data.subarray(start, start + length);
      const expected = bitwise(slice);
      expect(crc32cJavaScript(slice)).toBe(expected);
      expect(crc32c(slice)).toBe(expected);
      expect(native(slice) >>> 0).toBe(expected);
    }
  });

  test('continues over more bytes from a previous result', () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff));
    expect(crc32cJavaScript(data.subarray(37), crc32cJavaScript(data.subarray(0, 37)))).toBe(bitwise(data));
    expect(crc32c(data.subarray(600), crc32c(data.subarray(0, 600)))).toBe(bitwise(data));
  });

  test('opens once the limit is counted within the window from its first bytes, else starts again', () => {
    let now = 0;
    const gate = new VolumeGate(1000, 100, () => now);
    now = 5000; // idle since construction: does not count
    expect(gate.count(999)).toBe(false);
    now = 5050;
    expect(gate.count(1)).toBe(true); // 1,000 bytes in 50 ms
    now = 6000;
    expect(gate.count(600)).toBe(false);
    now = 6150;
    expect(gate.count(400)).toBe(false); // 1,000 bytes, but over 150 ms: the window ends unopened
    now = 6200;
    expect(gate.count(2000)).toBe(true); // a window of one call over the limit
  });

  test('checksums in JavaScript at a trickle and loads the native code in volume, with the same results', () => {
    const block = Buffer.alloc(64 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 151 + 7) & 0xff;
    const expected = crc32cJavaScript(block);
    for (let i = 0; i < 16; i++) expect(crc32c(block.subarray(0, 4096))).toBe(crc32cJavaScript(block.subarray(0, 4096)));
    expect(crc32cImplementation()).toBe('javascript');
    // 8 MiB within 250 ms loads it: JavaScript checksums that in about 6 ms; up to 16 windows give
    // a machine busy with other work room.
    for (let sum = 0; sum < 16 * 8 * 1024 * 1024 && crc32cImplementation() === 'javascript'; sum += block.length) {
      expect(crc32c(block)).toBe(expected);
    }
    expect(crc32cImplementation()).toBe('native');
    expect(crc32c(block)).toBe(expected);
  });
});
