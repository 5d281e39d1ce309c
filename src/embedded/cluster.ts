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
  SASL_MECHANISMS,
  SASL_USER,
  scramFormatArguments,
} from './config.js';
import { EmbeddedKafkaError } from './errors.js';
import { withLock } from './lock.js';
import { clusterDir, stateRoot } from './paths.js';
import { assertPortsFree, freePorts, LOOPBACK } from './ports.js';
import { isOurProcess, signal, sleep, waitForExit } from './processes.js';
import { generateTlsMaterial, type TlsMaterial } from './tls.js';
import { findJavaTools } from './tools.js';
import { DEFAULT_KAFKA_VERSION, kafkaMajor } from './versions.js';

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
  clusterId: string;
  java: string;
  classpath: string;
  jvmOptions: string[];
  tls: TlsMaterial;
  sasl: { username: string; password: string; mechanisms: string[] };
  nodes: NodeState[];
}

export interface StartOptions {
  name?: string;
  version?: string;
  brokers?: 1 | 3;
  /** First port of node 1 (node n uses portBase + 10·(n−1) + 0..3), or 'auto' for free ports. */
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

function recordPid(node: NodeState, pid: number | null): void {
  node.pid = pid;
  if (pid === null) rmSync(node.pidFile, { force: true });
  else writeAtomically(node.pidFile, `${pid}\n`);
}

export function loadClusterState(name = DEFAULT_CLUSTER_NAME): ClusterState | undefined {
  const file = stateFile(clusterDir(name));
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
  for (const node of state.nodes) node.pid = readPid(node.pidFile);
  return state;
}

/** cluster.json, without pids (those are in the nodes' pid files). */
function writeClusterFile(state: ClusterState): void {
  const nodes = state.nodes.map(({ pid: _pid, ...node }) => node);
  writeAtomically(stateFile(state.dir), `${JSON.stringify({ ...state, nodes }, null, 2)}\n`);
}

/** Every change to a cluster's nodes (start, stop, kill, restart) holds this lock, across processes. */
function lockCluster<T>(dir: string, body: () => Promise<T>): Promise<T> {
  return withLock(join(dir, LOCK_FILE), LOCK_WAIT_MS, body);
}

/** Where a node keeps its logs (log.dirs), the metadata log's included. */
export function nodeDataDir(clusterDir: string, nodeId: number): string {
  return join(clusterDir, `node-${nodeId}`, 'data');
}

export function nodeIsRunning(node: NodeState): boolean {
  return isOurProcess(node.pid, node.configFile);
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
  const code = await runJava(
    state,
    ['kafka.tools.StorageTool', 'format', '-t', state.clusterId, '-c', node.configFile, ...scramFormatArguments()],
    node.logFile,
  );
  if (code !== 0) {
    throw new EmbeddedKafkaError(
      'FORMAT_FAILED',
      `formatting KRaft storage of node ${node.id} failed (exit ${code}); see ${node.logFile}:\n${logTail(node.logFile)}`,
    );
  }
}

function launchNode(state: ClusterState, node: NodeState): void {
  const out = openSync(node.logFile, 'a');
  const child = spawn(state.java, [...state.jvmOptions, '-cp', state.classpath, 'kafka.Kafka', node.configFile], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new EmbeddedKafkaError('START_FAILED', `could not spawn ${state.java} for node ${node.id}`);
  recordPid(node, child.pid);
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

/** Stops the node's JVM if it runs (SIGTERM, or straight to SIGKILL) and clears its pid file. Call with the cluster locked. */
async function stopNode(node: NodeState, graceful: boolean): Promise<boolean> {
  if (!nodeIsRunning(node)) {
    recordPid(node, null);
    return false;
  }
  const pid = node.pid as number;
  if (graceful) signal(pid, 'SIGTERM');
  if (!graceful || !(await waitForExit(pid, GRACEFUL_STOP_MS))) {
    signal(pid, 'SIGKILL');
    if (!(await waitForExit(pid, KILL_WAIT_MS))) {
      throw new EmbeddedKafkaError('STOP_FAILED', `node ${node.id} (pid ${pid}) is still alive ${KILL_WAIT_MS / 1000} s after SIGKILL`);
    }
  }
  recordPid(node, null);
  return true;
}

/** After a failed start: stops what this call launched, unless another command has since stopped or restarted it. */
async function stopIfStillOurs(state: ClusterState, launched: NodeState[]): Promise<void> {
  await lockCluster(state.dir, () =>
    Promise.all(launched.filter((node) => readPid(node.pidFile) === node.pid).map((node) => stopNode(node, false))),
  );
}

function jvmOptions(dir: string, kafkaVersion: string, nodeCount: number): string[] {
  const heap = process.env.KAFKA_HEAP_OPTS?.split(/\s+/).filter(Boolean) ?? ['-Xms256m', nodeCount === 1 ? '-Xmx1g' : '-Xmx768m'];
  // Kafka 4 logs through log4j2, Kafka 3 through reload4j; each reads its own config property.
  const logging =
    kafkaMajor(kafkaVersion) >= 4
      ? `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`
      : `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`;
  return [...heap, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true', logging];
}

async function choosePorts(portBase: number | 'auto', nodeIds: number[]): Promise<Map<number, NodePorts>> {
  if (portBase === 'auto') return portsFromList(await freePorts(nodeIds.length * 4), nodeIds);
  const last = portBase + 10 * (nodeIds.length - 1) + 3;
  if (!Number.isInteger(portBase) || portBase < 1024 || last > 65535) {
    throw new EmbeddedKafkaError(
      'BAD_ARGUMENT',
      `--port-base ${portBase} must be an integer from 1024 to ${65535 - 10 * (nodeIds.length - 1) - 3}`,
    );
  }
  return portsFromBase(portBase, nodeIds);
}

function refuseIfRunning(name: string): void {
  const running = loadClusterState(name)?.nodes.filter(nodeIsRunning) ?? [];
  if (running.length > 0) {
    throw new EmbeddedKafkaError(
      'ALREADY_RUNNING',
      `cluster "${name}" is already running (node ${running.map((node) => `${node.id} pid ${node.pid}`).join(', ')}); ` +
        'use "kafka-wire broker status" or "kafka-wire broker stop" first',
    );
  }
}

/**
 * Provisions and starts a KRaft cluster of 1 or 3 combined broker+controller nodes on
 * loopback. A failed start stops whatever it launched before it throws.
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
  const nodeIds = Array.from({ length: brokers }, (_, index) => index + 1);

  mkdirSync(dir, { recursive: true });
  const state = await lockCluster(dir, async () => {
    refuseIfRunning(name);
    const ports = await choosePorts(options.portBase ?? DEFAULT_PORT_BASE, nodeIds);
    if (options.proxies) {
      const listen = await freePorts(nodeIds.length);
      nodeIds.forEach((id, index) => {
        const proxy = options.proxies?.[id];
        if (proxy === undefined) throw new EmbeddedKafkaError('BAD_ARGUMENT', `proxies names no port for node ${id}`);
        (ports.get(id) as NodePorts).proxied = { listen: listen[index] as number, proxy };
      });
    }
    const peers = options.peerProxies;
    if (peers) {
      const listen = await freePorts(nodeIds.length);
      nodeIds.forEach((id, index) => {
        const proxy = peers.replication[id];
        if (proxy === undefined) throw new EmbeddedKafkaError('BAD_ARGUMENT', `peerProxies names no replication port for node ${id}`);
        const node = ports.get(id) as NodePorts;
        node.replication = { listen: listen[index] as number, proxy };
        node.controllersVia = peers.controllers[id] ?? {};
      });
    }
    await assertPortsFree([...ports.values()].flatMap((p) => [p.plaintext, p.saslPlaintext, p.ssl, p.controller]));
    await options.portsChosen?.(ports);

    // An earlier cluster of this name goes, all but the lock this call holds.
    for (const entry of readdirSync(dir)) if (entry !== LOCK_FILE) rmSync(join(dir, entry), { recursive: true, force: true });
    writeFileSync(join(dir, 'log4j2.properties'), LOG4J2_PROPERTIES);
    writeFileSync(join(dir, 'log4j.properties'), LOG4J1_PROPERTIES);
    log(`generating a throwaway CA and broker certificate in ${join(dir, 'tls')}`);
    const tls = generateTlsMaterial(tools.keytool, join(dir, 'tls'));

    const state: ClusterState = {
      name,
      dir,
      kafkaVersion: artifacts.version,
      clusterId: newClusterId(),
      java: tools.java,
      classpath: artifacts.classpath,
      jvmOptions: jvmOptions(dir, artifacts.version, brokers),
      tls,
      sasl: { ...SASL_USER, mechanisms: [...SASL_MECHANISMS] },
      nodes: nodeIds.map((id) => {
        const nodeDir = join(dir, `node-${id}`);
        mkdirSync(nodeDir, { recursive: true });
        const configFile = join(nodeDir, 'server.properties');
        writeFileSync(
          configFile,
          brokerProperties({ nodeId: id, ports, dataDir: nodeDataDir(dir, id), tls, overrides: options.brokerProperties }),
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
      log(`formatting KRaft storage (cluster id ${state.clusterId})`);
      await Promise.all(state.nodes.map((node) => formatStorage(state, node)));
      for (const node of state.nodes) launchNode(state, node);
    } catch (error) {
      await Promise.all(state.nodes.map((node) => stopNode(node, false)));
      throw error;
    }
    return state;
  });

  try {
    log(`started ${brokers} node(s) of Apache Kafka ${state.kafkaVersion}; waiting for ApiVersions answers`);
    await Promise.all(state.nodes.map((node) => waitUntilReady(node, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS)));
    return state;
  } catch (error) {
    await stopIfStillOurs(state, state.nodes);
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

/** Stops every node this cluster started (SIGTERM, then SIGKILL) and waits for each to exit. Returns the ids stopped. */
export async function stopCluster(name = DEFAULT_CLUSTER_NAME): Promise<number[]> {
  const dir = clusterDir(name);
  if (!existsSync(dir)) return [];
  return lockCluster(dir, async () => {
    const state = loadClusterState(name);
    if (!state) return [];
    const stopped = await Promise.all(state.nodes.map(async (node) => ((await stopNode(node, true)) ? node.id : undefined)));
    return stopped.filter((id): id is number => id !== undefined);
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
