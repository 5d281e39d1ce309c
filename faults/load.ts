import { Producer } from '../src/producer/producer.js';

/** One record the load sent: its key's sequence number is in its value, `k<key>:<seq>`. */
export interface SentRecord {
  value: string;
  sentAt: number;
  settledAt?: number;
  error?: string;
}

/**
 * Keyed records at a steady rate through an idempotent acks=all producer, each send() timed
 * from call to settlement. Keys k0..k99, so per-key order can be checked on read-back.
 */
export class ProducerLoad {
  readonly sent: SentRecord[] = [];
  private readonly producer: Producer;
  private timer: NodeJS.Timeout | undefined;
  private readonly sequences = new Array<number>(100).fill(0);

  constructor(
    bootstrap: string,
    private readonly topic: string,
    readonly deliveryTimeoutMs: number,
  ) {
    this.producer = new Producer({ bootstrap, deliveryTimeoutMs, clientId: 'kafka-wire-faults' });
  }

  /** Sends `perSecond` records a second, in ticks of 10 ms, until stop(). */
  start(perSecond: number): void {
    const perTick = Math.max(1, Math.round(perSecond / 100));
    let next = 0;
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const key = next++ % 100;
        const record: SentRecord = { value: `k${key}:${this.sequences[key]}`, sentAt: performance.now() };
        this.sequences[key] = (this.sequences[key] as number) + 1;
        this.sent.push(record);
        this.producer.send({ topic: this.topic, key: `k${key}`, value: record.value }).then(
          () => {
            record.settledAt = performance.now();
          },
          (error: Error) => {
            record.settledAt = performance.now();
            record.error = error.name;
          },
        );
      }
    }, 10);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Waits until every send settled, at most `boundMs`; returns how many had not. */
  async settle(boundMs: number): Promise<number> {
    const deadline = performance.now() + boundMs;
    while (performance.now() < deadline && this.sent.some((record) => record.settledAt === undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.sent.filter((record) => record.settledAt === undefined).length;
  }

  close(): Promise<void> {
    return this.producer.close(5000);
  }
}
