import { readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { PartitionReader } from '../../src/consumer/partition-reader.js';
import { locateBatch } from '../../src/durable/batch-locator.js';
import { DurableProducer } from '../../src/durable/durable-producer.js';
import {
  decodeBatch,
  EntryType,
  encodeBatch,
  encodeCheckpoint,
  encodeFailed,
  encodeRecord,
  type JournalBatch,
} from '../../src/durable/entries.js';
import { BatchNotLocatedError } from '../../src/durable/errors.js';
import { Journal } from '../../src/durable/journal.js';
import { RecoveryFold } from '../../src/durable/recovery-state.js';
import { testKafka } from '../helpers/kafka.js';
import { JournalDirs } from '../support/durable.js';
import { uniqueTopic } from '../support/topics.js';

/**
 * Where a restarted durable producer cannot resend a batch under the numbers it journaled (issue
 * 13, point 3): the broker no longer knows the producer id's state (the topic was recreated, or the
 * journal sat idle past producer.id.expiration.ms), or the epoch was fenced. It falls back to new
 * numbers, delivers everything, and counts the records that may be duplicates: never silently.
 * And where it can after all: a batch the broker has but no longer remembers is found in the log.
 *
 * Each test first leaves a journal as a crash right after journaling a batch would (its BATCH
 * entry written, no acknowledgement), then changes the broker's side, then restarts.
 */

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;
const dirs = new JournalDirs('kw-durable-fallback-');

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  admin = new Admin(cluster);
});
afterAll(() => {
  cluster?.close();
  dirs.removeAll();
});

const journalDir = () => dirs.make();

async function values(topic: string): Promise<string[]> {
  const list: string[] = [];
  for await (const record of new PartitionReader(cluster, { topic, partition: 0, until: 'end' })) list.push(record.value?.toString() ?? '');
  return list;
}

/** A first run: `count` records delivered to partition 0 and acknowledged; returns the producer id and epoch it used. */
async function deliverFirst(dir: string, topic: string, count: number): Promise<{ producerId: bigint; epoch: number; topicId: number }> {
  const producer = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir } });
  await Promise.all(Array.from({ length: count }, (_, i) => producer.send({ topic, partition: 0, value: `first-${i}` })));
  await producer.close();
  const { journal } = await Journal.open({ dir });
  const fold = new RecoveryFold();
  for await (const entry of journal.readFrom(1)) fold.add(entry.id, entry.type, Buffer.from(entry.payload));
  await journal.close();
  const { producer: numbers, topics } = fold.result();
  const topicId = topics.idOf(topic);
  if (!numbers || topicId === undefined) throw new Error('the first run journaled no producer id, or not its topic');
  return { ...numbers, topicId };
}

/**
 * What a crash right after a batch was journaled leaves: `values` accepted (RECORD entries) and
 * journaled as one batch of partition 0 under `numbers` from `baseSequence`, never acknowledged.
 */
async function crashAfterJournalingBatch(
  dir: string,
  topic: string,
  records: string[],
  numbers: { producerId: bigint; epoch: number; baseSequence: number; topicId: number },
): Promise<void> {
  const { topicId, ...batchNumbers } = numbers;
  const { journal } = await Journal.open({ dir });
  const recordIds = records.map(
    (value) =>
      journal.append(
        EntryType.RECORD,
        encodeRecord({ topic, partition: 0, timestamp: Date.now(), key: null, value: Buffer.from(value), headers: [] }, topicId),
      ).id,
  );
  journal.append(EntryType.BATCH, encodeBatch({ topic, partition: 0, ...batchNumbers, recordIds }));
  await journal.close();
}

async function createTopic(name: string): Promise<void> {
  await admin.createTopics([{ name, partitions: 1, replicationFactor: 1 }]);
}

/** Opens the journal again, collects mayDuplicate events, delivers everything and closes. */
async function restart(dir: string, durable: { producerIdExpirationMs?: number } = {}) {
  const events: { records: number; reason: string }[] = [];
  const producer = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir, ...durable } });
  producer.on('mayDuplicate', (event) => events.push(event));
  const recovery = producer.recovery;
  await producer.flush();
  const result = { recovery, events, mayDuplicate: producer.mayDuplicate, pending: producer.pending };
  await producer.close();
  return result;
}

const later = (count: number) => Array.from({ length: count }, (_, i) => `later-${i}`);

describe('a restarted durable producer that cannot resend as it journaled', () => {
  test('the topic was deleted and recreated: the batch is delivered to the new topic, once', { timeout: 120_000 }, async () => {
    const topic = uniqueTopic('durable-recreated');
    await createTopic(topic);
    const dir = journalDir();
    const numbers = await deliverFirst(dir, topic, 100);
    await crashAfterJournalingBatch(dir, topic, later(50), { ...numbers, baseSequence: 100 });
    await admin.deleteTopics([topic]);
    // The deletion finishes in the background: the name is taken until it has.
    for (let attempt = 0; ; attempt++) {
      try {
        await createTopic(topic);
        break;
      } catch (error) {
        if (attempt >= 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }

    const { recovery, events, mayDuplicate, pending } = await restart(dir);
    expect(recovery).toMatchObject({ replaying: 50, inDoubtBatches: 1, mayDuplicate: 0 });
    // The new partition has no state for the producer id. Kafka 4.3.1 and 3.9.2 both take the batch as it is (a broker
    // without a producer's state accepts whatever sequence comes; seen in runs on each); a broker that refused it
    // (OUT_OF_ORDER_SEQUENCE_NUMBER) would have it renumbered and counted. Either way it is delivered once: the new topic
    // holds no older copy. (The same acceptance is why a journal idle past producerIdExpirationMs is not trusted.)
    console.log(`[durable-fallback] recreated topic: ${events.length > 0 ? 'renumbered and counted' : 'taken as it was'}`);
    if (events.length > 0) {
      expect(events).toEqual([{ records: 50, reason: expect.stringMatching(/went out again as epoch \d+, sequence 0/) }]);
    }
    expect(mayDuplicate).toBe(events.length > 0 ? 50 : 0);
    expect(pending).toBe(0);
    expect(await values(topic)).toEqual(later(50));
  });

  test('the epoch was fenced: a fresh producer id, the batch delivered under it, and counted', { timeout: 120_000 }, async () => {
    const topic = uniqueTopic('durable-fenced');
    await createTopic(topic);
    const dir = journalDir();
    const numbers = await deliverFirst(dir, topic, 100);
    await crashAfterJournalingBatch(dir, topic, later(50), { ...numbers, baseSequence: 100 });
    // Someone (here: a durable producer whose journal says so) writes to the partition under the next epoch of the same id.
    const fencer = journalDir();
    const { journal } = await Journal.open({ dir: fencer });
    journal.append(EntryType.CHECKPOINT, encodeCheckpoint({ producerId: numbers.producerId, epoch: numbers.epoch + 1, sequences: [] }));
    await journal.close();
    const newer = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir: fencer } });
    await newer.send({ topic, partition: 0, value: 'newer-epoch' });
    await newer.close();

    const { recovery, events, mayDuplicate, pending } = await restart(dir);
    expect(recovery).toMatchObject({ replaying: 50, inDoubtBatches: 1, mayDuplicate: 0 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ records: 50 });
    expect(events[0]?.reason).toContain('INVALID_PRODUCER_EPOCH');
    expect(mayDuplicate).toBe(50);
    expect(pending).toBe(0);
    const first = Array.from({ length: 100 }, (_, i) => `first-${i}`);
    expect(await values(topic)).toEqual([...first, 'newer-epoch', ...later(50)]);
  });

  test('the journal sat idle past producerIdExpirationMs: its in-doubt batch goes out under a fresh id, counted', async () => {
    const topic = uniqueTopic('durable-expired');
    await createTopic(topic);
    const dir = journalDir();
    const numbers = await deliverFirst(dir, topic, 100);
    await crashAfterJournalingBatch(dir, topic, later(50), { ...numbers, baseSequence: 100 });
    // Two days ago, past the brokers' default day.
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    for (const file of readdirSync(dir)) utimesSync(join(dir, file), twoDaysAgo, twoDaysAgo);

    const { recovery, events, mayDuplicate, pending } = await restart(dir);
    expect(recovery).toMatchObject({ replaying: 50, inDoubtBatches: 0, mayDuplicate: 50 });
    expect(recovery.journal.lastWrittenAt).toBeLessThan(Date.now() - 86_400_000);
    expect(events).toEqual([{ records: 50, reason: expect.stringContaining('longer than producerIdExpirationMs') }]);
    expect(mayDuplicate).toBe(50);
    expect(pending).toBe(0);
    expect(await values(topic)).toEqual([...Array.from({ length: 100 }, (_, i) => `first-${i}`), ...later(50)]);

    // Within the expiration (the same journal state, a longer setting), nothing is counted: the batch is resent as it was.
    const again = journalDir();
    const topic2 = uniqueTopic('durable-not-expired');
    await createTopic(topic2);
    const numbers2 = await deliverFirst(again, topic2, 10);
    await crashAfterJournalingBatch(again, topic2, later(5), { ...numbers2, baseSequence: 10 });
    for (const file of readdirSync(again)) utimesSync(join(again, file), twoDaysAgo, twoDaysAgo);
    const kept = await restart(again, { producerIdExpirationMs: 7 * 86_400_000 });
    expect(kept.recovery).toMatchObject({ replaying: 5, inDoubtBatches: 1, mayDuplicate: 0 });
    expect(kept.events).toEqual([]);
  });
});

/** Every record of partition 0 with its offset. */
async function offsetsAndValues(topic: string): Promise<{ offset: bigint; value: string }[]> {
  const list: { offset: bigint; value: string }[] = [];
  for await (const record of new PartitionReader(cluster, { topic, partition: 0, until: 'end' })) {
    list.push({ offset: record.offset, value: record.value?.toString() ?? '' });
  }
  return list;
}

/** Copies a closed journal entry by entry (ids kept), its first acknowledgement replaced by an entry that changes nothing. */
async function copyWithoutFirstAck(from: string, to: string): Promise<JournalBatch[]> {
  const { journal: source } = await Journal.open({ dir: from });
  const { journal: target } = await Journal.open({ dir: to });
  const batches: JournalBatch[] = [];
  let ackDropped = false;
  let last: Promise<void> = Promise.resolve();
  for await (const entry of source.readFrom(1)) {
    const payload = Buffer.from(entry.payload);
    if (entry.type === EntryType.BATCH) batches.push(decodeBatch(payload));
    const dropAck: boolean = entry.type === EntryType.ACK && !ackDropped;
    ackDropped ||= dropAck;
    const appended = dropAck ? target.append(EntryType.FAILED, encodeFailed([])) : target.append(entry.type, payload);
    expect(appended.id).toBe(entry.id);
    last = appended.durable;
  }
  await last;
  await source.close();
  await target.close();
  expect(ackDropped).toBe(true);
  return batches;
}

/**
 * A broker recognises a resent batch by its numbers only among a producer's last five batches of
 * the partition: a restart whose journal lost an acknowledgement (killed before it was written)
 * resends an older batch that is on the broker, and is refused as out of order. Found by CI's
 * crash loop on Kafka 3.9.2 (70 records renumbered, announced as may-duplicate); made exact here by
 * taking the acknowledgement out of a real journal.
 */
describe('a batch on the broker beyond the five it remembers per producer', () => {
  test('a restart finds it in the log instead of writing it twice; locateBatch tells written, absent and unknown apart', async () => {
    const topic = uniqueTopic('durable-locate');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const first = dirs.make();
    const producer = await DurableProducer.open({ bootstrap: kafka.bootstrap, lingerMs: 0, durable: { dir: first } });
    // Eight batches, one record each, each acknowledged before the next: the broker remembers the last five.
    for (let i = 0; i < 8; i++) await producer.send({ topic, partition: 0, value: `v${i}` });
    await producer.close();
    const written = await offsetsAndValues(topic);
    expect(written.map((record) => record.value)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7']);

    const second = dirs.make();
    const batches = await copyWithoutFirstAck(first, second);
    expect(batches.map((batch) => batch.baseSequence)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const { producerId, epoch } = batches[0] as JournalBatch;

    const restarted = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir: second } });
    const replayed: unknown[] = [];
    const mayDuplicate: unknown[] = [];
    restarted.on('replayed', (event) => replayed.push(event));
    restarted.on('mayDuplicate', (event) => mayDuplicate.push(event));
    expect(restarted.recovery).toMatchObject({ inDoubtBatches: 1, replaying: 1, mayDuplicate: 0 });
    await restarted.flush();
    await restarted.close();
    expect(mayDuplicate).toEqual([]);
    const recordId = (batches[0] as JournalBatch).recordIds[0];
    expect(replayed).toEqual([{ id: recordId, topic, partition: 0, offset: written[0]?.offset }]);
    expect((await offsetsAndValues(topic)).map((record) => record.value)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7']);

    const batch = { topic, partition: 0, producerId, epoch, records: 1, earliestTimestamp: 0 };
    expect(await locateBatch(cluster, { ...batch, baseSequence: 3 })).toBe(written[3]?.offset);
    expect(await locateBatch(cluster, { ...batch, baseSequence: 8 })).toBeUndefined();
    await expect(locateBatch(cluster, { ...batch, baseSequence: 0, records: 2 })).rejects.toThrow(
      /holds 2 records, but the log's batch with those numbers \(offset \d+\) holds 1/,
    );
    await expect(locateBatch(cluster, { ...batch, producerId: producerId + 1000n, baseSequence: 0 })).rejects.toThrow(BatchNotLocatedError);
  });
});
