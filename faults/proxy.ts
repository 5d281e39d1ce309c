import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * What a FaultProxy does to the bytes it passes, changeable at any moment (set()). Each rule
 * acts on both directions unless its name says which: requests go client → broker, responses
 * broker → client.
 */
export interface FaultRules {
  /** Added to every chunk's delivery, in ms, plus a uniform ±jitterMs; order is kept. */
  latencyMs?: number;
  jitterMs?: number;
  /** Each direction at most this many bytes a second. */
  bytesPerSecond?: number;
  /** Responses are delivered one byte at a time, `trickleMs` apart. */
  trickleMs?: number;
  /** Per chunk of a response (request), the chance that the connection is reset (RST) instead of passing it. */
  resetResponses?: number;
  resetRequests?: number;
  /** Nothing passes any more, nothing is closed, and new connections are accepted and then ignored: a broker gone silent. */
  blackHole?: boolean;
  /** The proxy stops reading what clients send, so their writes back up in the kernel (responses still flow). */
  stallRequests?: boolean;
  /** New connections are refused (closed at once) and open ones reset: a broker off the network that the client's side notices. */
  refuse?: boolean;
}

export interface ProxyCounters {
  connections: number;
  resets: number;
  requestBytes: number;
  responseBytes: number;
}

/** One direction of one proxied connection: chunks waiting for their delivery time, in order. */
class Pipe {
  private readonly queue: { data: Buffer; at: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  /** Pending bytes past this pause the source (backpressure through the proxy). */
  private queuedBytes = 0;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly rules: () => FaultRules,
    private readonly response: boolean,
    private readonly onReset: () => void,
    private readonly count: (bytes: number) => void,
  ) {
    from.on('data', (chunk: Buffer) => this.take(chunk));
  }

  private take(chunk: Buffer): void {
    const rules = this.rules();
    if (rules.blackHole) return;
    const resetChance = this.response ? rules.resetResponses : rules.resetRequests;
    if (resetChance !== undefined && resetChance > 0 && Math.random() < resetChance) {
      this.onReset();
      return;
    }
    const now = Date.now();
    const latency = (rules.latencyMs ?? 0) + (rules.jitterMs ? (Math.random() * 2 - 1) * rules.jitterMs : 0);
    let at = Math.max(now + Math.max(0, latency), this.lastAt);
    const pieces = this.response && rules.trickleMs !== undefined ? [...chunk].map((byte) => Buffer.of(byte)) : [chunk];
    for (const data of pieces) {
      if (rules.bytesPerSecond) at = Math.max(at, this.lastAt) + (data.length / rules.bytesPerSecond) * 1000;
      if (this.response && rules.trickleMs !== undefined) at = Math.max(at, this.lastAt + rules.trickleMs);
      this.queue.push({ data, at });
      this.lastAt = at;
    }
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > 4 << 20) this.from.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    const wait = Math.max(0, (this.queue[0] as { at: number }).at - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    if (this.rules().blackHole) {
      this.drop();
      return;
    }
    const now = Date.now();
    while (this.queue.length > 0 && (this.queue[0] as { at: number }).at <= now) {
      const { data } = this.queue.shift() as { data: Buffer };
      this.queuedBytes -= data.length;
      this.count(data.length);
      if (!this.to.destroyed) this.to.write(data);
    }
    if (this.queuedBytes <= 1 << 20 && this.from.isPaused() && !this.rules().stallRequests) this.from.resume();
    this.schedule();
  }

  /** Forgets what waits (a black hole swallows it). */
  drop(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.drop();
  }
}

/**
 * A loopback TCP proxy in front of one broker that can add latency and jitter, cap bandwidth,
 * trickle responses, reset connections mid-request or mid-response, black-hole, stall requests
 * and refuse connections: the network faults of issue 15, applied to real brokers whose
 * advertised listener points at the proxy. Listens on 127.0.0.1 only and connects only to the
 * loopback target it was given.
 */
export class FaultProxy {
  private rules: FaultRules = {};
  private readonly connections = new Set<{ client: Socket; upstream: Socket; pipes: Pipe[] }>();
  readonly counters: ProxyCounters = { connections: 0, resets: 0, requestBytes: 0, responseBytes: 0 };

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private target: { host: '127.0.0.1'; port: number } | undefined,
  ) {}

  /**
   * Listens on `port` (0: any free port) and forwards to 127.0.0.1:targetPort; without a target
   * yet, connections are refused until forwardTo() names it (a proxy can listen before the broker
   * behind it has a port, so that the port it advertises is never lost to another bind).
   */
  static async listen(port: number, targetPort?: number): Promise<FaultProxy> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const address = server.address();
    const target = targetPort === undefined ? undefined : { host: '127.0.0.1' as const, port: targetPort };
    const proxy = new FaultProxy(server, typeof address === 'object' && address ? address.port : port, target);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  /** Where connections go from now on (127.0.0.1:port). */
  forwardTo(port: number): void {
    this.target = { host: '127.0.0.1', port };
  }

  /**
   * Replaces the rules (`{}`: pass everything untouched). Going to refuse resets every open
   * connection; so does lifting a black hole, since what it swallowed left their byte streams with
   * holes (as a client would time them out anyway).
   */
  set(rules: FaultRules): void {
    const leavingBlackHole = this.rules.blackHole && !rules.blackHole;
    this.rules = { ...rules };
    if (rules.refuse || leavingBlackHole) for (const connection of [...this.connections]) this.reset(connection);
    for (const { client } of this.connections) {
      if (rules.stallRequests) client.pause();
      else if (!rules.blackHole) client.resume();
    }
  }

  get current(): Readonly<FaultRules> {
    return this.rules;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /** Resets every open connection now (a broker's connections cut at once). */
  resetAll(): void {
    for (const connection of [...this.connections]) this.reset(connection);
  }

  async close(): Promise<void> {
    for (const connection of [...this.connections]) this.reset(connection);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.rules.refuse || this.target === undefined) {
      client.resetAndDestroy();
      return;
    }
    this.counters.connections++;
    client.setNoDelay(true);
    const upstream = connect({ host: this.target.host, port: this.target.port, noDelay: true });
    const connection = { client, upstream, pipes: [] as Pipe[] };
    this.connections.add(connection);
    const rules = () => this.rules;
    const reset = () => this.reset(connection);
    connection.pipes.push(
      new Pipe(client, upstream, rules, false, reset, (bytes) => (this.counters.requestBytes += bytes)),
      new Pipe(upstream, client, rules, true, reset, (bytes) => (this.counters.responseBytes += bytes)),
    );
    if (this.rules.stallRequests) client.pause();
    const close = () => {
      if (!this.connections.delete(connection)) return;
      for (const pipe of connection.pipes) pipe.stop();
      client.destroy();
      upstream.destroy();
    };
    // A black hole never closes anything: an end or error on either side is ignored while it lasts.
    const closedBy = () => {
      if (!this.rules.blackHole) close();
    };
    client.on('close', closedBy).on('error', () => undefined);
    upstream.on('close', closedBy).on('error', () => undefined);
    client.on('end', () => !this.rules.blackHole && upstream.end());
    upstream.on('end', () => !this.rules.blackHole && client.end());
  }

  private reset(connection: { client: Socket; upstream: Socket; pipes: Pipe[] }): void {
    if (!this.connections.delete(connection)) return;
    this.counters.resets++;
    for (const pipe of connection.pipes) pipe.stop();
    connection.client.resetAndDestroy();
    connection.upstream.destroy();
  }
}
