import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeCrypto } from '../node-crypto.js';
import { ioError, JournalLockedError } from './errors.js';
import { isStillRunning, ownIdentity, type ProcessIdentity } from './process-identity.js';

export const LOCK_FILE_NAME = 'LOCK';

/** A lock left by a process that is gone, replaced by this one. */
export interface StaleLock {
  /** The dead holder's pid, or undefined when the file could not be read as a lock. */
  pid: number | undefined;
  content: string;
}

export interface DirLock {
  readonly file: string;
  readonly tookOver: StaleLock | undefined;
  /** Removes the lock file if it is still this holder's. */
  release(): void;
}

// Lock files held by this process, so a second open here is refused even though the pid is alive.
const heldHere = new Set<string>();

interface Holder extends ProcessIdentity {
  token: string;
}

function format(holder: Holder): string {
  return `${holder.pid} ${holder.startTime ?? '-'} ${holder.bootId ?? '-'} ${holder.token}\n`;
}

function parse(content: string): Holder | undefined {
  const [pid, startTime, bootId, token] = content.trim().split(' ');
  const pidNumber = Number(pid);
  if (!Number.isSafeInteger(pidNumber) || pidNumber <= 0 || token === undefined) return undefined;
  const known = (value: string | undefined) => (value === undefined || value === '-' ? undefined : value);
  return { pid: pidNumber, startTime: known(startTime), bootId: known(bootId), token };
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read the lock file', file, error);
  }
}

/** A holder whose lock may be replaced: unreadable, gone, or this pid in an earlier life (a restarted container's pid 1). */
function isStale(file: string, holder: Holder | undefined): boolean {
  if (holder === undefined) return true;
  if (holder.pid === process.pid) return !heldHere.has(file);
  return !isStillRunning(holder);
}

/**
 * Takes the lock file of `dir`, which names this process (pid, start time, boot id), or throws
 * JournalLockedError naming the live holder. Never waits. The file is written in full under a
 * scratch name and hard-linked into place, so a lock never exists without its holder's name.
 */
export function acquireDirLock(dir: string): DirLock {
  const file = join(dir, LOCK_FILE_NAME);
  const own: Holder = { ...ownIdentity(), token: nodeCrypto().randomBytes(8).toString('hex') };
  const content = format(own);
  const scratch = `${file}.${process.pid}-${own.token}`;
  try {
    writeFileSync(scratch, content);
  } catch (error) {
    throw ioError('write the lock file', scratch, error);
  }
  let tookOver: StaleLock | undefined;
  try {
    // Each pass either takes the lock or removes a stale one; a few passes only race other openers.
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        linkSync(scratch, file);
        heldHere.add(file);
        return { file, tookOver, release: () => release(file, content) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create the lock file', file, error);
      }
      const held = readOrUndefined(file);
      if (held === undefined) continue;
      const holder = parse(held);
      if (!isStale(file, holder)) throw lockedError(file, holder!);
      if (removeStale(file, held)) tookOver = { pid: holder?.pid, content: held };
    }
    const holder = parse(readOrUndefined(file) ?? '');
    throw lockedError(file, holder ?? { pid: 0, startTime: undefined, bootId: undefined, token: '' });
  } finally {
    rmSync(scratch, { force: true });
  }
}

/** Who holds the lock of `dir` without taking it: the pid in the lock file and whether that process still runs. */
export function readDirLock(dir: string): { pid: number | undefined; running: boolean } | undefined {
  const file = join(dir, LOCK_FILE_NAME);
  const content = readOrUndefined(file);
  if (content === undefined) return undefined;
  const holder = parse(content);
  return { pid: holder?.pid, running: holder !== undefined && (holder.pid === process.pid ? heldHere.has(file) : isStillRunning(holder)) };
}

function lockedError(file: string, holder: Holder): JournalLockedError {
  const who = holder.pid === process.pid ? `this process (pid ${holder.pid}) already has it open` : `process ${holder.pid} holds it`;
  return new JournalLockedError(
    file,
    holder.pid,
    `journal ${file.slice(0, -LOCK_FILE_NAME.length - 1)} is locked: ${who}. ` +
      `Only one process may write a journal; if no such process is running, delete ${file}`,
  );
}

/**
 * Moves a stale lock aside and deletes it. If what was moved is not the stale content (another
 * opener replaced it in the meantime), it is put back. Returns whether the stale lock was removed.
 */
function removeStale(file: string, staleContent: string): boolean {
  const aside = `${file}.stale-${process.pid}-${nodeCrypto().randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch {
    return false;
  }
  try {
    if (readOrUndefined(aside) === staleContent) return true;
    try {
      linkSync(aside, file);
    } catch {
      // A third opener took the lock in that instant; it holds it, and this one will see it.
    }
    return false;
  } finally {
    rmSync(aside, { force: true });
  }
}

function release(file: string, content: string): void {
  heldHere.delete(file);
  try {
    if (readFileSync(file, 'utf8') === content) rmSync(file, { force: true });
  } catch {
    // Already gone: nothing to give back.
  }
}
