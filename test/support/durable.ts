import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the durable producer's integration tests share: journal directories, child processes, bounded waits. */

/** Temporary journal directories, removed by removeAll() (call it in afterAll). */
export class JournalDirs {
  private readonly dirs: string[] = [];

  constructor(private readonly prefix: string) {}

  make(): string {
    const dir = mkdtempSync(join(tmpdir(), this.prefix));
    this.dirs.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

export interface Child {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs a TypeScript script (test/support/*-child.ts) in a child Node process. */
export function runChild(script: string, args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/**
 * Waits until `check()` holds, at most `timeoutMs`; else throws with the end of what the child
 * printed (its progress lines, "accepted N" and "rss N", left out but the last).
 */
export async function until(what: string, check: () => boolean, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      const printed = output().replace(/^(accepted|rss) \d+\n(?=(accepted|rss) )/gm, '');
      throw new Error(`${what} did not happen within ${timeoutMs} ms; the child printed:\n${printed.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
