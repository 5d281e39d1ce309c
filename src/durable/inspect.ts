import { resolve } from 'node:path';
import { LOCK_FILE_NAME, readDirLock } from './dir-lock.js';
import { listSegmentFiles } from './segment-files.js';
import { type RecoveryIssue, scanSegment } from './segment-scan.js';

export interface JournalInspection {
  dir: string;
  entries: number;
  /** Bytes a recovery would keep. */
  bytes: number;
  segments: number;
  oldestId: number | undefined;
  /** The id the next append would get. */
  nextId: number;
  /** The process named by the lock file, if there is one, and whether it is running. */
  holder: { pid: number | undefined; running: boolean } | undefined;
  /** What a recovery would report. With a running holder, damage at the very end may just be a write under way. */
  issues: RecoveryIssue[];
}

/**
 * Reads the state of the journal in `dir` without taking its lock or changing anything: for
 * `kafka-wire queue status` while a producer has the journal open. Files a writer is appending
 * to are read as they are at that moment.
 */
export async function inspectJournal(dir: string): Promise<JournalInspection> {
  const absolute = resolve(dir);
  const listing = await listSegmentFiles(absolute, LOCK_FILE_NAME);
  const inspection: JournalInspection = {
    dir: absolute,
    entries: 0,
    bytes: 0,
    segments: listing.segments.length,
    oldestId: undefined,
    nextId: 1,
    holder: readDirLock(absolute),
    issues: [],
  };
  for (const [position, file] of listing.segments.entries()) {
    const { segment, keptBytes, issues } = await scanSegment(file, listing.segments[position + 1]?.firstId);
    inspection.entries += segment.entries;
    inspection.bytes += keptBytes;
    inspection.oldestId ??= segment.oldestId;
    inspection.nextId = segment.endId;
    inspection.issues.push(...issues);
  }
  return inspection;
}
