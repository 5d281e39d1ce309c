import { ConfigError } from '../errors.js';
import { describeValue, functionOption, integerOption, objectOption, oneOfOption } from '../option-checks.js';
import type { ReadIssue } from './segment-reader.js';

/**
 * When append()'s promise resolves:
 * - 'none': once the entry is written to its file. A crash of the process keeps it; a power loss may not.
 * - 'interval': once an fsync has covered it. One fsync per syncIntervalMs covers everything written in between.
 * - 'always': the same, with the fsync started as soon as the entry is written (appends made meanwhile share the next one).
 */
export type JournalSync = 'none' | 'interval' | 'always';

export interface JournalOptions {
  /** The journal's directory, created if missing. One process at a time may open it. */
  dir: string;
  /** Default 'interval'. */
  sync?: JournalSync;
  /** Default 10. */
  syncIntervalMs?: number;
  /** A segment file is closed and a new one begun when an entry would take it past this. Default 64 MiB. */
  segmentBytes?: number;
  /** append() throws QueueFullError rather than take the journal's files past this total. Default 1 GiB. */
  maxDiskBytes?: number;
  /** The longest close() waits for the last writes and fsyncs. Default 30,000. */
  closeTimeoutMs?: number;
  /** Called when a read finds damage that recovery had not (the disk changed since open). */
  onReadIssue?: (issue: ReadIssue) => void;
  /**
   * Entries written first in each new segment (declarations the entries after them refer to), so
   * that every segment reads without the ones before it, which trimming may have deleted.
   */
  segmentPreamble?: () => { type: number; payload: Uint8Array }[];
}

export interface ResolvedJournalOptions {
  dir: string;
  sync: JournalSync;
  syncIntervalMs: number;
  segmentBytes: number;
  maxDiskBytes: number;
  closeTimeoutMs: number;
  onReadIssue: ((issue: ReadIssue) => void) | undefined;
  segmentPreamble: (() => { type: number; payload: Uint8Array }[]) | undefined;
}

export function resolveJournalOptions(options: unknown): ResolvedJournalOptions {
  const given = objectOption<JournalOptions>('journal options', options);
  if (given === undefined) throw new ConfigError('journal options are required: at least { dir }');
  if (typeof given.dir !== 'string' || given.dir === '') {
    throw new ConfigError(`option dir must be a non-empty string (the journal's directory), not ${describeValue(given.dir)}`);
  }
  return {
    dir: given.dir,
    sync: oneOfOption<JournalSync>('sync', given.sync, ['none', 'interval', 'always'], 'interval'),
    syncIntervalMs: integerOption('syncIntervalMs', given.syncIntervalMs, 10, 1, 60_000),
    segmentBytes: integerOption('segmentBytes', given.segmentBytes, 64 << 20, 1),
    maxDiskBytes: integerOption('maxDiskBytes', given.maxDiskBytes, 1 << 30, 1),
    closeTimeoutMs: integerOption('closeTimeoutMs', given.closeTimeoutMs, 30_000, 1),
    onReadIssue: functionOption<(issue: ReadIssue) => void>('onReadIssue', given.onReadIssue),
    segmentPreamble: functionOption<() => { type: number; payload: Uint8Array }[]>('segmentPreamble', given.segmentPreamble),
  };
}
