import { statSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { Journal } from '../../src/durable/journal.js';
import { appendThrough, openJournal, tempDir } from '../support/journal.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether every segment's fsynced length is its whole size on disk. */
function allSynced(journal: Journal): boolean {
  return journal.fsyncedLengths().every(({ path, bytes }) => bytes === statSync(path).size);
}

describe("sync 'none'", () => {
  test('resolves once the entries are written to the file, without an fsync', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none' });
    const last = appendThrough(journal, 100)!;
    await last.durable;
    const [segment] = journal.fsyncedLengths();
    expect(statSync(segment!.path).size).toBe(journal.stats().bytes);
    expect(segment!.bytes).toBe(0);
    expect(journal.stats().fsyncs).toBe(0);
  });

  test('a rolled segment is fsynced before its file is closed', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none', segmentBytes: 1000 });
    await appendThrough(journal, 50)!.durable;
    const rolled = () => journal.fsyncedLengths().slice(0, -1);
    expect(rolled().length).toBeGreaterThan(1);
    // The fsync of a rolled segment runs after its last write; wait for it, a bounded while.
    for (let waited = 0; waited < 5000 && !rolled().every(({ path, bytes }) => bytes === statSync(path).size); waited += 10)
      await sleep(10);
    for (const { path, bytes } of rolled()) expect(bytes).toBe(statSync(path).size);
  });
});

describe("sync 'always'", () => {
  test('resolves only after an fsync covers the entries, and one fsync serves every append of the tick', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'always' });
    // Over 1 MiB: several batches, written and synced together.
    const last = appendThrough(journal, 12_000, () => 150)!;
    await last.durable;
    expect(allSynced(journal)).toBe(true);
    expect(journal.stats().fsyncs).toBeLessThanOrEqual(2);
  });

  test('appends over many turns each resolve once fsynced, with at most one fsync a turn', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'always' });
    const promises: Promise<void>[] = [];
    for (let turn = 0; turn < 200; turn++) {
      promises.push(appendThrough(journal, journal.nextId + 9)!.durable);
      await nextTurn();
    }
    await Promise.all(promises);
    expect(allSynced(journal)).toBe(true);
    expect(journal.stats().fsyncs).toBeLessThanOrEqual(200);
  });

  test('new segment files are durable with their directory entry', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'always', segmentBytes: 2000 });
    await appendThrough(journal, 100)!.durable;
    expect(journal.fsyncedLengths().length).toBeGreaterThan(3);
    expect(allSynced(journal)).toBe(true);
  });
});

describe("sync 'interval'", () => {
  test('one fsync per interval covers everything written in between', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'interval', syncIntervalMs: 1000 });
    // No fsync has run yet, so the first comes at once.
    await appendThrough(journal, 1)!.durable;
    expect(journal.stats().fsyncs).toBe(1);
    let resolved = 0;
    const promises: Promise<void>[] = [];
    for (let turn = 0; turn < 20; turn++) {
      promises.push(appendThrough(journal, journal.nextId)!.durable.then(() => void resolved++));
      await nextTurn();
    }
    await sleep(100);
    expect(resolved).toBe(0);
    expect(journal.fsyncedLengths()[0]!.bytes).toBeLessThan(journal.stats().bytes);
    await Promise.all(promises);
    expect(journal.stats().fsyncs).toBe(2);
    expect(allSynced(journal)).toBe(true);
  });

  test('close() fsyncs what the interval has not reached yet', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'interval', syncIntervalMs: 60_000 });
    await appendThrough(journal, 1)!.durable;
    const last = appendThrough(journal, 10)!;
    await journal.close();
    await last.durable;
    expect(allSynced(journal)).toBe(true);
  });
});
