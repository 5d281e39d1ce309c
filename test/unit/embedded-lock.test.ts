import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { EmbeddedKafkaError } from '../../src/embedded/errors.js';
import { withLock } from '../../src/embedded/lock.js';

const dir = mkdtempSync(join(tmpdir(), 'kafka-wire-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('two holders take turns: the second body starts after the first has ended', async () => {
  const file = join(dir, 'turns.lock');
  const events: string[] = [];
  const holder = (label: string) => async () => {
    events.push(`${label} in`);
    await sleep(100);
    events.push(`${label} out`);
  };
  await Promise.all([withLock(file, 5000, holder('a')), withLock(file, 5000, holder('b'))]);
  expect(events).toEqual(['a in', 'a out', 'b in', 'b out']);
  expect(existsSync(file)).toBe(false);
});

test('the lock is given back when the body throws', async () => {
  const file = join(dir, 'throws.lock');
  await expect(
    withLock(file, 1000, async () => {
      throw new Error('body failed');
    }),
  ).rejects.toThrow('body failed');
  expect(existsSync(file)).toBe(false);
  expect(await withLock(file, 1000, async () => 'again')).toBe('again');
});

test('a lock whose holder has died is taken over', async () => {
  const file = join(dir, 'stale.lock');
  const exited = spawnSync(process.execPath, ['-e', '']);
  expect(exited.status).toBe(0);
  writeFileSync(file, `${exited.pid} 0123456789abcdef\n`);
  expect(await withLock(file, 1000, async () => 'taken over')).toBe('taken over');
  expect(existsSync(file)).toBe(false);
});

test('a live holder: the wait ends after the timeout with BUSY, naming the holder, and the body never runs', async () => {
  const file = join(dir, 'held.lock');
  writeFileSync(file, `${process.pid} 0123456789abcdef\n`);
  let ran = false;
  const startedAt = Date.now();
  const error = await withLock(file, 300, async () => {
    ran = true;
  }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(EmbeddedKafkaError);
  expect((error as EmbeddedKafkaError).reason).toBe('BUSY');
  expect((error as Error).message).toContain(`pid ${process.pid}`);
  expect((error as Error).message).toContain(file);
  expect(ran).toBe(false);
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
  expect(existsSync(file)).toBe(true); // someone else's lock is left alone
});
