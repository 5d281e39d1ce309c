import { open } from 'node:fs/promises';
import { ioError } from './errors.js';
import { MAX_PAYLOAD_BYTES } from './frame.js';
import { checkFrame, inspectFrame } from './frame-check.js';
import { Segment } from './segment.js';
import type { SegmentFile } from './segment-files.js';
import { SegmentWindow } from './segment-window.js';

/**
 * Recovery of one segment file: walks its frames, checking each checksum, and decides what to keep.
 * Never throws on bad data, only when the file cannot be read.
 */

export type RecoveryIssueKind =
  /**
   * Frames that fail their checksum (or hold an id out of place) whose lengths lead to an intact
   * frame with a later id: skipped, the entries after them kept.
   */
  | 'corrupt-entry'
  /** A header or payload cut short by the end of the file: what a crash mid-write leaves (or a damaged length). */
  | 'truncated-entry'
  /** A length field above MAX_PAYLOAD_BYTES: nothing after it can be found. */
  | 'bad-length'
  /** A bad frame with no intact frame reachable after it. */
  | 'corrupt-tail'
  /** Frames whose ids belong to the next segment. */
  | 'overlap';

export interface RecoveryIssue {
  kind: RecoveryIssueKind;
  /** 'skipped': the frames stay on disk and are never read back; 'truncated': the file was cut at `offset`. */
  action: 'skipped' | 'truncated';
  segment: string;
  offset: number;
  bytes: number;
  /** The first id lost: the one the first bad frame should have held. */
  firstId: number;
  /** The last id lost, or undefined when unknown (the tail of the last segment: nothing says how many entries it held). */
  lastId: number | undefined;
  /** Ids lost: exact when lastId is known (0 when the skipped frames hid none), otherwise the 1 known to be there. */
  entries: number;
  message: string;
}

export interface SegmentScan {
  /** The segment as recovery leaves it: its entries, index and damaged frames (sizes are set by the caller). */
  segment: Segment;
  /** Where the file is cut (its size when nothing is). */
  keptBytes: number;
  issues: RecoveryIssue[];
}

const READ_CHUNK = 4 << 20;

/**
 * Scans `file`. `limitId` is the next segment's first id (frames reaching it overlap that
 * segment); undefined for the last segment.
 */
export async function scanSegment(file: SegmentFile, limitId: number | undefined): Promise<SegmentScan> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file.path, 'r');
  } catch (error) {
    throw ioError('open', file.path, error);
  }
  try {
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      throw ioError('stat', file.path, error);
    }
    return await scanFrames(new SegmentWindow(handle, file.path, size, READ_CHUNK), file, limitId);
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * Each frame must be intact and carry the id after the previous one (the file's first id for the
 * first). A frame that is not is bad; if the lengths of the bad frames lead to an intact frame
 * with a later id, they are skipped and the ids in between reported lost; otherwise the file is
 * cut at the first bad frame.
 */
async function scanFrames(window: SegmentWindow, file: SegmentFile, limitId: number | undefined): Promise<SegmentScan> {
  const segment = new Segment(file.firstId, file.path);
  const scan: SegmentScan = { segment, keptBytes: window.size, issues: [] };
  const belongsHere = (id: number, expected: number) => id >= expected && (limitId === undefined || id < limitId);
  const cut = (offset: number, expected: number, kind: RecoveryIssueKind, why: string) => {
    // Ids up to the next segment's first were all in this one; the last segment's tail has no such bound.
    const lastId = limitId === undefined || kind === 'overlap' ? undefined : limitId - 1;
    const entries = lastId === undefined ? 1 : lastId - expected + 1;
    const bytes = window.size - offset;
    const lost = lastId === undefined ? `entry ${expected} and any after it` : `entries ${expected}-${lastId}`;
    scan.keptBytes = offset;
    scan.issues.push({
      kind,
      action: 'truncated',
      segment: file.path,
      offset,
      bytes,
      firstId: expected,
      lastId,
      entries,
      message: `journal recovery: ${file.path} at byte ${offset}: ${why}; truncated ${bytes} bytes there (${lost})`,
    });
  };

  let offset = 0;
  // The id the next frame must hold.
  let expected = file.firstId;
  while (offset < window.size) {
    if (limitId !== undefined && expected >= limitId) {
      cut(offset, expected, 'overlap', `frames from id ${expected} on belong to the next segment, which starts at id ${limitId}`);
      break;
    }
    const inspected = inspectFrame(window, offset);
    const frame = inspected.status === 'need' ? await checkFrame(window, offset) : inspected;
    if (frame.status === 'intact' && frame.id === expected) {
      segment.addEntry(frame.id, offset);
      expected++;
      offset = frame.end;
      continue;
    }
    if (frame.status === 'too-long') {
      cut(offset, expected, 'bad-length', `a length of ${frame.payloadBytes} bytes, above the largest entry (${MAX_PAYLOAD_BYTES})`);
      break;
    }
    if (frame.status === 'truncated') {
      const what = frame.payloadBytes === undefined ? 'an incomplete frame header' : `an entry of ${frame.payloadBytes} bytes`;
      cut(offset, expected, 'truncated-entry', `${what} runs past the end of the file (${window.size} bytes)`);
      break;
    }
    // A bad frame. If its length, and those of any bad frames right after it, lead to an intact
    // frame with a later id, the damage is confined to those frames: skip them and go on.
    const bad = [offset];
    let checksumFailures = frame.status === 'bad-checksum' ? 1 : 0;
    let next = frame.end;
    let resumeId: number | undefined;
    while (next < window.size) {
      const after = await checkFrame(window, next);
      if (after.status === 'intact' && belongsHere(after.id, expected)) {
        resumeId = after.id;
        break;
      }
      if (after.status !== 'intact' && after.status !== 'bad-checksum') break;
      if (after.status === 'bad-checksum') checksumFailures++;
      bad.push(next);
      next = after.end;
    }
    if (resumeId === undefined) {
      const why =
        frame.status === 'bad-checksum'
          ? `entry ${expected} failed its checksum`
          : `a frame holds id ${frame.id} where ${expected} belongs`;
      cut(offset, expected, 'corrupt-tail', `${why} and no intact entry follows it`);
      break;
    }
    for (const at of bad) segment.damagedOffsets.push(at);
    const lost = resumeId - expected;
    const ids = lost === 0 ? 'no entry' : lost === 1 ? `entry ${expected}` : `entries ${expected}-${resumeId - 1}`;
    const misplaced = bad.length - checksumFailures;
    const damage = [
      checksumFailures > 0 ? `${checksumFailures} failing the checksum` : '',
      misplaced > 0 ? `${misplaced} with ids out of place` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    scan.issues.push({
      kind: 'corrupt-entry',
      action: 'skipped',
      segment: file.path,
      offset,
      bytes: next - offset,
      firstId: expected,
      lastId: resumeId - 1,
      entries: lost,
      message:
        `journal recovery: ${file.path} at byte ${offset}: ${bad.length} damaged frame${bad.length === 1 ? '' : 's'} (${damage}, ` +
        `${next - offset} bytes) skipped: ${ids} lost; the entries after ${bad.length === 1 ? 'it' : 'them'}, from ${resumeId}, are kept`,
    });
    expected = resumeId;
    offset = next;
  }
  return scan;
}
