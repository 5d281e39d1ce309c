import { truncate, unlink } from 'node:fs/promises';
import { ioError } from './errors.js';
import type { Segment } from './segment.js';
import { listSegmentFiles } from './segment-files.js';
import { type RecoveryIssue, scanSegment } from './segment-scan.js';
import { syncFile } from './sync-file.js';

/** What open() found on disk: the segments as they now are and every problem met on the way. */
export interface Recovered {
  segments: Segment[];
  issues: RecoveryIssue[];
  /** Files in the directory that are not the journal's, left alone. */
  ignoredFiles: string[];
  /** Empty segments at the end, deleted: files a roll had created when the process died, before the previous segment was all written. */
  removedEmptySegments: string[];
}

/**
 * Scans every segment of `dir` in id order, cuts each at its first unrecoverable frame, and
 * fsyncs the segments and the directory so the state found (cuts included) is what a later
 * crash comes back to. Bad data never throws; a file that cannot be read or cut does.
 */
export async function recoverSegments(dir: string, lockName: string): Promise<Recovered> {
  const listing = await listSegmentFiles(dir, lockName);
  const segments: Segment[] = [];
  const issues: RecoveryIssue[] = [];
  for (const [position, file] of listing.segments.entries()) {
    const { segment, keptBytes, issues: found } = await scanSegment(file, listing.segments[position + 1]?.firstId);
    issues.push(...found);
    if (found.some((issue) => issue.action === 'truncated')) {
      try {
        await truncate(file.path, keptBytes);
      } catch (error) {
        throw ioError('truncate the damaged tail of', file.path, error);
      }
    }
    await syncFile(file.path);
    segment.bytes = segment.writtenBytes = segment.syncedBytes = keptBytes;
    segment.dirEntrySynced = true;
    segments.push(segment);
  }
  // Appends would go on from such a file's first id, leaving a gap after the entries the previous
  // segment lost; without it they go on right after those the previous segment kept.
  const removedEmptySegments: string[] = [];
  while (segments.length > 1 && segments[segments.length - 1]!.bytes === 0) {
    const empty = segments.pop()!;
    try {
      await unlink(empty.path);
    } catch (error) {
      throw ioError('delete the empty segment', empty.path, error);
    }
    removedEmptySegments.push(empty.path);
  }
  if (segments.length > 0) await syncFile(dir);
  return { segments, issues, ignoredFiles: listing.others, removedEmptySegments };
}
