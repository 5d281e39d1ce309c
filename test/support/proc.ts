import { readFileSync } from 'node:fs';

/** A process's figures from Linux's /proc, for the tests, the bench and the fault suite. */

/** CPU time (user + system) in µs a process has used, with its descendants' when `tree`; 0 for one that is gone. */
export function processCpuMicros(pid: number, tree = false): number {
  let own = 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime, in clock ticks of 1/100 s.
    own = (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
  if (!tree) return own;
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone meanwhile
  }
  return own + children.reduce((sum, child) => sum + processCpuMicros(child, true), 0);
}

/** A process's resident set now (VmRSS) or at its peak (VmHWM), in MB; 0 for one that is gone. */
export function residentMb(pid: number, which: 'now' | 'peak' = 'now'): number {
  try {
    const field = which === 'now' ? 'VmRSS' : 'VmHWM';
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Math.round(Number(match?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}
