import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { slowDiskEnv, writeSlowDiskRules } from '../../faults/slow-disk.js';

/**
 * The slow disk of the faults suite (faults/slow-disk.c): preloaded into a Node child, it delays
 * writes and fsyncs of files under the chosen directory, and nothing else. The delays are lower
 * bounds (a sleep lasts at least its time); the undelayed case is checked against a delay far
 * above what a write takes on a busy machine.
 */

const run = promisify(execFile);
const base = mkdtempSync(join(tmpdir(), 'kw-slow-disk-test-'));
const slow = join(base, 'slow');
const fast = join(base, 'fast');
mkdirSync(slow);
mkdirSync(fast);
const control = join(base, 'rules');

afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Milliseconds a child takes to write `writes` small chunks to `file` and fdatasync it, timed in the child. */
async function timedWrites(file: string, writes: number): Promise<number> {
  const script = `
    const { openSync, writeSync, fdatasyncSync, closeSync } = require('node:fs');
    const started = performance.now();
    const fd = openSync(${JSON.stringify(file)}, 'w');
    for (let i = 0; i < ${writes}; i++) writeSync(fd, 'record\\n');
    fdatasyncSync(fd);
    closeSync(fd);
    console.log(performance.now() - started);`;
  const { stdout } = await run(process.execPath, ['-e', script], { env: { ...process.env, ...slowDiskEnv(control) }, timeout: 30_000 });
  return Number(stdout.trim());
}

describe('slow disk shim', () => {
  test('writes and fsyncs under the chosen directory take at least their delays', async () => {
    writeSlowDiskRules(control, [{ dir: slow, writeMs: 40, fsyncMs: 300 }]);
    expect(await timedWrites(join(slow, 'journal'), 5)).toBeGreaterThanOrEqual(5 * 40 + 300);
  });

  test('files elsewhere are not delayed', async () => {
    writeSlowDiskRules(control, [{ dir: slow, writeMs: 5000, fsyncMs: 5000 }]);
    expect(await timedWrites(join(fast, 'journal'), 1)).toBeLessThan(5000);
  });

  test('no rules, no delays', async () => {
    writeSlowDiskRules(control, []);
    expect(await timedWrites(join(slow, 'journal'), 1)).toBeLessThan(5000);
  });
});
