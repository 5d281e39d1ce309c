import { fetchKafka } from '../embedded/artifacts.js';
import {
  bootstrapFor,
  type ClusterState,
  DEFAULT_CLUSTER_NAME,
  DEFAULT_PORT_BASE,
  killNode,
  listClusters,
  loadClusterState,
  nodeIsRunning,
  restartNode,
  startCluster,
  stopCluster,
} from '../embedded/cluster.js';
import { DEFAULT_KAFKA_VERSION } from '../embedded/versions.js';
import { allowOnly, type ParsedArgs, parseArgs, stringFlag, UsageError } from './args.js';

export const BROKER_USAGE = `kafka-wire broker <command>   run Apache Kafka on loopback, from Maven Central, on this JVM

  fetch   [--version V]                          download Kafka's jars with mvn into the cache (once)
  start   [--version V] [--brokers 1|3] [--port-base N|auto]
                                                 fetch if needed, format KRaft storage, start, wait for ApiVersions
  status  [--json]                               listeners, bootstrap addresses, version, node ids and pids
  stop    [--all]                                stop every node this cluster (or, with --all, every cluster) started; wait for exits
  kill ID                                        SIGKILL one node (fault tests)
  restart ID                                     stop one node if running, start it again, wait until ready

  every command takes --name NAME to manage a second, separate cluster (default "${DEFAULT_CLUSTER_NAME}")
  defaults: --version ${DEFAULT_KAFKA_VERSION}, --brokers 1, --port-base ${DEFAULT_PORT_BASE}
  (node n listens on base+10(n-1): +0 PLAINTEXT, +1 SASL_PLAINTEXT, +2 SSL, +3 controller)`;

function nodeId(args: ParsedArgs, command: string): number {
  const raw = args.positional[1];
  const id = Number(raw);
  if (raw === undefined || !Number.isInteger(id) || id < 1)
    throw new UsageError(`"broker ${command}" needs a node id, e.g. "kafka-wire broker ${command} 2"`);
  return id;
}

export function describeCluster(state: ClusterState): string {
  const lines = [
    `cluster "${state.name}": Apache Kafka ${state.kafkaVersion}, ${state.nodes.length} node(s), cluster id ${state.clusterId}`,
    `state directory: ${state.dir}`,
  ];
  for (const node of state.nodes) {
    const running = nodeIsRunning(node);
    lines.push(
      `  node ${node.id}  ${running ? `running (pid ${node.pid})` : 'stopped'}  PLAINTEXT 127.0.0.1:${node.ports.plaintext}  SASL_PLAINTEXT 127.0.0.1:${node.ports.saslPlaintext}  SSL 127.0.0.1:${node.ports.ssl}  controller 127.0.0.1:${node.ports.controller}`,
      `          log ${node.logFile}`,
    );
  }
  lines.push(
    'bootstrap:',
    `  PLAINTEXT       ${bootstrapFor(state, 'plaintext')}`,
    `  SASL_PLAINTEXT  ${bootstrapFor(state, 'saslPlaintext')}  (user ${state.sasl.username}, password ${state.sasl.password}; ${state.sasl.mechanisms.join(', ')})`,
    `  SSL             ${bootstrapFor(state, 'ssl')}  (CA certificate ${state.tls.caFile})`,
  );
  return lines.join('\n');
}

function statusJson(state: ClusterState): string {
  return JSON.stringify(
    {
      name: state.name,
      kafkaVersion: state.kafkaVersion,
      clusterId: state.clusterId,
      stateDir: state.dir,
      bootstrap: {
        plaintext: bootstrapFor(state, 'plaintext'),
        saslPlaintext: bootstrapFor(state, 'saslPlaintext'),
        ssl: bootstrapFor(state, 'ssl'),
      },
      sasl: state.sasl,
      tls: { caFile: state.tls.caFile },
      nodes: state.nodes.map((node) => ({
        id: node.id,
        running: nodeIsRunning(node),
        pid: nodeIsRunning(node) ? node.pid : null,
        ports: node.ports,
        logFile: node.logFile,
      })),
    },
    null,
    2,
  );
}

function parsePortBase(raw: string | undefined): number | 'auto' | undefined {
  if (raw === undefined || raw === 'auto') return raw;
  const base = Number(raw);
  if (!Number.isInteger(base)) throw new UsageError(`--port-base must be a port number or "auto", not "${raw}"`);
  return base;
}

export async function brokerCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = parseArgs(argv, new Set(['json', 'all']));
  const command = args.positional[0];
  const name = stringFlag(args, 'name') ?? DEFAULT_CLUSTER_NAME;
  const log = (line: string) => out(`kafka-wire: ${line}`);
  switch (command) {
    case 'fetch': {
      allowOnly(args, ['version', 'name'], 'broker fetch');
      const artifacts = await fetchKafka(stringFlag(args, 'version') ?? DEFAULT_KAFKA_VERSION, log);
      out(`Apache Kafka ${artifacts.version} is cached in ${artifacts.libDir}`);
      return 0;
    }
    case 'start': {
      allowOnly(args, ['version', 'brokers', 'port-base', 'name'], 'broker start');
      const brokersRaw = stringFlag(args, 'brokers') ?? '1';
      if (brokersRaw !== '1' && brokersRaw !== '3') throw new UsageError(`--brokers must be 1 or 3, not "${brokersRaw}"`);
      // An interrupted start must not leave JVMs behind: stop what was launched, then exit.
      const onSignal = () => void stopCluster(name).finally(() => process.exit(130));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const state = await startCluster({
          name,
          version: stringFlag(args, 'version'),
          brokers: Number(brokersRaw) as 1 | 3,
          portBase: parsePortBase(stringFlag(args, 'port-base')),
          log,
        });
        out(describeCluster(state));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      return 0;
    }
    case 'status': {
      allowOnly(args, ['json', 'name'], 'broker status');
      const state = loadClusterState(name);
      if (!state) {
        out(args.flags.has('json') ? 'null' : `no embedded cluster "${name}" has been started`);
        return 1;
      }
      out(args.flags.has('json') ? statusJson(state) : describeCluster(state));
      return 0;
    }
    case 'stop': {
      allowOnly(args, ['name', 'all'], 'broker stop');
      for (const cluster of args.flags.has('all') ? listClusters() : [name]) {
        const stopped = await stopCluster(cluster);
        out(stopped.length ? `stopped node(s) ${stopped.join(', ')} of cluster "${cluster}"` : `cluster "${cluster}" has no running node`);
      }
      return 0;
    }
    case 'kill': {
      allowOnly(args, ['name'], 'broker kill');
      const id = nodeId(args, 'kill');
      await killNode(id, name);
      out(`killed node ${id} of cluster "${name}" (SIGKILL)`);
      return 0;
    }
    case 'restart': {
      allowOnly(args, ['name'], 'broker restart');
      const id = nodeId(args, 'restart');
      const state = await restartNode(id, name);
      out(`node ${id} of cluster "${name}" is running again (pid ${state.nodes.find((node) => node.id === id)?.pid})`);
      return 0;
    }
    default:
      throw new UsageError(command ? `unknown broker command "${command}"\n\n${BROKER_USAGE}` : BROKER_USAGE);
  }
}
