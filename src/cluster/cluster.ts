import { EventEmitter } from 'node:events';
import { type BrokerAddress, formatAddress } from '../connection/bootstrap.js';
import type { Connection, RequestOptions } from '../connection/connection.js';
import { ConnectionError, finalError } from '../connection/errors.js';
import { ConnectionPool } from '../connection/pool.js';
import { isRetriable } from '../errors.js';
import { safeLogger } from '../logger.js';
import { Metadata, type MetadataResponse } from '../protocol/generated/index.js';
import { ZERO_UUID } from '../protocol/primitives/elements.js';
import type { ApiDefinition } from '../protocol/primitives/index.js';
import { isLeadershipError, MetadataCache, type MetadataChange } from './metadata.js';
import { type ClusterOptions, checkClusterOptions } from './options.js';

export type { ClusterOptions } from './options.js';

/** Events of a Cluster (and of the Producer, which passes them on). */
export interface ClusterEvents {
  /** A connection to a broker was opened (API versions negotiated, authenticated). */
  connect: [{ broker: string; address: string }];
  /** An open connection closed: the broker went away, a request timed out, or it sat idle. */
  disconnect: [{ broker: string; address: string; error: ConnectionError }];
  /** A connection could not be opened; `retryInMs` is the backoff before the next attempt. */
  connectFailed: [{ broker: string; address: string; error: Error; failures: number; retryInMs: number }];
  /** A metadata refresh changed brokers, leaders, partition counts or the topics present. */
  metadataChange: [MetadataChange];
}

/** Which connection a request should use: the broker's shared one, or a dedicated one (e.g. per partition leader). */
export interface ConnectionChoice {
  /** Extra key for a dedicated connection to the same broker. */
  lane?: string;
}

/** How long a broker that answered a leadership error is asked for metadata only when no other is open. */
const DOUBT_MS = 10_000;

/**
 * The cluster as the layers above see it: a metadata cache and a pool of connections, with
 * requests addressed to a node id (or to any broker). Connection losses and leadership errors
 * trigger a metadata refresh.
 */
export class Cluster extends EventEmitter<ClusterEvents> {
  readonly metadata: MetadataCache;
  private readonly pool: ConnectionPool;
  private readonly bootstrap: BrokerAddress[];
  /** Set by the first Metadata answer: until then, a failure that points at the settings is final. */
  private reached = false;
  /** Where anyConnection() starts looking next (turns round the brokers). */
  private anyTurn = 0;
  /** Nodes connected to at least once: a node never reached may be advertising an address only it can reach. */
  private readonly reachedNodes = new Set<number>();
  /** When each node last answered a leadership error (noteError): anyConnection() asks the others first for a while. */
  private readonly doubtedAt = new Map<number, number>();

  constructor(private readonly options: ClusterOptions) {
    super();
    this.bootstrap = checkClusterOptions(options);
    this.pool = new ConnectionPool({
      clientId: options.clientId,
      tls: options.tls,
      sasl: options.sasl,
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      reconnectBackoff: options.reconnectBackoff,
      idleTimeoutMs: options.idleTimeoutMs,
    });
    this.metadata = new MetadataCache((topics) => this.fetchMetadata(topics), options);
    this.pool.on('open', ({ broker, address }) => this.emit('connect', { broker, address }));
    this.pool.on('lost', ({ key, broker, address, error }) => {
      if (key.startsWith('node:')) this.metadata.requestRefresh();
      this.emit('disconnect', { broker, address, error });
    });
    this.pool.on('failed', ({ broker, address, error, failures, retryInMs }) => {
      this.emit('connectFailed', { broker, address, error, failures, retryInMs });
    });
    this.metadata.onChange((change) => this.emit('metadataChange', change));
    logClusterEvents(this, options);
  }

  /** Creates a cluster and loads its brokers from the first bootstrap address that answers. */
  static async connect(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options);
    try {
      await cluster.metadata.refresh();
      return cluster;
    } catch (error) {
      cluster.close();
      throw error;
    }
  }

  brokerLabel(nodeId: number): string {
    const broker = this.metadata.brokers.get(nodeId);
    return broker ? `broker ${nodeId} at ${formatAddress(broker)}` : `broker ${nodeId}`;
  }

  /** The connection to a node (opened if needed), by its id from metadata. */
  async connectionTo(nodeId: number, choice: ConnectionChoice = {}): Promise<Connection> {
    let broker = this.metadata.brokers.get(nodeId);
    if (!broker) {
      await this.metadata.refresh();
      broker = this.metadata.brokers.get(nodeId);
    }
    if (!broker) throw new ConnectionError(`broker ${nodeId}`, 'is not in the cluster metadata');
    try {
      const connection = await this.pool.get(
        choice.lane ? `node:${nodeId}/${choice.lane}` : `node:${nodeId}`,
        broker,
        this.brokerLabel(nodeId),
      );
      this.reachedNodes.add(nodeId);
      return connection;
    } catch (error) {
      if (!(error instanceof ConnectionError) || this.reachedNodes.has(nodeId) || this.isBootstrapAddress(broker)) throw error;
      // The most common reason a reachable cluster's broker never is: what it advertises is an address only it can reach.
      const hint = `broker ${nodeId} is advertised at ${formatAddress(broker)} (its advertised.listeners); is that reachable from here?`;
      throw new ConnectionError(error.broker, `${error.message.slice(error.broker.length + 2)}; ${hint}`, {
        cause: error,
        retriable: error.retriable,
      });
    }
  }

  /**
   * Told every error a broker answers for a partition: a leadership error asks for fresh
   * metadata, from another broker for the next DOUBT_MS.
   */
  noteError(code: number, nodeId: number): void {
    if (isLeadershipError(code)) this.doubtedAt.set(nodeId, Date.now());
    this.metadata.noteError(code);
  }

  private leastLoadedOpen(skipDoubted: boolean): Connection | undefined {
    const nodeIds = [...this.metadata.brokers.keys()];
    const start = this.anyTurn++;
    const now = Date.now();
    let leastLoaded: Connection | undefined;
    for (let i = 0; i < nodeIds.length; i++) {
      const nodeId = nodeIds[(start + i) % nodeIds.length] as number;
      if (skipDoubted && now - (this.doubtedAt.get(nodeId) ?? Number.NEGATIVE_INFINITY) < DOUBT_MS) continue;
      const open = this.pool.peek(`node:${nodeId}`);
      if (open && (!leastLoaded || open.inFlight < leastLoaded.inFlight)) leastLoaded = open;
      if (leastLoaded?.inFlight === 0) break;
    }
    return leastLoaded;
  }

  private isBootstrapAddress(address: BrokerAddress): boolean {
    return this.bootstrap.some((entry) => entry.host === address.host && entry.port === address.port);
  }

  /**
   * A connection to any broker: one already open if there is one, else the known brokers and
   * then the bootstrap addresses in turn. Fails naming every address tried and why: at once for
   * wrong credentials or an untrusted certificate, and, before the cluster was ever reached, when
   * every address failed in a way that points at the settings (a host name that does not
   * resolve, a listener of another kind).
   */
  async anyConnection(): Promise<Connection> {
    // The open connection with the fewest requests awaiting answers (Java's least loaded node), looked for
    // from a different broker each time: a broker that stopped answering holds requests and is asked last,
    // and one behind the cluster (cut off from the controller, still sure it leads) is not the only one asked.
    // A broker that just answered a leadership error is asked only when no other is open: one the controller
    // fenced answers errors quickly (so it holds no requests) and would only confirm the stale view.
    const leastLoaded = this.leastLoadedOpen(true) ?? this.leastLoadedOpen(false);
    if (leastLoaded) return leastLoaded;
    const candidates: { key: string; address: BrokerAddress; label: string }[] = [
      ...[...this.metadata.brokers.values()].map((broker) => ({
        key: `node:${broker.nodeId}`,
        address: broker,
        label: this.brokerLabel(broker.nodeId),
      })),
      ...this.bootstrap.map((address) => ({
        key: `bootstrap:${formatAddress(address)}`,
        address,
        label: `bootstrap broker ${formatAddress(address)}`,
      })),
    ];
    // Addresses still backing off go last, so one dead entry does not delay the good ones.
    candidates.sort((a, b) => this.pool.backoffRemaining(a.key) - this.pool.backoffRemaining(b.key));
    const failures: Error[] = [];
    for (const candidate of candidates) {
      try {
        return await this.pool.get(candidate.key, candidate.address, candidate.label);
      } catch (error) {
        const failure = this.atFirstContact(error);
        // Credentials and certificates are the same for every broker: no point trying the rest.
        if (!isRetriable(failure) && !(failure instanceof ConnectionError && failure.misconfiguration)) throw failure;
        failures.push(failure as Error);
      }
    }
    const final = failures.every((failure) => !isRetriable(failure));
    if (final && failures.length === 1) throw failures[0];
    const plural = candidates.length === 1 ? '' : 'es';
    throw new ConnectionError(
      'cluster',
      `no broker could be reached; tried ${candidates.length} address${plural}:\n  ${failures.map((f) => f.message).join('\n  ')}`,
      { retriable: !final, misconfiguration: final, cause: failures.at(-1) },
    );
  }

  /** Before the first Metadata answer, a failure that points at the settings cannot fix itself: it is final. */
  private atFirstContact(error: unknown): unknown {
    if (this.reached || !(error instanceof ConnectionError) || !error.misconfiguration) return error;
    return finalError(error);
  }

  /** Sends a request to a node; a lost connection triggers a metadata refresh before the error is rethrown. */
  async request<Request, Response>(
    nodeId: number,
    api: ApiDefinition<Request, Response>,
    body: Request,
    options?: RequestOptions & ConnectionChoice,
  ): Promise<Response> {
    const connection = await this.connectionTo(nodeId, options);
    return connection.request(api, body, options);
  }

  /** Sends a request to whichever broker is reachable. */
  async requestAny<Request, Response>(api: ApiDefinition<Request, Response>, body: Request, options?: RequestOptions): Promise<Response> {
    const connection = await this.anyConnection();
    return connection.request(api, body, options);
  }

  close(): void {
    this.metadata.close();
    this.pool.close();
  }

  private async fetchMetadata(topics: string[] | null): Promise<MetadataResponse> {
    const connection = await this.anyConnection();
    const version = connection.version(Metadata);
    const request = Metadata.request.create({
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation: this.options.allowAutoTopicCreation ?? false,
    });
    // Metadata v0 has no null for "all topics": an empty list means all there.
    if (version === 0 && topics === null) request.topics = [];
    try {
      const response = await connection.request(Metadata, request, { version });
      this.reached = true;
      return response;
    } catch (error) {
      throw this.atFirstContact(error);
    }
  }
}

/** Connection and metadata events, written to the logger the options name (if any). */
function logClusterEvents(cluster: Cluster, options: ClusterOptions): void {
  if (!options.logger) return;
  const log = safeLogger(options.logger);
  cluster.on('connect', ({ broker, address }) => log.debug({ broker, address }, `connected to ${broker}`));
  cluster.on('disconnect', ({ broker, address, error }) =>
    log.info({ broker, address, error: error.message }, `connection to ${broker} closed`),
  );
  cluster.on('connectFailed', ({ broker, address, error, failures, retryInMs }) => {
    const fields = { broker, address, error: error.message, failures, retryInMs };
    if (isRetriable(error)) log.warn(fields, `could not connect to ${broker}; next attempt in ${retryInMs} ms`);
    else log.error(fields, `could not connect to ${broker}: ${error.message}`);
  });
  cluster.on('metadataChange', (change) => log.info({ ...change }, 'cluster metadata changed'));
}
