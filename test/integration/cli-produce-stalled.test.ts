import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { bootstrapFor, killNode, loadClusterState, restartNode, startCluster, stopCluster } from '../../src/embedded/cluster.js';
import { clusterDir } from '../../src/embedded/paths.js';
import { Producer } from '../../src/producer/producer.js';
import { testKafka } from '../helpers/kafka.js';
import { CliProcess, waitUntil } from '../support/cli.js';
import { uniqueTopic } from '../support/topics.js';

/**
 * kafka-wire produce against a broker that stops answering (SIGSTOP) or dies (SIGKILL), on a
 * one-node cluster of this file's own, so the shared test broker is never disturbed.
 */

const kafka = testKafka();
const name = `cli-stall-${process.pid}`;

describe.skipIf(kafka.source !== 'embedded')('kafka-wire produce when the broker stops answering', () => {
  let bootstrap: string;
  let frozenPid: number | undefined;
  const running: CliProcess[] = [];

  beforeAll(async () => {
    const state = await startCluster({ name, portBase: 'auto', version: kafka.kafkaVersion ?? undefined });
    bootstrap = bootstrapFor(state, 'plaintext');
  });

  afterEach(() => {
    for (const cli of running.splice(0)) cli.kill();
    if (frozenPid !== undefined) process.kill(frozenPid, 'SIGCONT');
    frozenPid = undefined;
  });

  afterAll(async () => {
    await stopCluster(name);
    rmSync(clusterDir(name), { recursive: true, force: true });
  });

  function produce(...args: string[]): CliProcess {
    const cli = new CliProcess(['produce', ...args, '--bootstrap', bootstrap]);
    running.push(cli);
    return cli;
  }

  /** A fresh one-partition topic with one record delivered: the node leads it and its producer-id coordinator is up. */
  async function readyTopic(): Promise<string> {
    const topic = uniqueTopic('cli-stall');
    const cluster = await Cluster.connect({ bootstrap });
    try {
      await new Admin(cluster).createTopics([{ name: topic, partitions: 1 }]);
    } finally {
      cluster.close();
    }
    const producer = new Producer({ bootstrap });
    try {
      await producer.send({ topic, value: 'ready' });
    } finally {
      await producer.close();
    }
    return topic;
  }

  test('a second Ctrl-C quits at once (exit code 130) while the first waits for a broker that does not answer', async () => {
    const topic = await readyTopic();
    const cli = produce(topic, '--count', '1000000000', '--delivery-timeout-ms', '120000');
    await cli.waitForStderr(/producing to /, 60_000); // sending is under way

    frozenPid = loadClusterState(name)!.nodes[0]!.pid!;
    process.kill(frozenPid, 'SIGSTOP'); // connections stay open, nothing is answered
    cli.child.kill('SIGINT');
    // The first Ctrl-C stops sending and waits for the records in flight, which the frozen broker will not acknowledge.
    await cli.waitForStderr(/Ctrl-C again to quit at once/, 30_000);
    const secondAt = Date.now();
    cli.child.kill('SIGINT');
    const { status, at } = await cli.exited(30_000);
    expect(status, cli.stderr).toBe(130);
    expect(at - secondAt).toBeLessThan(10_000);
  });

  test('after the first failed record it reads no more input: a dead broker costs about one delivery timeout', async () => {
    const topic = await readyTopic();
    const deliveryTimeoutMs = 3000;
    const cli = produce(topic, '--delivery-timeout-ms', String(deliveryTimeoutMs), '--max-outstanding', '100');
    cli.write(Array.from({ length: 10 }, (_, i) => `before-${i}\n`).join(''));
    const cluster = await Cluster.connect({ bootstrap });
    try {
      const admin = new Admin(cluster);
      await waitUntil('the first 10 lines delivered', async () => (await admin.listOffsets(topic, 'latest'))[0]?.offset === 11n, 60_000);
    } finally {
      cluster.close();
    }

    await killNode(1, name);
    const killedAt = Date.now();
    // Twenty windows of --max-outstanding, and stdin stays open: waiting each window out, or for
    // the end of input, would take minutes or forever.
    cli.write(Array.from({ length: 2000 }, (_, i) => `after-${i}\n`).join(''));
    const { status, at } = await cli.exited(60_000);
    expect(status, cli.stderr).toBe(1);
    expect(at - killedAt).toBeLessThan(3 * deliveryTimeoutMs);
    expect(cli.stderr).toMatch(
      /produced 10 records to \S+, [1-9][\d,]* failed \(stopped reading after [\d,]+ lines, at the first failure\)/,
    );
    expect(cli.stderr).toMatch(/first failure: line \d+: /);
  });

  test('the progress line says when no broker answers', async () => {
    await restartNode(1, name); // the test before left it dead
    const topic = await readyTopic();
    const cli = produce(topic, '--count', '1000000000', '--delivery-timeout-ms', '120000');
    await cli.waitForStderr(/producing to /, 60_000);
    await killNode(1, name);
    // Off a terminal the progress is a line every 2 s; the reconnect attempts fail with ECONNREFUSED.
    // Named as the bootstrap address or as node 1 (the same address), whichever failed first.
    await cli.waitForStderr(/\(no answer from (bootstrap broker|broker 1 at) 127\.0\.0\.1:\d+: ECONNREFUSED; retrying\)/, 30_000);
    cli.child.kill('SIGINT');
    await cli.waitForStderr(/Ctrl-C again to quit at once/, 30_000);
    cli.child.kill('SIGINT');
    expect((await cli.exited(30_000)).status).toBe(130);
  });
});
