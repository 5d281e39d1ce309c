import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DiscardReport } from '../../src/daemon/discards.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { CliProcess } from './cli.js';
import { collectGarbage, inspectorUrl } from './inspector.js';

/** A `kafka-wire daemon` child process for the integration tests, the bench and the fault suite, with its status pages. */
export class DaemonProcess {
  readonly cli: CliProcess;
  httpPort = 0;
  tcpPort = 0;

  private constructor(args: string[], entry: string | undefined, nodeFlags: readonly string[] | undefined) {
    this.cli = new CliProcess(['daemon', '--http', '0', ...args], entry, nodeFlags);
  }

  get pid(): number {
    return this.cli.child.pid as number;
  }

  /**
   * Starts it and waits for "ready" (journal replay included), at most timeoutMs; `entry` is the
   * CLI script to run and `nodeFlags` Node's own flags (see CliProcess).
   */
  static async start(
    args: string[],
    options: { timeoutMs?: number; entry?: string; nodeFlags?: readonly string[] } = {},
  ): Promise<DaemonProcess> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const daemon = new DaemonProcess(args, options.entry, options.nodeFlags);
    const deadline = Date.now() + timeoutMs;
    while (!/^ready \(pid \d+\)$/m.test(daemon.cli.stdout)) {
      if (daemon.cli.child.exitCode !== null || daemon.cli.child.signalCode !== null) {
        throw new Error(`the daemon exited before it was ready:\n${daemon.cli.stdout}\n${daemon.cli.stderr}`);
      }
      if (Date.now() > deadline)
        throw new Error(`the daemon was not ready within ${timeoutMs} ms:\n${daemon.cli.stdout}\n${daemon.cli.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    daemon.httpPort = Number(/status pages on http:\/\/127\.0\.0\.1:(\d+)\//.exec(daemon.cli.stdout)?.[1]);
    daemon.tcpPort = Number(/listening on TCP 127\.0\.0\.1:(\d+)/.exec(daemon.cli.stdout)?.[1] ?? 0);
    return daemon;
  }

  async get(path: string): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.httpPort}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
    return response.text();
  }

  async status(): Promise<DaemonStatus> {
    return JSON.parse(await this.get('/status.json'));
  }

  async discards(): Promise<DiscardReport> {
    return JSON.parse(await this.get('/discards.json'));
  }

  /** Polls the status until `check` holds, at most timeoutMs. */
  async until(what: string, check: (status: DaemonStatus) => boolean, timeoutMs = 120_000): Promise<DaemonStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status();
      if (check(status)) return status;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; status:\n${JSON.stringify(status, null, 2)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A full garbage collection in the daemon; it must have been started with nodeFlags ['--inspect=127.0.0.1:0']. */
  async collectGarbage(): Promise<void> {
    const url = inspectorUrl(this.cli.stderr);
    if (url === undefined) throw new Error('the daemon was not started with an inspector (nodeFlags --inspect=127.0.0.1:0)');
    await collectGarbage(url);
  }

  /** SIGTERM, and its exit code. */
  async stop(timeoutMs = 60_000): Promise<number | null> {
    this.cli.child.kill('SIGTERM');
    return (await this.cli.exited(timeoutMs)).status;
  }

  kill(): void {
    this.cli.kill();
  }
}

/**
 * Runs Dory-style example client in `language` (python: send.py, perl: send.pl), which sends
 * `count` messages numbered 0.. (see the scripts for their content and routing); many can run at once.
 */
export function runDoryClient(
  language: 'python' | 'perl',
  input: 'dgram' | 'stream' | 'tcp',
  where: string,
  topic: string,
  count: number,
  prefix: string,
  baseTimestamp: number,
): Promise<void> {
  const [program, script] = language === 'python' ? ['python3', 'send.py'] : ['perl', 'send.pl'];
  const child = spawn(program, [`${CLIENTS}${script}`, input, where, topic, String(count), prefix, String(baseTimestamp)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${script} ${input} failed (${code}): ${output}`)))),
  );
}

const CLIENTS = fileURLToPath(new URL('./dory-clients/', import.meta.url));
