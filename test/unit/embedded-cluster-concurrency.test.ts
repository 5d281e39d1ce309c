import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { killNode, loadClusterState, restartNode, startCluster, stopCluster } from '../../src/embedded/cluster.js';

/**
 * Commands on one embedded cluster running at the same time (as `kafka-wire broker restart 1 &
 * kafka-wire broker restart 2` would), against fake JVMs: spawning, signalling and probing
 * are replaced, the state files are real. What must hold afterwards: every JVM that runs is
 * the one its node's pid file names, so a later stop leaves none behind.
 */

const fake = vi.hoisted(() => {
  // Far above any real pid (Linux's pid_max is at most 2^22), so a fake pid is never a real process.
  const FIRST_PID = 1_000_000_000;
  let nextPid = FIRST_PID;
  return {
    FIRST_PID,
    /** The running fake JVMs: pid → the config file on its command line. */
    jvms: new Map<number, string>(),
    /** The main class of every JVM spawned, in order, and its arguments. */
    mainClasses: [] as string[],
    commandLines: [] as string[][],
    newPid: () => nextPid++,
  };
});

vi.mock('node:child_process', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:child_process')>();
  return {
    ...actual,
    spawn: (_command: string, args: string[]) => {
      const child = Object.assign(new EventEmitter(), { pid: fake.newPid(), unref: () => {} });
      const mainClass = args[args.indexOf('-cp') + 2] as string;
      fake.mainClasses.push(mainClass);
      fake.commandLines.push(args);
      if (mainClass === 'kafka.Kafka' || mainClass.endsWith('QuorumPeerMain')) fake.jvms.set(child.pid, args.at(-1) as string);
      else setImmediate(() => child.emit('close', 0)); // StorageTool format and ConfigCommand succeed at once
      return child;
    },
  };
});

vi.mock('../../src/embedded/processes.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/embedded/processes.js')>();
  const isFake = (pid: number) => pid >= fake.FIRST_PID;
  // Real pids (the lock holder's) go to the real checks.
  const isAlive = (pid: number) => (isFake(pid) ? fake.jvms.has(pid) : actual.isAlive(pid));
  return {
    ...actual,
    isAlive,
    isOurProcess: (pid: number | null, marker: string) =>
      pid !== null && (isFake(pid) ? fake.jvms.get(pid) === marker : actual.isOurProcess(pid, marker)),
    signal: (pid: number, name: NodeJS.Signals) => {
      if (!isFake(pid)) throw new Error(`the test would have signalled real pid ${pid}`);
      // A JVM takes a while to shut down on SIGTERM; SIGKILL ends it at once.
      if (name === 'SIGKILL') fake.jvms.delete(pid);
      else setTimeout(() => fake.jvms.delete(pid), 30);
    },
    waitForExit: async (pid: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (isAlive(pid)) {
        if (Date.now() >= deadline) return false;
        await actual.sleep(5);
      }
      return true;
    },
  };
});

vi.mock('../../src/embedded/api-versions-probe.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/embedded/api-versions-probe.js')>()),
  probeApiVersions: async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    return { errorCode: 0, apiVersions: [] };
  },
}));

vi.mock('../../src/embedded/zookeeper.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/embedded/zookeeper.js')>()),
  zookeeperServes: async () => true,
}));

vi.mock('../../src/embedded/ports.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/embedded/ports.js')>()),
  freePorts: async (count: number) => Array.from({ length: count }, (_, index) => 40_000 + index),
  assertPortsFree: async () => {},
}));

vi.mock('../../src/embedded/artifacts.js', () => ({
  fetchKafka: async (version: string) => ({ version, libDir: '/fake/lib', classpath: '/fake/lib/*' }),
}));

vi.mock('../../src/embedded/tools.js', () => ({
  findJavaTools: () => ({ java: '/fake/bin/java', keytool: '/fake/bin/keytool', javaMajor: 21 }),
}));

vi.mock('../../src/embedded/tls.js', () => ({
  generateTlsMaterial: (_keytool: string, dir: string) => ({
    caFile: join(dir, 'ca.pem'),
    keystoreFile: join(dir, 'broker.p12'),
    password: 'fake',
  }),
}));

const stateDir = mkdtempSync(join(tmpdir(), 'kafka-wire-concurrency-'));
const savedStateDir = process.env.KAFKA_WIRE_STATE_DIR;
process.env.KAFKA_WIRE_STATE_DIR = stateDir;
afterAll(() => {
  if (savedStateDir === undefined) delete process.env.KAFKA_WIRE_STATE_DIR;
  else process.env.KAFKA_WIRE_STATE_DIR = savedStateDir;
  rmSync(stateDir, { recursive: true, force: true });
});

const name = 'concurrency';

async function startThreeNodes(): Promise<number[]> {
  const state = await startCluster({ name, brokers: 3, portBase: 'auto' });
  return state.nodes.map((node) => node.pid as number);
}

function recordedPids(): (number | null)[] {
  return (loadClusterState(name)?.nodes ?? []).map((node) => node.pid);
}

/** Every fake JVM that runs is the one its node's pid file names, and each named one runs. */
function expectPidFilesMatchRunningJvms(): void {
  const state = loadClusterState(name);
  const recorded = (state?.nodes ?? []).filter((node) => node.pid !== null);
  expect(new Map(recorded.map((node) => [node.pid, node.configFile]))).toEqual(fake.jvms);
}

async function expectStopLeavesNothingRunning(): Promise<void> {
  await stopCluster(name);
  expect([...fake.jvms.keys()]).toEqual([]);
  expect(recordedPids()).toEqual([null, null, null]);
}

beforeEach(() => {
  fake.jvms.clear();
  fake.mainClasses.length = 0;
  fake.commandLines.length = 0;
});

describe('embedded cluster commands at the same time', () => {
  test('two nodes restarted at once: both new pids are recorded, cluster.json is left as the start wrote it', async () => {
    const before = await startThreeNodes();
    const clusterJson = readFileSync(join(stateDir, name, 'cluster.json'), 'utf8');
    await Promise.all([restartNode(1, name), restartNode(2, name)]);
    const after = recordedPids();
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(after[2]).toBe(before[2]);
    expect(fake.jvms.size).toBe(3);
    expectPidFilesMatchRunningJvms();
    expect(readFileSync(join(stateDir, name, 'cluster.json'), 'utf8')).toBe(clusterJson);
    await expectStopLeavesNothingRunning();
  });

  test('one node killed while another restarts', async () => {
    const before = await startThreeNodes();
    await Promise.all([restartNode(1, name), killNode(2, name)]);
    const after = recordedPids();
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).toBeNull();
    expect(after[2]).toBe(before[2]);
    expectPidFilesMatchRunningJvms();
    await expectStopLeavesNothingRunning();
  });

  test('stop while a node restarts: whichever goes first, no JVM is left unrecorded', async () => {
    await startThreeNodes();
    const [restarted, stopped] = await Promise.allSettled([restartNode(2, name), stopCluster(name)]);
    expect(stopped.status).toBe('fulfilled');
    // The restart may fail (its node was stopped while it started); it must not leave a JVM behind either way.
    if (restarted.status === 'rejected') expect(String(restarted.reason)).toMatch(/node 2/);
    expectPidFilesMatchRunningJvms();
    await expectStopLeavesNothingRunning();
  });

  test('the same node restarted twice at once ends with one JVM, the recorded one', async () => {
    const before = await startThreeNodes();
    await Promise.all([restartNode(2, name), restartNode(2, name)]);
    expect(recordedPids()[1]).not.toBe(before[1]);
    expect(fake.jvms.size).toBe(3);
    expectPidFilesMatchRunningJvms();
    await expectStopLeavesNothingRunning();
  });
});

describe('what a start runs, by version', () => {
  const zkName = 'zookeeper-mode';

  test('ZooKeeper starts first and gets the SCRAM user, brokers need no format step; stop takes ZooKeeper down last', async () => {
    const state = await startCluster({ name: zkName, brokers: 3, portBase: 'auto', version: '3.2.3' });
    expect(state.mode).toBe('zookeeper');
    expect(state.clusterId).toBeNull();
    expect(state.sasl.mechanisms).toEqual(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']);
    expect(fake.mainClasses).toEqual([
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      'kafka.admin.ConfigCommand',
      'kafka.Kafka',
      'kafka.Kafka',
      'kafka.Kafka',
    ]);
    const zookeeper = loadClusterState(zkName)?.zookeeper;
    expect(zookeeper?.pid).toBe(state.zookeeper?.pid);
    expect(fake.jvms.get(zookeeper?.pid as number)).toBe(zookeeper?.configFile);
    const config = readFileSync(state.nodes[0]?.configFile as string, 'utf8');
    expect(config).toContain(`zookeeper.connect=127.0.0.1:${zookeeper?.port}\n`);

    // A node restarted after a stop brings its ZooKeeper back first.
    await stopCluster(zkName);
    expect([...fake.jvms.keys()]).toEqual([]);
    expect(loadClusterState(zkName)?.zookeeper?.pid).toBeNull();
    fake.mainClasses.length = 0;
    await restartNode(2, zkName);
    expect(fake.mainClasses).toEqual(['org.apache.zookeeper.server.quorum.QuorumPeerMain', 'kafka.Kafka']);
    await stopCluster(zkName);
    expect([...fake.jvms.keys()]).toEqual([]);
  });

  test('KRaft from 3.5 formats with the SCRAM users', async () => {
    await startCluster({ name: 'kraft-scram', portBase: 'auto', version: '3.5.2' });
    expect(fake.commandLines[0]).toContain('--add-scram');
    await stopCluster('kraft-scram');
  });

  test('KRaft 3.3-3.4 starts without SCRAM: formatted without --add-scram, no SCRAM mechanism offered', async () => {
    const state = await startCluster({ name: 'kraft-no-scram', portBase: 'auto', version: '3.4.1' });
    expect(state.mode).toBe('kraft');
    expect(state.zookeeper).toBeUndefined();
    expect(state.sasl.mechanisms).toEqual(['PLAIN', 'OAUTHBEARER']);
    expect(fake.mainClasses).toEqual(['kafka.tools.StorageTool', 'kafka.Kafka']);
    expect(fake.commandLines[0]).not.toContain('--add-scram');
    await stopCluster('kraft-no-scram');
    expect([...fake.jvms.keys()]).toEqual([]);
  });
});
