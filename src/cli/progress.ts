/** Progress reporting and latency bookkeeping for the CLI's load-style commands (produce --count, demo). */

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatMB(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

function formatSeconds(ms: number): string {
  return ms >= 100_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

export interface ProgressOptions {
  label: string;
  total: number;
  /** Records done so far. */
  done: () => number;
  /** Bytes done so far, for a MB/s figure. */
  bytes?: () => number;
  /**
   * A status note shown at the end of the line while it returns one (e.g. "no broker answers"),
   * asked at every redraw; undefined shows none.
   */
  note?: () => string | undefined;
  stream?: NodeJS.WriteStream;
  /** Redraw period on a terminal; default 200 ms. */
  ttyIntervalMs?: number;
  /** Line period when not a terminal; default 2000 ms. */
  lineIntervalMs?: number;
}

/**
 * A live progress bar on a terminal (redrawn in place), or one line every couple of seconds
 * when the stream is a file or pipe.
 */
export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly startedAt = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
  }

  start(): this {
    const period = this.tty ? (this.options.ttyIntervalMs ?? 200) : (this.options.lineIntervalMs ?? 2000);
    this.timer = setInterval(() => this.draw(), period);
    this.timer.unref();
    return this;
  }

  /** Stops updating; on a terminal draws the final state and ends the line. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) {
      this.draw();
      if (this.drawn) this.stream.write('\n');
    }
  }

  private draw(): void {
    const { label, total } = this.options;
    const done = this.options.done();
    const elapsed = performance.now() - this.startedAt;
    const rate = elapsed > 0 ? (done * 1000) / elapsed : 0;
    const bytes = this.options.bytes?.();
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const mbps = bytes !== undefined && elapsed > 0 ? `  ${((bytes * 1000) / elapsed / 1_000_000).toFixed(1)} MB/s` : '';
    const eta = rate > 0 && done < total ? `  ETA ${formatSeconds(((total - done) / rate) * 1000)}` : '';
    const note = this.options.note?.();
    const counts = `${(fraction * 100).toFixed(1).padStart(5)}%  ${formatCount(done)}/${formatCount(total)}`;
    const figures = `${counts}  ${formatCount(rate)} rec/s${mbps}${eta}${note ? `  (${note})` : ''}`;
    if (this.tty) {
      const columns = this.stream.columns ?? 100;
      const width = Math.max(10, Math.min(40, columns - label.length - figures.length - 6));
      const filled = Math.round(fraction * width);
      const bar = `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (filled === width ? '=' : '>') : ''}${' '.repeat(width - filled)}`;
      this.stream.write(`\r\x1b[2K${label} [${bar}] ${figures}`);
    } else {
      this.stream.write(`${label}: ${figures}\n`);
    }
    this.drawn = true;
  }
}

/**
 * Latencies in 0.1 ms buckets up to 10 s (anything longer lands in one overflow bucket, whose
 * percentile is reported as the largest latency seen): constant memory, O(1) per record.
 */
export class LatencyHistogram {
  private static readonly RESOLUTION = 10;
  private static readonly LIMIT_MS = 10_000;
  private readonly buckets = new Uint32Array(LatencyHistogram.LIMIT_MS * LatencyHistogram.RESOLUTION + 1);
  private total = 0;
  private max = 0;

  record(ms: number): void {
    const index = Math.min(this.buckets.length - 1, Math.max(0, Math.floor(ms * LatencyHistogram.RESOLUTION)));
    this.buckets[index] = (this.buckets[index] ?? 0) + 1;
    this.total++;
    if (ms > this.max) this.max = ms;
  }

  get count(): number {
    return this.total;
  }

  /** The latency (ms, upper edge of its bucket) below which the fraction p (0–1) of the samples fall. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * this.total));
    let seen = 0;
    for (let index = 0; index < this.buckets.length; index++) {
      seen += this.buckets[index] ?? 0;
      if (seen >= rank) return index === this.buckets.length - 1 ? this.max : Math.min(this.max, (index + 1) / LatencyHistogram.RESOLUTION);
    }
    return this.max;
  }

  get maxMs(): number {
    return this.max;
  }
}

/** Counts promises in flight and lets a sender wait for room (backpressure) or for all to settle. */
export class Outstanding {
  private inFlight = 0;
  private waiters: { below: number; resolve: () => void }[] = [];

  constructor(readonly limit: number) {}

  get size(): number {
    return this.inFlight;
  }

  /** Resolves at once while under the limit, else once in-flight work has dropped to 90 % of it. */
  room(): Promise<void> | undefined {
    if (this.inFlight < this.limit) return undefined;
    return this.until(Math.floor(this.limit * 0.9));
  }

  /** Resolves once nothing is in flight. */
  drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : this.until(0);
  }

  add(): void {
    this.inFlight++;
  }

  settle(): void {
    this.inFlight--;
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((waiter) => this.inFlight <= waiter.below);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => this.inFlight > waiter.below);
    for (const waiter of ready) waiter.resolve();
  }

  private until(below: number): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ below, resolve }));
  }
}
