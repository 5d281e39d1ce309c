/**
 * Checks that bytes hold whole zstd frames (RFC 8878 §3.1), by walking frame and block headers
 * without decompressing. Node 22's zstdDecompressSync returns what it has for a truncated frame
 * instead of failing, as Node 24's does; this catches the truncation on either.
 */

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const FCS_FIELD_SIZES = [0, 2, 4, 8] as const;
const DICTIONARY_ID_SIZES = [0, 1, 2, 4] as const;
const RLE_BLOCK = 1;
const RESERVED_BLOCK = 3;

/** Why `input` is not a sequence of complete zstd (or skippable) frames, or undefined when it is. */
export function zstdFramesProblem(input: Uint8Array): string | undefined {
  const ends = zstdFrameEnds(input);
  return typeof ends === 'string' ? ends : undefined;
}

/** Where each zstd (or skippable) frame of `input` ends, or why `input` is not a sequence of complete frames. */
export function zstdFrameEnds(input: Uint8Array): number[] | string {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const ends: number[] = [];
  let at = 0;
  while (at < input.length) {
    if (at + 4 > input.length) return `frame magic cut off at byte ${at}`;
    const magic = view.getUint32(at, true);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (at + 8 > input.length) return `skippable frame header cut off at byte ${at}`;
      at += 8 + view.getUint32(at + 4, true);
      ends.push(at);
      continue;
    }
    if (magic !== ZSTD_MAGIC) return `no zstd frame at byte ${at}`;
    if (at + 5 > input.length) return `frame header cut off at byte ${at}`;
    const descriptor = input[at + 4] as number;
    const singleSegment = (descriptor & 0x20) !== 0;
    const fcsFlag = descriptor >> 6;
    const fcsSize = fcsFlag === 0 && singleSegment ? 1 : FCS_FIELD_SIZES[fcsFlag as 0 | 1 | 2 | 3];
    const checksumSize = descriptor & 0x04 ? 4 : 0;
    at += 5 + (singleSegment ? 0 : 1) + DICTIONARY_ID_SIZES[(descriptor & 0x03) as 0 | 1 | 2 | 3] + fcsSize;
    for (let last = false; !last; ) {
      if (at + 3 > input.length) return `block header cut off at byte ${at}`;
      const header = (input[at] as number) | ((input[at + 1] as number) << 8) | ((input[at + 2] as number) << 16);
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      if (type === RESERVED_BLOCK) return `reserved block type at byte ${at}`;
      const end = at + 3 + (type === RLE_BLOCK ? 1 : header >>> 3);
      if (end > input.length) return `block at byte ${at} cut off (${end - input.length} bytes missing)`;
      at = end;
    }
    at += checksumSize;
    ends.push(at);
  }
  return at === input.length ? ends : `frame cut off (${at - input.length} bytes missing)`;
}
