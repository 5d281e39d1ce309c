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

describe('metadata cache: a refresh made after an error', () => {
  /** A cache whose fetches wait until the test answers them. */
  function scripted(minRefreshIntervalMs: number) {
    const waiting: (() => void)[] = [];
    let fetches = 0;
    const cache = new MetadataCache(
      () => {
        fetches++;
        return new Promise<MetadataResponse>((resolve) => waiting.push(() => resolve(answer(2, 5))));
      },
      { minRefreshIntervalMs },
    );
    const answerNext = async () => {
      while (waiting.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      (waiting.shift() as () => void)();
      await new Promise((resolve) => setImmediate(resolve));
    };
    return { cache, answerNext, fetches: () => fetches };
  }

  test('one whose request was made before it does not count: another is made, and its number is what to wait for', async () => {
    const { cache, answerNext, fetches } = scripted(0);
    const first = cache.refresh();
    expect(fetches()).toBe(1);
    expect(cache.requestFreshRefresh()).toBe(2);
    expect(cache.requestFreshRefresh()).toBe(2); // errors meanwhile share it
    let answers = 0;
    cache.onAnswer(() => answers++);
    await answerNext();
    await first;
    expect(cache.answeredRefresh).toBe(1);
    await answerNext(); // the second request, made once the first had answered
    expect(fetches()).toBe(2);
    expect(cache.answeredRefresh).toBe(2);
    expect(answers).toBe(2);
    cache.close();
  });

  test('one still waiting out the minimum interval makes its request later: it serves, and no other is made', async () => {
    const { cache, answerNext, fetches } = scripted(30);
    const first = cache.refresh();
    await answerNext();
    await first;
    const second = cache.refresh(); // within 30 ms of the first: it waits before its request
    expect(cache.requestFreshRefresh()).toBe(2);
    await answerNext();
    await second;
    expect(fetches()).toBe(2);
    expect(cache.answeredRefresh).toBe(2);
    cache.close();
  });

  test('a leadership error while a refresh runs still adds none (the old behaviour for noteError)', async () => {
    const { cache, answerNext, fetches } = scripted(0);
    const first = cache.refresh();
    cache.noteError(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    await answerNext();
    await first;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fetches()).toBe(1);
    cache.close();
  });
});
