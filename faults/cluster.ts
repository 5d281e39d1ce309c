import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  bootstrapFor,
  type ClusterState,
  killNode,
  loadClusterState,
  nodeDataDir,
  restartNode,
  startCluster,
  stopCluster,
} from '../src/embedded/cluster.js';
import type { FaultRules } from './proxy.js';
import { ProxyHost, type RemoteProxy } from './proxy-host.js';

/**
 * A 3-node embedded Apache Kafka cluster whose clients reach every broker through a FaultProxy
 * (the PROXIED listener advertises the proxy's port), so faults can be put between the client
 * and any one broker; plus SIGSTOP/SIGCONT of a broker's JVM (a long pause). With `isolatable`,
 * the brokers reach each other through proxies too (each one's replication listener, and each
 * node's way to each other controller), so one can be cut off from the rest of the cluster while
 * clients reach it; only then, as those proxies carry all replication and quorum traffic. The
 * proxies run in a process of their own (ProxyHost), not beside the clients under test.
 */
export class FaultCluster {
  private constructor(
    readonly name: string,
    readonly state: ClusterState,
    private readonly host: ProxyHost,
    readonly proxies: ReadonlyMap<number, RemoteProxy>,
    /** In front of each node's replication listener. */
    private readonly replicationProxies: ReadonlyMap<number, RemoteProxy>,
    /** "i>j": node i's way to controller j. */
    private readonly controllerProxies: ReadonlyMap<string, RemoteProxy>,
  ) {}

  static async start(name: string, options: { version?: string; isolatable?: boolean } = {}): Promise<FaultCluster> {
    const { version, isolatable = false } = options;
    // The proxies listen first, on ports the kernel picks, and the brokers advertise those: a port
    // picked free and bound only after the brokers start can be taken meanwhile by one of their
    // outgoing connections (EADDRINUSE in CI).
    const ids = [1, 2, 3];
    const host = await ProxyHost.start();
    const started = new Map<number, RemoteProxy>();
    const replication = new Map<number, RemoteProxy>();
    const controllers = new Map<string, RemoteProxy>();
    let state: ClusterState | undefined;
    try {
      for (const id of ids) {
        started.set(id, await host.listen());
        if (!isolatable) continue;
        replication.set(id, await host.listen());
        for (const other of ids) if (other !== id) controllers.set(`${id}>${other}`, await host.listen());
      }
      const ports = (proxies: Map<number, RemoteProxy>) => Object.fromEntries([...proxies].map(([id, proxy]) => [id, proxy.port]));
      const via = (id: number) =>
        Object.fromEntries(
          ids.filter((other) => other !== id).map((other) => [other, (controllers.get(`${id}>${other}`) as RemoteProxy).port]),
        );
      state = await startCluster({
        name,
        brokers: 3,
        portBase: 'auto',
        proxies: ports(started),
        peerProxies: isolatable
          ? { replication: ports(replication), controllers: Object.fromEntries(ids.map((id) => [id, via(id)])) }
          : undefined,
        version,
        // The nodes reach each other through the proxies from their first moment.
        portsChosen: async (chosen) => {
          for (const [id, node] of chosen) {
            await (started.get(id) as RemoteProxy).forwardTo((node.proxied as { listen: number }).listen);
            if (!isolatable) continue;
            await (replication.get(id) as RemoteProxy).forwardTo((node.replication as { listen: number }).listen);
            for (const [other, peer] of chosen)
              if (other !== id) await (controllers.get(`${id}>${other}`) as RemoteProxy).forwardTo(peer.controller);
          }
        },
      });
    } catch (error) {
      await host.stop();
      if (state) await stopCluster(name);
      throw error;
    }
    return new FaultCluster(name, state, host, started, replication, controllers);
  }

  /**
   * Cuts a node off from the rest of the cluster, not from clients: nothing passes between it
   * and the other controllers (so the active controller fences it, and a new leader is elected for
   * its partitions), and its followers cannot fetch from it. Still leader in its own eyes, it
   * answers clients until heal().
   */
  async isolate(nodeId: number): Promise<void> {
    const replication = this.replicationProxies.get(nodeId);
    if (!replication) throw new Error(`${this.name} was started without isolatable: its brokers talk to each other directly`);
    await replication.set({ blackHole: true });
    for (const [pair, proxy] of this.controllerProxies) {
      const [from, to] = pair.split('>').map(Number);
      if (from === nodeId || to === nodeId) await proxy.set({ blackHole: true });
    }
  }

  /** Through the proxies: what the client under test uses. */
  get bootstrap(): string {
    return [...this.proxies.values()].map((proxy) => `127.0.0.1:${proxy.port}`).join(',');
  }

  /** Around the proxies: for the checker and the admin. */
  get directBootstrap(): string {
    return bootstrapFor(this.state, 'plaintext');
  }

  proxy(nodeId: number): RemoteProxy {
    const proxy = this.proxies.get(nodeId);
    if (!proxy) throw new Error(`no proxy for node ${nodeId}`);
    return proxy;
  }

  /** The same rules on the way to every broker. */
  async setAll(rules: FaultRules): Promise<void> {
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.set(rules)));
  }

  /** Every proxy back to passing everything. */
  async heal(): Promise<void> {
    const all = [...this.proxies.values(), ...this.replicationProxies.values(), ...this.controllerProxies.values()];
    await Promise.all(all.map((proxy) => proxy.set({})));
  }

  /** Where a node keeps its logs, the metadata log's included. */
  dataDir(nodeId: number): string {
    return nodeDataDir(this.state.dir, nodeId);
  }

  /** SIGSTOP (true) or SIGCONT (false) of a node's JVM: the broker neither answers nor closes anything while stopped. */
  pause(nodeId: number, paused: boolean): void {
    const node = loadClusterState(this.name)?.nodes.find((candidate) => candidate.id === nodeId);
    if (!node?.pid) throw new Error(`node ${nodeId} of ${this.name} is not running`);
    process.kill(node.pid, paused ? 'SIGSTOP' : 'SIGCONT');
  }

  /** SIGKILL of a node's JVM (a crash); its proxy stays, refusing what it cannot pass on. */
  async kill(nodeId: number): Promise<void> {
    await killNode(nodeId, this.name);
  }

  /** Starts a killed node again on its data and waits until it answers. */
  async restart(nodeId: number): Promise<void> {
    await restartNode(nodeId, this.name);
  }

  /**
   * The node leading the KRaft metadata quorum (the active controller), as Apache Kafka's
   * kafka-metadata-quorum tool reports it. (Metadata's controller id is not it under KRaft:
   * brokers answer clients with a random broker there.) Run as a child process, not spawnSync,
   * so the loads in this process keep their pace.
   */
  async activeController(): Promise<number> {
    const { stdout } = await promisify(execFile)(
      this.state.java,
      [
        '-Xmx128m',
        '-cp',
        this.state.classpath,
        'org.apache.kafka.tools.MetadataQuorumCommand',
        '--bootstrap-server',
        this.directBootstrap,
        'describe',
        '--status',
      ],
      { timeout: 60_000 },
    );
    const leader = Number(/^LeaderId:\s+(\d+)$/m.exec(stdout)?.[1]);
    if (!Number.isInteger(leader)) throw new Error(`kafka-metadata-quorum named no leader: ${stdout.slice(0, 500)}`);
    return leader;
  }

  async stop(): Promise<void> {
    await this.host.stop();
    for (const node of loadClusterState(this.name)?.nodes ?? []) {
      if (node.pid) {
        try {
          process.kill(node.pid, 'SIGCONT');
        } catch {
          // gone already
        }
      }
    }
    await stopCluster(this.name);
  }
}
