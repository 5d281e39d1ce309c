import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ioError } from './errors.js';

/**
 * Segment files are named by the id of the first entry they hold, zero-padded to 20 digits so
 * that name order is id order: 00000000000000000001.seg, 00000000000000004097.seg, ...
 */

const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function segmentFileName(firstId: number): string {
  return `${String(firstId).padStart(20, '0')}.seg`;
}

/** The first id a segment file's name declares, or undefined for any other name. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return undefined;
  const firstId = Number(match[1]);
  return Number.isSafeInteger(firstId) ? firstId : undefined;
}

export interface SegmentFile {
  firstId: number;
  path: string;
}

export interface DirListing {
  /** Segment files in id order. */
  segments: SegmentFile[];
  /** Names that are neither segments nor the lock: left alone, and reported. */
  others: string[];
}

export async function listSegmentFiles(dir: string, lockName: string): Promise<DirListing> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw ioError('list the journal directory', dir, error);
  }
  const segments: SegmentFile[] = [];
  const others: string[] = [];
  for (const name of names) {
    const firstId = parseSegmentFileName(name);
    if (firstId !== undefined) segments.push({ firstId, path: join(dir, name) });
    else if (name !== lockName && !name.startsWith(`${lockName}.`)) others.push(name);
  }
  segments.sort((a, b) => a.firstId - b.firstId);
  return { segments, others: others.sort() };
}
