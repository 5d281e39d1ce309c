import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { PartitionReader } from '../../src/consumer/partition-reader.js';
import { locateBatch } from '../../src/durable/batch-locator.js';
import { DurableProducer } from '../../src/durable/durable-producer.js';
import { decodeBatch, EntryType, encodeFailed, type JournalBatch } from '../../src/durable/entries.js';
import { BatchNotLocatedError } from '../../src/durable/errors.js';
import { Journal } from '../../src/durable/journal.js';
import { testKafka } from '../helpers/kafka.js';
import { JournalDirs } from '../support/durable.js';
import { uniqueTopic } from '../support/topics.js';

/**
 * A broker recognises a resent batch by its numbers only among a producer's last five batches of
 * the partition: a restarted durable producer whose journal lost an acknowledgement (killed before
 * it was written) resends an older batch that is on the broker, and is refused as out of order.
 * Found by CI's crash loop on Kafka 3.9.2 (70 records renumbered, announced as may-duplicate).
 * Here made exact: the acknowledgement is taken out of a real journal.
 */
const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;
const dirs = new JournalDirs('kw-locate-');

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  admin = new Admin(cluster);
});
afterAll(() => {
  cluster?.close();
  dirs.removeAll();
});

async function values(topic: string): Promise<{ offset: bigint; value: string }[]> {
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

describe('a batch on the broker beyond the five it remembers per producer', () => {
  test('a restart finds it in the log instead of writing it twice; locateBatch tells written, absent and unknown apart', async () => {
    const topic = uniqueTopic('durable-locate');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const first = dirs.make();
    const producer = await DurableProducer.open({ bootstrap: kafka.bootstrap, lingerMs: 0, durable: { dir: first } });
    // Eight batches, one record each, each acknowledged before the next: the broker remembers the last five.
    for (let i = 0; i < 8; i++) await producer.send({ topic, partition: 0, value: `v${i}` });
    await producer.close();
    const written = await values(topic);
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
    expect((await values(topic)).map((record) => record.value)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7']);

    const batch = { topic, partition: 0, producerId, epoch, records: 1, earliestTimestamp: 0 };
    expect(await locateBatch(cluster, { ...batch, baseSequence: 3 })).toBe(written[3]?.offset);
    expect(await locateBatch(cluster, { ...batch, baseSequence: 8 })).toBeUndefined();
    await expect(locateBatch(cluster, { ...batch, baseSequence: 0, records: 2 })).rejects.toThrow(
      /holds 2 records, but the log's batch with those numbers \(offset \d+\) holds 1/,
    );
    await expect(locateBatch(cluster, { ...batch, producerId: producerId + 1000n, baseSequence: 0 })).rejects.toThrow(BatchNotLocatedError);
  });
});
