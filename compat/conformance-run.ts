import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConformanceReport, Listener, ListenerRun } from './matrix.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'src', 'cli', 'main.ts');

export interface ConformanceTarget {
  listener: Listener;
  bootstrap: string;
  sasl?: { mechanism: string; username: string; password: string };
  caFile?: string;
  /** Groups to run (--only); all when absent. */
  only?: string[];
}

/** The arguments after `kafka-wire conformance` for one listener. */
export function conformanceArgs(target: ConformanceTarget): string[] {
  const args = ['--bootstrap', target.bootstrap];
  if (target.sasl) {
    const { mechanism, username, password } = target.sasl;
    args.push('--sasl-mechanism', mechanism, '--sasl-username', username, '--sasl-password', password);
  }
  if (target.caFile) args.push('--tls', '--tls-ca', target.caFile);
  if (target.only) args.push('--only', target.only.join(','));
  return args;
}

/** The line of a child's stderr that says what went wrong: an error's message, else its last line. */
export function errorSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.find((line) => /^(\w*Error|kafka-wire:)/.test(line)) ?? lines.at(-1) ?? '';
}

export interface RunOptions {
  /** Where the report goes (kept: compat/run.ts gathers them all into matrix.json). */
  reportFile: string;
  timeoutMs: number;
  /** Each line the command prints, for the progress log. */
  log: (line: string) => void;
  signal: AbortSignal;
}

/**
 * Runs `kafka-wire conformance` in a child process (its own Node, like a user's shell would)
 * and reads the report it wrote. A crash, a timeout or a missing report is recorded, not thrown.
 */
export async function runConformance(target: ConformanceTarget, options: RunOptions): Promise<ListenerRun> {
  const args = conformanceArgs(target);
  mkdirSync(dirname(options.reportFile), { recursive: true });
  rmSync(options.reportFile, { force: true });
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'conformance', ...args, '--report', options.reportFile], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.log(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let stoppedBy: string | undefined;
  const stop = (why: string) => {
    stoppedBy ??= why;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  };
  const timer = setTimeout(() => stop(`timed out after ${options.timeoutMs / 1000} s`), options.timeoutMs);
  const onAbort = () => stop('interrupted');
  options.signal.addEventListener('abort', onAbort, { once: true });
  const exitCode = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  clearTimeout(timer);
  options.signal.removeEventListener('abort', onAbort);
  if (partial) options.log(partial);

  const run: ListenerRun = { listener: target.listener, args, exitCode, durationMs: Math.round(performance.now() - started), report: null };
  try {
    run.report = JSON.parse(readFileSync(options.reportFile, 'utf8')) as ConformanceReport;
  } catch (error) {
    run.error = stoppedBy ?? `no report written (exit code ${exitCode}): ${errorSummary(stderr) || (error as Error).message}`;
  }
  if (run.report && stoppedBy) run.error = stoppedBy;
  else if (run.report && exitCode !== 0 && exitCode !== 1) run.error = errorSummary(stderr) || `exit code ${exitCode}`;
  if (exitCode !== 0 && stderr.trim()) run.stderr = stderr.trim();
  return run;
}
