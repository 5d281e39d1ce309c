import { crc32c } from '../records/crc32c.js';
import { xxhash32Range } from '../records/xxhash32.js';

/**
 * One journal entry on disk:
 *
 *   length   uint32 BE   payload bytes
 *   checksum uint32 BE   xxHash32 of everything after it: id, type and payload (CRC-32C in
 *                        journals written before 2026-12-02, still read)
 *   id       uint64 BE   the entry's id (a safe integer)
 *   type     uint8       chosen by the caller
 *   payload  length bytes
 *
 * The id is stored, not implied by the frame's position: after damage that hides how many frames
 * it swallowed (a run of zeros from a power loss looks like many short frames), the next intact
 * frame still says which entry it is, so no entry is ever read back under another's id.
 */

export const FRAME_HEADER_BYTES = 17;
/** Where the bytes the checksum covers begin. */
export const CHECKSUM_FROM = 8;

/** The largest payload append() takes; a length field above it can only be corruption. */
export const MAX_PAYLOAD_BYTES = 1 << 30;

const TWO_TO_32 = 2 ** 32;

/** Writes the frame at `offset` of `target` (which must have room) and returns the offset after it. */
export function writeFrame(target: Buffer, offset: number, id: number, type: number, payload: Uint8Array): number {
  return writeFrameWith(target, offset, id, type, payload.length, copyPayload, payload);
}

/**
 * Writes a frame whose payload of `length` bytes `encode` writes in place at the offset it is
 * given (no copy of a payload built elsewhere); returns the offset after the frame.
 */
export function writeFrameWith<T>(
  target: Buffer,
  offset: number,
  id: number,
  type: number,
  length: number,
  encode: (target: Buffer, offset: number, item: T) => void,
  item: T,
): number {
  const end = offset + FRAME_HEADER_BYTES + length;
  putUint32(target, offset, length);
  putUint32(target, offset + 8, Math.floor(id / TWO_TO_32));
  putUint32(target, offset + 12, id >>> 0);
  target[offset + 16] = type;
  encode(target, offset + FRAME_HEADER_BYTES, item);
  putUint32(target, offset + 4, xxhash32Range(target, 0, offset + CHECKSUM_FROM, end));
  return end;
}

function copyPayload(target: Buffer, offset: number, payload: Uint8Array): void {
  target.set(payload, offset);
}

/** Big-endian uint32 at `offset`; returns the offset after it. */
export function putUint32(target: Uint8Array, offset: number, value: number): number {
  target[offset] = value >>> 24;
  target[offset + 1] = value >>> 16;
  target[offset + 2] = value >>> 8;
  target[offset + 3] = value;
  return offset + 4;
}

export interface FrameHeader {
  payloadBytes: number;
  checksum: number;
  id: number;
  type: number;
}

/** The header at `offset`; the caller checks that FRAME_HEADER_BYTES are there. */
export function readFrameHeader(source: Buffer, offset: number): FrameHeader {
  return {
    payloadBytes: source.readUInt32BE(offset),
    checksum: source.readUInt32BE(offset + 4),
    id: source.readUInt32BE(offset + 8) * TWO_TO_32 + source.readUInt32BE(offset + 12),
    type: source[offset + 16]!,
  };
}

/**
 * Whether `frame` (a whole frame, header first) matches the checksum its header holds: its
 * xxHash32, or the CRC-32C that journals written before 2026-12-02 hold, so that they are still read.
 */
export function frameIntact(frame: Buffer, header: FrameHeader): boolean {
  return (
    xxhash32Range(frame, 0, CHECKSUM_FROM, frame.length) === header.checksum || crc32c(frame.subarray(CHECKSUM_FROM)) === header.checksum
  );
}
