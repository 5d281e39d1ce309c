import { expect, test } from 'vitest';
import type { Cluster } from '../../src/cluster/cluster.js';
import { Coordinators } from '../../src/cluster/coordinators.js';
import { ConnectionError } from '../../src/connection/errors.js';
import { FindCoordinator, type FindCoordinatorRequest, type FindCoordinatorResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../../src/protocol/kafka-errors.js';

/** FindCoordinator as Coordinators asks it, against a cluster the test plays (one bootstrap connection, nodes by id). */
function scriptedCluster(findVersion: number, answers: Partial<FindCoordinatorResponse>[]) {
  const asked: { version: number; body: FindCoordinatorRequest }[] = [];
  const connected: number[] = [];
  let refuse: number | undefined;
  const bootstrap = {
    label: 'broker 1 at 127.0.0.1:9092',
    version: () => findVersion,
    request: async (_api: unknown, body: FindCoordinatorRequest, options: { version: number }) => {
      FindCoordinator.request.encode(body, options.version); // valid at the version it goes out at
      asked.push({ version: options.version, body });
      const answer = answers.shift();
      if (!answer) throw new Error('the script has no more FindCoordinator answers');
      return FindCoordinator.response.create(answer);
    },
  };
  const cluster = {
    anyConnection: async () => bootstrap,
    connectionTo: async (nodeId: number) => {
      connected.push(nodeId);
      if (nodeId === refuse) throw new ConnectionError(`broker ${nodeId}`, 'connect ECONNREFUSED');
      return { label: `broker ${nodeId}` };
    },
  } as unknown as Cluster;
  return { cluster, asked, connected, refuseNode: (nodeId: number) => (refuse = nodeId) };
}

const found = (key: string, nodeId: number, errorCode = 0) => ({ key, nodeId, host: 'h', port: 1, errorCode, errorMessage: null });

test('v4+: one key in the batched form, the answer read per key; the coordinator is remembered until forgotten', async () => {
  const { cluster, asked } = scriptedCluster(6, [{ coordinators: [found('tx-1', 3)] }, { coordinators: [found('tx-1', 2)] }]);
  const coordinators = new Coordinators(cluster);
  expect(await coordinators.find('transaction', 'tx-1')).toBe(3);
  expect(await coordinators.find('transaction', 'tx-1')).toBe(3);
  expect(asked).toEqual([{ version: 6, body: expect.objectContaining({ keyType: 1, coordinatorKeys: ['tx-1'] }) }]);
  coordinators.forget('transaction', 'tx-1');
  expect(await coordinators.find('transaction', 'tx-1')).toBe(2);
  expect(asked).toHaveLength(2);
});

test('v0-3: the single-key form, answered at the top level; group and transaction keys are told apart', async () => {
  const { cluster, asked } = scriptedCluster(3, [
    { nodeId: 5, host: 'h', port: 1 },
    { nodeId: 6, host: 'h', port: 1 },
  ]);
  const coordinators = new Coordinators(cluster);
  expect(await coordinators.find('group', 'same')).toBe(5);
  expect(await coordinators.find('transaction', 'same')).toBe(6);
  expect(asked.map(({ version, body }) => [version, body.keyType, body.key])).toEqual([
    [3, 0, 'same'],
    [3, 1, 'same'],
  ]);
});

test('an error answer is a KafkaProtocolError naming FindCoordinator and the key, retriable as Kafka says; nothing is kept', async () => {
  const { cluster } = scriptedCluster(6, [
    { coordinators: [{ ...found('tx-1', -1, ErrorCode.COORDINATOR_NOT_AVAILABLE), errorMessage: 'loading' }] },
    { coordinators: [found('tx-1', -1, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)] },
    { coordinators: [found('other', 4)] },
    { coordinators: [found('tx-1', 4)] },
  ]);
  const coordinators = new Coordinators(cluster);
  const notYet = await coordinators.find('transaction', 'tx-1').catch((error: unknown) => error);
  expect(notYet).toBeInstanceOf(KafkaProtocolError);
  expect(notYet).toMatchObject({ code: ErrorCode.COORDINATOR_NOT_AVAILABLE, retriable: true, api: 'FindCoordinator' });
  expect((notYet as Error).message).toMatch(
    /^FindCoordinator to broker 1 at 127\.0\.0\.1:9092 failed for transaction tx-1: .*; broker said: loading$/,
  );
  await expect(coordinators.find('transaction', 'tx-1')).rejects.toMatchObject({
    code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    retriable: false,
  });
  await expect(coordinators.find('transaction', 'tx-1')).rejects.toThrow(/the answer did not mention the key/);
  expect(await coordinators.find('transaction', 'tx-1')).toBe(4);
});

test('a coordinator that cannot be reached is forgotten, so the next attempt asks FindCoordinator again', async () => {
  const { cluster, asked, connected, refuseNode } = scriptedCluster(6, [
    { coordinators: [found('g', 2)] },
    { coordinators: [found('g', 3)] },
  ]);
  refuseNode(2);
  const coordinators = new Coordinators(cluster);
  await expect(coordinators.connection('group', 'g')).rejects.toBeInstanceOf(ConnectionError);
  expect(await coordinators.connection('group', 'g')).toEqual({ label: 'broker 3' });
  expect(connected).toEqual([2, 3]);
  expect(asked).toHaveLength(2);
});
