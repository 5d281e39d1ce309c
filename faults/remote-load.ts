import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type IpcReply, IpcRequests } from './ipc-requests.js';
import { Ledger, type Load, type LoadSpec, type TransactionLog } from './load.js';

/** What RemoteLoad asks of its worker (faults/load-worker.ts). */
type WorkerOperation =
  | { op: 'start'; perSecond: number }
  | { op: 'stop' }
  | { op: 'settle'; boundMs: number }
  /** With `collect`, after a garbage collection. */
  | { op: 'memory'; collect: boolean }
  | { op: 'close' };

export type WorkerRequest = { id: number } & WorkerOperation;

export type WorkerReply = IpcReply;

/** A worker's memory and handles; the daemon's RSS too for the daemon's load. */
export interface WorkerMemory {
  rssMb: number;
  heapMb: number;
  heapTotalMb: number;
  externalMb: number;
  /** V8's reserved size by heap space (new, old, code, large_object…). */
  spacesMb: Record<string, number>;
  daemonRssMb?: number;
  /** Active handles and requests beyond those the worker had before its load opened. */
  resources: number;
}

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));
/** Opening a load takes a few seconds (the daemon starts a JVM-free Node process; the others connect). */
const OPEN_MS = 60_000;
/** The longest any request but settle takes (close waits up to 10 s for handles to go). */
const REQUEST_MS = 30_000;

/**
 * A load in a worker process of its own: the same Load, driven over IPC. Its ledger (and the
 * transactional load's transactions) arrive when it closes; `leaked` then names what its load
 * left open.
 */
export class RemoteLoad implements Load {
  sent: Ledger;
  transactions: TransactionLog | undefined;
  deliveryTimeoutMs: number | undefined;
  journalDir: string | undefined;
  leaked: string[] = [];
  private readonly requests: IpcRequests<WorkerOperation>;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly spec: LoadSpec,
    private readonly worker: ChildProcess,
  ) {
    this.sent = new Ledger(0);
    this.requests = new IpcRequests(worker, `${spec.kind} load worker`);
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  get kind(): Load['kind'] {
    return this.spec.kind;
  }

  get topic(): string {
    return this.spec.topic;
  }

  get pid(): number {
    return this.worker.pid as number;
  }

  static async open(spec: LoadSpec): Promise<RemoteLoad> {
    const worker = fork(WORKER, [JSON.stringify(spec)], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const load = new RemoteLoad(spec, worker);
    // The worker's first message (id 0) says it is ready.
    const ready = (await load.requests.reply(0, 'open', OPEN_MS).catch((error: Error) => {
      worker.kill('SIGKILL');
      throw error;
    })) as { journalDir?: string; deliveryTimeoutMs?: number };
    load.journalDir = ready.journalDir;
    load.deliveryTimeoutMs = ready.deliveryTimeoutMs;
    return load;
  }

  start(perSecond: number): void {
    void this.requests.send({ op: 'start', perSecond }, REQUEST_MS).catch((error: Error) => console.error(`[faults] ${error.message}`));
  }

  stop(): void {
    void this.requests.send({ op: 'stop' }, REQUEST_MS).catch((error: Error) => console.error(`[faults] ${error.message}`));
  }

  async settle(boundMs: number): Promise<void> {
    await this.requests.send({ op: 'settle', boundMs }, boundMs + REQUEST_MS);
  }

  /** The worker's memory now, or after a garbage collection (`collect`). */
  async memory(collect: boolean): Promise<WorkerMemory> {
    return (await this.requests.send({ op: 'memory', collect }, REQUEST_MS)) as WorkerMemory;
  }

  /** Closes the load and takes its ledger; the worker then exits (killed if it does not within the bound). */
  async close(): Promise<void> {
    if (this.worker.exitCode !== null || this.worker.signalCode !== null) return;
    try {
      const closed = (await this.requests.send({ op: 'close' }, REQUEST_MS)) as {
        sent: Ledger;
        transactions?: TransactionLog;
        leaked: string[];
      };
      this.sent = Ledger.restore(closed.sent);
      this.transactions = closed.transactions;
      this.leaked = closed.leaked;
    } finally {
      this.worker.disconnect();
      const bound = setTimeout(() => this.worker.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(bound);
    }
  }
}
