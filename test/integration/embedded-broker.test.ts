import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, onTestFinished, test } from 'vitest';
import { probeApiVersions } from '../../src/embedded/api-versions-probe.js';
import { loadClusterState, startCluster } from '../../src/embedded/cluster.js';
import { EmbeddedKafkaError } from '../../src/embedded/errors.js';
import { clusterDir } from '../../src/embedded/paths.js';
import { isAlive } from '../../src/embedded/processes.js';
import { testKafka } from '../helpers/kafka.js';

const CLI = fileURLToPath(new URL('../../bin/kafka-wire.js', import.meta.url));
const version = testKafka().kafkaVersion ?? undefined;

/** Runs `kafka-wire ARGS` as a user would, in its own process. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 180_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same, without blocking, so two commands can run at once. */
function cliAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { timeout: 180_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

interface StatusJson {
  kafkaVersion: string;
  bootstrap: { plaintext: string; saslPlaintext: string; ssl: string };
  nodes: { id: number; running: boolean; pid: number | null; ports: { plaintext: number } }[];
}

function status(name: string): StatusJson {
  const result = cli('broker', 'status', '--name', name, '--json');
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusJson;
}

// These exercise the embedded-broker tooling itself, so they need our JVM broker, not KAFKA_BOOTSTRAP's.
describe.skipIf(testKafka().source !== 'embedded')('embedded broker CLI', () => {
  test('3-node cluster: start, status, kill and restart one node, restart two at once, stop leaves no JVM', async () => {
    const name = `cli-${process.pid}`;
    const versionArgs = version ? ['--version', version] : [];
    try {
      const started = cli('broker', 'start', '--name', name, '--brokers', '3', '--port-base', 'auto', ...versionArgs);
      expect(started.status, started.stderr).toBe(0);

      const running = status(name);
      expect(running.nodes.map((node) => [node.id, node.running])).toEqual([
        [1, true],
        [2, true],
        [3, true],
      ]);
      expect(running.bootstrap.plaintext.split(',')).toHaveLength(3);
      expect(running.bootstrap.saslPlaintext.split(',')).toHaveLength(3);
      expect(running.bootstrap.ssl.split(',')).toHaveLength(3);
      const pids = running.nodes.map((node) => node.pid as number);
      for (const node of running.nodes) {
        expect((await probeApiVersions('127.0.0.1', node.ports.plaintext)).errorCode).toBe(0);
      }

      const killed = cli('broker', 'kill', '2', '--name', name);
      expect(killed.status, killed.stderr).toBe(0);
      expect(isAlive(pids[1]!)).toBe(false);
      expect(status(name).nodes.map((node) => node.running)).toEqual([true, false, true]);

      const restarted = cli('broker', 'restart', '2', '--name', name);
      expect(restarted.status, restarted.stderr).toBe(0);
      const afterRestart = status(name);
      expect(afterRestart.nodes.map((node) => node.running)).toEqual([true, true, true]);
      expect(afterRestart.nodes[1]!.pid).not.toBe(pids[1]);
      expect((await probeApiVersions('127.0.0.1', afterRestart.nodes[1]!.ports.plaintext)).errorCode).toBe(0);

      // Two restarts at once, as two shells would run them: neither may write back the other node's old pid.
      const [first, third] = await Promise.all([
        cliAsync('broker', 'restart', '1', '--name', name),
        cliAsync('broker', 'restart', '3', '--name', name),
      ]);
      expect(first.status, first.stderr).toBe(0);
      expect(third.status, third.stderr).toBe(0);
      const afterBoth = status(name);
      expect(afterBoth.nodes.map((node) => node.running)).toEqual([true, true, true]);
      expect(afterBoth.nodes[0]!.pid).not.toBe(pids[0]);
      expect(afterBoth.nodes[1]!.pid).toBe(afterRestart.nodes[1]!.pid);
      expect(afterBoth.nodes[2]!.pid).not.toBe(pids[2]);
      expect(first.stdout).toContain(`(pid ${afterBoth.nodes[0]!.pid})`);
      expect(third.stdout).toContain(`(pid ${afterBoth.nodes[2]!.pid})`);

      const stopped = cli('broker', 'stop', '--name', name);
      expect(stopped.status, stopped.stderr).toBe(0);
      for (const pid of [...pids, ...afterBoth.nodes.map((node) => node.pid as number)]) expect(isAlive(pid)).toBe(false);
      expect(status(name).nodes.every((node) => !node.running)).toBe(true);
      // No JVM of this cluster is left, recorded or not: none has a node's config file on its command line.
      for (const node of loadClusterState(name)!.nodes) {
        expect(spawnSync('pgrep', ['-f', node.configFile], { encoding: 'utf8' }).stdout.trim()).toBe('');
      }
    } finally {
      cli('broker', 'stop', '--name', name);
      rmSync(clusterDir(name), { recursive: true, force: true });
    }
  }, 300_000);

  test('a start that does not become ready fails, points at the log, and leaves nothing running', async () => {
    const name = `timeout-${process.pid}`;
    const error = await startCluster({ name, version, portBase: 'auto', readyTimeoutMs: 1 }).catch((caught: unknown) => caught);
    onTestFinished(() => rmSync(clusterDir(name), { recursive: true, force: true }));
    expect(error).toBeInstanceOf(EmbeddedKafkaError);
    expect((error as EmbeddedKafkaError).reason).toBe('START_TIMEOUT');
    const state = loadClusterState(name)!;
    const node = state.nodes[0]!;
    expect((error as Error).message).toContain(node.logFile);
    expect(existsSync(node.logFile)).toBe(true);
    expect(node.pid).toBeNull();
    expect(existsSync(node.pidFile)).toBe(false);
    // The JVM it launched is gone: no process mentions this cluster's config file.
    const ours = spawnSync('pgrep', ['-f', node.configFile], { encoding: 'utf8' }).stdout.trim();
    expect(ours).toBe('');
    expect(readFileSync(node.logFile, 'utf8')).toContain('Formatting');
  });

  test('starting a cluster that is already running is refused', () => {
    const result = cli('broker', 'start', '--name', 'test', '--port-base', 'auto');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cluster "test" is already running/);
  });
});
