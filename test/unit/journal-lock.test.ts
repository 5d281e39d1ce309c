import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { JournalLockedError } from '../../src/durable/errors.js';
import { Journal } from '../../src/durable/journal.js';
import { ownIdentity } from '../../src/durable/process-identity.js';
import { KafkaWireError } from '../../src/errors.js';
import { openJournal, tempDir } from '../support/journal.js';

const lockOf = (dir: string) => join(dir, 'LOCK');

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const exited = spawnSync(process.execPath, ['-e', '']);
  expect(exited.status).toBe(0);
  return exited.pid!;
}

test('the lock file names its holder: pid, start time and boot id', async () => {
  const dir = tempDir('lock');
  await openJournal({ dir });
  const [pid, startTime, bootId] = readFileSync(lockOf(dir), 'utf8').trim().split(' ');
  const own = ownIdentity();
  expect(Number(pid)).toBe(process.pid);
  expect(startTime).toBe(own.startTime ?? '-');
  expect(bootId).toBe(own.bootId ?? '-');
});

test('a second open in the same process gets JournalLockedError naming this pid, and nothing is changed', async () => {
  const dir = tempDir('lock');
  const { journal } = await openJournal({ dir });
  const before = readFileSync(lockOf(dir), 'utf8');
  const error = await Journal.open({ dir }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(JournalLockedError);
  expect(error).toBeInstanceOf(KafkaWireError);
  expect(error).toMatchObject({ holderPid: process.pid, lockFile: lockOf(dir) });
  expect((error as Error).message).toBe(
    `journal ${dir} is locked: this process (pid ${process.pid}) already has it open. ` +
      `Only one process may write a journal; if no such process is running, delete ${lockOf(dir)}`,
  );
  expect(readFileSync(lockOf(dir), 'utf8')).toBe(before);
  await journal.close();
  expect(existsSync(lockOf(dir))).toBe(false);
  await openJournal({ dir });
});

test('a second open in the same process through a symlink to the directory is refused too', async () => {
  const dir = tempDir('lock');
  await openJournal({ dir });
  const alias = join(tempDir('lock-alias'), 'alias');
  symlinkSync(dir, alias);
  await expect(Journal.open({ dir: alias })).rejects.toMatchObject({ name: 'JournalLockedError', holderPid: process.pid });
});

test('the lock of a process that has exited is taken over and reported', async () => {
  const dir = tempDir('lock');
  const pid = deadPid();
  writeFileSync(lockOf(dir), `${pid} 12345 - 0011223344556677\n`);
  const { recovery } = await openJournal({ dir });
  expect(recovery.staleLock).toEqual({ pid, content: `${pid} 12345 - 0011223344556677\n` });
  expect(Number(readFileSync(lockOf(dir), 'utf8').split(' ')[0])).toBe(process.pid);
});

test('a lock naming this pid but not held here is an earlier life of the pid (a restarted container), taken over', async () => {
  const dir = tempDir('lock');
  writeFileSync(lockOf(dir), `${process.pid} 1 - 0011223344556677\n`);
  const { recovery } = await openJournal({ dir });
  expect(recovery.staleLock?.pid).toBe(process.pid);
});

test('a live pid whose start time differs from the lock’s is a reused pid: the lock is taken over', async () => {
  const own = ownIdentity();
  if (own.startTime === undefined) return; // no /proc: only the pid can be compared
  const dir = tempDir('lock');
  // The parent process is alive, but did not start at tick 1.
  writeFileSync(lockOf(dir), `${process.ppid} 1 ${own.bootId ?? '-'} 0011223344556677\n`);
  const { recovery } = await openJournal({ dir });
  expect(recovery.staleLock?.pid).toBe(process.ppid);
});

test('a live process with the start time the lock records holds it', async () => {
  const dir = tempDir('lock');
  const parent = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
  const startTime = parent.slice(parent.lastIndexOf(')') + 2).split(' ')[19];
  writeFileSync(lockOf(dir), `${process.ppid} ${startTime} ${ownIdentity().bootId ?? '-'} 0011223344556677\n`);
  await expect(Journal.open({ dir })).rejects.toMatchObject({ name: 'JournalLockedError', holderPid: process.ppid });
  expect(readFileSync(lockOf(dir), 'utf8')).toContain(`${process.ppid} ${startTime}`);
});

test('a lock written before the last boot is stale', async () => {
  const own = ownIdentity();
  if (own.bootId === undefined) return;
  const dir = tempDir('lock');
  writeFileSync(lockOf(dir), `${process.ppid} - 00000000-0000-0000-0000-000000000000 0011223344556677\n`);
  const { recovery } = await openJournal({ dir });
  expect(recovery.staleLock?.pid).toBe(process.ppid);
});

test('an unreadable lock file is replaced, and reported with no pid', async () => {
  const dir = tempDir('lock');
  writeFileSync(lockOf(dir), 'garbage');
  const { recovery } = await openJournal({ dir });
  expect(recovery.staleLock).toEqual({ pid: undefined, content: 'garbage' });
});

test('close() leaves a lock that is no longer its own alone', async () => {
  const dir = tempDir('lock');
  const { journal } = await openJournal({ dir });
  writeFileSync(lockOf(dir), `${process.ppid} - - someone-else\n`);
  await journal.close();
  expect(readFileSync(lockOf(dir), 'utf8')).toBe(`${process.ppid} - - someone-else\n`);
});

test('a failed open releases the lock it took', async () => {
  const dir = tempDir('lock');
  // A directory where a segment file should be: recovery cannot read it.
  mkdirSync(join(dir, '00000000000000000001.seg'));
  await expect(Journal.open({ dir })).rejects.toMatchObject({ name: 'JournalIOError' });
  expect(existsSync(lockOf(dir))).toBe(false);
});
