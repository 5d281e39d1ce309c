import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { bootstrapFor, killNode, restartNode, startCluster, stopCluster } from '../../src/embedded/cluster.js';
import { clusterDir } from '../../src/embedded/paths.js';
import { ApiVersions } from '../../src/protocol/generated/index.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueTopic } from '../support/topics.js';

/** Fault tests on a real 3-node KRaft cluster of their own: kill -9 a leader, watch the client follow. */

const kafka = testKafka();
const name = `faults-${process.pid}`;
// ApiVersions v3+ needs a client software name and version, or the broker answers INVALID_REQUEST.
const ping = () => ApiVersions.request.create({ clientSoftwareName: 'kafka-wire-test', clientSoftwareVersion: '1' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(kafka.source !== 'embedded')('3-node cluster faults', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    const state = await startCluster({ name, brokers: 3, portBase: 'auto', version: kafka.kafkaVersion ?? undefined });
    cluster = await Cluster.connect({ bootstrap: bootstrapFor(state, 'plaintext'), reconnectBackoff: { initialMs: 100, maxMs: 1000 } });
  });

  afterAll(async () => {
    cluster?.close();
    await stopCluster(name);
    rmSync(clusterDir(name), { recursive: true, force: true });
  });

  test('kill -9 a partition leader: the cache learns the new leader, and the pool reconnects when the node is back', async () => {
    const topic = uniqueTopic('failover');
    await new Admin(cluster).createTopics([{ name: topic, partitions: 3, replicationFactor: 3 }]);
    const before = (await cluster.metadata.topic(topic))!;
    const oldLeader = before.partitions[0]!.leader;
    expect(before.partitions[0]!.isr).toHaveLength(3);
    // A live connection to the leader, so its death is noticed by the pool too.
    await cluster.request(oldLeader, ApiVersions, ping());

    const killedAt = Date.now();
    await killNode(oldLeader, name);

    // Poll as a client would: refresh (rate-limited, and already asked for by the pool when the connection died) and read the cache.
    let newLeader = -1;
    while (Date.now() - killedAt < 30_000) {
      newLeader = cluster.metadata.leaderFor(topic, 0);
      if (newLeader >= 0 && newLeader !== oldLeader) break;
      await cluster.metadata.refresh().catch(() => undefined);
      await sleep(200);
    }
    const learnedAfterMs = Date.now() - killedAt;
    expect(newLeader).toBeGreaterThanOrEqual(0);
    expect(newLeader).not.toBe(oldLeader);
    // The broker session timeout is 4 s, so the election happens ~4 s after the kill — later when the
    // killed node was also the active controller and a new one must be elected first (~8 s seen on 3.9).
    expect(learnedAfterMs).toBeLessThan(20_000);
    expect(cluster.metadata.topics.get(topic)!.partitions[0]!.leaderEpoch).toBeGreaterThan(before.partitions[0]!.leaderEpoch);

    // Requests to the dead node fail quickly with a connection error rather than hanging.
    const failedAt = Date.now();
    await expect(cluster.request(oldLeader, ApiVersions, ping(), { timeoutMs: 5000 })).rejects.toThrow(/broker/);
    expect(Date.now() - failedAt).toBeLessThan(6000);

    await restartNode(oldLeader, name);
    const restartedAt = Date.now();
    let reconnected = false;
    while (!reconnected && Date.now() - restartedAt < 30_000) {
      reconnected = await cluster.request(oldLeader, ApiVersions, ping()).then(
        (answer) => answer.errorCode === 0,
        () => false,
      );
      if (!reconnected) await sleep(200);
    }
    expect(reconnected).toBe(true);
    console.log(`[faults] leader of ${topic}-0 moved ${oldLeader} → ${newLeader}; the cache knew ${learnedAfterMs} ms after kill -9; the pool reconnected ${Date.now() - restartedAt} ms after the node was back`);
  });
});
