import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../src/embedded/paths.js';

/** compat/kfake: the Go program (main.go, go.mod, go.sum) that runs franz-go's kfake. */
export const KFAKE_SOURCE_DIR = fileURLToPath(new URL('./kfake/', import.meta.url));
const SOURCE_FILES = ['main.go', 'go.mod', 'go.sum'];
const KFAKE_MODULE = 'github.com/twmb/franz-go/pkg/kfake';
const BUILD_TIMEOUT_MS = 10 * 60_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** The line the program prints once all three of its clusters listen. */
export interface KfakeReady {
  ready: true;
  pid: number;
  kfakeVersion: string;
  franzGoVersion: string;
  brokers: number;
  bootstrap: { plaintext: string; saslPlaintext: string; ssl: string };
  sasl: { username: string; password: string; mechanisms: string[] };
  caFile: string;
}

export class KfakeError extends Error {
  override readonly name = 'KfakeError';
}

/** The Go toolchain: `go` on PATH, else where the official tarball installs it. */
export function findGo(): string {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    const probe = spawnSync(candidate, ['version'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  throw new KfakeError('kfake needs the Go toolchain (go 1.26 or newer): neither `go` on PATH nor /usr/local/go/bin/go runs');
}

/** The version go.mod pins for a module, read from its require line. */
export function pinnedVersion(goMod: string, module: string): string {
  const match = new RegExp(`^\\s*(?:require\\s+)?${module.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(goMod);
  if (!match?.[1]) throw new KfakeError(`compat/kfake/go.mod requires no version of ${module}`);
  return match[1];
}

/** The kfake and franz-go versions compat/kfake/go.mod pins (the row's name before kfake has run). */
export function pinnedVersions(): { kfake: string; franzGo: string } {
  const goMod = readFileSync(join(KFAKE_SOURCE_DIR, 'go.mod'), 'utf8');
  return { kfake: pinnedVersion(goMod, KFAKE_MODULE), franzGo: pinnedVersion(goMod, 'github.com/twmb/franz-go') };
}

/**
 * The Go build environment: the module graph exactly as go.mod and go.sum pin it (a build may
 * never rewrite them), outside any go.work, with no VCS stamp (git may refuse a checkout owned by
 * another user); modules come from whatever proxy Go is set up with.
 */
function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false', GOWORK: 'off' };
}

/**
 * Builds the program into the cache (~/.cache/kafka-wire/kfake/<version>-<hash>/kfake) unless a
 * build of the same sources with the same Go is there already; returns the binary's path.
 */
export function buildKfake(log: (line: string) => void = () => {}): string {
  const go = findGo();
  const goVersion = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim();
  const hash = createHash('sha256').update(goVersion);
  for (const file of SOURCE_FILES) hash.update(`\0${file}\0`).update(readFileSync(join(KFAKE_SOURCE_DIR, file)));
  const dir = join(cacheRoot(), 'kfake', `${pinnedVersions().kfake}-${hash.digest('hex').slice(0, 12)}`);
  const binary = join(dir, 'kfake');
  if (existsSync(binary)) return binary;

  mkdirSync(dir, { recursive: true });
  log(`building kfake with ${goVersion} into ${dir} (the first build downloads its modules; about a minute)`);
  const scratch = `${binary}.${process.pid}.tmp`;
  const build = spawnSync(go, ['build', '-trimpath', '-o', scratch, '.'], {
    cwd: KFAKE_SOURCE_DIR,
    env: goEnv(),
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (build.status !== 0) {
    rmSync(scratch, { force: true });
    throw new KfakeError(`go build of compat/kfake failed: ${build.error?.message ?? `${build.stderr}${build.stdout}`.trim()}`);
  }
  // Renamed into place only when whole, so a build cut short is never taken for a finished one.
  renameSync(scratch, binary);
  return binary;
}

export interface StartKfakeOptions {
  /** Node n listens on portBase + 10(n−1): +0 plaintext, +1 SASL over plaintext, +2 TLS. */
  portBase: number;
  brokers?: number;
  /** Where the program writes its CA certificate. */
  dir: string;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
  /** kfake's own log (none, error, warn, info, debug), passed on to `log` as it comes. */
  kfakeLog?: string;
}

/** A running kfake: its ready line, and a way to stop it. */
export interface RunningKfake {
  info: KfakeReady;
  /** Resolves with the exit code (or signal) once the process has gone. */
  readonly exited: Promise<number | string>;
  stop(): Promise<void>;
}

/** Parses the ready line; anything else on stdout first is a broken program. */
export function parseReadyLine(line: string): KfakeReady {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new KfakeError(`kfake printed "${line.slice(0, 200)}" instead of its JSON ready line`);
  }
  const info = parsed as Partial<KfakeReady>;
  if (info.ready !== true || !info.bootstrap?.plaintext || !info.bootstrap.saslPlaintext || !info.bootstrap.ssl || !info.caFile) {
    throw new KfakeError(`kfake's ready line lacks a field: ${line.slice(0, 300)}`);
  }
  return info as KfakeReady;
}

/**
 * Starts kfake as a child process with a pipe on its stdin: it exits when that pipe closes, so
 * it ends with this process however this one ends. Resolves once it has printed its ready line.
 */
export async function startKfake(options: StartKfakeOptions): Promise<RunningKfake> {
  const binary = buildKfake(options.log);
  mkdirSync(options.dir, { recursive: true });
  const args = ['-port-base', String(options.portBase), '-brokers', String(options.brokers ?? 1), '-dir', options.dir, '-watch-stdin'];
  if (options.kfakeLog) args.push('-log', options.kfakeLog);
  // In a process group of its own, so a Ctrl-C in the terminal reaches only us, and we stop it in order.
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  // Closing the pipe is how it is told to stop; a write error after it has gone means nothing.
  child.stdin.on('error', () => {});
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
    if (options.kfakeLog) options.log?.(chunk.trimEnd());
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  try {
    const info = await readyLine(child, exited, options.readyTimeoutMs ?? READY_TIMEOUT_MS, () => stderr);
    return { info, exited, stop: () => stopChild(child, exited) };
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
}

function readyLine(
  child: ChildProcessByStdio<Writable, Readable, Readable>,
  exited: Promise<number | string>,
  timeoutMs: number,
  stderr: () => string,
): Promise<KfakeReady> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new KfakeError(`kfake printed no ready line within ${timeoutMs} ms: ${stderr().trim()}`)),
      timeoutMs,
    );
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end < 0) return;
      clearTimeout(timer);
      try {
        resolve(parseReadyLine(buffered.slice(0, end)));
      } catch (error) {
        reject(error);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new KfakeError(`kfake exited (${code}) before it was ready: ${stderr().trim() || '(nothing on stderr)'}`));
    });
  });
}

/** Closes its stdin (it exits on that), then SIGTERM, then SIGKILL if it still runs. */
async function stopChild(child: ChildProcessByStdio<Writable, Readable, Readable>, exited: Promise<number | string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin.end();
  const gone = (ms: number) => Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), ms).unref())]);
  if (await gone(2000)) return;
  child.kill('SIGTERM');
  if (await gone(STOP_TIMEOUT_MS)) return;
  child.kill('SIGKILL');
  await exited;
}
