import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { EmbeddedKafkaError } from './errors.js';
import { isAlive, sleep } from './processes.js';

const POLL_MS = 50;

/**
 * Runs `body` while holding the lock file `file`, which every kafka-wire process (and every
 * call in this one) takes the same way, so changes to one cluster's running nodes happen one
 * at a time. The file names its holder's pid; a lock whose holder has died is taken over.
 * Waits at most `timeoutMs`, then fails naming the holder.
 */
export async function withLock<T>(file: string, timeoutMs: number, body: () => Promise<T>): Promise<T> {
  const token = await acquire(file, timeoutMs);
  try {
    return await body();
  } finally {
    if (read(file) === token) rmSync(file, { force: true });
  }
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function holderPid(content: string): number | undefined {
  const pid = Number.parseInt(content, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function acquire(file: string, timeoutMs: number): Promise<string> {
  const token = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  // Written in full first and then linked into place, so the lock never exists without its holder's pid.
  const scratch = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(scratch, token);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        linkSync(scratch, file);
        return token;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = read(file);
      if (held === undefined) continue;
      const pid = holderPid(held);
      if (pid === undefined || !isAlive(pid)) {
        takeOver(file, held);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new EmbeddedKafkaError(
          'BUSY',
          `another kafka-wire command (pid ${pid}) is changing this cluster ` +
            `and has not finished within ${Math.round(timeoutMs / 1000)} s; ` +
            `try again when it has finished, or delete ${file} if no kafka-wire command is running`,
        );
      }
      await sleep(POLL_MS);
    }
  } finally {
    rmSync(scratch, { force: true });
  }
}

/** Removes a dead holder's lock; moved aside first, so a lock someone took over in the meantime is put back, not deleted. */
function takeOver(file: string, deadHolder: string): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch {
    return;
  }
  if (read(aside) !== deadHolder) {
    try {
      linkSync(aside, file);
    } catch {
      // A third process took the lock in that instant, so two believe they hold it: that needs a
      // holder to die and three commands to meet within microseconds, a race accepted here.
    }
  }
  rmSync(aside, { force: true });
}
