import { type FileHandle, open } from 'node:fs/promises';
import { ioError } from './errors.js';
import { FRAME_HEADER_BYTES } from './frame.js';
import { checkFrame, inspectFrame } from './frame-check.js';
import type { Segment } from './segment.js';
import { SegmentWindow } from './segment-window.js';

export interface JournalEntry {
  id: number;
  type: number;
  /** A view into a read buffer of about 1 MiB: copy it (Buffer.from) to keep it long after reading. */
  payload: Buffer;
}

/** Damage a read found that recovery had not (the file changed since open). */
export interface ReadIssue {
  segment: string;
  offset: number;
  message: string;
}

const READ_CHUNK = 1 << 20;

/**
 * The intact entries of `segment` with ids in [fromId, toId), in order, read through a window.
 * Frames recovery left in place as damaged are passed over silently; any other bad frame is
 * passed to `onIssue` (and one that cannot be delimited ends the segment). A segment deleted by
 * trim() meanwhile yields nothing.
 */
export async function* readSegmentEntries(
  segment: Segment,
  fromId: number,
  toId: number,
  onIssue: (issue: ReadIssue) => void,
): AsyncGenerator<JournalEntry> {
  let handle: FileHandle;
  try {
    handle = await open(segment.path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError('open', segment.path, error);
  }
  try {
    // Entries below toId have all been written (the caller waited for that); later ones may be mid-write.
    const window = new SegmentWindow(handle, segment.path, segment.writtenBytes, READ_CHUNK);
    const damaged = new Set(segment.damagedOffsets);
    const report = (offset: number, what: string) =>
      onIssue({ segment: segment.path, offset, message: `journal: ${segment.path}: ${what}` });
    let offset = segment.seek(fromId);
    let lastId = fromId - 1;
    while (offset < window.size) {
      const inspected = inspectFrame(window, offset);
      const frame = inspected.status === 'need' ? await checkFrame(window, offset) : inspected;
      if (frame.status === 'intact' && frame.id > lastId) {
        if (frame.id >= toId) return;
        lastId = frame.id;
        yield { id: frame.id, type: frame.type, payload: frame.frame.subarray(FRAME_HEADER_BYTES) };
      } else if (frame.status === 'intact' || frame.status === 'bad-checksum') {
        // An entry before fromId, on the way from the index's nearest entry, is no damage.
        if (!damaged.has(offset) && (frame.status === 'bad-checksum' || frame.id >= fromId)) {
          report(
            offset,
            frame.status === 'bad-checksum'
              ? `the frame at byte ${offset} fails its checksum; skipped`
              : `entry ${frame.id} at byte ${offset} is out of order; skipped`,
          );
        }
      } else {
        report(offset, `the frame at byte ${offset} runs past the written data; the rest of the segment is unreadable`);
        return;
      }
      offset = frame.end;
    }
  } finally {
    await handle.close().catch(() => {});
  }
}
