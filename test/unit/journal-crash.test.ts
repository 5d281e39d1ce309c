import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { Journal } from '../../src/durable/journal.js';
import type { JournalSync } from '../../src/durable/journal-options.js';
import { allGenuine, ids, openJournal, payloadFor, range, readAll, tempDir, typeFor } from '../support/journal.js';
import { Random } from '../support/random.js';

const CHILD = fileURLToPath(new URL('../support/journal-crash-child.ts', import.meta.url));
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Child {
  process: ChildProcess;
  lines: AsyncIterator<string>;
  exited: Promise<void>;
}

function startChild(dir: string, sync: JournalSync, mode: 'append' | 'hold'): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, sync, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { process: child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator](), exited };
}

async function nextLine(child: Child): Promise<string> {
  const { value, done } = await child.lines.next();
  if (done) throw new Error('the child exited early');
  return value;
}

async function kill(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

describe('a process killed with SIGKILL while appending', () => {
  const SEED = 1312;
  test('loses nothing whose promise resolved, over a loop of kills (some during the read-back at start)', async () => {
    const random = new Random(SEED);
    const dir = tempDir('crash');
    let durableThrough = 0;
    const found: number[] = [];
    for (let round = 0; round < 6; round++) {
      const context = `seed ${SEED}, round ${round}`;
      const child = startChild(dir, round === 5 ? 'always' : 'none', 'append');
      const opened = await nextLine(child);
      expect(opened, context).toMatch(/^open \d+$/);
      expect(Number(opened.slice(5)), context).toBeGreaterThan(durableThrough);
      // Kill at once (during the read-back) in some rounds, after some durable turns in the others.
      const turns = random.chance(0.25) ? 0 : random.int(1, 40);
      let seen = 0;
      while (seen < turns) {
        const line = await nextLine(child);
        if (line.startsWith('verified')) expect(line, context).toMatch(/^verified \d+ 0$/);
        if (line.startsWith('durable ')) {
          durableThrough = Math.max(durableThrough, Number(line.slice(8)));
          seen++;
        }
      }
      await kill(child);

      const { journal, recovery } = await Journal.open({ dir, sync: 'none' });
      const entries = await readAll(journal);
      await journal.close();
      expect(allGenuine(entries), context).toBe(true);
      // Ids from 1 with no gap, through at least the last one reported durable.
      expect(ids(entries), context).toEqual(range(1, entries.length));
      expect(entries.length, context).toBeGreaterThanOrEqual(durableThrough);
      // A SIGKILL may cut one write short; nothing else is ever found damaged.
      expect(
        recovery.issues.every((issue) => issue.kind === 'truncated-entry'),
        context,
      ).toBe(true);
      expect(recovery.staleLock?.pid, context).toBe(child.process.pid);
      found.push(entries.length);
    }
    expect(durableThrough).toBeGreaterThan(0);
    // The kills came at different points: the journal grew between them.
    expect(new Set(found).size).toBeGreaterThan(3);
  }, 120_000);
});

describe('a power loss, simulated by cutting each segment to what fsync covered', () => {
  const SEED = 77;
  test('with sync "interval", every entry whose promise resolved before the cut is recovered', async () => {
    const random = new Random(SEED);
    const dir = tempDir('power');
    const { journal } = await openJournal({ dir, sync: 'interval', syncIntervalMs: 2, segmentBytes: 8192 });
    let durableThrough = 0;
    const snapshots: { dir: string; durableThrough: number }[] = [];
    for (let turn = 0; turn < 400; turn++) {
      let last: ReturnType<Journal['append']> | undefined;
      for (let n = random.int(1, 30); n > 0; n--) last = journal.append(typeFor(journal.nextId), payloadFor(journal.nextId));
      const { id, durable } = last!;
      void durable.then(() => void (durableThrough = Math.max(durableThrough, id)));
      if (random.chance(0.04)) {
        const copy = tempDir('power-copy');
        for (const { path, bytes } of journal.fsyncedLengths()) {
          const synced = readFileSync(path).subarray(0, bytes);
          // What was not synced may be gone, or half there as zeros or stale bytes.
          const tail = random.pick(['gone', 'zeros', 'garbage']);
          const extra = tail === 'gone' ? Buffer.alloc(0) : Buffer.alloc(random.int(1, 300), tail === 'zeros' ? 0 : random.int(1, 255));
          writeFileSync(join(copy, basename(path)), Buffer.concat([synced, extra]));
        }
        snapshots.push({ dir: copy, durableThrough });
      }
      await (random.chance(0.5) ? nextTurn() : new Promise((resolve) => setTimeout(resolve, random.int(0, 3))));
    }
    expect(snapshots.length).toBeGreaterThan(5);
    for (const [n, snapshot] of snapshots.entries()) {
      const context = `seed ${SEED}, snapshot ${n}`;
      const recovered = await openJournal({ dir: snapshot.dir, sync: 'none' });
      const entries = await readAll(recovered.journal);
      await recovered.journal.close();
      expect(allGenuine(entries), context).toBe(true);
      expect(ids(entries).slice(0, snapshot.durableThrough), context).toEqual(range(1, snapshot.durableThrough));
    }
  }, 60_000);
});

describe('the lock', () => {
  test('a live process holding the journal is named in the error; once it is killed its lock is taken over', async () => {
    const dir = tempDir('lock');
    const child = startChild(dir, 'none', 'hold');
    try {
      expect(await nextLine(child)).toBe('ready');
      const error = await Journal.open({ dir }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ name: 'JournalLockedError', holderPid: child.process.pid, lockFile: join(dir, 'LOCK') });
      expect((error as Error).message).toContain(`process ${child.process.pid} holds it`);
    } finally {
      await kill(child);
    }
    const { recovery } = await openJournal({ dir });
    expect(recovery.staleLock?.pid).toBe(child.process.pid);
  }, 30_000);
});
