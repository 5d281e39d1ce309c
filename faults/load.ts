import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from '../src/cluster/admin.js';
import type { Cluster } from '../src/cluster/cluster.js';
import { DaemonClient } from '../src/daemon/client.js';
import { DurableProducer } from '../src/durable/durable-producer.js';
import { Producer } from '../src/producer/producer.js';
import { DaemonProcess } from '../test/support/daemon.js';

export const KEYS = 60;

/**
 * What a load sent, record by record, in preallocated typed arrays (a soak's millions of records
 * add nothing to the heap): record i has key i mod KEYS and is that key's record number
 * ⌊i / KEYS⌋, so its value `k<key>:<n>` need not be stored.
 */
export class Ledger {
  count = 0;
  readonly sentAt: Float64Array;
  /** NaN until settled. */
  readonly settledAt: Float64Array;
  /** 0: none; else 1 + the index of its error's name in `errorNames`. */
  readonly error: Uint16Array;
  readonly errorNames: string[] = [];

  constructor(readonly capacity: number) {
    // Filled now, so every page is resident from the start and a soak's RSS does not grow with the ledger.
    this.sentAt = new Float64Array(capacity).fill(0);
    this.settledAt = new Float64Array(capacity).fill(Number.NaN);
    this.error = new Uint16Array(capacity).fill(0);
  }

  /** A ledger as another process kept it (its fields, as structured clone passes them). */
  static restore(kept: Ledger): Ledger {
    return Object.assign(Object.create(Ledger.prototype) as Ledger, kept);
  }

  static value(index: number): string {
    return `k${index % KEYS}:${Math.floor(index / KEYS)}`;
  }

  /** Takes the next record number (throws past capacity: the run was sized too small). */
  next(now: number): number {
    if (this.count >= this.capacity) throw new Error(`the ledger is full (${this.capacity} records)`);
    this.sentAt[this.count] = now;
    return this.count++;
  }

  settle(index: number, now: number, error?: Error): void {
    this.settledAt[index] = now;
    if (error) this.fail(index, error);
  }

  /** Marks a settled record failed after all (its transaction did not commit); an earlier error stays. */
  fail(index: number, error: Error): void {
    if (this.error[index] !== 0) return;
    let at = this.errorNames.indexOf(error.name);
    if (at < 0) at = this.errorNames.push(error.name) - 1;
    this.error[index] = at + 1;
  }

  get unsettled(): number {
    let open = 0;
    for (let i = 0; i < this.count; i++) if (Number.isNaN(this.settledAt[i] as number)) open++;
    return open;
  }
}

/** A client kind under test, sending keyed records at a steady rate. */
export interface Load {
  readonly kind: 'producer' | 'transactional' | 'durable' | 'daemon';
  readonly topic: string;
  readonly sent: Ledger;
  /** Its sends' bound (each must settle within it + 1 s); undefined for a client that never gives up (durable, daemon). */
  readonly deliveryTimeoutMs: number | undefined;
  /** Where it journals what it accepted (durable, daemon), for faults of the disk. */
  readonly journalDir?: string;
  /** The transactional load's transactions, for the checker. */
  readonly transactions?: TransactionLog;
  start(perSecond: number): void;
  stop(): void;
  /** Waits until every send settled, at most `boundMs`. */
  settle(boundMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The pacing and numbering all loads share; `send` hands one record to the client. */
abstract class PacedLoad implements Load {
  abstract readonly kind: Load['kind'];
  readonly deliveryTimeoutMs: number | undefined = undefined;
  readonly sent: Ledger;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly topic: string,
    capacity: number,
  ) {
    this.sent = new Ledger(capacity);
  }

  protected abstract send(key: number, index: number): void;

  start(perSecond: number): void {
    const perTick = Math.max(1, Math.round(perSecond / 100));
    this.timer = setInterval(() => {
      const now = performance.now();
      for (let i = 0; i < perTick; i++) {
        if (this.sent.count >= this.sent.capacity) {
          // The run was sized too small: it goes on and is checked, with what was sent.
          console.error(`[faults] ${this.kind}: the ledger is full (${this.sent.capacity} records); sending stops`);
          this.stop();
          return;
        }
        const index = this.sent.next(now);
        this.send(index % KEYS, index);
      }
    }, 10);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async settle(boundMs: number): Promise<void> {
    const deadline = performance.now() + boundMs;
    while (performance.now() < deadline && this.sent.unsettled > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  abstract close(): Promise<void>;
}

/** The in-memory producer: idempotent, acks=all. */
export class ProducerLoad extends PacedLoad {
  readonly kind = 'producer';
  private readonly producer: Producer;

  override readonly deliveryTimeoutMs: number;

  constructor(bootstrap: string, topic: string, capacity: number, deliveryTimeoutMs: number) {
    super(topic, capacity);
    this.deliveryTimeoutMs = deliveryTimeoutMs;
    this.producer = new Producer({ bootstrap, deliveryTimeoutMs, clientId: 'kafka-wire-faults' });
  }

  protected send(key: number, index: number): void {
    this.producer.send({ topic: this.topic, key: `k${key}`, value: Ledger.value(index) }).then(
      () => this.sent.settle(index, performance.now()),
      (error: Error) => this.sent.settle(index, performance.now(), error),
    );
  }

  close(): Promise<void> {
    return this.producer.close(5000);
  }
}

/** How a transaction ended: committed, aborted (confirmed by the coordinator), or not known (the producer had to start again). */
export type TransactionOutcome = 'open' | 'committed' | 'aborted' | 'unknown';

export interface TransactionLog {
  /** The transaction each record went out in (index into `outcomes`). */
  readonly transactionOf: Uint32Array;
  readonly outcomes: TransactionOutcome[];
}

/** Records per transaction at most: a backlog built up during a fault goes out in several. */
const TRANSACTION_RECORDS = 5000;
/** How long records gather before their transaction commits. */
const TRANSACTION_MS = 100;
/** Shorter than the faults (12 to 300 s), so that sends time out and their transactions are aborted, and checked invisible. */
const TRANSACTION_DELIVERY_TIMEOUT_MS = 10_000;

/**
 * The transactional producer (as a Java application would drive it): the records paced in
 * over ~100 ms go out in one transaction, which commits; a commit that fails with an abortable
 * error is aborted, one that times out is tried again, and a producer that failed for good is
 * replaced by a new one with the same transactional id (which fences it and ends what it left
 * open). Records of a transaction that did not commit are failed with the commit's error;
 * whether each transaction committed, aborted or is unknown is kept for the checker, which
 * reads with isolation read_committed.
 */
export class TransactionalLoad extends PacedLoad {
  readonly kind = 'transactional';
  override readonly deliveryTimeoutMs = TRANSACTION_DELIVERY_TIMEOUT_MS;
  readonly transactions: TransactionLog;
  private producer: Producer | undefined;
  private readonly pending: number[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly bootstrap: string,
    topic: string,
    capacity: number,
  ) {
    super(topic, capacity);
    this.transactions = { transactionOf: new Uint32Array(capacity), outcomes: [] };
  }

  private readonly transactionalId = `kafka-wire-faults-${process.pid}-${Date.now().toString(36)}`;

  protected send(_key: number, index: number): void {
    this.pending.push(index);
  }

  override start(perSecond: number): void {
    super.start(perSecond);
    this.running = true;
    this.loop = this.run();
  }

  override stop(): void {
    super.stop();
    this.running = false;
  }

  override async settle(boundMs: number): Promise<void> {
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((resolve) => (bound = setTimeout(resolve, boundMs)))]);
    clearTimeout(bound);
  }

  private async run(): Promise<void> {
    while (this.running || this.pending.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, TRANSACTION_MS));
      if (this.pending.length > 0) await this.transaction(this.pending.splice(0, TRANSACTION_RECORDS));
    }
  }

  private async openProducer(): Promise<Producer> {
    for (;;) {
      const producer = new Producer({
        bootstrap: this.bootstrap,
        clientId: 'kafka-wire-faults-txn',
        transactionalId: this.transactionalId,
        deliveryTimeoutMs: this.deliveryTimeoutMs,
      });
      try {
        await producer.initTransactions();
        return producer;
      } catch (error) {
        // The coordinator is unreachable through the fault: a new producer tries again (each try is bounded by maxBlockMs).
        console.error(`[faults] transactional producer: initTransactions failed: ${(error as Error).message}`);
        await producer.close(0).catch(() => undefined);
      }
    }
  }

  /** One transaction of `indices`; settles each record's send and records how the transaction ended. */
  private async transaction(indices: number[]): Promise<void> {
    this.producer ??= await this.openProducer();
    const producer = this.producer;
    const { transactionOf, outcomes } = this.transactions;
    const number = outcomes.push('open') - 1;
    producer.beginTransaction();
    for (const index of indices) {
      transactionOf[index] = number;
      // Its send() bound counts from this call, not from when it was paced in (it may have waited for earlier commits).
      this.sent.sentAt[index] = performance.now();
      const key = index % KEYS;
      producer.send({ topic: this.topic, key: `k${key}`, value: Ledger.value(index) }).then(
        () => this.sent.settle(index, performance.now()),
        (error: Error) => this.sent.settle(index, performance.now(), error),
      );
    }
    const outcome = await this.end(producer);
    outcomes[number] = outcome.outcome;
    if (outcome.error) for (const index of indices) this.sent.fail(index, outcome.error);
  }

  private async end(producer: Producer): Promise<{ outcome: TransactionOutcome; error?: Error }> {
    let error: Error | undefined;
    // A commit that timed out may be called again (Java's advice): the outcome is still to be decided.
    for (let tries = 0; tries < 3; tries++) {
      try {
        await producer.commitTransaction();
        return { outcome: 'committed' };
      } catch (failure) {
        error = failure as Error;
        if (error.name !== 'TransactionTimeoutError') break;
      }
    }
    if (producer.transactionState === 'abortableError') {
      try {
        await producer.abortTransaction();
        return { outcome: 'aborted', error };
      } catch (failure) {
        console.error(`[faults] transactional producer: abort failed: ${(failure as Error).message}`);
      }
    }
    console.error(`[faults] transactional producer: starting again after: ${(error as Error).message}`);
    this.producer = undefined;
    await producer.close(0).catch(() => undefined);
    return { outcome: 'unknown', error };
  }

  async close(): Promise<void> {
    this.stop();
    // Closed before its records settled (the run was cut short): the loop must not begin another transaction.
    this.pending.length = 0;
    await this.producer?.close(5000);
  }
}

/** The durable producer: send() settles on Kafka's acknowledgement; nothing fails by time (it waits on disk). */
export class DurableLoad extends PacedLoad {
  readonly kind = 'durable';

  private constructor(
    topic: string,
    capacity: number,
    private readonly dir: string,
    private readonly producer: DurableProducer,
  ) {
    super(topic, capacity);
  }

  static async open(bootstrap: string, topic: string, capacity: number): Promise<DurableLoad> {
    const dir = mkdtempSync(join(tmpdir(), 'kw-faults-durable-'));
    const producer = await DurableProducer.open({ bootstrap, clientId: 'kafka-wire-faults-durable', durable: { dir } });
    // Duplicates it announces are still duplicates; the reason helps find where they came from.
    producer.on('mayDuplicate', ({ records, reason }) =>
      console.error(`[faults] durable producer: ${records} record(s) may duplicate: ${reason}`),
    );
    return new DurableLoad(topic, capacity, dir, producer);
  }

  get journalDir(): string {
    return this.dir;
  }

  protected send(key: number, index: number): void {
    this.producer.send({ topic: this.topic, key: `k${key}`, value: Ledger.value(index) }).then(
      () => this.sent.settle(index, performance.now()),
      (error: Error) => this.sent.settle(index, performance.now(), error),
    );
  }

  async close(): Promise<void> {
    await this.producer.close(5000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const DAEMON_DISCARD = Object.assign(new Error('discarded by the daemon'), { name: 'DaemonDiscard' });

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
    capacity: number,
    private readonly dir: string,
    readonly daemon: DaemonProcess,
    private readonly client: DaemonClient,
  ) {
    super(topic, capacity);
  }

  static async open(bootstrap: string, topic: string, capacity: number): Promise<DaemonLoad> {
    const dir = mkdtempSync(join(tmpdir(), 'kw-faults-daemon-'));
    const socket = join(dir, 'in.sock');
    // With an inspector on loopback, so the soak can collect its garbage before reading its RSS.
    const daemon = await DaemonProcess.start(['--bootstrap', bootstrap, '--stream', socket, '--journal', join(dir, 'journal')], {
      nodeFlags: ['--inspect=127.0.0.1:0'],
    });
    const client = await DaemonClient.connect({ path: socket });
    return new DaemonLoad(topic, capacity, dir, daemon, client);
  }

  get journalDir(): string {
    return join(this.dir, 'journal');
  }

  protected send(key: number, index: number): void {
    this.client.send({ topic: this.topic, key: `k${key}`, value: Ledger.value(index), partitionKey: key });
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
    const status = await this.daemon.status();
    const now = performance.now();
    const done = Math.min(this.sent.count, status.delivered + status.discarded);
    for (; this.settledUpTo < done; this.settledUpTo++) this.sent.settle(this.settledUpTo, now);
    // The daemon does not say which were discarded (there should be none): the last ones are marked.
    for (let i = this.sent.count - status.discarded; i < this.sent.count; i++) this.sent.settle(i, now, DAEMON_DISCARD);
    return done === this.sent.count;
  }

  override async settle(boundMs: number): Promise<void> {
    const deadline = performance.now() + boundMs;
    while (!(await this.poll()) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    clearInterval(this.poller);
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    await this.client.close().catch(() => undefined);
    await this.daemon.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The four clients the suite drives. */
export const LOAD_KINDS: readonly Load['kind'][] = ['producer', 'transactional', 'durable', 'daemon'];

/**
 * A topic per client kind (6 partitions, replication 3, min.insync.replicas 2, node 1 leading
 * partition 0 of each, so one fault hits all four alike); returns the name for a kind.
 */
export async function createLoadTopics(admin: Cluster, prefix: string): Promise<(kind: Load['kind']) => string> {
  const stamp = Date.now().toString(36);
  const topic = (kind: Load['kind']) => `${prefix}-${kind}-${stamp}`;
  const assignment = Array.from({ length: 6 }, (_, partition) => [1, 2, 3].map((_, i) => ((partition + i) % 3) + 1));
  await new Admin(admin).createTopics(
    LOAD_KINDS.map((kind) => ({ name: topic(kind), replicaAssignment: assignment, configs: { 'min.insync.replicas': '2' } })),
  );
  return topic;
}

/** What a load is opened with. */
export interface LoadSpec {
  kind: Load['kind'];
  bootstrap: string;
  topic: string;
  /** Records it has room for. */
  capacity: number;
  /** The in-memory producer's; the transactional producer has its own, shorter one. */
  deliveryTimeoutMs: number;
}

export async function openLoad({ kind, bootstrap, topic, capacity, deliveryTimeoutMs }: LoadSpec): Promise<Load> {
  switch (kind) {
    case 'producer':
      return new ProducerLoad(bootstrap, topic, capacity, deliveryTimeoutMs);
    case 'transactional':
      return new TransactionalLoad(bootstrap, topic, capacity);
    case 'durable':
      return await DurableLoad.open(bootstrap, topic, capacity);
    case 'daemon':
      return await DaemonLoad.open(bootstrap, topic, capacity);
  }
}

/** Opens a load of each kind asked for (all four unless told), each on its own topic, in this process. */
export async function openLoads(
  bootstrap: string,
  topic: (kind: Load['kind']) => string,
  capacity: number,
  deliveryTimeoutMs: number,
  kinds: readonly Load['kind'][] = LOAD_KINDS,
): Promise<Load[]> {
  const loads: Load[] = [];
  try {
    for (const kind of kinds) loads.push(await openLoad({ kind, bootstrap, topic: topic(kind), capacity, deliveryTimeoutMs }));
  } catch (error) {
    await Promise.all(loads.map((load) => load.close().catch(() => undefined)));
    throw error;
  }
  return loads;
}
