import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Journal, type OpenedJournal } from '../../src/durable/journal.js';
import type { JournalOptions } from '../../src/durable/journal-options.js';
import type { JournalEntry } from '../../src/durable/segment-reader.js';
import { allGenuine, payloadFor, typeFor } from './journal-payloads.js';

export { allGenuine, payloadFor, typeFor };

/** Helpers for the journal's tests: temporary directories, journals closed after each test, and payloads known by id. */

const dirs: string[] = [];
const open: Journal[] = [];

afterEach(async () => {
  for (const journal of open.splice(0)) await journal.close().catch(() => {});
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty directory, removed after the test. */
export function tempDir(prefix = 'journal'): string {
  const dir = mkdtempSync(join(tmpdir(), `kafka-wire-${prefix}-`));
  dirs.push(dir);
  return dir;
}

/** Journal.open(), the journal closed after the test if the test has not. */
export async function openJournal(options: JournalOptions): Promise<OpenedJournal> {
  const opened = await Journal.open(options);
  open.push(opened.journal);
  return opened;
}

/** Appends entries with the test payloads until the journal's next id passes `lastId`; returns the last append. */
export function appendThrough(journal: Journal, lastId: number, size?: (id: number) => number) {
  let appended: ReturnType<Journal['append']> | undefined;
  while (journal.nextId <= lastId) {
    const id = journal.nextId;
    appended = journal.append(typeFor(id), payloadFor(id, size?.(id)));
  }
  return appended;
}

export async function readAll(journal: Journal, fromId?: number): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of journal.readFrom(fromId)) entries.push({ ...entry, payload: Buffer.from(entry.payload) });
  return entries;
}

export const ids = (entries: readonly { id: number }[]) => entries.map((entry) => entry.id);

export function segmentNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .sort();
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
