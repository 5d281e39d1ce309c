import { describe, expect, test } from 'vitest';
import {
  decodeAck,
  decodeBatch,
  decodeCheckpoint,
  decodeFailed,
  decodeRecord,
  decodeTopic,
  EntryType,
  encodeAck,
  encodeBatch,
  encodeCheckpoint,
  encodeFailed,
  encodeRecord,
  encodeTopic,
  JournalEntryError,
} from '../../src/durable/entries.js';
import { RecoveryFold } from '../../src/durable/recovery-state.js';
import { TopicTable } from '../../src/durable/topic-table.js';
import { partitionKeyRequest } from '../../src/producer/partitioner.js';

/** A RECORD of topic 't', declared as topic 0 by newFold(). */
const record = (value: string, partition = -1) =>
  encodeRecord({ topic: 't', partition, timestamp: 1_700_000_000_123, key: null, value: Buffer.from(value), headers: [] }, 0);
/** A fold that has seen topic 't' declared as 0 (entry id 0, before every other). */
function newFold(): RecoveryFold {
  const fold = new RecoveryFold();
  fold.add(0, EntryType.TOPIC, encodeTopic({ id: 0, name: 't' }));
  return fold;
}
const topics = new TopicTable();
topics.declare(0, 'orders');
topics.declare(1, 'événements.v2');
const batch = (partition: number, epoch: number, baseSequence: number, ids: number[]) =>
  encodeBatch({ topic: 't', partition, producerId: 7n, epoch, baseSequence, recordIds: ids });
const ack = (partition: number, epoch: number, baseSequence: number) =>
  encodeAck({ topic: 't', partition, producerId: 7n, epoch, baseSequence });

describe('journal entries', () => {
  test('every kind decodes to what was encoded', () => {
    const full = {
      topic: 'orders',
      partition: 3,
      timestamp: 1_700_000_000_123,
      key: Buffer.from('k'),
      value: null,
      headers: [
        { key: 'h1', value: Buffer.from('v') },
        { key: 'h2', value: null },
      ],
    };
    expect(decodeRecord(encodeRecord(full, 0), topics)).toEqual(full);
    // No partition chosen, a key and value of every kind, a header name beyond ASCII, the largest safe timestamp.
    const other = {
      topic: 'événements.v2',
      partition: -1,
      timestamp: Number.MAX_SAFE_INTEGER,
      key: null,
      value: Buffer.alloc(300, 7),
      headers: [{ key: 'trace-ïd', value: Buffer.alloc(0) }],
    };
    expect(decodeRecord(encodeRecord(other, 1), topics)).toEqual(other);
    // A partition key (a request of −2 − key): kept in a trailing field, the largest key too.
    for (const partitionKey of [0, 7, 2 ** 32 - 1]) {
      const keyed = { ...full, partition: partitionKeyRequest(partitionKey) };
      expect(encodeRecord(keyed, 0).length).toBe(encodeRecord(full, 0).length + 4);
      expect(decodeRecord(encodeRecord(keyed, 0), topics)).toEqual(keyed);
    }
    expect(decodeTopic(encodeTopic({ id: 1, name: 'événements.v2' }))).toEqual({ id: 1, name: 'événements.v2' });
    // A record naming a topic nobody declared does not decode.
    expect(() => decodeRecord(encodeRecord(other, 2), topics)).toThrow(/topic 2, which no TOPIC entry or checkpoint declared/);
    const b = { topic: 'orders', partition: 3, producerId: 9n, epoch: 2, baseSequence: 2_147_483_600, recordIds: [1, 5, 9] };
    expect(decodeBatch(encodeBatch(b))).toEqual(b);
    // Runs of consecutive ids, large ones among them.
    const runs = { ...b, recordIds: [7, 8, 9, 10, 12, 2 ** 40, 2 ** 40 + 1, 3] };
    expect(decodeBatch(encodeBatch(runs))).toEqual(runs);
    expect(encodeBatch(runs).length).toBeLessThan(encodeBatch({ ...b, recordIds: [] }).length + 4 * 12 + 1);
    const a = { topic: 'orders', partition: 3, producerId: 9n, epoch: 2, baseSequence: 40 };
    expect(decodeAck(encodeAck(a))).toEqual(a);
    expect(decodeFailed(encodeFailed([3n, 4n]))).toEqual([3n, 4n]);
    const c = { producerId: 9n, epoch: 2, sequences: [{ topic: 'orders', partition: 1, next: 77 }] };
    expect(decodeCheckpoint(encodeCheckpoint(c))).toEqual(c);
  });

  test('a payload cut short or with bytes left over is a JournalEntryError, not a crash', () => {
    const bytes = record('hello');
    const known = new TopicTable();
    known.declare(0, 't');
    expect(() => decodeRecord(bytes.subarray(0, bytes.length - 2), known)).toThrow(JournalEntryError);
    expect(() => decodeRecord(Buffer.concat([bytes, Buffer.from([0])]), known)).toThrow(/1 bytes past its last field/);
  });
});

describe('recovery: folding the journal into what a restart resumes from', () => {
  test('acknowledged batches are done; a batch journaled but not acknowledged is in doubt with its numbers; the rest is pending', () => {
    const fold = newFold();
    for (let id = 1; id <= 6; id++) fold.add(id, EntryType.RECORD, record(`r${id}`));
    fold.add(7, EntryType.BATCH, batch(0, 0, 0, [1, 3]));
    fold.add(8, EntryType.BATCH, batch(1, 0, 0, [2]));
    fold.add(9, EntryType.ACK, ack(0, 0, 0));
    fold.add(10, EntryType.BATCH, batch(0, 0, 2, [4]));
    const state = fold.result();
    expect(state.producer).toEqual({ producerId: 7n, epoch: 0 });
    expect([...state.sequences.values()]).toEqual([
      { topic: 't', partition: 0, next: 3 },
      { topic: 't', partition: 1, next: 1 },
    ]);
    expect(state.inDoubt.map((b) => [b.partition, b.baseSequence, b.recordIds])).toEqual([
      [0, 2, [4]],
      [1, 0, [2]],
    ]);
    expect(state.pending).toEqual([5, 6]);
    expect(state.mayDuplicate).toBe(0);
  });

  test('after an epoch bump, an old-epoch batch never acknowledged goes again renumbered, counted as a possible duplicate', () => {
    const fold = newFold();
    for (let id = 1; id <= 3; id++) fold.add(id, EntryType.RECORD, record(`r${id}`));
    fold.add(4, EntryType.BATCH, batch(0, 0, 0, [1]));
    fold.add(5, EntryType.BATCH, batch(0, 0, 1, [2]));
    // Bumped: record 2 was renumbered under epoch 1 and went out again; record 1's batch never came back.
    fold.add(6, EntryType.BATCH, batch(0, 1, 0, [2]));
    const state = fold.result();
    expect(state.producer).toEqual({ producerId: 7n, epoch: 1 });
    expect(state.inDoubt.map((b) => [b.epoch, b.baseSequence, b.recordIds])).toEqual([[1, 0, [2]]]);
    expect(state.pending).toEqual([1, 3]);
    expect(state.mayDuplicate).toBe(1);
    expect(state.sequences.get('t\u00000')?.next).toBe(1);
  });

  test('a split batch is in doubt as its halves; failed records are done; a checkpoint carries the sequences of trimmed segments', () => {
    const fold = newFold();
    fold.add(
      10,
      EntryType.CHECKPOINT,
      encodeCheckpoint({ producerId: 7n, epoch: 3, sequences: [{ topic: 't', partition: 0, next: 500 }] }),
    );
    for (let id = 11; id <= 14; id++) fold.add(id, EntryType.RECORD, record(`r${id}`));
    fold.add(15, EntryType.BATCH, batch(0, 3, 500, [11, 12, 13]));
    fold.add(16, EntryType.BATCH, batch(0, 3, 500, [11]));
    fold.add(17, EntryType.BATCH, batch(0, 3, 501, [12, 13]));
    fold.add(18, EntryType.FAILED, encodeFailed([14n]));
    const state = fold.result();
    expect(state.inDoubt.map((b) => [b.baseSequence, b.recordIds])).toEqual([
      [500, [11]],
      [501, [12, 13]],
    ]);
    expect(state.pending).toEqual([]);
    expect(state.sequences.get('t\u00000')?.next).toBe(503);
  });

  test('an entry that passed its checksum but does not decode is reported and skipped', () => {
    const fold = newFold();
    fold.add(1, EntryType.RECORD, Buffer.from([1, 2, 3]));
    fold.add(2, 99, Buffer.alloc(0));
    fold.add(3, EntryType.RECORD, record('ok'));
    const state = fold.result();
    expect(state.undecodable.map((entry) => entry.id)).toEqual([1, 2]);
    expect(state.undecodable[1]?.reason).toMatch(/type 99/);
    expect(state.pending).toEqual([3]);
  });
});
