import { type ChildProcess, fork } from 'node:child_process';
import { type IpcReply, IpcRequests } from './ipc-requests.js';
import { FaultProxy, type FaultRules } from './proxy.js';

/**
 * The fault proxies in a process of their own, driven over IPC: the network between the
 * clients and the brokers must not share an event loop (nor a malloc heap) with the clients
 * under test, whose pace and memory the suite measures. A 1-byte trickle or a 5% reset rate
 * costs the proxy CPU; run beside the loads, it slowed them, and the soak could not tell the
 * clients' RSS from the proxies'.
 */

type Command = { op: 'listen' } | { op: 'forwardTo'; proxy: number; port: number } | { op: 'set'; proxy: number; rules: FaultRules };

/** Each command waits at most this long for its answer: the host is local, so only a hung host takes longer. */
const COMMAND_TIMEOUT_MS = 30_000;

/** The parent's handle on the proxy process. */
export class ProxyHost {
  private readonly requests: IpcRequests<Command>;
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    this.requests = new IpcRequests(child, 'fault proxy host');
    child.once('exit', () => (this.exited = true));
  }

  static async start(): Promise<ProxyHost> {
    // The suite runs from its TypeScript sources (tsx), whoever started it (npm run faults, vitest).
    const child = fork(new URL(import.meta.url), ['--proxy-host'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return new ProxyHost(child);
  }

  /** A proxy listening on a port the kernel picks, refusing connections until forwardTo(). */
  async listen(): Promise<RemoteProxy> {
    const { id, port } = (await this.command({ op: 'listen' })) as { id: number; port: number };
    return new RemoteProxy(this, id, port);
  }

  command(command: Command): Promise<unknown> {
    return this.requests.send(command, COMMAND_TIMEOUT_MS);
  }

  /** The host's pid (its RSS is the network's, not the clients'). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Closes every proxy (their connections reset) and ends the process. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (bound = setTimeout(resolve, 5000)))]);
    clearTimeout(bound);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** One FaultProxy in the host process: the same rules as FaultProxy.set(), applied there. */
export class RemoteProxy {
  constructor(
    private readonly host: ProxyHost,
    private readonly id: number,
    readonly port: number,
  ) {}

  forwardTo(port: number): Promise<void> {
    return this.host.command({ op: 'forwardTo', proxy: this.id, port }).then(() => undefined);
  }

  set(rules: FaultRules): Promise<void> {
    return this.host.command({ op: 'set', proxy: this.id, rules }).then(() => undefined);
  }
}

/** The child's side: runs the proxies and answers each command; exits when the parent goes. */
async function serve(): Promise<void> {
  const proxies: FaultProxy[] = [];
  const proxy = (id: number) => {
    const found = proxies[id];
    if (!found) throw new Error(`no proxy ${id}`);
    return found;
  };
  const handle = async (command: Command): Promise<unknown> => {
    switch (command.op) {
      case 'listen': {
        const listening = await FaultProxy.listen(0);
        return { id: proxies.push(listening) - 1, port: listening.port };
      }
      case 'forwardTo':
        proxy(command.proxy).forwardTo(command.port);
        return undefined;
      case 'set':
        proxy(command.proxy).set(command.rules);
        return undefined;
    }
  };
  process.on('message', (message: { id: number } & Command) => {
    handle(message).then(
      (result) => process.send?.({ id: message.id, result } satisfies IpcReply),
      (error: unknown) => process.send?.({ id: message.id, error: (error as Error).message } satisfies IpcReply),
    );
  });
  process.on('disconnect', () => {
    Promise.all(proxies.map((each) => each.close().catch(() => undefined))).finally(() => process.exit(0));
  });
}

if (process.argv.includes('--proxy-host') && process.send) await serve();
