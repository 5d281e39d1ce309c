import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A slow disk under chosen directories (faults/slow-disk.c, preloaded into this process and every
 * process it starts): the brokers' log writes and the journals' writes and fsyncs take longer, in
 * the real system calls, while sockets and every other file run at full speed.
 */

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'slow-disk.c');
const CONTROL_ENV = 'KW_SLOW_DISK_CONTROL';

export interface SlowDirectory {
  dir: string;
  /** Added to every write(), pwrite() and writev() of a file under `dir`. */
  writeMs: number;
  /** Added to every fsync() and fdatasync() of one. */
  fsyncMs: number;
}

/** Compiles the shim once per source version (gcc), into the temporary directory. */
function buildShim(): string {
  const source = readFileSync(SOURCE);
  const shim = join(tmpdir(), `kafka-wire-slow-disk-${createHash('sha256').update(source).digest('hex').slice(0, 12)}.so`);
  if (existsSync(shim)) return shim;
  const building = `${shim}.${process.pid}`;
  const gcc = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-o', building, SOURCE, '-ldl'], { encoding: 'utf8', timeout: 60_000 });
  if (gcc.error || gcc.status !== 0) {
    throw new Error(`the slow-disk shim did not build (gcc is needed): ${gcc.error?.message ?? gcc.stderr}`);
  }
  renameSync(building, shim);
  return shim;
}

/** Whether the shim is preloaded into this process (a control file is named for it). */
export function slowDiskReady(): boolean {
  return process.env[CONTROL_ENV] !== undefined && (process.env.LD_PRELOAD ?? '').includes('kafka-wire-slow-disk-');
}

/**
 * Runs this script again with the shim preloaded, and exits with its code: LD_PRELOAD takes effect
 * only when a process starts. Every process the new one starts inherits it.
 */
export async function rerunWithSlowDisk(): Promise<never> {
  const control = join(tmpdir(), `kafka-wire-slow-disk-${process.pid}.rules`);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...slowDiskEnv(control) },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) => child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))));
  rmSync(control, { force: true });
  process.exit(code);
}

/** The environment that preloads the shim into a process, its rules read from the file `control`. */
export function slowDiskEnv(control: string): Record<string, string> {
  return { LD_PRELOAD: [buildShim(), process.env.LD_PRELOAD].filter(Boolean).join(' '), [CONTROL_ENV]: control };
}

/** Slows the given directories in this process and its children from now on, or none with []. */
export function slowDisk(directories: readonly SlowDirectory[]): void {
  const control = process.env[CONTROL_ENV];
  if (control === undefined || !slowDiskReady()) throw new Error('the slow-disk shim is not preloaded (see rerunWithSlowDisk)');
  writeSlowDiskRules(control, directories);
}

/** Writes the rules to the file `control`: the shim re-reads them within 100 ms. No directories, no delays. */
export function writeSlowDiskRules(control: string, directories: readonly SlowDirectory[]): void {
  if (directories.length === 0) {
    rmSync(control, { force: true });
    return;
  }
  const rules = directories.map(({ dir: given, writeMs, fsyncMs }) => {
    // The shim matches the paths the kernel gives (/proc/self/fd), with every symbolic link resolved.
    const dir = realpathSync(given);
    if (/\s/.test(dir)) throw new Error(`the slow-disk shim takes directories without spaces: ${dir}`);
    return `${dir} ${Math.round(writeMs * 1000)} ${Math.round(fsyncMs * 1000)}\n`;
  });
  // Written whole, then renamed: the shim never reads half a file.
  writeFileSync(`${control}.next`, rules.join(''));
  renameSync(`${control}.next`, control);
}
