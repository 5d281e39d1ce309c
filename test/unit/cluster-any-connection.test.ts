import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/cluster/cluster.js';
import type { Connection } from '../../src/connection/connection.js';
import { ErrorCode } from '../../src/protocol/kafka-errors.js';

/**
 * Which open connection anyConnection() (metadata, coordinators, admin) picks. The connections
 * are stand-ins with a count of requests in flight; the metadata fetch they would serve is not
 * made (every refresh fails fast on them, which the cache retries later).
 */
function clusterWithOpenConnections(inFlight: Record<number, number>): { cluster: Cluster; picked: () => number } {
  const cluster = new Cluster({ bootstrap: '127.0.0.1:9' });
  const connections = new Map<string, Connection>();
  for (const [nodeId, count] of Object.entries(inFlight)) {
    cluster.metadata.brokers.set(Number(nodeId), { nodeId: Number(nodeId), host: '127.0.0.1', port: 9, rack: null });
    connections.set(`node:${nodeId}`, {
      inFlight: count,
      nodeId: Number(nodeId),
      version: () => {
        throw new Error('a stand-in connection');
      },
    } as unknown as Connection);
  }
  (cluster as unknown as { pool: { peek(key: string): Connection | undefined } }).pool.peek = (key) => connections.get(key);
  const picked = async () => ((await cluster.anyConnection()) as unknown as { nodeId: number }).nodeId;
  return { cluster, picked: picked as never };
}

describe('cluster: the broker asked for metadata', () => {
  let cluster: Cluster | undefined;
  afterEach(() => cluster?.close());

  test('the least loaded open connection, looked for from a different broker each time', async () => {
    const setup = clusterWithOpenConnections({ 1: 0, 2: 3, 3: 0 });
    cluster = setup.cluster;
    const picks = new Set<number>();
    for (let i = 0; i < 6; i++) picks.add(await setup.picked());
    expect([...picks].sort()).toEqual([1, 3]);
  });

  test('not a broker that just answered a leadership error (a fenced leader answers fast, so looks least loaded)', async () => {
    const setup = clusterWithOpenConnections({ 1: 0, 2: 4, 3: 5 });
    cluster = setup.cluster;
    cluster.noteError(ErrorCode.REQUEST_TIMED_OUT, 1);
    const picks = new Set<number>();
    for (let i = 0; i < 6; i++) picks.add(await setup.picked());
    expect([...picks].sort()).toEqual([2]);
  });

  test('that broker after all when it is the only one open; a record error casts no doubt', async () => {
    const alone = clusterWithOpenConnections({ 1: 0 });
    cluster = alone.cluster;
    cluster.noteError(ErrorCode.NOT_ENOUGH_REPLICAS, 1);
    expect(await alone.picked()).toBe(1);
    cluster.close();
    const setup = clusterWithOpenConnections({ 1: 0, 2: 4 });
    cluster = setup.cluster;
    cluster.noteError(ErrorCode.MESSAGE_TOO_LARGE, 1);
    expect(await setup.picked()).toBe(1);
  });
});
