import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The kafka-wire executable, run as a user runs it. */
export const CLI = fileURLToPath(new URL('../../bin/kafka-wire.js', import.meta.url));

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end (killed after timeoutMs). */
export function runCli(args: string[], options: { input?: string; timeoutMs?: number } = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    input: options.input,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Output kept from a long run (a daemon in a soak): its start and its latest megabyte. */
function bounded(text: string): string {
  return text.length <= 4 << 20 ? text : `${text.slice(0, 64 << 10)}\n[…]\n${text.slice(-(1 << 20))}`;
}

/** A running CLI whose output can be waited for. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly exit: Promise<{ status: number | null; signal: NodeJS.Signals | null; at: number }>;

  /**
   * `entry`: the script that runs the CLI; bin/kafka-wire.js (the sources in a checkout) unless given, e.g. dist/cli/main.js.
   * `nodeFlags` go to Node before it (e.g. --inspect=127.0.0.1:0).
   */
  constructor(args: string[], entry = CLI, nodeFlags: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeFlags, entry, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout = bounded(this.stdout + chunk)));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = bounded(this.stderr + chunk)));
    this.exit = new Promise((resolve) => this.child.on('exit', (status, signal) => resolve({ status, signal, at: Date.now() })));
  }

  write(text: string): void {
    this.child.stdin?.write(text);
  }

  /** Resolves once stderr matches, or rejects after timeoutMs (or when the process exits first). */
  async waitForStderr(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stderr)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`exited (${this.child.exitCode ?? this.child.signalCode}) before stderr matched ${pattern}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`stderr did not match ${pattern} within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Its exit, or a rejection after timeoutMs (the process is then killed). */
  async exited(timeoutMs: number): Promise<{ status: number | null; signal: NodeJS.Signals | null; at: number }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`still running after ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills it if still running (for afterEach). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Polls `check` every 100 ms until it returns true, failing after timeoutMs. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
