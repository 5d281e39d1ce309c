/**
 * npx tsx bench/journal.ts [--entries N] [--payload BYTES] [--per-tick N] [--window N] [--rate N]
 *                          [--dir PATH] [--modes none,interval,always]
 *
 * The durable journal (src/durable/journal.ts) alone, with each sync mode ('none', 'interval' at
 * 10 ms, 'always'), N appends of BYTES-byte payloads run twice:
 * - flat out: up to PER_TICK appends per event-loop turn while fewer than WINDOW are not yet durable
 *   (a producer's bounded buffer): appends/s until the last is durable, CPU per append, latency;
 *   then the time to read everything back;
 * - paced: RATE appends/s spread over the turns, for the latency of a journal that keeps up.
 * Latency is from append() to its promise resolving (p50/p99/max over entries). Writes
 * bench/results/journal-latest.json.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Journal } from '../src/durable/journal.js';
import type { JournalSync } from '../src/durable/journal-options.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    payload: { type: 'string', default: '150' },
    'per-tick': { type: 'string', default: '1000' },
    window: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '250000' },
    dir: { type: 'string' },
    modes: { type: 'string', default: 'none,interval,always' },
  },
});
const ENTRIES = Number(values.entries);
const PAYLOAD_BYTES = Number(values.payload);
const PER_TICK = Number(values['per-tick']);
const WINDOW = Number(values.window);
const RATE = Number(values.rate);
const MODES = values.modes.split(',') as JournalSync[];
const baseDir = values.dir ?? tmpdir();

// A few distinct payloads, so the CRC and the copies see varied bytes.
const payloads = Array.from({ length: 64 }, (_, n) => {
  const payload = Buffer.allocUnsafe(PAYLOAD_BYTES);
  for (let i = 0; i < PAYLOAD_BYTES; i++) payload[i] = (i * 31 + n * 7) & 0xff;
  return payload;
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Latency {
  p50: number;
  p99: number;
  max: number;
}

interface Row {
  sync: string;
  /** Flat out, at most WINDOW entries not yet durable. */
  appendsPerSecond: number;
  cpuMicrosPerAppend: number;
  latencyMs: Latency;
  fsyncs: number;
  /** At a steady RATE appends/s. */
  pacedLatencyMs: Latency;
  pacedFsyncs: number;
  readBackPerSecond: number;
}

/** Entries appended in one turn settle together: a sample is their shared latency and how many they were. */
interface Sample {
  ms: number;
  weight: number;
}

function percentile(samples: Sample[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a.ms - b.ms);
  const total = sorted.reduce((sum, sample) => sum + sample.weight, 0);
  let seen = 0;
  for (const sample of sorted) {
    seen += sample.weight;
    if (seen >= total * fraction) return sample.ms;
  }
  return sorted[sorted.length - 1]?.ms ?? 0;
}

function latency(samples: Sample[]): Latency {
  return {
    p50: +percentile(samples, 0.5).toFixed(2),
    p99: +percentile(samples, 0.99).toFixed(2),
    max: +percentile(samples, 1).toFixed(2),
  };
}

interface Load {
  /** How many to append in this turn, given how many are done and how many are not yet durable. */
  quota(done: number, outstanding: number, elapsedMs: number): number;
}

const flatOut: Load = { quota: (_done, outstanding) => Math.max(0, Math.min(PER_TICK, WINDOW - outstanding)) };
const paced: Load = { quota: (done, _outstanding, elapsedMs) => Math.max(0, Math.floor((elapsedMs * RATE) / 1000) - done) };

/** Appends ENTRIES entries as `load` allows; returns the latency samples and the time until the last one was durable. */
async function drive(journal: Journal, load: Load): Promise<{ samples: Sample[]; elapsedMs: number }> {
  const samples: Sample[] = [];
  const settled: Promise<void>[] = [];
  let outstanding = 0;
  const started = performance.now();
  for (let done = 0; done < ENTRIES; ) {
    const turnStarted = performance.now();
    let promise: Promise<void> | undefined;
    let weight = 0;
    const record = () => {
      if (promise === undefined) return;
      const sample = { ms: 0, weight };
      samples.push(sample);
      outstanding += weight;
      settled.push(
        promise.then(() => {
          sample.ms = performance.now() - turnStarted;
          outstanding -= sample.weight;
        }),
      );
    };
    const end = Math.min(ENTRIES, done + load.quota(done, outstanding, turnStarted - started));
    for (; done < end; done++) {
      const { durable } = journal.append(1, payloads[done & 63]!);
      if (durable !== promise) {
        record();
        promise = durable;
        weight = 0;
      }
      weight++;
    }
    record();
    await nextTurn();
  }
  await Promise.all(settled);
  return { samples, elapsedMs: performance.now() - started };
}

async function withJournal<T>(sync: JournalSync, body: (journal: Journal) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(baseDir, `journal-bench-${sync}-`));
  try {
    const { journal } = await Journal.open({ dir, sync, syncIntervalMs: 10, maxDiskBytes: 4 * 2 ** 30 });
    try {
      return await body(journal);
    } finally {
      await journal.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(sync: JournalSync): Promise<Row> {
  const flat = await withJournal(sync, async (journal) => {
    const cpuBefore = process.cpuUsage();
    const { samples, elapsedMs } = await drive(journal, flatOut);
    const cpu = process.cpuUsage(cpuBefore);
    const fsyncs = journal.stats().fsyncs;
    const readStarted = performance.now();
    let read = 0;
    for await (const entry of journal.readFrom(1)) read += entry.payload.length === PAYLOAD_BYTES ? 1 : 0;
    const readElapsed = performance.now() - readStarted;
    if (read !== ENTRIES) throw new Error(`read back ${read} entries of ${ENTRIES}`);
    return { samples, elapsedMs, cpu, fsyncs, readElapsed };
  });
  const steady = await withJournal(sync, async (journal) => ({ ...(await drive(journal, paced)), fsyncs: journal.stats().fsyncs }));
  return {
    sync,
    appendsPerSecond: Math.round(ENTRIES / (flat.elapsedMs / 1000)),
    cpuMicrosPerAppend: +((flat.cpu.user + flat.cpu.system) / ENTRIES).toFixed(3),
    latencyMs: latency(flat.samples),
    fsyncs: flat.fsyncs,
    pacedLatencyMs: latency(steady.samples),
    pacedFsyncs: steady.fsyncs,
    readBackPerSecond: Math.round(ENTRIES / (flat.readElapsed / 1000)),
  };
}

// Warm-up: lets the JIT compile the append path before anything is measured.
await withJournal('none', (journal) => drive(journal, flatOut));

const rows: Row[] = [];
for (const sync of MODES) rows.push(await run(sync));

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`;
console.log(`journal: ${ENTRIES} appends of ${PAYLOAD_BYTES} bytes in ${baseDir}; ${machine}`);
console.log(`flat out: up to ${PER_TICK} appends per turn, at most ${WINDOW} not yet durable; paced: ${RATE} appends/s\n`);
const columns: [string, number, (row: Row) => string | number][] = [
  ['sync', 9, (row) => row.sync],
  ['appends/s', 10, (row) => row.appendsPerSecond],
  ['CPU us/append', 13, (row) => row.cpuMicrosPerAppend],
  ['p50 ms', 7, (row) => row.latencyMs.p50],
  ['p99 ms', 7, (row) => row.latencyMs.p99],
  ['fsyncs', 6, (row) => row.fsyncs],
  ['paced p50', 9, (row) => row.pacedLatencyMs.p50],
  ['paced p99', 9, (row) => row.pacedLatencyMs.p99],
  ['paced max', 9, (row) => row.pacedLatencyMs.max],
  ['fsyncs', 6, (row) => row.pacedFsyncs],
  ['read back/s', 11, (row) => row.readBackPerSecond],
];
console.log(columns.map(([title, width]) => title.padStart(width)).join('  '));
for (const row of rows) console.log(columns.map(([, width, value]) => String(value(row)).padStart(width)).join('  '));
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const settings = { entries: ENTRIES, payloadBytes: PAYLOAD_BYTES, perTick: PER_TICK, window: WINDOW, rate: RATE, dir: baseDir };
writeFileSync(
  `${resultsDir}journal-latest.json`,
  `${JSON.stringify({ machine, date: new Date().toISOString(), settings, rows }, null, 2)}\n`,
);
