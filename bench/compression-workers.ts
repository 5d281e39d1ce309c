/**
 * Compressing record batches on worker threads against compressing them inline (issue 16, item 2).
 *
 *   npx tsx bench/compression-workers.ts [--mib N] [--runs N] [--codecs zstd,lz4,gzip,snappy]
 *
 * The batches are what the producer compresses: the records section of a v2 batch built by
 * RecordBatchBuilder, keyed `key-N` records carrying the bench's values (kit.ts), cut at 16 KiB
 * and 256 KiB of batch. Each codec and shape is compressed N MiB worth:
 *
 * - inline: compress() on the main thread, one batch after another;
 * - libuv: node:zlib's async zstd/gzip (the libuv threadpool; no lz4 or snappy equivalent here);
 * - pool k, copy: k workers; the main thread copies each section into an ArrayBuffer of its own and
 *   transfers it, the worker transfers the compressed bytes back;
 * - pool k, shared: the sections already live in SharedArrayBuffers (as a pool of shared batch
 *   memory would hold them); only {buffer, offset, length} is posted, the result is transferred back.
 *
 * Figures: MB/s of uncompressed input (10^6 B/s, wall time), CPU µs per MB of the main thread and of
 * the workers (process.threadCpuUsage(): process.cpuUsage() counts every thread of the process),
 * and ratio (input / output). Then the hand-over alone: a worker that compresses nothing and sends
 * 16 bytes back, one batch in flight, giving main-thread CPU and round-trip wall time per batch.
 * Medians of --runs runs. Nothing here is a test: it prints a table to stdout.
 */

import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { RecordBatchBuilder } from '../src/records/batch-builder.js';
import { type CompressionName, compress } from '../src/records/compression.js';
import { MemoryPool } from '../src/records/memory-pool.js';
import { recordValues, valueAt } from './clients/kit.js';

const BATCH_HEADER_SIZE = 61;

type Codec = Exclude<CompressionName, 'none'>;

interface Job {
  id: number;
  codec: Codec | 'echo';
  /** Either an owned, transferred ArrayBuffer, or a SharedArrayBuffer that is not copied. */
  buffer: ArrayBuffer | SharedArrayBuffer;
  offset: number;
  length: number;
}

interface Done {
  id: number;
  out: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Worker side

function workerMain(): void {
  const port = parentPort;
  if (port === null) throw new Error('no parent port');
  const reply = new Uint8Array(16);
  port.on('message', (message: Job | 'cpu') => {
    if (message === 'cpu') {
      port.postMessage({ cpu: process.threadCpuUsage() });
      return;
    }
    const input = Buffer.from(message.buffer, message.offset, message.length);
    if (message.codec === 'echo') {
      port.postMessage({ id: message.id, out: reply } satisfies Done);
      return;
    }
    const out = compress(message.codec, input);
    // Transfer the output when it owns its ArrayBuffer; otherwise copy it once, here, off the main thread.
    const owned = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : new Uint8Array(out);
    port.postMessage({ id: message.id, out: owned } satisfies Done, [owned.buffer as ArrayBuffer]);
  });
}

// ---------------------------------------------------------------------------------------------
// Main side

interface Shape {
  recordSize: number;
  batchSize: number;
}

/** Records sections of consecutive batches of one shape, as the producer would compress them. */
function makeSections(shape: Shape, count: number): Buffer[] {
  const values = recordValues(shape.recordSize);
  const pool = new MemoryPool();
  const sections: Buffer[] = [];
  let i = 0;
  const timestamp = Date.UTC(2026, 11, 2);
  const record = (n: number) => ({ key: Buffer.from(`key-${n % 10_000}`), value: valueAt(values, n), timestamp: timestamp + (n >> 8) });
  while (sections.length < count) {
    const builder = new RecordBatchBuilder({ compression: 'none' }, shape.batchSize, record(i++), pool);
    while (builder.tryAppend(record(i))) i++;
    const built = builder.build();
    sections.push(Buffer.from((built.pieces[0] as Buffer).subarray(BATCH_HEADER_SIZE)));
    built.release();
  }
  return sections;
}

/** The same sections, each in a SharedArrayBuffer of its own. */
function shareSections(sections: Buffer[]): { sab: SharedArrayBuffer; length: number }[] {
  return sections.map((section) => {
    const sab = new SharedArrayBuffer(section.length);
    new Uint8Array(sab).set(section);
    return { sab, length: section.length };
  });
}

interface Measure {
  wallMs: number;
  mainCpuUs: number;
  workerCpuUs: number;
  inputBytes: number;
  outputBytes: number;
}

function cpuUs(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

function inline(codec: Codec, sections: Buffer[], batches: number): Measure {
  let inputBytes = 0;
  let outputBytes = 0;
  const cpu = process.threadCpuUsage();
  const started = performance.now();
  for (let n = 0; n < batches; n++) {
    const section = sections[n % sections.length] as Buffer;
    inputBytes += section.length;
    outputBytes += compress(codec, section).length;
  }
  const wallMs = performance.now() - started;
  return { wallMs, mainCpuUs: cpuUs(process.threadCpuUsage(cpu)), workerCpuUs: 0, inputBytes, outputBytes };
}

/**
 * Calls start(0) … start(count - 1), never more than `inFlight` pending at once, and resolves to the sum
 * of what they resolve to. The first failure (a rejection or a throw) rejects it and stops further
 * starts, so a failed batch ends the run instead of leaving it waiting.
 */
function keepInFlight(count: number, inFlight: number, start: (i: number) => Promise<number>): Promise<number> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let pending = 0;
    let total = 0;
    let failed = false;
    const fail = (error: unknown) => {
      failed = true;
      reject(error);
    };
    const submit = () => {
      while (!failed && pending < inFlight && next < count) {
        let started: Promise<number>;
        try {
          started = start(next++);
        } catch (error) {
          return fail(error);
        }
        pending++;
        started.then((length) => {
          total += length;
          pending--;
          if (next === count && pending === 0) resolve(total);
          else submit();
        }, fail);
      }
    };
    // With nothing to start, no completion would ever resolve it.
    if (count === 0) resolve(0);
    else submit();
  });
}

/** node:zlib's async functions: the work runs on the libuv threadpool. */
async function libuv(codec: 'zstd' | 'gzip', sections: Buffer[], batches: number, window: number): Promise<Measure> {
  const run = codec === 'zstd' ? zlib.zstdCompress : zlib.gzip;
  let inputBytes = 0;
  const cpu = process.threadCpuUsage();
  const processCpu = process.cpuUsage();
  const started = performance.now();
  const outputBytes = await keepInFlight(batches, window, (i) => {
    const section = sections[i % sections.length] as Buffer;
    inputBytes += section.length;
    return new Promise((resolve, reject) => run(section, (error, out) => (error ? reject(error) : resolve(out.length))));
  });
  const wallMs = performance.now() - started;
  const mainCpuUs = cpuUs(process.threadCpuUsage(cpu));
  // The threadpool's threads are not ours to ask; take them as the rest of the process's CPU.
  return { wallMs, mainCpuUs, workerCpuUs: cpuUs(process.cpuUsage(processCpu)) - mainCpuUs, inputBytes, outputBytes };
}

class Pool {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, (done: Done) => void>();
  private nextId = 0;
  private turn = 0;

  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(new URL(import.meta.url));
      worker.on('message', (message: Done | { cpu: NodeJS.CpuUsage }) => {
        if ('cpu' in message) return;
        const resolve = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        resolve?.(message);
      });
      worker.on('error', (error) => {
        console.error(error);
        process.exit(1);
      });
      return worker;
    });
  }

  /** Posts one job to the next worker in turn; `transfer` is the job's own buffer when it is not shared. */
  run(job: Omit<Job, 'id'>, transfer: ArrayBuffer[]): Promise<Done> {
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length] as Worker;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ ...job, id }, transfer);
    });
  }

  /** The CPU time each worker thread has used so far, summed. */
  async cpuUs(): Promise<number> {
    const each = await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<number>((resolve) => {
            const listen = (message: { cpu?: NodeJS.CpuUsage }) => {
              if (!message.cpu) return;
              worker.off('message', listen);
              resolve(cpuUs(message.cpu));
            };
            worker.on('message', listen);
            worker.postMessage('cpu');
          }),
      ),
    );
    return each.reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

type Handover = 'copy' | 'shared';

async function pooled(
  pool: Pool,
  codec: Codec | 'echo',
  handover: Handover,
  sections: Buffer[],
  shared: { sab: SharedArrayBuffer; length: number }[],
  batches: number,
  window: number,
): Promise<Measure> {
  let inputBytes = 0;
  const workerCpu = await pool.cpuUs();
  const cpu = process.threadCpuUsage();
  const started = performance.now();
  const outputBytes = await keepInFlight(batches, window, (i) => {
    const n = i % sections.length;
    let job: Omit<Job, 'id'>;
    let transfer: ArrayBuffer[] = [];
    if (handover === 'copy') {
      const owned = new Uint8Array(sections[n] as Buffer); // one copy, into a buffer the worker may take
      job = { codec, buffer: owned.buffer, offset: 0, length: owned.length };
      transfer = [owned.buffer];
    } else {
      const { sab, length } = shared[n] as { sab: SharedArrayBuffer; length: number };
      job = { codec, buffer: sab, offset: 0, length };
    }
    inputBytes += job.length;
    return pool.run(job, transfer).then((done) => done.out.length);
  });
  const wallMs = performance.now() - started;
  const mainCpuUs = cpuUs(process.threadCpuUsage(cpu));
  return { wallMs, mainCpuUs, workerCpuUs: (await pool.cpuUs()) - workerCpu, inputBytes, outputBytes };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const mib = Number(option('--mib', '32'));
  const runs = Number(option('--runs', '3'));
  const codecs = option('--codecs', 'zstd,lz4,gzip').split(',').filter(Boolean) as Codec[];
  const shapes: Shape[] = [
    { recordSize: 100, batchSize: 16 * 1024 },
    { recordSize: 100, batchSize: 256 * 1024 },
    { recordSize: 1024, batchSize: 16 * 1024 },
    { recordSize: 1024, batchSize: 256 * 1024 },
  ];
  console.log(`Node ${process.version}, ${availableParallelism()} CPUs, ${mib} MiB per measurement, median of ${runs} runs`);
  const pools = new Map([1, 2].map((size) => [size, new Pool(size)]));
  const row = (cells: (string | number)[]) => console.log(`| ${cells.join(' | ')} |`);
  row(['codec', 'record', 'batch', 'mode', 'MB/s', 'main CPU µs/MB', 'other-thread CPU µs/MB', 'ratio']);
  row(['---', '---', '---', '---', '---:', '---:', '---:', '---:']);
  for (const codec of codecs) {
    for (const shape of shapes) {
      const sections = makeSections(shape, 32);
      const shared = shareSections(sections);
      const mean = sections.reduce((a, s) => a + s.length, 0) / sections.length;
      const batches = Math.ceil((mib * 1024 * 1024) / mean);
      const modes: [string, () => Promise<Measure>][] = [['inline', async () => inline(codec, sections, batches)]];
      if (codec === 'zstd' || codec === 'gzip') modes.push(['libuv ×4', () => libuv(codec, sections, batches, 8)]);
      for (const [size, pool] of pools) {
        for (const handover of ['copy', 'shared'] as const) {
          modes.push([`pool ${size}, ${handover}`, () => pooled(pool, codec, handover, sections, shared, batches, 4 * size)]);
        }
      }
      for (const [mode, measure] of modes) {
        await measure(); // warm-up
        const results: Measure[] = [];
        for (let r = 0; r < runs; r++) results.push(await measure());
        const mb = (m: Measure) => m.inputBytes / 1e6;
        row([
          codec,
          shape.recordSize === 100 ? '100 B' : '1 KiB',
          shape.batchSize === 16 * 1024 ? '16 KiB' : '256 KiB',
          mode,
          median(results.map((m) => mb(m) / (m.wallMs / 1000))).toFixed(0),
          median(results.map((m) => m.mainCpuUs / mb(m))).toFixed(0),
          median(results.map((m) => m.workerCpuUs / mb(m))).toFixed(0),
          median(results.map((m) => m.inputBytes / m.outputBytes)).toFixed(2),
        ]);
      }
    }
  }

  console.log('\nHand-over alone (echo worker; 2,000 batches, one in flight, then four):');
  row(['batch', 'hand-over', 'main CPU µs/batch (1 in flight)', 'round trip µs (1 in flight)', 'main CPU µs/batch (4 in flight)']);
  row(['---', '---', '---:', '---:', '---:']);
  const pool = pools.get(1) as Pool;
  for (const batchSize of [16 * 1024, 256 * 1024]) {
    const sections = makeSections({ recordSize: 1024, batchSize }, 8);
    const shared = shareSections(sections);
    for (const handover of ['copy', 'shared'] as const) {
      const perBatch = async (window: number) => {
        await pooled(pool, 'echo', handover, sections, shared, 500, window);
        const results: Measure[] = [];
        for (let r = 0; r < runs; r++) results.push(await pooled(pool, 'echo', handover, sections, shared, 2000, window));
        return { cpu: median(results.map((m) => m.mainCpuUs / 2000)), wall: median(results.map((m) => (m.wallMs * 1000) / 2000)) };
      };
      const one = await perBatch(1);
      const four = await perBatch(4);
      row([batchSize === 16 * 1024 ? '16 KiB' : '256 KiB', handover, one.cpu.toFixed(1), one.wall.toFixed(1), four.cpu.toFixed(1)]);
    }
  }
  for (const each of pools.values()) await each.close();
}

if (isMainThread) await main();
else workerMain();
