import { appendFileSync, copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FRAME_HEADER_BYTES } from '../../src/durable/frame.js';
import { segmentFileName } from '../../src/durable/segment-files.js';
import { crc32c } from '../../src/records/crc32c.js';
import { allGenuine, appendThrough, ids, openJournal, range, readAll, segmentNames, tempDir } from '../support/journal.js';
import { Random } from '../support/random.js';

// 20-byte payloads make 37-byte frames: entry n of the first segment starts at (n - 1) * FRAME.
const FRAME = FRAME_HEADER_BYTES + 20;
const twenty = () => 20;

/** A closed journal of `entries` entries with 20-byte payloads, `perSegment` to a segment. */
async function journalOnDisk(entries: number, perSegment = 1000): Promise<string> {
  const dir = tempDir('recovery');
  const { journal } = await openJournal({ dir, sync: 'none', segmentBytes: perSegment * FRAME });
  appendThrough(journal, entries, twenty);
  await journal.close();
  return dir;
}

const segmentPath = (dir: string, firstId = 1) => join(dir, segmentFileName(firstId));

function damage(file: string, change: (bytes: Buffer) => void): void {
  const bytes = readFileSync(file);
  change(bytes);
  writeFileSync(file, bytes);
}

const payloadByteOf = (id: number, firstId = 1) => (id - firstId) * FRAME + FRAME_HEADER_BYTES + 5;
const lengthOf = (id: number, firstId = 1) => (id - firstId) * FRAME;

describe('a clean journal', () => {
  test('reopens with no issues', async () => {
    const dir = await journalOnDisk(20);
    const { recovery } = await openJournal({ dir });
    expect(recovery).toEqual({
      entries: 20,
      bytes: 20 * FRAME,
      segments: 1,
      droppedEntries: 0,
      droppedBytes: 0,
      issues: [],
      staleLock: undefined,
      ignoredFiles: [],
      removedEmptySegments: [],
      lastWrittenAt: expect.any(Number),
    });
  });
});

test('a journal whose frames hold CRC-32C (written before the checksum became xxHash32) reopens whole, and takes appends', async () => {
  const dir = await journalOnDisk(20);
  damage(segmentPath(dir), (bytes) => {
    for (let at = 0; at < bytes.length; at += FRAME) bytes.writeUInt32BE(crc32c(bytes.subarray(at + 8, at + FRAME)), at + 4);
  });
  const { journal, recovery } = await openJournal({ dir });
  expect(recovery).toMatchObject({ entries: 20, droppedEntries: 0, issues: [] });
  appendThrough(journal, 25, twenty);
  const entries = await readAll(journal);
  expect(ids(entries)).toEqual(range(1, 25));
  expect(allGenuine(entries, twenty)).toBe(true);
});

describe('a damaged tail is truncated at the first bad entry', () => {
  test('an entry cut short by a crash mid-write', async () => {
    const dir = await journalOnDisk(10);
    const file = segmentPath(dir);
    truncateSync(file, 10 * FRAME - 5);
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toEqual([
      {
        kind: 'truncated-entry',
        action: 'truncated',
        segment: file,
        offset: 9 * FRAME,
        bytes: FRAME - 5,
        firstId: 10,
        lastId: undefined,
        entries: 1,
        message:
          `journal recovery: ${file} at byte ${9 * FRAME}: an entry of 20 bytes runs past the end of the file ` +
          `(${10 * FRAME - 5} bytes); truncated ${FRAME - 5} bytes there (entry 10 and any after it)`,
      },
    ]);
    expect(recovery).toMatchObject({ entries: 9, droppedEntries: 1, droppedBytes: FRAME - 5 });
    expect(statSync(file).size).toBe(9 * FRAME);
    // The lost id is given again: it was never durable.
    expect(journal.append(1, Buffer.alloc(20)).id).toBe(10);
    expect(ids(await readAll(journal))).toEqual(range(1, 10));
  });

  test('an incomplete frame header', async () => {
    const dir = await journalOnDisk(10);
    appendFileSync(segmentPath(dir), Buffer.from([0, 0, 0]));
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toMatchObject([{ kind: 'truncated-entry', offset: 10 * FRAME, bytes: 3, firstId: 11 }]);
    expect(recovery.issues[0]!.message).toContain('an incomplete frame header runs past the end of the file');
    expect(journal.nextId).toBe(11);
  });

  test('a last entry whose checksum fails', async () => {
    const dir = await journalOnDisk(10);
    damage(segmentPath(dir), (bytes) => void (bytes[payloadByteOf(10)]! ^= 1));
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toMatchObject([{ kind: 'corrupt-tail', action: 'truncated', offset: 9 * FRAME, bytes: FRAME, firstId: 10 }]);
    expect(recovery.issues[0]!.message).toContain('entry 10 failed its checksum and no intact entry follows it');
    expect(ids(await readAll(journal))).toEqual(range(1, 9));
  });

  test('a tail of zeros (a file extended, its data never written: a power loss without fsync)', async () => {
    const dir = await journalOnDisk(10);
    appendFileSync(segmentPath(dir), Buffer.alloc(4096));
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toMatchObject([{ kind: 'corrupt-tail', offset: 10 * FRAME, bytes: 4096 }]);
    expect(statSync(segmentPath(dir)).size).toBe(10 * FRAME);
    expect(ids(await readAll(journal))).toEqual(range(1, 10));
  });

  test('after truncation, a second open finds nothing more to do', async () => {
    const dir = await journalOnDisk(10);
    truncateSync(segmentPath(dir), 10 * FRAME - 1);
    const first = await openJournal({ dir });
    expect(first.recovery.issues).toHaveLength(1);
    await first.journal.close();
    const { recovery } = await openJournal({ dir });
    expect(recovery.issues).toEqual([]);
    expect(recovery.entries).toBe(9);
  });
});

describe('damage in the middle', () => {
  test('a corrupt entry with intact ones after it is skipped, loudly; the entries after it keep their ids', async () => {
    const dir = await journalOnDisk(10);
    const file = segmentPath(dir);
    damage(file, (bytes) => void (bytes[payloadByteOf(4)]! ^= 0x40));
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toEqual([
      {
        kind: 'corrupt-entry',
        action: 'skipped',
        segment: file,
        offset: 3 * FRAME,
        bytes: FRAME,
        firstId: 4,
        lastId: 4,
        entries: 1,
        message:
          `journal recovery: ${file} at byte ${3 * FRAME}: 1 damaged frame (1 failing the checksum, ${FRAME} bytes) skipped: ` +
          'entry 4 lost; the entries after it, from 5, are kept',
      },
    ]);
    expect(recovery).toMatchObject({ entries: 9, droppedEntries: 1, droppedBytes: FRAME });
    const entries = await readAll(journal);
    expect(ids(entries)).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10]);
    expect(allGenuine(entries, twenty)).toBe(true);
    expect(journal.stats()).toMatchObject({ entries: 9, oldestId: 1, nextId: 11, readIssues: 0 });
    expect(statSync(file).size).toBe(10 * FRAME); // skipped, not cut
  });

  test('several corrupt entries in a row are skipped together', async () => {
    const dir = await journalOnDisk(10);
    damage(segmentPath(dir), (bytes) => {
      for (const id of [4, 5, 6]) bytes[payloadByteOf(id)]! ^= 0x01;
    });
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toMatchObject([{ kind: 'corrupt-entry', firstId: 4, lastId: 6, entries: 3, bytes: 3 * FRAME }]);
    expect(recovery.issues[0]!.message).toContain('3 damaged frames (3 failing the checksum, 111 bytes) skipped: entries 4-6 lost');
    expect(ids(await readAll(journal))).toEqual([1, 2, 3, 7, 8, 9, 10]);
  });

  test('a corrupt first entry: the oldest id is the next intact one', async () => {
    const dir = await journalOnDisk(5);
    damage(segmentPath(dir), (bytes) => void (bytes[payloadByteOf(1)]! ^= 0x01));
    const { journal } = await openJournal({ dir });
    expect(journal.stats()).toMatchObject({ entries: 4, oldestId: 2 });
  });

  test('the skipped entry is reported at every open while its segment exists, and goes with a trim', async () => {
    const dir = await journalOnDisk(10, 5);
    damage(segmentPath(dir), (bytes) => void (bytes[payloadByteOf(2)]! ^= 0x01));
    const first = await openJournal({ dir, segmentBytes: 5 * FRAME });
    await first.journal.close();
    const second = await openJournal({ dir, segmentBytes: 5 * FRAME });
    expect(second.recovery.issues).toMatchObject([{ kind: 'corrupt-entry', firstId: 2 }]);
    await second.journal.trim(6);
    await second.journal.close();
    expect((await openJournal({ dir })).recovery.issues).toEqual([]);
  });

  test('an implausible length drops the rest of the segment', async () => {
    const dir = await journalOnDisk(10);
    damage(segmentPath(dir), (bytes) => bytes.writeUInt32BE(0xfffffff0, lengthOf(4)));
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toMatchObject([{ kind: 'bad-length', action: 'truncated', offset: 3 * FRAME, bytes: 7 * FRAME, firstId: 4 }]);
    expect(recovery.issues[0]!.message).toContain('a length of 4294967280 bytes, above the largest entry');
    expect(ids(await readAll(journal))).toEqual([1, 2, 3]);
    expect(journal.nextId).toBe(4);
  });

  test('a length changed to another that fits, landing inside other frames, drops the rest of the segment', async () => {
    const dir = await journalOnDisk(10);
    damage(segmentPath(dir), (bytes) => bytes.writeUInt32BE(33, lengthOf(4)));
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toMatchObject([{ action: 'truncated', offset: 3 * FRAME, firstId: 4 }]);
    expect(ids(await readAll(journal))).toEqual([1, 2, 3]);
  });

  test('damage in an earlier segment: its lost ids are known exactly, and the later segments are untouched', async () => {
    const dir = await journalOnDisk(12, 4); // segments 1-4, 5-8, 9-12
    const second = segmentPath(dir, 5);
    damage(second, (bytes) => bytes.writeUInt32BE(0x7fffffff, lengthOf(6, 5)));
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toMatchObject([
      { kind: 'bad-length', segment: second, offset: FRAME, bytes: 3 * FRAME, firstId: 6, lastId: 8, entries: 3 },
    ]);
    expect(recovery.issues[0]!.message).toContain('(entries 6-8)');
    expect(recovery.droppedEntries).toBe(3);
    expect(ids(await readAll(journal))).toEqual([1, 2, 3, 4, 5, 9, 10, 11, 12]);
    expect(journal.append(1, Buffer.alloc(20)).id).toBe(13);
    expect(ids(await readAll(journal, 6))).toEqual([9, 10, 11, 12, 13]);
  });

  test('frames of a segment that run into the next segment’s ids are cut; frames holding ids out of place are skipped', async () => {
    const dir = await journalOnDisk(10); // one segment, 1-10
    copyFileSync(segmentPath(dir, 1), segmentPath(dir, 6)); // a copy named as if it began at id 6
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery.issues).toMatchObject([
      { kind: 'overlap', action: 'truncated', segment: segmentPath(dir, 1), offset: 5 * FRAME, firstId: 6, lastId: undefined },
      { kind: 'corrupt-entry', action: 'skipped', segment: segmentPath(dir, 6), offset: 0, bytes: 5 * FRAME, entries: 0 },
    ]);
    expect(recovery.issues[1]!.message).toContain('5 damaged frames (5 with ids out of place, 185 bytes) skipped: no entry lost');
    const entries = await readAll(journal);
    expect(ids(entries)).toEqual(range(1, 10));
    expect(allGenuine(entries, twenty)).toBe(true);
    expect(journal.stats().readIssues).toBe(0);
  });

  test('a run of zeros inside a segment (pages a power loss never wrote) never shifts ids: entries after it keep their own', async () => {
    const dir = await journalOnDisk(30);
    // Zeros look like 17-byte frames with bad checksums; whatever they swallow, an entry after them is read under its own id.
    damage(segmentPath(dir), (bytes) => bytes.fill(0, 3 * FRAME + 5, 3 * FRAME + 5 + 4 * 17));
    const { journal, recovery } = await openJournal({ dir });
    const entries = await readAll(journal);
    expect(allGenuine(entries, twenty)).toBe(true);
    expect(ids(entries).slice(0, 3)).toEqual([1, 2, 3]);
    expect(recovery.entries).toBe(entries.length);
  });
});

describe('what else may be in the directory', () => {
  test('empty segments at the end (a crash right after a roll, before the previous one was all written) go: no gap in ids', async () => {
    const dir = await journalOnDisk(10);
    truncateSync(segmentPath(dir, 1), 6 * FRAME); // entries 7-10 never reached the disk
    writeFileSync(segmentPath(dir, 11), '');
    writeFileSync(segmentPath(dir, 20), '');
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery).toMatchObject({ entries: 6, segments: 1, issues: [] });
    expect(recovery.removedEmptySegments).toEqual([segmentPath(dir, 20), segmentPath(dir, 11)]);
    expect(segmentNames(dir)).toEqual(['00000000000000000001.seg']);
    expect(journal.append(1, Buffer.alloc(20)).id).toBe(7);
  });

  test('an empty journal keeps its one segment, and the numbering its name gives', async () => {
    const dir = tempDir('recovery');
    writeFileSync(segmentPath(dir, 500), '');
    const { journal, recovery } = await openJournal({ dir });
    expect(recovery).toMatchObject({ entries: 0, segments: 1, removedEmptySegments: [] });
    expect(journal.append(1, Buffer.alloc(1)).id).toBe(500);
  });

  test('files that are not segments are left alone and listed', async () => {
    const dir = await journalOnDisk(2);
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    writeFileSync(join(dir, '1.seg'), 'not a segment name');
    const { recovery } = await openJournal({ dir });
    expect(recovery.ignoredFiles).toEqual(['1.seg', 'notes.txt']);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('hello');
    expect(segmentNames(dir)).toEqual(['00000000000000000001.seg', '1.seg']);
  });
});

describe('random damage (seeded; a failure prints the seed)', () => {
  const SEED = 20261201;
  test('recovery never throws, keeps only genuine entries in id order, and leaves a journal that appends and reopens cleanly', async () => {
    const random = new Random(SEED);
    for (let round = 0; round < 60; round++) {
      const dir = tempDir('fuzz');
      const perSegment = random.int(3, 30);
      const segmentBytes = perSegment * 120;
      const size = (id: number) => (id * 7919) % 200;
      const writer = await openJournal({ dir, sync: 'none', segmentBytes });
      appendThrough(writer.journal, random.int(1, 150), size);
      await writer.journal.close();
      const files = segmentNames(dir).map((name) => join(dir, name));
      for (let hits = random.int(1, 4); hits > 0; hits--) {
        const file = random.pick(files);
        const bytes = readFileSync(file);
        if (bytes.length === 0) continue;
        const at = random.int(0, bytes.length - 1);
        const what = random.int(0, 3);
        if (what === 0) bytes[at]! ^= 1 << random.int(0, 7);
        else if (what === 1) bytes.fill(0, at, Math.min(bytes.length, at + random.int(1, 600)));
        else if (what === 2) bytes.writeUInt32BE(random.int(0, 2 ** 32 - 1), Math.min(at, Math.max(0, bytes.length - 4)));
        writeFileSync(file, what === 3 ? bytes.subarray(0, at) : bytes);
      }
      const context = `seed ${SEED}, round ${round}`;
      const { journal, recovery } = await openJournal({ dir, sync: 'none', segmentBytes });
      const entries = await readAll(journal);
      expect(allGenuine(entries, size), context).toBe(true);
      expect(ids(entries), context).toEqual([...ids(entries)].sort((a, b) => a - b));
      expect(recovery.entries, context).toBe(entries.length);
      const next = journal.append(9, Buffer.from('after recovery'));
      await journal.close();
      const again = await openJournal({ dir, sync: 'none', segmentBytes });
      expect(
        again.recovery.issues.filter((issue) => issue.action === 'truncated'),
        context,
      ).toEqual([]);
      const reread = await readAll(again.journal);
      expect(ids(reread), context).toEqual([...ids(entries), next.id]);
      await again.journal.close();
    }
  });
});
