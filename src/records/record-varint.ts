/**
 * The zigzag varints of the record format, written straight into a buffer at an offset (the
 * hot encode path avoids any object per call). Values are JS numbers: 32-bit for varint, and
 * for varlong any safe integer (timestamps and their deltas fit comfortably).
 */

export function varintSize(value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (zigzag >= 0x80) {
    zigzag >>>= 7;
    size++;
  }
  return size;
}

export function writeVarint(buffer: Uint8Array, offset: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  while (zigzag >= 0x80) {
    buffer[offset++] = (zigzag & 0x7f) | 0x80;
    zigzag >>>= 7;
  }
  buffer[offset++] = zigzag;
  return offset;
}

/** Zigzag of a safe integer, as a non-negative number (2n for n ≥ 0, −2n−1 below). */
function zigzag64(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

export function varlongSize(value: number): number {
  let zigzag = zigzag64(value);
  let size = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 128);
    size++;
  }
  return size;
}

export function writeVarlong(buffer: Uint8Array, offset: number, value: number): number {
  let zigzag = zigzag64(value);
  while (zigzag >= 0x80) {
    buffer[offset++] = (zigzag % 128) | 0x80;
    zigzag = Math.floor(zigzag / 128);
  }
  buffer[offset++] = zigzag;
  return offset;
}

/** A varint or varlong read back: its value and the offset after it. `end` bounds the read. */
export interface ReadVarint {
  value: number;
  offset: number;
}

/** Reads a zigzag varlong of at most 10 bytes; returns undefined when it runs past `end` or is too long. */
export function readVarlong(buffer: Uint8Array, offset: number, end: number, out: ReadVarint): boolean {
  let result = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    if (offset >= end) return false;
    const byte = buffer[offset++] as number;
    result += (byte & 0x7f) * multiplier;
    if (byte < 0x80) {
      // Un-zigzag in floating point: exact for the safe integers records carry.
      out.value = result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      out.offset = offset;
      return true;
    }
    multiplier *= 128;
  }
  return false;
}
