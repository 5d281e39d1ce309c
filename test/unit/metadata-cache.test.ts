import { describe, expect, test } from 'vitest';
import { MetadataCache } from '../../src/cluster/metadata.js';
import {
  createMetadataResponse,
  createMetadataResponseBroker,
  createMetadataResponsePartition,
  createMetadataResponseTopic,
  type MetadataResponse,
} from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/kafka-errors.js';

/** A Metadata answer naming topic t's partition 0 led by `leader` at `leaderEpoch`. */
function answer(leader: number, leaderEpoch: number, topicId = 'dG9waWMtdC1pZC0wMDAwMA'): MetadataResponse {
  return createMetadataResponse({
    brokers: [1, 2, 3].map((nodeId) => createMetadataResponseBroker({ nodeId, host: '127.0.0.1', port: 9090 + nodeId })),
    topics: [
      createMetadataResponseTopic({
        name: 't',
        topicId,
        partitions: [
          createMetadataResponsePartition({
            partitionIndex: 0,
            leaderId: leader,
            leaderEpoch,
            replicaNodes: [1, 2, 3],
            isrNodes: [1, 2, 3],
          }),
        ],
      }),
    ],
  });
}

describe('metadata cache: leader epochs (KIP-320)', () => {
  async function cacheAnswering(...answers: MetadataResponse[]): Promise<MetadataCache> {
    const queue = [...answers];
    const cache = new MetadataCache(async () => queue.shift() as MetadataResponse, { minRefreshIntervalMs: 0 });
    for (let i = 0; i < answers.length; i++) await cache.refresh(['t']);
    return cache;
  }

  test('an answer naming an older leader epoch (a broker cut off from the controller) does not undo a newer leader', async () => {
    const cache = await cacheAnswering(answer(1, 4), answer(2, 5), answer(1, 4));
    expect(cache.leaderFor('t', 0)).toBe(2);
    cache.close();
  });

  test('a newer epoch replaces the leader; a recreated topic (another id) starts over at its own epochs', async () => {
    const cache = await cacheAnswering(answer(2, 5), answer(3, 6), answer(1, 0, 'bmV3LXRvcGljLWlkLTAwMDAw'));
    expect(cache.leaderFor('t', 0)).toBe(1);
    cache.close();
  });
});

describe('metadata cache: errors that send it looking for leaders', () => {
  test('the answers of a leader the cluster has fenced (it timed out waiting for its followers) ask for a refresh', async () => {
    let fetches = 0;
    const cache = new MetadataCache(
      async () => {
        fetches++;
        return answer(2, 5);
      },
      { minRefreshIntervalMs: 0 },
    );
    const refreshesAfter = async (code: number) => {
      const before = fetches;
      cache.noteError(code);
      await cache.refresh();
      return fetches - before - 1;
    };
    for (const code of [ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND]) {
      expect(await refreshesAfter(code), `error ${code}`).toBe(1);
    }
    // A record's own fault says nothing about leaders.
    expect(await refreshesAfter(ErrorCode.CORRUPT_MESSAGE)).toBe(0);
    expect(await refreshesAfter(ErrorCode.MESSAGE_TOO_LARGE)).toBe(0);
    cache.close();
  });
});
