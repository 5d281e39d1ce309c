import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JournalIOError } from '../../src/durable/errors.js';
import { Journal } from '../../src/durable/journal.js';
import { allGenuine, ids, openJournal, payloadFor, range, readAll, tempDir, typeFor } from '../support/journal.js';

test('a directory path that runs through a file: JournalIOError naming the path', async () => {
  const parent = tempDir('io');
  writeFileSync(join(parent, 'file'), '');
  const dir = join(parent, 'file', 'journal');
  const error = await Journal.open({ dir }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(JournalIOError);
  expect(error).toMatchObject({ path: dir, errno: 'ENOTDIR' });
  expect((error as Error).message).toContain(`journal: could not create the journal directory ${dir}: ENOTDIR`);
});

// A small tmpfs gives a real ENOSPC and a real read-only filesystem. Mounting needs privileges:
// without them these tests are skipped.
describe('on a small filesystem', () => {
  let mountPoint = '';
  let mounted = false;
  beforeAll(() => {
    mountPoint = mkdtempSync(join(tmpdir(), 'kafka-wire-tmpfs-'));
    mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]).status === 0;
  });
  afterAll(() => {
    if (mounted) spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  test('a full disk: the failed write rejects its promise with ENOSPC; the journal stops, and keeps what was written', async (context) => {
    if (!mounted) context.skip();
    const dir = join(mountPoint, 'full');
    const { journal } = await openJournal({ dir, sync: 'always', maxDiskBytes: 10 << 20 });
    let durableThrough = 0;
    let failure: unknown;
    for (let turn = 0; turn < 1000 && failure === undefined; turn++) {
      let last: ReturnType<Journal['append']> | undefined;
      for (let n = 0; n < 20; n++) last = journal.append(typeFor(journal.nextId), payloadFor(journal.nextId, 150));
      failure = await last!.durable.then(
        () => void (durableThrough = last!.id),
        (error: unknown) => error,
      );
    }
    expect(failure).toBeInstanceOf(JournalIOError);
    expect(failure).toMatchObject({ errno: 'ENOSPC', path: join(dir, '00000000000000000001.seg') });
    expect(() => journal.append(1, Buffer.alloc(1))).toThrow(failure as Error);
    await expect(journal.close()).rejects.toBe(failure);
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);

    const reopened = await openJournal({ dir, sync: 'none' });
    const entries = await readAll(reopened.journal);
    expect(allGenuine(entries, () => 150)).toBe(true);
    expect(ids(entries).slice(0, durableThrough)).toEqual(range(1, durableThrough));
  });

  test('a read-only filesystem: open fails with a JournalIOError naming the path', async (context) => {
    if (!mounted) context.skip();
    const dir = join(mountPoint, 'read-only');
    mkdirSync(dir);
    expect(spawnSync('mount', ['-o', 'remount,ro', mountPoint]).status).toBe(0);
    try {
      const error = await Journal.open({ dir }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(JournalIOError);
      expect(error).toMatchObject({ errno: 'EROFS' });
      expect((error as Error).message).toContain(join(dir, 'LOCK'));
    } finally {
      spawnSync('mount', ['-o', 'remount,rw', mountPoint]);
    }
  });
});
