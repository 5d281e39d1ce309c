import { FRAME_HEADER_BYTES, frameIntact, MAX_PAYLOAD_BYTES, readFrameHeader } from './frame.js';
import type { SegmentWindow } from './segment-window.js';

/** How the frame at an offset of a segment stands: the one judgement recovery and readers share. */

export type FrameCheck =
  /** The checksum holds. `frame` is a view of the whole frame, header included. */
  | { status: 'intact'; end: number; id: number; type: number; frame: Buffer }
  /** Delimited by its length, but the checksum fails. */
  | { status: 'bad-checksum'; end: number }
  /** The header, or the payload its length declares, runs past the end of what may be read. */
  | { status: 'truncated'; payloadBytes: number | undefined }
  /** The length field is above MAX_PAYLOAD_BYTES. */
  | { status: 'too-long'; payloadBytes: number }
  | { status: 'need'; bytes: number };

/** The frame at `offset`, judged from what the window holds; 'need' asks for more bytes to be loaded. */
export function inspectFrame(window: SegmentWindow, offset: number): FrameCheck {
  if (window.size - offset < FRAME_HEADER_BYTES) return { status: 'truncated', payloadBytes: undefined };
  const headerBytes = window.loaded(offset, FRAME_HEADER_BYTES);
  if (headerBytes === undefined) return { status: 'need', bytes: FRAME_HEADER_BYTES };
  const header = readFrameHeader(headerBytes, 0);
  if (header.payloadBytes > MAX_PAYLOAD_BYTES) return { status: 'too-long', payloadBytes: header.payloadBytes };
  const end = offset + FRAME_HEADER_BYTES + header.payloadBytes;
  if (end > window.size) return { status: 'truncated', payloadBytes: header.payloadBytes };
  const frame = window.loaded(offset, end - offset);
  if (frame === undefined) return { status: 'need', bytes: end - offset };
  if (!frameIntact(frame, header)) return { status: 'bad-checksum', end };
  return { status: 'intact', end, id: header.id, type: header.type, frame };
}

/** inspectFrame(), loading what it needs. */
export async function checkFrame(window: SegmentWindow, offset: number): Promise<Exclude<FrameCheck, { status: 'need' }>> {
  let result = inspectFrame(window, offset);
  while (result.status === 'need') {
    await window.load(offset, result.bytes);
    result = inspectFrame(window, offset);
  }
  return result;
}
