import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { InvalidEntryError, JournalClosedError, JournalTimeoutError, QueueFullError } from '../../src/durable/errors.js';
import { FRAME_HEADER_BYTES } from '../../src/durable/frame.js';
import { ConfigError, isRetriable, KafkaWireError } from '../../src/errors.js';
import {
  allGenuine,
  appendThrough,
  ids,
  openJournal,
  payloadFor,
  range,
  readAll,
  segmentNames,
  tempDir,
  typeFor,
} from '../support/journal.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
// 20-byte payloads make 37-byte frames, so offsets and segment contents are easy to predict.
const FRAME = FRAME_HEADER_BYTES + 20;
const twenty = () => 20;

describe('appending and reading back', () => {
  test('a new journal numbers entries from 1, and reads them back with their types and payloads in order', async () => {
    const dir = tempDir();
    const { journal, recovery } = await openJournal({ dir, sync: 'none' });
    expect(recovery).toMatchObject({ entries: 0, bytes: 0, segments: 1, droppedEntries: 0, issues: [] });
    expect(journal.nextId).toBe(1);
    const appended = range(1, 50).map((id) => journal.append(typeFor(id), payloadFor(id)).id);
    expect(appended).toEqual(range(1, 50));
    const entries = await readAll(journal);
    expect(ids(entries)).toEqual(range(1, 50));
    expect(allGenuine(entries)).toBe(true);
    expect(segmentNames(dir)).toEqual(['00000000000000000001.seg']);
  });

  test('ids and entries survive a close and reopen; the next append continues the numbering', async () => {
    const dir = tempDir();
    const first = await openJournal({ dir, sync: 'none' });
    appendThrough(first.journal, 30);
    await first.journal.close();
    const { journal, recovery } = await openJournal({ dir, sync: 'none' });
    expect(recovery).toMatchObject({ entries: 30, segments: 1, issues: [], staleLock: undefined });
    expect(journal.append(7, Buffer.from('next')).id).toBe(31);
    const entries = await readAll(journal);
    expect(ids(entries)).toEqual(range(1, 31));
    expect(entries[30]).toMatchObject({ id: 31, type: 7 });
    expect(allGenuine(entries.slice(0, 30))).toBe(true);
  });

  test('the payload is copied: changing it after append() changes nothing in the journal', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none' });
    const payload = Buffer.from('original');
    journal.append(1, payload);
    payload.write('CHANGED!');
    const [entry] = await readAll(journal);
    expect(entry!.payload.toString()).toBe('original');
  });

  test('empty payloads and every type byte from 0 to 255 round-trip', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none' });
    for (let type = 0; type <= 255; type++) journal.append(type, type % 2 === 0 ? Buffer.alloc(0) : Uint8Array.of(type));
    const entries = await readAll(journal);
    expect(entries.map((entry) => entry.type)).toEqual(range(0, 255));
    expect(entries.every((entry) => entry.payload.length === entry.type % 2)).toBe(true);
  });

  test('entries larger than the read buffers round-trip, before and after a reopen', async () => {
    const dir = tempDir();
    const first = await openJournal({ dir, sync: 'none' });
    const big = (id: number) => (id === 2 ? 5 << 20 : 300);
    appendThrough(first.journal, 3, big);
    expect(allGenuine(await readAll(first.journal), big)).toBe(true);
    await first.journal.close();
    const { journal, recovery } = await openJournal({ dir, sync: 'none' });
    expect(recovery).toMatchObject({ entries: 3, issues: [] });
    const entries = await readAll(journal);
    expect(entries.map((entry) => entry.payload.length)).toEqual([300, 5 << 20, 300]);
    expect(allGenuine(entries, big)).toBe(true);
  });

  test('a full write buffer is used again once written, never before: every entry reads back intact', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none' });
    const kib = () => 1000;
    const allocations = vi.spyOn(Buffer, 'allocUnsafe');
    const buffersMade = () => allocations.mock.calls.filter(([size]) => size === 1 << 20).length;
    try {
      // 3 MiB a tick, nothing awaited: buffers whose writes have not even begun must not be taken again.
      for (let tick = 0; tick < 4; tick++) {
        appendThrough(journal, journal.nextId + 3000, kib);
        await nextTurn();
      }
      const busy = buffersMade();
      expect(busy).toBeGreaterThanOrEqual(12);
      // Each tick waits for its writes: the written buffers serve the next ticks.
      for (let tick = 0; tick < 8; tick++) await appendThrough(journal, journal.nextId + 3000, kib)?.durable;
      expect(buffersMade() - busy).toBeLessThanOrEqual(4);
    } finally {
      allocations.mockRestore();
    }
    const entries = await readAll(journal);
    expect(entries).toHaveLength(journal.nextId - 1);
    expect(allGenuine(entries, kib)).toBe(true);
  });

  test('appends of one tick share a promise; a later tick gets another', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none' });
    const a = journal.append(1, Buffer.from('a'));
    const b = journal.append(1, Buffer.from('b'));
    await nextTurn();
    const c = journal.append(1, Buffer.from('c'));
    expect(a.durable).toBe(b.durable);
    expect(c.durable).not.toBe(a.durable);
    await Promise.all([a.durable, c.durable]);
  });

  test('entries appended in this very tick are read back (the read waits for their write)', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'always' });
    appendThrough(journal, 5);
    expect(ids(await readAll(journal))).toEqual(range(1, 5));
  });

  test('readFrom() starts at the given id, yields nothing past the end, and stops at the last entry appended before the call', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none', segmentBytes: 10 * FRAME });
    appendThrough(journal, 1000, twenty);
    expect(ids(await readAll(journal, 700))).toEqual(range(700, 1000));
    expect(ids(await readAll(journal, 1001))).toEqual([]);
    expect(ids(await readAll(journal, 0))).toEqual(range(1, 1000));

    const reader = journal.readFrom(998);
    const first = await reader.next();
    journal.append(1, Buffer.from('after the read began'));
    const rest = [first.value!.id];
    for await (const entry of reader) rest.push(entry.id);
    expect(rest).toEqual([998, 999, 1000]);
  });

  test('a read starting mid-segment after a reopen finds its place through the index of the recovered segment', async () => {
    const dir = tempDir();
    const first = await openJournal({ dir, sync: 'none' });
    appendThrough(first.journal, 3000);
    await first.journal.close();
    const { journal } = await openJournal({ dir, sync: 'none' });
    const entries = await readAll(journal, 2345);
    expect(ids(entries)).toEqual(range(2345, 3000));
    expect(allGenuine(entries)).toBe(true);
  });
});

describe('bad input', () => {
  test.each([
    ['-1', -1],
    ['256', 256],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['a string', '1'],
  ])('type %s is refused with InvalidEntryError and nothing is written', async (_name, type) => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none' });
    expect(() => journal.append(type as number, Buffer.from('x'))).toThrow(InvalidEntryError);
    expect(journal.stats()).toMatchObject({ entries: 0, bytes: 0, nextId: 1 });
  });

  test('a payload that is not bytes is refused with InvalidEntryError naming what it was', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none' });
    expect(() => journal.append(1, 'text' as unknown as Buffer)).toThrow(/payload must be a Uint8Array, not the string "text"/);
    expect(() => journal.append(1, [1, 2] as unknown as Buffer)).toThrow(InvalidEntryError);
    expect(journal.stats().entries).toBe(0);
  });

  test('options are checked: a ConfigError names the option', async () => {
    const dir = tempDir();
    await expect(openJournal({ dir, sync: 'sometimes' as 'none' })).rejects.toThrow(
      /option sync must be one of "none", "interval", "always"/,
    );
    await expect(openJournal({ dir, syncIntervalMs: 0 })).rejects.toThrow(/option syncIntervalMs must be an integer from 1 to 60000/);
    await expect(openJournal({ dir, segmentBytes: 1.5 })).rejects.toThrow(ConfigError);
    await expect(openJournal({ dir: '' })).rejects.toThrow(/option dir must be a non-empty string/);
    await expect(openJournal(undefined as unknown as { dir: string })).rejects.toThrow(ConfigError);
  });

  test('readFrom() and trim() take entry ids only', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none' });
    expect(() => journal.readFrom(-1)).toThrow(ConfigError);
    expect(() => journal.readFrom(1.5)).toThrow(ConfigError);
    await expect(journal.trim(Number.NaN)).rejects.toThrow(ConfigError);
  });
});

describe('segments', () => {
  test('a segment is rolled when the next entry would take it past segmentBytes; each is named by its first id', async () => {
    const dir = tempDir();
    const { journal } = await openJournal({ dir, sync: 'none', segmentBytes: 3 * FRAME + 10 });
    appendThrough(journal, 10, twenty);
    await journal.close();
    expect(segmentNames(dir)).toEqual([
      '00000000000000000001.seg',
      '00000000000000000004.seg',
      '00000000000000000007.seg',
      '00000000000000000010.seg',
    ]);
    expect(statSync(join(dir, '00000000000000000004.seg')).size).toBe(3 * FRAME);
    expect(journal.stats()).toMatchObject({ entries: 10, segments: 4, bytes: 10 * FRAME, oldestId: 1, nextId: 11 });
  });

  test('segmentPreamble: its entries open every segment after the first, ahead of the entry that rolled it', async () => {
    const dir = tempDir();
    let calls = 0;
    const segmentPreamble = () => [{ type: 200, payload: Buffer.from(`preamble ${++calls}`) }];
    const { journal } = await openJournal({ dir, sync: 'none', segmentBytes: 3 * FRAME + 10, segmentPreamble });
    for (let n = 1; n <= 5; n++) journal.append(7, Buffer.alloc(20, n));
    const entries = await readAll(journal);
    // Segment 1: entries 1-3 (no preamble); segment 4: the preamble (id 4), then appends 4 and 5 (ids 5, 6).
    expect(entries.map((entry) => [entry.id, entry.type])).toEqual([
      [1, 7],
      [2, 7],
      [3, 7],
      [4, 200],
      [5, 7],
      [6, 7],
    ]);
    expect(Buffer.from(entries[3]!.payload).toString()).toBe('preamble 1');
    expect(segmentNames(dir)).toEqual(['00000000000000000001.seg', '00000000000000000004.seg']);
    await journal.close();
  });

  test('an entry larger than segmentBytes gets a segment of its own', async () => {
    const dir = tempDir();
    const { journal } = await openJournal({ dir, sync: 'none', segmentBytes: 100 });
    journal.append(1, Buffer.alloc(10));
    journal.append(2, Buffer.alloc(500));
    journal.append(3, Buffer.alloc(10));
    const entries = await readAll(journal);
    expect(entries.map((entry) => entry.payload.length)).toEqual([10, 500, 10]);
    expect(segmentNames(dir)).toEqual(['00000000000000000001.seg', '00000000000000000002.seg', '00000000000000000003.seg']);
  });

  test('reads cross segments, and a reopened journal keeps appending to its last segment', async () => {
    const dir = tempDir();
    const first = await openJournal({ dir, sync: 'interval', segmentBytes: 4 * FRAME });
    appendThrough(first.journal, 9, twenty);
    await first.journal.close();
    const { journal, recovery } = await openJournal({ dir, sync: 'interval', segmentBytes: 4 * FRAME });
    expect(recovery).toMatchObject({ entries: 9, segments: 3 });
    await appendThrough(journal, 14, twenty)!.durable;
    const entries = await readAll(journal);
    expect(ids(entries)).toEqual(range(1, 14));
    expect(allGenuine(entries, twenty)).toBe(true);
    expect(segmentNames(dir)).toEqual([
      '00000000000000000001.seg',
      '00000000000000000005.seg',
      '00000000000000000009.seg',
      '00000000000000000013.seg',
    ]);
  });
});

describe('maxDiskBytes', () => {
  test('an append that would pass it throws a retriable QueueFullError, and writes nothing', async () => {
    const dir = tempDir();
    const { journal } = await openJournal({ dir, sync: 'none', maxDiskBytes: 5 * FRAME + FRAME_HEADER_BYTES, segmentBytes: 2 * FRAME });
    await appendThrough(journal, 5, twenty)!.durable;
    const error = (() => {
      try {
        journal.append(1, Buffer.alloc(20));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toBeInstanceOf(KafkaWireError);
    expect(isRetriable(error)).toBe(true);
    expect((error as Error).message).toContain(
      `is full: ${5 * FRAME} bytes on disk and an entry of ${FRAME} would pass maxDiskBytes (${5 * FRAME + FRAME_HEADER_BYTES})`,
    );
    // A smaller entry still fits.
    expect(journal.append(1, Buffer.alloc(0)).id).toBe(6);
    await journal.close();
    expect(journal.stats()).toMatchObject({ entries: 6, bytes: 5 * FRAME + FRAME_HEADER_BYTES });
    const onDisk = segmentNames(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    expect(onDisk).toBe(5 * FRAME + FRAME_HEADER_BYTES);
  });

  test('trimming frees room for more appends', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none', maxDiskBytes: 4 * FRAME, segmentBytes: 2 * FRAME });
    appendThrough(journal, 4, twenty);
    expect(() => journal.append(1, Buffer.alloc(20))).toThrow(QueueFullError);
    await journal.trim(3);
    expect(journal.append(5, payloadFor(5, 20)).id).toBe(5);
  });
});

describe('trim()', () => {
  test('deletes the segments whose entries are all older than the id, never the one being appended to', async () => {
    const dir = tempDir();
    const { journal } = await openJournal({ dir, sync: 'none', segmentBytes: 3 * FRAME });
    appendThrough(journal, 10, twenty); // segments 1-3, 4-6, 7-9, 10
    expect(await journal.trim(5)).toEqual({ segments: 1, entries: 3, bytes: 3 * FRAME });
    expect(segmentNames(dir)).toEqual(['00000000000000000004.seg', '00000000000000000007.seg', '00000000000000000010.seg']);
    expect(journal.stats()).toMatchObject({ entries: 7, segments: 3, oldestId: 4, bytes: 7 * FRAME });
    expect(ids(await readAll(journal))).toEqual(range(4, 10));

    expect(await journal.trim(1_000_000)).toEqual({ segments: 2, entries: 6, bytes: 6 * FRAME });
    expect(segmentNames(dir)).toEqual(['00000000000000000010.seg']);
    expect(ids(await readAll(journal))).toEqual([10]);
    expect(await journal.trim(1_000_000)).toEqual({ segments: 0, entries: 0, bytes: 0 });
  });

  test('after a trim and a reopen the numbering goes on from the last segment', async () => {
    const dir = tempDir();
    const first = await openJournal({ dir, sync: 'none', segmentBytes: 2 * FRAME });
    appendThrough(first.journal, 6, twenty);
    await first.journal.trim(7);
    await first.journal.close();
    const { journal, recovery } = await openJournal({ dir, sync: 'none' });
    expect(recovery).toMatchObject({ entries: 2, segments: 1 });
    expect(journal.stats().oldestId).toBe(5);
    expect(journal.append(1, Buffer.alloc(1)).id).toBe(7);
  });

  test('a read under way leaves out what is trimmed meanwhile and goes on with the rest', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none', segmentBytes: 3 * FRAME });
    appendThrough(journal, 12, twenty);
    const reader = journal.readFrom(1);
    const seen = [(await reader.next()).value!.id];
    await journal.trim(10); // deletes 1-3, 4-6 and 7-9 while segment 1-3 is being read
    for await (const entry of reader) seen.push(entry.id);
    expect(seen).toEqual([1, 2, 3, 10, 11, 12]);
  });
});

describe('close()', () => {
  test('writes and fsyncs everything, releases the lock; later appends and reads are refused', async () => {
    const dir = tempDir();
    const { journal } = await openJournal({ dir, sync: 'none' });
    const last = appendThrough(journal, 100)!;
    await journal.close();
    await last.durable;
    const [segment] = journal.fsyncedLengths();
    expect(segment!.bytes).toBe(statSync(segment!.path).size);
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
    expect(() => journal.append(1, Buffer.alloc(1))).toThrow(JournalClosedError);
    expect(() => journal.readFrom(1)).toThrow(JournalClosedError);
    await journal.close(); // a second close is harmless
  });

  test('close() waits at most closeTimeoutMs, then fails with JournalTimeoutError; the lock goes once the disk has answered', async () => {
    const dir = tempDir();
    const { journal } = await openJournal({ dir, sync: 'always', closeTimeoutMs: 1, maxDiskBytes: 2 ** 30 });
    // 64 MiB to write and fsync: far more than a millisecond's work.
    const last = appendThrough(journal, 64 * 1024, () => 1024 - FRAME_HEADER_BYTES)!;
    await expect(journal.close()).rejects.toThrow(JournalTimeoutError);
    expect(existsSync(join(dir, 'LOCK'))).toBe(true);
    await last.durable;
    for (let waited = 0; waited < 10_000 && existsSync(join(dir, 'LOCK')); waited += 10) await sleep(10);
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
    const reopened = await openJournal({ dir, sync: 'none' });
    expect(reopened.recovery).toMatchObject({ entries: 64 * 1024, issues: [] });
  });

  test('a read under way stops with JournalClosedError when the journal closes', async () => {
    const { journal } = await openJournal({ dir: tempDir(), sync: 'none' });
    appendThrough(journal, 10);
    const reader = journal.readFrom(1);
    await reader.next();
    await journal.close();
    await expect(reader.next()).rejects.toThrow(JournalClosedError);
  });
});

test('stats() counts entries, bytes and segments, and the oldest intact id', async () => {
  const { journal } = await openJournal({ dir: tempDir(), sync: 'none', segmentBytes: 5 * FRAME });
  expect(journal.stats()).toEqual({
    entries: 0,
    bytes: 0,
    segments: 1,
    oldestId: undefined,
    nextId: 1,
    unwrittenBytes: 0,
    fsyncs: 0,
    readIssues: 0,
  });
  const last = appendThrough(journal, 12, twenty)!;
  expect(journal.stats()).toMatchObject({ entries: 12, bytes: 12 * FRAME, segments: 3, oldestId: 1, nextId: 13 });
  expect(journal.stats().unwrittenBytes).toBeGreaterThan(0);
  await last.durable;
  expect(journal.stats().unwrittenBytes).toBe(0);
});

test('damage that appears after open is skipped by reads and reported through onReadIssue', async () => {
  const dir = tempDir();
  const issues: string[] = [];
  const { journal } = await openJournal({ dir, sync: 'none', onReadIssue: (issue) => issues.push(issue.message) });
  await appendThrough(journal, 5, twenty)!.durable;
  const file = join(dir, '00000000000000000001.seg');
  const bytes = readFileSync(file);
  bytes[2 * FRAME + FRAME_HEADER_BYTES + 3]! ^= 0xff; // a payload byte of entry 3
  writeFileSync(file, bytes);
  expect(ids(await readAll(journal))).toEqual([1, 2, 4, 5]);
  expect(issues).toEqual([`journal: ${file}: the frame at byte ${2 * FRAME} fails its checksum; skipped`]);
  expect(journal.stats().readIssues).toBe(1);
});
