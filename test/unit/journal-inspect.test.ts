import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { inspectJournal } from '../../src/durable/inspect.js';
import { appendThrough, openJournal, tempDir } from '../support/journal.js';

test('reads the state of a journal another holder has open, without its lock', async () => {
  const dir = tempDir('inspect');
  const { journal } = await openJournal({ dir, sync: 'none', segmentBytes: 2000 });
  await appendThrough(journal, 100)!.durable;
  await journal.trim(30);
  const stats = journal.stats();
  const inspection = await inspectJournal(dir);
  expect(inspection).toEqual({
    dir,
    entries: stats.entries,
    bytes: stats.bytes,
    segments: stats.segments,
    oldestId: stats.oldestId,
    nextId: 101,
    holder: { pid: process.pid, running: true },
    issues: [],
  });
  await journal.close();
  expect((await inspectJournal(dir)).holder).toBeUndefined();
});

test('reports damage as a recovery would, and changes nothing', async () => {
  const dir = tempDir('inspect');
  const { journal } = await openJournal({ dir, sync: 'none' });
  appendThrough(journal, 10);
  await journal.close();
  const file = join(dir, '00000000000000000001.seg');
  appendFileSync(file, Buffer.from([1, 2, 3]));
  const before = readFileSync(file);
  const inspection = await inspectJournal(dir);
  expect(inspection).toMatchObject({ entries: 10, nextId: 11, bytes: before.length - 3 });
  expect(inspection.issues).toMatchObject([{ kind: 'truncated-entry', bytes: 3, firstId: 11 }]);
  expect(statSync(file).size).toBe(before.length);
  expect(readFileSync(file).equals(before)).toBe(true);
});

test('an empty directory is an empty journal', async () => {
  expect(await inspectJournal(tempDir('inspect'))).toMatchObject({ entries: 0, bytes: 0, segments: 0, oldestId: undefined, nextId: 1 });
});
