import { readFileSync } from 'node:fs';

/**
 * Enough about a process to tell it from a later one that reuses its pid: the start time (clock
 * ticks after boot, from /proc) and the boot id. Both are undefined where /proc is missing; the
 * pid alone is then all there is.
 */
export interface ProcessIdentity {
  pid: number;
  startTime: string | undefined;
  bootId: string | undefined;
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

interface ProcStat {
  state: string;
  startTime: string;
}

function procStat(pid: number): ProcStat | undefined {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name is in parentheses and may hold spaces; the fields after it are plain.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19]; // field 22 of the whole line
  return state === undefined || startTime === undefined ? undefined : { state, startTime };
}

export function currentBootId(): string | undefined {
  return readOrUndefined('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
}

export function ownIdentity(): ProcessIdentity {
  return { pid: process.pid, startTime: procStat(process.pid)?.startTime, bootId: currentBootId() };
}

/** Whether the process `identity` describes is still running (a zombie is not). */
export function isStillRunning(identity: ProcessIdentity): boolean {
  const bootId = currentBootId();
  if (identity.bootId !== undefined && bootId !== undefined && identity.bootId !== bootId) return false;
  const stat = procStat(identity.pid);
  if (stat !== undefined) {
    if (stat.state === 'Z') return false;
    return identity.startTime === undefined || identity.startTime === stat.startTime;
  }
  try {
    process.kill(identity.pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
