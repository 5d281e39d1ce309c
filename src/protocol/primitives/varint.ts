/** Bytes an unsigned varint (LEB128, at most 32 bits here) takes. */
export function uvarintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Zigzag maps signed to unsigned so small magnitudes stay short: 0→0, −1→1, 1→2, … */
export function zigzag32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

export function unzigzag32(value: number): number {
  return (value >>> 1) ^ -(value & 1);
}

export function varintSize(value: number): number {
  return uvarintSize(zigzag32(value));
}
