import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonClient } from '../src/daemon/client.js';
import { DurableProducer } from '../src/durable/durable-producer.js';
import { Producer } from '../src/producer/producer.js';

/** One record a load sent: its key's sequence number is in its value, `k<key>:<seq>`. */
export interface SentRecord {
  value: string;
  sentAt: number;
  /** When its send settled (the daemon's: when its status counted everything delivered). */
  settledAt?: number;
  error?: string;
}

export const KEYS = 60;

/** A client kind under test, sending keyed records at a steady rate. */
export interface Load {
  readonly kind: 'producer' | 'durable' | 'daemon';
  readonly topic: string;
  readonly sent: SentRecord[];
  start(perSecond: number): void;
  stop(): void;
  /** Waits until every send settled, at most `boundMs`. */
  settle(boundMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The pacing and numbering all loads share; `send` hands one record to the client. */
abstract class PacedLoad implements Load {
  abstract readonly kind: Load['kind'];
  readonly sent: SentRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly sequences = new Array<number>(KEYS).fill(0);

  constructor(readonly topic: string) {}

  protected abstract send(key: number, record: SentRecord): void;

  start(perSecond: number): void {
    const perTick = Math.max(1, Math.round(perSecond / 100));
    let next = 0;
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const key = next++ % KEYS;
        const record: SentRecord = { value: `k${key}:${this.sequences[key]}`, sentAt: performance.now() };
        this.sequences[key] = (this.sequences[key] as number) + 1;
        this.sent.push(record);
        this.send(key, record);
      }
    }, 10);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async settle(boundMs: number): Promise<void> {
    const deadline = performance.now() + boundMs;
    while (performance.now() < deadline && this.sent.some((record) => record.settledAt === undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  abstract close(): Promise<void>;
}

function settle(record: SentRecord, error?: Error): void {
  record.settledAt = performance.now();
  if (error) record.error = error.name;
}

/** The in-memory producer: idempotent, acks=all. */
export class ProducerLoad extends PacedLoad {
  readonly kind = 'producer';
  private readonly producer: Producer;

  constructor(bootstrap: string, topic: string, deliveryTimeoutMs: number) {
    super(topic);
    this.producer = new Producer({ bootstrap, deliveryTimeoutMs, clientId: 'kafka-wire-faults' });
  }

  protected send(key: number, record: SentRecord): void {
    this.producer.send({ topic: this.topic, key: `k${key}`, value: record.value }).then(
      () => settle(record),
      (error: Error) => settle(record, error),
    );
  }

  close(): Promise<void> {
    return this.producer.close(5000);
  }
}

/** The durable producer: send() settles on Kafka's acknowledgement; nothing fails by time (it waits on disk). */
export class DurableLoad extends PacedLoad {
  readonly kind = 'durable';

  private constructor(
    topic: string,
    private readonly dir: string,
    private readonly producer: DurableProducer,
  ) {
    super(topic);
  }

  static async open(bootstrap: string, topic: string): Promise<DurableLoad> {
    const dir = mkdtempSync(join(tmpdir(), 'kw-faults-durable-'));
    const producer = await DurableProducer.open({ bootstrap, clientId: 'kafka-wire-faults-durable', durable: { dir } });
    return new DurableLoad(topic, dir, producer);
  }

  protected send(key: number, record: SentRecord): void {
    this.producer.send({ topic: this.topic, key: `k${key}`, value: record.value }).then(
      () => settle(record),
      (error: Error) => settle(record, error),
    );
  }

  async close(): Promise<void> {
    await this.producer.close(5000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const CLI = fileURLToPath(new URL('../bin/kafka-wire.js', import.meta.url));

/**
 * `kafka-wire daemon` as a child process, fed over its stream socket with PartitionKey messages
 * (key i to partition i mod n, so each key's order can be checked). The daemon says nothing back
 * per message, so settle times are read off its status every 100 ms: the n-th message sent
 * counts as settled when the status first counts n delivered (an estimate: partitions do not
 * deliver in send order).
 */
export class DaemonLoad extends PacedLoad {
  readonly kind = 'daemon';
  private poller: NodeJS.Timeout | undefined;
  private settledUpTo = 0;

  private constructor(
    topic: string,
    private readonly dir: string,
    private readonly daemon: ReturnType<typeof spawn>,
    private readonly client: DaemonClient,
    private readonly statusPort: number,
  ) {
    super(topic);
  }

  static async open(bootstrap: string, topic: string): Promise<DaemonLoad> {
    const dir = mkdtempSync(join(tmpdir(), 'kw-faults-daemon-'));
    const socket = join(dir, 'in.sock');
    const args = ['daemon', '--bootstrap', bootstrap, '--stream', socket, '--http', '0', '--journal', join(dir, 'journal')];
    const daemon = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    daemon.stdout?.setEncoding('utf8').on('data', (text: string) => (output += text));
    const deadline = Date.now() + 60_000;
    while (!/^ready /m.test(output)) {
      if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`the daemon did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const port = Number(/status pages on http:\/\/127\.0\.0\.1:(\d+)\//.exec(output)?.[1]);
    const client = await DaemonClient.connect({ path: socket });
    return new DaemonLoad(topic, dir, daemon, client, port);
  }

  protected send(key: number, record: SentRecord): void {
    this.client.send({ topic: this.topic, key: `k${key}`, value: record.value, partitionKey: key });
  }

  override start(perSecond: number): void {
    super.start(perSecond);
    let polling = false;
    this.poller = setInterval(() => {
      if (polling) return;
      polling = true;
      this.poll()
        .catch(() => undefined)
        .finally(() => {
          polling = false;
        });
    }, 100);
  }

  /** Marks as settled as many of the first messages as the status counts delivered or discarded; returns whether all are. */
  private async poll(): Promise<boolean> {
    const response = await fetch(`http://127.0.0.1:${this.statusPort}/status.json`);
    const status = (await response.json()) as { delivered: number; discarded: number };
    const now = performance.now();
    const done = Math.min(this.sent.length, status.delivered + status.discarded);
    for (; this.settledUpTo < done; this.settledUpTo++) (this.sent[this.settledUpTo] as SentRecord).settledAt = now;
    if (status.discarded > 0) for (const record of this.sent.slice(-status.discarded)) record.error = 'DaemonDiscard';
    return done === this.sent.length;
  }

  override async settle(boundMs: number): Promise<void> {
    const deadline = performance.now() + boundMs;
    while (!(await this.poll()) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    clearInterval(this.poller);
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    await this.client.close().catch(() => undefined);
    this.daemon.kill('SIGTERM');
    await new Promise((resolve) => this.daemon.once('exit', resolve));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
