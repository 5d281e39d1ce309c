import { fetchKafka } from '../embedded/artifacts.js';
import {
  bootstrapFor,
  type ClusterState,
  clusterIdOf,
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
import { DEFAULT_KAFKA_VERSION, TESTED_KAFKA_VERSIONS, versionFeatures } from '../embedded/versions.js';
import {
  type Command,
  type FlagSpec,
  type ParsedArgs,
  type Subcommand,
  stringFlag,
  subcommand,
  subcommandList,
  UsageError,
  unionSpec,
} from './args.js';

const NAME_LINE = `  --name NAME         a second, separate cluster beside the default one (default "${DEFAULT_CLUSTER_NAME}")`;
const VERSION_LINE =
  `  --version V         the Kafka version (default ${DEFAULT_KAFKA_VERSION}; ` + `tested: ${TESTED_KAFKA_VERSIONS.join(', ')})`;

const brokerSubcommand = (synopsis: string, about: string, flags: Omit<FlagSpec, 'command'>, details: string[] = []) =>
  subcommand('broker', synopsis, about, flags, details, [NAME_LINE]);

const SUBCOMMANDS: Record<string, Subcommand> = {
  fetch: brokerSubcommand(
    'fetch [--version V]',
    "download Kafka's jars with mvn into the cache (once)",
    { options: ['version', 'name'], switches: [] },
    [VERSION_LINE],
  ),
  start: brokerSubcommand(
    'start [--version V] [--brokers 1|3] [--port-base N|auto]',
    'fetch if needed, format KRaft storage (or start ZooKeeper), start, wait until every node answers ApiVersions',
    { options: ['version', 'brokers', 'port-base', 'name'], switches: [] },
    [
      VERSION_LINE,
      '                      KRaft from 3.3; 2.8 to 3.2 run in ZooKeeper mode, with their own ZooKeeper',
      '  --brokers 1|3       nodes, each a combined broker and controller (a broker in ZooKeeper mode; default 1)',
      `  --port-base N|auto  node n listens on N+10(n-1): +0 PLAINTEXT, +1 SASL_PLAINTEXT, +2 SSL, +3 controller`,
      `                      (ZooKeeper mode: N+9 ZooKeeper; default ${DEFAULT_PORT_BASE}; auto picks free ports)`,
    ],
  ),
  status: brokerSubcommand(
    'status [--json]',
    'listeners, bootstrap addresses, version, node ids and pids',
    { options: ['name'], switches: ['json'] },
    ['  --json              as JSON'],
  ),
  stop: brokerSubcommand(
    'stop [--all]',
    'stop every node this cluster started and wait for them to exit',
    { options: ['name'], switches: ['all'] },
    ['  --all               every cluster under the state directory'],
  ),
  kill: brokerSubcommand('kill ID', 'SIGKILL one node, as a crash would (fault tests)', { options: ['name'], switches: [] }),
  restart: brokerSubcommand('restart ID', 'stop one node if running, start it again on its data, wait until ready', {
    options: ['name'],
    switches: [],
  }),
};

export const BROKER_USAGE = `usage: kafka-wire broker <command> [options]   run Apache Kafka on loopback, from Maven Central, on this JVM

${subcommandList(SUBCOMMANDS)}

  every command takes --name NAME to manage a second, separate cluster (default "${DEFAULT_CLUSTER_NAME}")
  defaults: --version ${DEFAULT_KAFKA_VERSION}, --brokers 1, --port-base ${DEFAULT_PORT_BASE}
  (node n listens on base+10(n-1): +0 PLAINTEXT, +1 SASL_PLAINTEXT, +2 SSL, +3 controller;
  in ZooKeeper mode, Kafka 2.8 to 3.2, ZooKeeper listens on base+9)
  "kafka-wire broker <command> --help" describes one command`;

function nodeId(args: ParsedArgs, command: string): number {
  const raw = args.positional[1];
  const id = Number(raw);
  if (raw === undefined || !Number.isInteger(id) || id < 1)
    throw new UsageError(`"broker ${command}" needs a node id, e.g. "kafka-wire broker ${command} 2"`);
  return id;
}

/** Why the cluster's version offers no SCRAM, or undefined when it does. */
function scramUnavailable(state: ClusterState): string | undefined {
  const { scram } = versionFeatures(state.kafkaVersion);
  return scram.how === 'unavailable' ? scram.why : undefined;
}

export function describeCluster(state: ClusterState): string {
  const kraft = state.mode === 'kraft';
  const lines = [
    `cluster "${state.name}": Apache Kafka ${state.kafkaVersion} (${kraft ? 'KRaft' : 'ZooKeeper mode'}), ` +
      `${state.nodes.length} node(s), cluster id ${clusterIdOf(state) ?? '(not assigned yet)'}`,
    `state directory: ${state.dir}`,
  ];
  const zookeeper = state.zookeeper;
  if (zookeeper) {
    const running = nodeIsRunning(zookeeper);
    lines.push(
      `  zookeeper  ${running ? `running (pid ${zookeeper.pid})` : 'stopped'}  127.0.0.1:${zookeeper.port}`,
      `          log ${zookeeper.logFile}`,
    );
  }
  for (const node of state.nodes) {
    const running = nodeIsRunning(node);
    lines.push(
      `  node ${node.id}  ${running ? `running (pid ${node.pid})` : 'stopped'}  PLAINTEXT 127.0.0.1:${node.ports.plaintext}  ` +
        `SASL_PLAINTEXT 127.0.0.1:${node.ports.saslPlaintext}  SSL 127.0.0.1:${node.ports.ssl}` +
        (kraft ? `  controller 127.0.0.1:${node.ports.controller}` : ''),
      `          log ${node.logFile}`,
    );
  }
  lines.push(
    'bootstrap:',
    `  PLAINTEXT       ${bootstrapFor(state, 'plaintext')}`,
    `  SASL_PLAINTEXT  ${bootstrapFor(state, 'saslPlaintext')}  ` +
      `(user ${state.sasl.username}, password ${state.sasl.password}; ${state.sasl.mechanisms.join(', ')})`,
    `  SSL             ${bootstrapFor(state, 'ssl')}  (CA certificate ${state.tls.caFile})`,
  );
  const noScram = scramUnavailable(state);
  if (noScram) lines.push(`SCRAM-SHA-256/512 unavailable: ${noScram}`);
  return lines.join('\n');
}

function statusJson(state: ClusterState): string {
  return JSON.stringify(
    {
      name: state.name,
      kafkaVersion: state.kafkaVersion,
      mode: state.mode,
      clusterId: clusterIdOf(state) ?? null,
      stateDir: state.dir,
      bootstrap: {
        plaintext: bootstrapFor(state, 'plaintext'),
        saslPlaintext: bootstrapFor(state, 'saslPlaintext'),
        ssl: bootstrapFor(state, 'ssl'),
      },
      sasl: { ...state.sasl, scramUnavailable: scramUnavailable(state) ?? null },
      tls: { caFile: state.tls.caFile },
      zookeeper: state.zookeeper
        ? {
            port: state.zookeeper.port,
            running: nodeIsRunning(state.zookeeper),
            pid: nodeIsRunning(state.zookeeper) ? state.zookeeper.pid : null,
            logFile: state.zookeeper.logFile,
          }
        : null,
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

async function brokerCommand(args: ParsedArgs, out: (line: string) => void): Promise<number> {
  const command = args.positional[0];
  const name = stringFlag(args, 'name') ?? DEFAULT_CLUSTER_NAME;
  const log = (line: string) => out(`kafka-wire: ${line}`);
  switch (command) {
    case 'fetch': {
      const artifacts = await fetchKafka(stringFlag(args, 'version') ?? DEFAULT_KAFKA_VERSION, log);
      out(`Apache Kafka ${artifacts.version} is cached in ${artifacts.libDir}`);
      return 0;
    }
    case 'start': {
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
      const state = loadClusterState(name);
      if (!state) {
        out(args.flags.has('json') ? 'null' : `no embedded cluster "${name}" has been started`);
        return 1;
      }
      out(args.flags.has('json') ? statusJson(state) : describeCluster(state));
      return 0;
    }
    case 'stop': {
      for (const cluster of args.flags.has('all') ? listClusters() : [name]) {
        const zookeeper = loadClusterState(cluster)?.zookeeper;
        const zookeeperRan = zookeeper !== undefined && nodeIsRunning(zookeeper);
        const stopped = await stopCluster(cluster);
        const what = [...(stopped.length ? [`node(s) ${stopped.join(', ')}`] : []), ...(zookeeperRan ? ['its ZooKeeper'] : [])];
        out(what.length ? `stopped ${what.join(' and ')} of cluster "${cluster}"` : `cluster "${cluster}" has no running node`);
      }
      return 0;
    }
    case 'kill': {
      const id = nodeId(args, 'kill');
      await killNode(id, name);
      out(`killed node ${id} of cluster "${name}" (SIGKILL)`);
      return 0;
    }
    case 'restart': {
      const id = nodeId(args, 'restart');
      const state = await restartNode(id, name);
      out(`node ${id} of cluster "${name}" is running again (pid ${state.nodes.find((node) => node.id === id)?.pid})`);
      return 0;
    }
    default:
      throw new UsageError(`unknown broker command "${command}"`);
  }
}

export const BROKER: Command = {
  name: 'broker',
  summary: 'manage the embedded Apache Kafka: fetch, start, status, stop, kill, restart',
  usage: BROKER_USAGE,
  spec: unionSpec('broker', SUBCOMMANDS),
  subcommands: SUBCOMMANDS,
  run: brokerCommand,
};
