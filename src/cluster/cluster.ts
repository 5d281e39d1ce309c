import { type BrokerAddress, formatAddress, parseBootstrap } from '../connection/bootstrap.js';
import type { Connection, RequestOptions, TlsOptions } from '../connection/connection.js';
import { AuthenticationError, ConnectionError } from '../connection/errors.js';
import { ConnectionPool, type PoolOptions } from '../connection/pool.js';
import type { SaslOptions } from '../connection/sasl-mechanisms.js';
import { Metadata, type MetadataResponse } from '../protocol/generated/index.js';
import type { ApiDefinition } from '../protocol/primitives/index.js';
import { MetadataCache, type MetadataOptions } from './metadata.js';

export interface ClusterOptions extends MetadataOptions {
  /** "host:port,host:port" or parsed addresses; every entry is tried until one answers. */
  bootstrap: string | BrokerAddress[];
  clientId?: string;
  tls?: TlsOptions | boolean;
  sasl?: SaslOptions;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  reconnectBackoff?: PoolOptions['reconnectBackoff'];
  idleTimeoutMs?: number;
  /** Let Metadata requests create missing topics (off by default). */
  allowAutoTopicCreation?: boolean;
}

/** Which connection a request should use: the broker's shared one, or a dedicated one (e.g. per partition leader). */
export interface ConnectionChoice {
  /** Extra key for a dedicated connection to the same broker. */
  lane?: string;
}

/**
 * The cluster as the layers above see it: a metadata cache and a pool of connections, with
 * requests addressed to a node id (or to any broker). Connection losses and leadership errors
 * trigger a metadata refresh.
 */
export class Cluster {
  readonly metadata: MetadataCache;
  private readonly pool: ConnectionPool;
  private readonly bootstrap: BrokerAddress[];

  constructor(private readonly options: ClusterOptions) {
    this.bootstrap = typeof options.bootstrap === 'string' ? parseBootstrap(options.bootstrap) : options.bootstrap;
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
    this.pool.onConnectionLost((key) => {
      if (key.startsWith('node:')) this.metadata.requestRefresh();
    });
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
    return this.pool.get(choice.lane ? `node:${nodeId}/${choice.lane}` : `node:${nodeId}`, broker, this.brokerLabel(nodeId));
  }

  /**
   * A connection to any broker: one already open if there is one, else the known brokers and
   * then the bootstrap addresses in turn. Fails naming every address tried and why.
   */
  async anyConnection(): Promise<Connection> {
    for (const nodeId of this.metadata.brokers.keys()) {
      const open = this.pool.peek(`node:${nodeId}`);
      if (open) return open;
    }
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
    const failures: string[] = [];
    for (const candidate of candidates) {
      try {
        return await this.pool.get(candidate.key, candidate.address, candidate.label);
      } catch (error) {
        if (error instanceof AuthenticationError) throw error;
        failures.push((error as Error).message);
      }
    }
    throw new ConnectionError(
      'cluster',
      `no broker could be reached; tried ${candidates.length} address${candidates.length === 1 ? '' : 'es'}:\n  ${failures.join('\n  ')}`,
    );
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
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })),
      allowAutoTopicCreation: this.options.allowAutoTopicCreation ?? false,
    });
    // Metadata v0 has no null for "all topics": an empty list means all there.
    if (version === 0 && topics === null) request.topics = [];
    return connection.request(Metadata, request, { version });
  }
}
