import { bootstrapFor, type ClusterState, startCluster, stopCluster } from '../embedded/cluster.js';
import type { NodePorts } from '../embedded/config.js';

/** How to start an embedded cluster for a test run. */
export interface EmbeddedKafkaOptions {
  /** The cluster's name: its configs, data and logs live in `<state dir>/<name>`. Two clusters at once need two names. */
  name?: string;
  /** Apache Kafka version; its jars are fetched from Maven Central into the cache on first use. */
  version?: string;
  /** 1 or 3 nodes: combined broker+controller KRaft nodes, or brokers beside one ZooKeeper for Kafka 2.8 to 3.2. */
  brokers?: 1 | 3;
  /** 'auto' picks free ports; a number is node 1's first port (node n uses base + 10·(n−1) + 0..3). */
  portBase?: number | 'auto';
  /** Extra server.properties for every node (e.g. `{ 'log.retention.check.interval.ms': 250 }`). */
  brokerProperties?: Readonly<Record<string, string | number>>;
  /** How long a node may take to answer ApiVersions before the start fails (and stops what it launched). */
  readyTimeoutMs?: number;
  /** Receives progress lines (download, format, start); silent when absent. */
  log?: (line: string) => void;
}

/** Bootstrap addresses (`127.0.0.1:port,…`) per client listener. */
export interface EmbeddedKafkaListeners {
  plaintext: string;
  /**
   * SASL PLAIN, SCRAM-SHA-256/512 (not on KRaft 3.3 and 3.4: see `sasl.mechanisms`) and
   * OAUTHBEARER (unsigned tokens), with the `sasl` credentials.
   */
  saslPlaintext: string;
  /** TLS with a certificate for `localhost` and `127.0.0.1` signed by the CA in `caFile`. */
  ssl: string;
}

export interface EmbeddedKafkaNode {
  id: number;
  pid: number | null;
  ports: NodePorts;
  logFile: string;
}

/** A running embedded cluster. */
export interface EmbeddedKafka {
  readonly name: string;
  readonly kafkaVersion: string;
  /** The PLAINTEXT listeners' addresses, for the `bootstrap` option of Producer and Cluster. */
  readonly bootstrap: string;
  readonly listeners: EmbeddedKafkaListeners;
  readonly sasl: { readonly username: string; readonly password: string; readonly mechanisms: readonly string[] };
  /** PEM file of the throwaway CA that signed the SSL listener's certificate. */
  readonly caFile: string;
  /** Configs, data and logs of this cluster. */
  readonly dir: string;
  readonly nodes: readonly EmbeddedKafkaNode[];
  /** Stops every node (SIGTERM, then SIGKILL) and waits for the JVMs to exit; a second call does nothing. */
  stop(): Promise<void>;
}

export const DEFAULT_TESTING_CLUSTER = 'testing';

function toEmbeddedKafka(state: ClusterState): EmbeddedKafka {
  return {
    name: state.name,
    kafkaVersion: state.kafkaVersion,
    bootstrap: bootstrapFor(state, 'plaintext'),
    listeners: {
      plaintext: bootstrapFor(state, 'plaintext'),
      saslPlaintext: bootstrapFor(state, 'saslPlaintext'),
      ssl: bootstrapFor(state, 'ssl'),
    },
    sasl: { username: state.sasl.username, password: state.sasl.password, mechanisms: [...state.sasl.mechanisms] },
    caFile: state.tls.caFile,
    dir: state.dir,
    nodes: state.nodes.map(({ id, pid, ports, logFile }) => ({ id, pid, ports: { ...ports }, logFile })),
    stop: async () => {
      await stopCluster(state.name);
    },
  };
}

/**
 * Starts an embedded Apache Kafka on loopback (on free ports unless `portBase` says otherwise)
 * and resolves once every node answers. Needs Java 17+, and Maven for the first download of a
 * version. Rejects with an EmbeddedKafkaError, having stopped whatever it launched.
 */
export async function startKafka(options: EmbeddedKafkaOptions = {}): Promise<EmbeddedKafka> {
  const { name = DEFAULT_TESTING_CLUSTER, portBase = 'auto', ...rest } = options;
  return toEmbeddedKafka(await startCluster({ ...rest, name, portBase }));
}

/** Stops the named cluster, e.g. one a crashed test run left behind. Returns the ids of the nodes it stopped. */
export function stopKafka(name: string = DEFAULT_TESTING_CLUSTER): Promise<number[]> {
  return stopCluster(name);
}
