import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiVersionsProbeError, probeApiVersions } from './api-versions-probe.js';
import { fetchKafka } from './artifacts.js';
import {
  brokerProperties,
  LOG4J1_PROPERTIES,
  LOG4J2_PROPERTIES,
  type NodePorts,
  portsFromBase,
  portsFromList,
  SASL_USER,
  saslMechanisms,
  scramFormatArguments,
  ZOOKEEPER_PORT_OFFSET,
} from './config.js';
import { EmbeddedKafkaError } from './errors.js';
import { withLock } from './lock.js';
import { clusterDir, stateRoot } from './paths.js';
import { assertPortsFree, freePorts, LOOPBACK } from './ports.js';
import { isOurProcess, signal, sleep, waitForExit } from './processes.js';
import { generateTlsMaterial, type TlsMaterial } from './tls.js';
import { findJavaTools } from './tools.js';
import { type ClusterMode, DEFAULT_KAFKA_VERSION, versionFeatures } from './versions.js';
import {
  scramCredentialArguments,
  ZOOKEEPER_HEAP,
  ZOOKEEPER_MAIN_CLASS,
  type ZooKeeperState,
  zookeeperProperties,
  zookeeperServes,
  zookeeperState,
} from './zookeeper.js';

export interface NodeState {
  id: number;
  ports: NodePorts;
  configFile: string;
  logFile: string;
  pidFile: string;
  /** Read from pidFile, the only record of it: each node's pid is kept apart, so changing one node cannot undo another's change. */
  pid: number | null;
}

/** Everything needed to find, use and stop a cluster later: cluster.json (written once, at start) and the nodes' pid files. */
export interface ClusterState {
  name: string;
  dir: string;
  kafkaVersion: string;
  /** KRaft from Kafka 3.3, ZooKeeper mode before (absent in the cluster.json of older kafka-wire: KRaft). */
  mode: ClusterMode;
  /** Chosen at format time in KRaft mode; in ZooKeeper mode the first broker has ZooKeeper assign one (see clusterIdOf). */
  clusterId: string | null;
  java: string;
  classpath: string;
  jvmOptions: string[];
  tls: TlsMaterial;
  sasl: { username: string; password: string; mechanisms: string[] };
  nodes: NodeState[];
  /** ZooKeeper mode only: the cluster's ZooKeeper, started before the brokers and stopped after them. */
  zookeeper?: ZooKeeperState;
}

export interface StartOptions {
  name?: string;
  version?: string;
  brokers?: 1 | 3;
  /** First port of node 1 (node n uses portBase + 10·(n−1) + 0..3; ZooKeeper, if any, portBase + 9), or 'auto' for free ports. */
  portBase?: number | 'auto';
  readyTimeoutMs?: number;
  /** Extra server.properties entries for every node, over the defaults (the test suite's faster retention pass, say). */
  brokerProperties?: Readonly<Record<string, string | number>>;
  /**
   * Per node id, the port of a (fault) proxy that will stand in front of it: each node gets one
   * more plaintext listener advertised at that port (NodePorts.proxied), for clients to reach it
   * through the proxy only; replication and the controllers stay direct.
   */
  proxies?: Readonly<Record<number, number>>;
  /**
   * Ports of (fault) proxies between the nodes: `replication[i]` stands in front of node i's
   * replication listener (the other brokers fetch from it there), `controllers[i][j]` is where
   * node i reaches controller j. Through them a node can be cut off from the rest of the cluster
   * while clients still reach it.
   */
  peerProxies?: {
    replication: Readonly<Record<number, number>>;
    controllers: Readonly<Record<number, Readonly<Record<number, number>>>>;
  };
  /** Told each node's ports once they are chosen, before any node starts (proxies between nodes must pass by then). */
  portsChosen?: (ports: ReadonlyMap<number, NodePorts>) => void | Promise<void>;
  log?: (line: string) => void;
}

export const DEFAULT_CLUSTER_NAME = 'default';
export const DEFAULT_PORT_BASE = 9092;
const DEFAULT_READY_TIMEOUT_MS = 120_000;
const GRACEFUL_STOP_MS = 30_000;
const KILL_WAIT_MS = 10_000;
/** Longer than any locked step (a graceful stop then a kill, or formatting storage), so a wait only fails when a command hangs. */
const LOCK_WAIT_MS = 120_000;
const LOCK_FILE = 'cluster.lock';

/** A random Kafka uuid; like Kafka's own, never starting with '-', which command lines would take for an option. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function stateFile(dir: string): string {
  return join(dir, 'cluster.json');
}

/** Written to a scratch file and renamed into place, so a reader never sees half of it. */
function writeAtomically(file: string, content: string): void {
  const scratch = `${file}.${process.pid}.tmp`;
  writeFileSync(scratch, content);
  renameSync(scratch, file);
}

function readPid(pidFile: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** A JVM this cluster starts and stops: a node, or the ZooKeeper. Its config file on the command line tells it from a recycled pid. */
type Tracked = Pick<NodeState, 'configFile' | 'logFile' | 'pidFile' | 'pid'>;

function recordPid(jvm: Tracked, pid: number | null): void {
  jvm.pid = pid;
  if (pid === null) rmSync(jvm.pidFile, { force: true });
  else writeAtomically(jvm.pidFile, `${pid}\n`);
}

export function loadClusterState(name = DEFAULT_CLUSTER_NAME): ClusterState | undefined {
  const file = stateFile(clusterDir(name));
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
  state.mode ??= 'kraft';
  for (const node of state.nodes) node.pid = readPid(node.pidFile);
  if (state.zookeeper) state.zookeeper.pid = readPid(state.zookeeper.pidFile);
  return state;
}

/** cluster.json, without pids (those are in the pid files). */
function writeClusterFile(state: ClusterState): void {
  const nodes = state.nodes.map(({ pid: _pid, ...node }) => node);
  const zookeeper = state.zookeeper && { ...state.zookeeper, pid: undefined };
  writeAtomically(stateFile(state.dir), `${JSON.stringify({ ...state, nodes, zookeeper }, null, 2)}\n`);
}

/** Every change to a cluster's nodes (start, stop, kill, restart) holds this lock, across processes. */
function lockCluster<T>(dir: string, body: () => Promise<T>): Promise<T> {
  return withLock(join(dir, LOCK_FILE), LOCK_WAIT_MS, body);
}

/** Where a node keeps its logs (log.dirs), the metadata log's included. */
export function nodeDataDir(clusterDir: string, nodeId: number): string {
  return join(clusterDir, `node-${nodeId}`, 'data');
}

export function nodeIsRunning(node: Tracked): boolean {
  return isOurProcess(node.pid, node.configFile);
}

/** The cluster id: chosen by us in KRaft mode; in ZooKeeper mode the one a broker wrote to meta.properties, once it has. */
export function clusterIdOf(state: ClusterState): string | undefined {
  if (state.clusterId !== null) return state.clusterId;
  for (const node of state.nodes) {
    try {
      const meta = readFileSync(join(nodeDataDir(state.dir, node.id), 'meta.properties'), 'utf8');
      const id = /^cluster\.id=(.+)$/m.exec(meta)?.[1]?.trim();
      if (id) return id;
    } catch {
      // Not written yet: the broker has not registered.
    }
  }
  return undefined;
}

/** Comma-separated bootstrap addresses of the running nodes for one listener. */
export function bootstrapFor(state: ClusterState, listener: 'plaintext' | 'saslPlaintext' | 'ssl'): string {
  return state.nodes.map((node) => `${LOOPBACK}:${node.ports[listener]}`).join(',');
}

function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

/** Runs a Kafka tool (StorageTool, ConfigCommand) to its end, its output appended to logFile. */
function runJava(state: ClusterState, args: string[], logFile: string): Promise<number> {
  const out = openSync(logFile, 'a');
  const child = spawn(state.java, [...state.jvmOptions, '-cp', state.classpath, ...args], { stdio: ['ignore', out, out] });
  closeSync(out);
  return new Promise((resolvePromise) => {
    child.on('error', () => resolvePromise(-1));
    child.on('close', (code) => resolvePromise(code ?? -1));
  });
}

async function formatStorage(state: ClusterState, node: NodeState): Promise<void> {
  const scram = versionFeatures(state.kafkaVersion).scram.how === 'storage-format' ? scramFormatArguments() : [];
  const code = await runJava(
    state,
    ['kafka.tools.StorageTool', 'format', '-t', state.clusterId ?? '', '-c', node.configFile, ...scram],
    node.logFile,
  );
  if (code !== 0) {
    throw new EmbeddedKafkaError(
      'FORMAT_FAILED',
      `formatting KRaft storage of node ${node.id} failed (exit ${code}); see ${node.logFile}:\n${logTail(node.logFile)}`,
    );
  }
}

/** Starts a long-running JVM in the background, detached from us, and records its pid. */
function launch(state: ClusterState, jvm: Tracked, what: string, jvmOptions: string[], mainClass: string): void {
  const out = openSync(jvm.logFile, 'a');
  const child = spawn(state.java, [...jvmOptions, '-cp', state.classpath, mainClass, jvm.configFile], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new EmbeddedKafkaError('START_FAILED', `could not spawn ${state.java} for ${what}`);
  recordPid(jvm, child.pid);
}

function launchNode(state: ClusterState, node: NodeState): void {
  launch(state, node, `node ${node.id}`, state.jvmOptions, 'kafka.Kafka');
}

const ZOOKEEPER_READY_TIMEOUT_MS = 60_000;

/**
 * Starts the cluster's ZooKeeper unless it runs, and waits until it serves. Its JVM takes the
 * brokers' options but a small heap. Call with the cluster locked.
 */
async function ensureZooKeeper(state: ClusterState, zookeeper: ZooKeeperState): Promise<void> {
  if (nodeIsRunning(zookeeper)) return;
  await assertPortsFree([zookeeper.port]);
  const jvmOptions = [...ZOOKEEPER_HEAP, ...state.jvmOptions.filter((option) => !/^-Xm[sx]/.test(option))];
  launch(state, zookeeper, 'ZooKeeper', jvmOptions, ZOOKEEPER_MAIN_CLASS);
  const deadline = Date.now() + ZOOKEEPER_READY_TIMEOUT_MS;
  while (!(await zookeeperServes(zookeeper.port, 2000))) {
    if (!nodeIsRunning(zookeeper)) {
      throw new EmbeddedKafkaError(
        'START_FAILED',
        `ZooKeeper exited during start; see ${zookeeper.logFile}:\n${logTail(zookeeper.logFile)}`,
      );
    }
    if (Date.now() >= deadline) {
      throw new EmbeddedKafkaError(
        'START_TIMEOUT',
        `ZooKeeper did not serve on ${LOOPBACK}:${zookeeper.port} within ${ZOOKEEPER_READY_TIMEOUT_MS / 1000} s; ` +
          `see ${zookeeper.logFile}:\n${logTail(zookeeper.logFile)}`,
      );
    }
    await sleep(250);
  }
}

/** ZooKeeper mode: the SASL user's SCRAM credentials go into ZooKeeper before any broker reads them. */
async function createScramUsersInZooKeeper(state: ClusterState, zookeeper: ZooKeeperState): Promise<void> {
  const code = await runJava(state, scramCredentialArguments(zookeeper.port), zookeeper.logFile);
  if (code !== 0) {
    throw new EmbeddedKafkaError(
      'START_FAILED',
      `creating the SCRAM user in ZooKeeper failed (exit ${code}); see ${zookeeper.logFile}:\n${logTail(zookeeper.logFile)}`,
    );
  }
}

/** Ready means the node answered a real ApiVersions request on its PLAINTEXT listener. */
async function waitUntilReady(node: NodeState, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'not tried yet';
  while (Date.now() < deadline) {
    if (!nodeIsRunning(node)) {
      if (readPid(node.pidFile) !== node.pid) {
        throw new EmbeddedKafkaError(
          'START_FAILED',
          `node ${node.id} was stopped or restarted by another kafka-wire command while it started`,
        );
      }
      throw new EmbeddedKafkaError('START_FAILED', `node ${node.id} exited during start; see ${node.logFile}:\n${logTail(node.logFile)}`);
    }
    try {
      const response = await probeApiVersions(LOOPBACK, node.ports.plaintext, 2000);
      if (response.errorCode === 0) return;
      lastError = `ApiVersions error code ${response.errorCode}`;
    } catch (error) {
      if (!(error instanceof ApiVersionsProbeError)) throw error;
      lastError = error.message;
    }
    await sleep(250);
  }
  throw new EmbeddedKafkaError(
    'START_TIMEOUT',
    `node ${node.id} did not answer ApiVersions on ${LOOPBACK}:${node.ports.plaintext} within ${Math.round(timeoutMs / 1000)} s ` +
      `(last: ${lastError}); see ${node.logFile}:\n${logTail(node.logFile)}`,
  );
}

/** Stops a JVM if it runs (SIGTERM, or straight to SIGKILL) and clears its pid file. Call with the cluster locked. */
async function stopProcess(jvm: Tracked, what: string, graceful: boolean): Promise<boolean> {
  if (!nodeIsRunning(jvm)) {
    recordPid(jvm, null);
    return false;
  }
  const pid = jvm.pid as number;
  if (graceful) signal(pid, 'SIGTERM');
  if (!graceful || !(await waitForExit(pid, GRACEFUL_STOP_MS))) {
    signal(pid, 'SIGKILL');
    if (!(await waitForExit(pid, KILL_WAIT_MS))) {
      throw new EmbeddedKafkaError('STOP_FAILED', `${what} (pid ${pid}) is still alive ${KILL_WAIT_MS / 1000} s after SIGKILL`);
    }
  }
  recordPid(jvm, null);
  return true;
}

function stopNode(node: NodeState, graceful: boolean): Promise<boolean> {
  return stopProcess(node, `node ${node.id}`, graceful);
}

/** Stops the brokers first: stopped before them, ZooKeeper would leave them retrying until they are killed. */
async function stopAll(state: ClusterState, graceful: boolean): Promise<number[]> {
  const stopped = await Promise.all(state.nodes.map(async (node) => ((await stopNode(node, graceful)) ? node.id : undefined)));
  if (state.zookeeper) await stopProcess(state.zookeeper, 'ZooKeeper', graceful);
  return stopped.filter((id): id is number => id !== undefined);
}

/**
 * After a failed start: stops what this call launched (ZooKeeper too, when withZooKeeper),
 * unless another command has since stopped or restarted it.
 */
async function stopIfStillOurs(state: ClusterState, launched: NodeState[], withZooKeeper = false): Promise<void> {
  await lockCluster(state.dir, async () => {
    await Promise.all(launched.filter((node) => readPid(node.pidFile) === node.pid).map((node) => stopNode(node, false)));
    const zookeeper = state.zookeeper;
    if (withZooKeeper && zookeeper && readPid(zookeeper.pidFile) === zookeeper.pid) await stopProcess(zookeeper, 'ZooKeeper', false);
  });
}

function jvmOptions(dir: string, kafkaVersion: string, nodeCount: number): string[] {
  const heap = process.env.KAFKA_HEAP_OPTS?.split(/\s+/).filter(Boolean) ?? ['-Xms256m', nodeCount === 1 ? '-Xmx1g' : '-Xmx768m'];
  // Kafka 4 logs through log4j2, older lines through log4j 1 (reload4j); each reads its own config property.
  const logging = versionFeatures(kafkaVersion).log4j2
    ? `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`
    : `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`;
  return [...heap, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true', logging];
}

/** Each node's ports, and in ZooKeeper mode ZooKeeper's: from a base, or free ones. */
async function choosePorts(
  portBase: number | 'auto',
  nodeIds: number[],
  mode: ClusterMode,
): Promise<{ nodes: Map<number, NodePorts>; zookeeper?: number }> {
  const withZooKeeper = mode === 'zookeeper';
  if (portBase === 'auto') {
    const ports = await freePorts(nodeIds.length * 4 + (withZooKeeper ? 1 : 0));
    return { nodes: portsFromList(ports, nodeIds), zookeeper: withZooKeeper ? ports.at(-1) : undefined };
  }
  const highestOffset = Math.max(10 * (nodeIds.length - 1) + 3, withZooKeeper ? ZOOKEEPER_PORT_OFFSET : 0);
  if (!Number.isInteger(portBase) || portBase < 1024 || portBase + highestOffset > 65535) {
    throw new EmbeddedKafkaError('BAD_ARGUMENT', `--port-base ${portBase} must be an integer from 1024 to ${65535 - highestOffset}`);
  }
  return { nodes: portsFromBase(portBase, nodeIds), zookeeper: withZooKeeper ? portBase + ZOOKEEPER_PORT_OFFSET : undefined };
}

function refuseIfRunning(name: string): void {
  const state = loadClusterState(name);
  const running = (state?.nodes.filter(nodeIsRunning) ?? []).map((node) => `node ${node.id} pid ${node.pid}`);
  // A ZooKeeper left running (its brokers killed) holds its port and data directory all the same.
  if (state?.zookeeper && nodeIsRunning(state.zookeeper)) running.push(`ZooKeeper pid ${state.zookeeper.pid}`);
  if (running.length > 0) {
    throw new EmbeddedKafkaError(
      'ALREADY_RUNNING',
      `cluster "${name}" is already running (${running.join(', ')}); use "kafka-wire broker status" or "kafka-wire broker stop" first`,
    );
  }
}

/**
 * Provisions and starts a cluster of 1 or 3 nodes on loopback: combined broker+controller
 * KRaft nodes from Kafka 3.3, brokers with their own ZooKeeper before. A failed start stops
 * whatever it launched before it throws.
 */
export async function startCluster(options: StartOptions = {}): Promise<ClusterState> {
  const name = options.name ?? DEFAULT_CLUSTER_NAME;
  const brokers = options.brokers ?? 1;
  if (brokers !== 1 && brokers !== 3) throw new EmbeddedKafkaError('BAD_ARGUMENT', `--brokers must be 1 or 3, not ${String(brokers)}`);
  const log = options.log ?? (() => {});
  const dir = clusterDir(name);
  refuseIfRunning(name); // before a possibly long download; checked again below, under the lock

  const tools = findJavaTools();
  const artifacts = await fetchKafka(options.version ?? DEFAULT_KAFKA_VERSION, log);
  const features = versionFeatures(artifacts.version);
  const nodeIds = Array.from({ length: brokers }, (_, index) => index + 1);

  mkdirSync(dir, { recursive: true });
  const state = await lockCluster(dir, async () => {
    refuseIfRunning(name);
    const chosen = await choosePorts(options.portBase ?? DEFAULT_PORT_BASE, nodeIds, features.mode);
    const ports = chosen.nodes;
    const ownPorts = [
      ...[...ports.values()].flatMap((p) => [p.plaintext, p.saslPlaintext, p.ssl, p.controller]),
      ...(chosen.zookeeper === undefined ? [] : [chosen.zookeeper]),
    ];
    // Every port chosen so far, none bound yet: each later choice must avoid them itself.
    const taken = new Set(ownPorts);
    const morePorts = async (count: number) => {
      const more = await freePorts(count, taken);
      for (const port of more) taken.add(port);
      return more;
    };
    if (options.proxies) {
      const listen = await morePorts(nodeIds.length);
      nodeIds.forEach((id, index) => {
        const proxy = options.proxies?.[id];
        if (proxy === undefined) throw new EmbeddedKafkaError('BAD_ARGUMENT', `proxies names no port for node ${id}`);
        (ports.get(id) as NodePorts).proxied = { listen: listen[index] as number, proxy };
      });
    }
    const peers = options.peerProxies;
    if (peers) {
      const listen = await morePorts(nodeIds.length);
      nodeIds.forEach((id, index) => {
        const proxy = peers.replication[id];
        if (proxy === undefined) throw new EmbeddedKafkaError('BAD_ARGUMENT', `peerProxies names no replication port for node ${id}`);
        const node = ports.get(id) as NodePorts;
        node.replication = { listen: listen[index] as number, proxy };
        node.controllersVia = peers.controllers[id] ?? {};
      });
    }
    await assertPortsFree(ownPorts);
    await options.portsChosen?.(ports);

    // An earlier cluster of this name goes, all but the lock this call holds.
    for (const entry of readdirSync(dir)) if (entry !== LOCK_FILE) rmSync(join(dir, entry), { recursive: true, force: true });
    writeFileSync(join(dir, 'log4j2.properties'), LOG4J2_PROPERTIES);
    writeFileSync(join(dir, 'log4j.properties'), LOG4J1_PROPERTIES);
    log(`generating a throwaway CA and broker certificate in ${join(dir, 'tls')}`);
    const tls = generateTlsMaterial(tools.keytool, join(dir, 'tls'));

    const zookeeper = chosen.zookeeper === undefined ? undefined : zookeeperState(dir, chosen.zookeeper);
    if (zookeeper) {
      mkdirSync(zookeeper.dataDir, { recursive: true });
      writeFileSync(zookeeper.configFile, zookeeperProperties(zookeeper));
    }
    const state: ClusterState = {
      name,
      dir,
      kafkaVersion: artifacts.version,
      mode: features.mode,
      clusterId: features.mode === 'kraft' ? newClusterId() : null,
      java: tools.java,
      classpath: artifacts.classpath,
      jvmOptions: jvmOptions(dir, artifacts.version, brokers),
      tls,
      sasl: { ...SASL_USER, mechanisms: saslMechanisms(artifacts.version) },
      zookeeper,
      nodes: nodeIds.map((id) => {
        const nodeDir = join(dir, `node-${id}`);
        mkdirSync(nodeDir, { recursive: true });
        const configFile = join(nodeDir, 'server.properties');
        writeFileSync(
          configFile,
          brokerProperties({
            nodeId: id,
            ports,
            dataDir: nodeDataDir(dir, id),
            tls,
            kafkaVersion: artifacts.version,
            zookeeperPort: zookeeper?.port,
            overrides: options.brokerProperties,
          }),
        );
        return {
          id,
          ports: ports.get(id) as NodePorts,
          configFile,
          logFile: join(nodeDir, 'kafka.log'),
          pidFile: join(nodeDir, 'kafka.pid'),
          pid: null,
        };
      }),
    };
    writeClusterFile(state);
    try {
      if (zookeeper) {
        log(`starting ZooKeeper on ${LOOPBACK}:${zookeeper.port} (Kafka ${state.kafkaVersion} runs in ZooKeeper mode)`);
        await ensureZooKeeper(state, zookeeper);
        log(`creating the SCRAM user ${SASL_USER.username} in ZooKeeper`);
        await createScramUsersInZooKeeper(state, zookeeper);
      } else {
        log(`formatting KRaft storage (cluster id ${state.clusterId})`);
        await Promise.all(state.nodes.map((node) => formatStorage(state, node)));
      }
      if (features.scram.how === 'unavailable') log(`SCRAM is unavailable: ${features.scram.why}`);
      for (const node of state.nodes) launchNode(state, node);
    } catch (error) {
      await stopAll(state, false);
      throw error;
    }
    return state;
  });

  try {
    log(`started ${brokers} node(s) of Apache Kafka ${state.kafkaVersion}; waiting for ApiVersions answers`);
    await Promise.all(state.nodes.map((node) => waitUntilReady(node, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS)));
    return state;
  } catch (error) {
    await stopIfStillOurs(state, state.nodes, true);
    throw error;
  }
}

function requireState(name: string): ClusterState {
  const state = loadClusterState(name);
  if (!state)
    throw new EmbeddedKafkaError('NOT_RUNNING', `no embedded cluster "${name}" has been started (nothing in ${clusterDir(name)})`);
  return state;
}

function requireNode(state: ClusterState, id: number): NodeState {
  const node = state.nodes.find((candidate) => candidate.id === id);
  if (!node)
    throw new EmbeddedKafkaError(
      'UNKNOWN_NODE',
      `cluster "${state.name}" has no node ${id}; its nodes are ${state.nodes.map((n) => n.id).join(', ')}`,
    );
  return node;
}

/**
 * Stops every node this cluster started (SIGTERM, then SIGKILL) and waits for each to exit,
 * then its ZooKeeper, if any. Returns the ids of the nodes stopped.
 */
export async function stopCluster(name = DEFAULT_CLUSTER_NAME): Promise<number[]> {
  const dir = clusterDir(name);
  if (!existsSync(dir)) return [];
  return lockCluster(dir, async () => {
    const state = loadClusterState(name);
    if (!state) return [];
    return stopAll(state, true);
  });
}

/** Names of every cluster that has a state file under the state root. */
export function listClusters(): string[] {
  const root = stateRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((entry) => existsSync(stateFile(join(root, entry))))
    .sort();
}

/** SIGKILLs one node, as a crash would. */
export async function killNode(id: number, name = DEFAULT_CLUSTER_NAME): Promise<ClusterState> {
  return lockCluster(requireState(name).dir, async () => {
    const state = requireState(name);
    const node = requireNode(state, id);
    if (!nodeIsRunning(node)) throw new EmbeddedKafkaError('NOT_RUNNING', `node ${id} of cluster "${name}" is not running`);
    await stopNode(node, false);
    return state;
  });
}

/** Stops one node gracefully if it runs, starts it again on its data, and waits until it answers. */
export async function restartNode(
  id: number,
  name = DEFAULT_CLUSTER_NAME,
  readyTimeoutMs = DEFAULT_READY_TIMEOUT_MS,
): Promise<ClusterState> {
  const { state, node } = await lockCluster(requireState(name).dir, async () => {
    const state = requireState(name);
    const node = requireNode(state, id);
    await stopNode(node, true);
    await assertPortsFree([node.ports.plaintext, node.ports.saslPlaintext, node.ports.ssl, node.ports.controller]);
    // A broker in ZooKeeper mode needs its ZooKeeper; after a `broker stop` it is stopped too.
    if (state.zookeeper) await ensureZooKeeper(state, state.zookeeper);
    launchNode(state, node);
    return { state, node };
  });
  try {
    await waitUntilReady(node, readyTimeoutMs);
  } catch (error) {
    await stopIfStillOurs(state, [node]);
    throw error;
  }
  return state;
}
