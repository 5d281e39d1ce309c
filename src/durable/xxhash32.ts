/**
 * xxHash32 (seed 0) of data[start, end), as its specification defines it
 * (github.com/Cyan4973/xxHash, doc/xxhash_spec.md): the journal's per-entry checksum. It needs no
 * lookup tables and takes four bytes a step in four independent lanes, so in the durable
 * producer it costs less CPU than CRC-32C in JavaScript (1.33 against 1.43 to 1.51 µs per record
 * in npm run bench's 100B-durable-interval), and the native CRC's call overhead loses at a
 * journal entry's size (about 130 bytes).
 */

const PRIME1 = 0x9e3779b1 | 0;
const PRIME2 = 0x85ebca77 | 0;
const PRIME3 = 0xc2b2ae3d | 0;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

/** Four bytes at `at`, little-endian, as a signed 32-bit integer. */
function word(data: Uint8Array, at: number): number {
  return (data[at] as number) | ((data[at + 1] as number) << 8) | ((data[at + 2] as number) << 16) | ((data[at + 3] as number) << 24);
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function round(lane: number, input: number): number {
  return Math.imul(rotateLeft((lane + Math.imul(input, PRIME2)) | 0, 13), PRIME1);
}

export function xxhash32(data: Uint8Array, start: number, end: number): number {
  let i = start;
  let hash: number;
  if (end - start >= 16) {
    let lane1 = (PRIME1 + PRIME2) | 0;
    let lane2 = PRIME2;
    let lane3 = 0;
    let lane4 = -PRIME1 | 0;
    for (const last = end - 16; i <= last; i += 16) {
      lane1 = round(lane1, word(data, i));
      lane2 = round(lane2, word(data, i + 4));
      lane3 = round(lane3, word(data, i + 8));
      lane4 = round(lane4, word(data, i + 12));
    }
    hash = (rotateLeft(lane1, 1) + rotateLeft(lane2, 7) + rotateLeft(lane3, 12) + rotateLeft(lane4, 18)) | 0;
  } else {
    hash = PRIME5;
  }
  hash = (hash + (end - start)) | 0;
  for (const last = end - 4; i <= last; i += 4) {
    hash = Math.imul(rotateLeft((hash + Math.imul(word(data, i), PRIME3)) | 0, 17), PRIME4);
  }
  for (; i < end; i++) {
    hash = Math.imul(rotateLeft((hash + Math.imul(data[i] as number, PRIME5)) | 0, 11), PRIME1);
  }
  hash ^= hash >>> 15;
  hash = Math.imul(hash, PRIME2);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, PRIME3);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
