import { Worker } from 'node:worker_threads';
import { CompressionError, type CompressionName } from './compression.js';

/**
 * zstd and gzip batches compressed on worker threads, off the event loop: on a host with a spare
 * core the producer's main thread then only copies the records section over (a few µs per batch)
 * instead of compressing it (about 4 ms per MB for zstd, 20-30 ms per MB for gzip), see
 * bench/compression-choice.md. lz4 and snappy stay inline: they are fast enough that the hand-over
 * saves little.
 *
 * The workers run node:zlib with the options compress() uses, so their output is byte for byte
 * what compressing inline gives. They are started on first use and hold the process open only
 * while they have work.
 */

export type ThreadCodec = 'zstd' | 'gzip';

/** Whether a batch of this codec and records-section size is worth handing to a thread. */
export function worthOffloading(codec: CompressionName, bytes: number): codec is ThreadCodec {
  // Below this the fixed hand-over (a message each way, ~10-30 µs of main-thread time) eats most of the gain.
  return (codec === 'zstd' || codec === 'gzip') && bytes >= OFFLOAD_FROM_BYTES;
}

export const OFFLOAD_FROM_BYTES = 16 * 1024;

// Runs in each worker: the same zlib calls as compression.ts's gzipCompress/zstdCompress.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', ({ id, codec, level, input }) => {
  try {
    let out;
    if (codec === 'zstd') {
      out = zlib.zstdCompressSync(input, level === undefined ? undefined : { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } });
    } else {
      out = zlib.gzipSync(input, level === undefined ? undefined : { level });
    }
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.length);
    // A result that owns its whole ArrayBuffer moves over without a copy.
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    parentPort.postMessage({ id, output: bytes }, whole ? [bytes.buffer] : []);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;

interface Job {
  codec: ThreadCodec;
  resolve(output: Buffer): void;
  reject(error: Error): void;
}

interface Thread {
  worker: Worker;
  jobs: Map<number, Job>;
}

type Answer = { id: number; output: Uint8Array; error?: undefined } | { id: number; error: string };

export class CompressionThreads {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`compression threads must be a positive integer, got ${size}`);
  }

  /**
   * Compresses `input` on a thread. The input is copied before this returns, so the caller may
   * reuse its memory at once. Rejects with a CompressionError if the thread fails or goes away.
   */
  compress(codec: ThreadCodec, input: Uint8Array, level: number | undefined): Promise<Buffer> {
    if (this.closed) return Promise.reject(new CompressionError(codec, `${codec}: the compression threads are closed`));
    const thread = this.leastBusy();
    const id = this.nextId++;
    // A copy of our own to transfer: the input lives in pooled batch memory the main thread keeps.
    const copy = new Uint8Array(input);
    return new Promise<Buffer>((resolve, reject) => {
      thread.jobs.set(id, { codec, resolve, reject });
      if (thread.jobs.size === 1) thread.worker.ref();
      thread.worker.postMessage({ id, codec, level, input: copy }, [copy.buffer]);
    });
  }

  /** Stops the threads; jobs still under way reject. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private leastBusy(): Thread {
    let best: Thread | undefined;
    for (const thread of this.threads) if (best === undefined || thread.jobs.size < best.jobs.size) best = thread;
    if (best !== undefined && (best.jobs.size === 0 || this.threads.length >= this.size)) return best;
    return this.start();
  }

  private start(): Thread {
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'kafka-wire compression' });
    const thread: Thread = { worker, jobs: new Map() };
    worker.unref();
    worker.on('message', (answer: Answer) => {
      const job = thread.jobs.get(answer.id);
      if (job === undefined) return;
      thread.jobs.delete(answer.id);
      if (thread.jobs.size === 0) worker.unref();
      if (answer.error !== undefined) job.reject(new CompressionError(job.codec, `${job.codec}: compression thread: ${answer.error}`));
      else job.resolve(Buffer.from(answer.output.buffer, answer.output.byteOffset, answer.output.byteLength));
    });
    const fail = (reason: string, cause?: unknown) => {
      const at = this.threads.indexOf(thread);
      if (at >= 0) this.threads.splice(at, 1);
      for (const job of thread.jobs.values())
        job.reject(new CompressionError(job.codec, `${job.codec}: compression thread ${reason}`, { cause }));
      thread.jobs.clear();
    };
    worker.on('error', (error) => fail(`failed: ${error.message}`, error));
    worker.on('exit', (code) => fail(`exited (code ${code})`));
    this.threads.push(thread);
    return thread;
  }
}
