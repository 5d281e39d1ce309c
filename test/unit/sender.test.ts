import { describe, expect, onTestFinished, test, vi } from 'vitest';
import { ConnectionError } from '../../src/connection/errors.js';
import { KafkaWireError } from '../../src/errors.js';
import { Accumulator, type PendingRecord } from '../../src/producer/accumulator.js';
import { BufferMemory } from '../../src/producer/buffer-memory.js';
import { DeliveryTimeoutError } from '../../src/producer/errors.js';
import { newMetrics } from '../../src/producer/metrics.js';
import { type ProducerOptions, producerSettings } from '../../src/producer/options.js';
import { type RecordMetadata, SingleSend } from '../../src/producer/outcomes.js';
import { ProducerState } from '../../src/producer/producer-state.js';
import { METADATA_WAIT_MAX_MS, Sender, type SenderJournal, type SenderTransaction } from '../../src/producer/sender.js';
import { ErrorCode, KafkaProtocolError } from '../../src/protocol/kafka-errors.js';
import { recordSize } from '../../src/records/batch-builder.js';
import { CompressionError, compress } from '../../src/records/compression.js';
import type { CompressionThreads, ThreadCodec } from '../../src/records/compression-threads.js';
import { FakeClock } from '../support/fake-clock.js';
import { ScriptedTransport } from '../support/scripted-transport.js';

/**
 * The sender's state machine on fake time against a broker the test plays: every scenario that
 * the integration tests provoke on a real broker (or cannot provoke there on demand) as a fast,
 * exact script. Each request is answered, or lost, by the test.
 */

interface Harness {
  clock: FakeClock;
  transport: ScriptedTransport;
  sender: Sender;
  state: ProducerState;
  metrics: ReturnType<typeof newMetrics>;
  buffer: BufferMemory;
  retries: { topic: string; partition: number; attempt: number; error: Error }[];
  failed: { topic: string; partition: number; records: number; error: Error }[];
  /** Sends one record to topic t, partition p; its outcome is kept (resolved metadata or the error). */
  send(partition: number, value?: string): Outcome;
  /**
   * Sends a first record to each partition and answers it, then forgets those requests: until a
   * partition has an acknowledged batch it sends one at a time, and these tests are about more.
   */
  acknowledgeFirst(...partitions: number[]): Promise<void>;
}

interface Outcome {
  result: RecordMetadata | Error | undefined;
}

function harness(
  options: Partial<ProducerOptions> = {},
  transport = new ScriptedTransport(),
  transaction?: SenderTransaction,
  journal?: SenderJournal,
  compressionThreads?: CompressionThreads,
): Harness {
  // One produce connection per broker unless a test asks for more: most tests here are about what one request carries.
  const settings = producerSettings({
    bootstrap: '127.0.0.1:9092',
    retryBackoff: { initialMs: 100, maxMs: 100 },
    connectionsPerBroker: 1,
    ...options,
  });
  const clock = new FakeClock();
  const metrics = newMetrics(settings.bufferMemory);
  const buffer = new BufferMemory(settings.bufferMemory, clock, metrics);
  const accumulator = new Accumulator(settings, clock);
  const state = new ProducerState();
  const retries: Harness['retries'] = [];
  const failed: Harness['failed'] = [];
  const sender = new Sender({
    settings,
    accumulator,
    state,
    buffer,
    transport,
    clock,
    metrics,
    transaction,
    journal,
    compressionThreads,
    events: { retry: (event) => retries.push(event), deliveryFailed: (event) => failed.push(event), progress: () => undefined },
  });
  let sequence = 0;
  return {
    clock,
    transport,
    sender,
    state,
    metrics,
    buffer,
    retries,
    failed,
    send(partition, value = `v${sequence++}`) {
      const outcome = new SingleSend();
      const kept: Outcome = { result: undefined };
      outcome.promise.then(
        (metadata) => {
          kept.result = metadata;
        },
        (error: Error) => {
          kept.result = error;
        },
      );
      const now = clock.now();
      const pending: PendingRecord = {
        key: null,
        value: Buffer.from(value),
        timestamp: now,
        size: 0,
        deadline: now + settings.deliveryTimeoutMs,
        outcome,
        index: 0,
        journalId: -1,
      };
      pending.size = recordSize(pending, 0, 0);
      buffer.take(pending.size);
      accumulator.append('t', partition, pending);
      sender.wake();
      return kept;
    },
    async acknowledgeFirst(...partitions) {
      for (const partition of partitions) this.send(partition);
      await clock.settle();
      for (const request of transport.open) request.answer();
      await clock.settle();
      transport.requests.splice(0);
    },
  };
}

/** The broker's answer code for one partition of a request. */
const code = (errorCode: number, extra: object = {}) => ({ errorCode, ...extra });

describe('sender: retries, sequences and epochs on a scripted broker', () => {
  test('a retriable error: the batch goes again after the backoff, with the same producer id, epoch and sequence', async () => {
    const h = harness({ lingerMs: 0 });
    const record = h.send(0);
    await h.clock.settle();
    expect(h.transport.initProducerIdCalls).toHaveLength(1);
    expect(h.transport.requests).toHaveLength(1);
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.NOT_LEADER_OR_FOLLOWER) });
    await h.clock.settle();
    expect(h.retries).toMatchObject([{ topic: 't', partition: 0, attempt: 1 }]);
    expect(h.transport.noted).toEqual([ErrorCode.NOT_LEADER_OR_FOLLOWER]);
    // The broker is doubted before the refresh starts, which picks the broker it asks as it starts (Cluster.anyConnection).
    expect(h.transport.metadataCalls.slice(0, 2)).toEqual(['noteError', 'refreshMetadata']);
    // The backoff is jittered within [50, 100] ms for the first retry.
    expect(h.transport.requests).toHaveLength(1);
    await h.clock.advance(49);
    expect(h.transport.requests).toHaveLength(1);
    await h.clock.advance(51);
    expect(h.transport.requests).toHaveLength(2);
    expect(h.transport.requests[1]!.batches).toEqual(h.transport.requests[0]!.batches);
    h.transport.requests[1]!.answer({ 't-0': { baseOffset: 41n } });
    await h.clock.settle();
    expect(record.result).toMatchObject({ topic: 't', partition: 0, offset: 41n });
    expect(h.metrics).toMatchObject({ recordsSent: 1, recordsRetried: 1, recordsFailed: 0, bufferUsed: 0 });
  });

  test('a non-retriable error fails the batch, and the next batch of the partition is renumbered under a bumped epoch', async () => {
    const h = harness({ lingerMs: 0, maxInFlight: 1 });
    const first = h.send(0);
    await h.clock.settle();
    const second = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.TOPIC_AUTHORIZATION_FAILED) });
    await h.clock.settle();
    expect(first.result).toBeInstanceOf(KafkaProtocolError);
    expect((first.result as KafkaProtocolError).code).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    // The second batch was numbered 1 under epoch 0 when it was built; the failed one left a gap.
    expect(h.transport.requests[1]!.batches[0]).toMatchObject({ epoch: 1, baseSequence: 0 });
    expect(h.transport.initProducerIdCalls).toHaveLength(1); // the bump is local (KIP-360)
    h.transport.requests[1]!.answer();
    await h.clock.settle();
    expect(second.result).toMatchObject({ offset: 0n });
  });

  test('OUT_OF_ORDER_SEQUENCE_NUMBER on the first unacknowledged batch: epoch + 1, the batch again at sequence 0, once', async () => {
    const h = harness({ lingerMs: 0 });
    const record = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) });
    await h.clock.advance(100);
    expect(h.transport.requests[1]!.batches[0]).toMatchObject({ producerId: 1000n, epoch: 1, baseSequence: 0 });
    h.transport.requests[1]!.answer({ 't-0': code(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) });
    await h.clock.advance(100);
    // A second sequence error for the same batch fails it loudly instead of bumping again.
    expect((record.result as KafkaProtocolError).code).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    // The failed batch's range leaves a gap: the next batch will go under yet another epoch.
    expect(h.state.bumpRequested).toBe(true);
  });

  test('MESSAGE_TOO_LARGE splits the batch into halves that keep its sequence range', async () => {
    const h = harness({ lingerMs: 10 });
    const records = [0, 1, 2, 3].map(() => h.send(0));
    await h.clock.advance(10);
    expect(h.transport.requests[0]!.batches[0]).toMatchObject({ baseSequence: 0, records: 4 });
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.MESSAGE_TOO_LARGE) });
    await h.clock.settle();
    expect(h.transport.requests[1]!.batches[0]).toMatchObject({ epoch: 0, baseSequence: 0, records: 2 });
    h.transport.requests[1]!.answer({ 't-0': { baseOffset: 0n } });
    await h.clock.settle();
    expect(h.transport.requests[2]!.batches[0]).toMatchObject({ epoch: 0, baseSequence: 2, records: 2 });
    h.transport.requests[2]!.answer({ 't-0': { baseOffset: 2n } });
    await h.clock.settle();
    expect(records.map((record) => (record.result as RecordMetadata).offset)).toEqual([0n, 1n, 2n, 3n]);
    expect(h.state.bumpRequested).toBe(false);
    // The halves are read back from the batch's bytes: the same records, in order, and every byte of bufferMemory comes back.
    expect(h.transport.requests.slice(1).map((request) => request.batches[0]!.values)).toEqual([
      ['v0', 'v1'],
      ['v2', 'v3'],
    ]);
    expect(h.buffer.used).toBe(0);
  });

  test.each(['gzip', 'lz4', 'zstd'] as const)('a split %s batch is read back through its codec', async (compression) => {
    const h = harness({ lingerMs: 10, compression });
    const records = [0, 1, 2].map(() => h.send(0));
    await h.clock.advance(10);
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.MESSAGE_TOO_LARGE) });
    await h.clock.settle();
    h.transport.requests[1]!.answer({ 't-0': { baseOffset: 0n } });
    await h.clock.settle();
    h.transport.requests[2]!.answer({ 't-0': { baseOffset: 2n } });
    await h.clock.settle();
    expect(h.transport.requests.map((request) => request.batches[0]!.values)).toEqual([['v0', 'v1', 'v2'], ['v0', 'v1'], ['v2']]);
    expect(records.map((record) => (record.result as RecordMetadata).offset)).toEqual([0n, 1n, 2n]);
    expect(h.buffer.used).toBe(0);
  });

  test('records the broker refuses (KIP-467) fail alone; the rest go again, renumbered under a new epoch', async () => {
    const h = harness({ lingerMs: 10 });
    const records = [0, 1, 2].map(() => h.send(0));
    await h.clock.advance(10);
    const recordErrors = [{ batchIndex: 1, batchIndexErrorMessage: 'compacted topics need keys' }];
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.INVALID_RECORD, { recordErrors }) });
    await h.clock.settle();
    expect(String(records[1]!.result)).toContain('compacted topics need keys');
    expect(h.transport.requests[1]!.batches[0]).toMatchObject({ epoch: 1, baseSequence: 0, records: 2 });
    expect(h.transport.requests[1]!.batches[0]!.values).toEqual(['v0', 'v2']);
    h.transport.requests[1]!.answer({ 't-0': { baseOffset: 7n } });
    await h.clock.settle();
    expect(records.map((record) => (record.result as RecordMetadata).offset)).toEqual([7n, undefined, 8n]);
    expect(h.buffer.used).toBe(0);
  });

  test('DUPLICATE_SEQUENCE_NUMBER counts as written', async () => {
    const h = harness({ lingerMs: 0 });
    const record = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.DUPLICATE_SEQUENCE_NUMBER) });
    await h.clock.settle();
    expect(record.result).toMatchObject({ topic: 't', partition: 0, offset: -1n });
  });

  test('a batch with no answer by its delivery deadline fails with DeliveryTimeoutError; its late answer only frees it', async () => {
    const h = harness({ lingerMs: 0, deliveryTimeoutMs: 5000 });
    const record = h.send(0);
    await h.clock.settle();
    await h.clock.advance(5000);
    expect(record.result).toBeInstanceOf(DeliveryTimeoutError);
    expect(String(record.result)).toContain('may have been written');
    expect(h.metrics.bufferUsed).toBe(0);
    expect(h.state.bumpRequested).toBe(true);
    h.transport.requests[0]!.answer({ 't-0': { baseOffset: 3n } });
    await h.clock.settle();
    expect(record.result).toBeInstanceOf(DeliveryTimeoutError); // settled once, not twice
    expect(h.metrics).toMatchObject({ recordsSent: 0, recordsFailed: 1 });
  });

  test('a batch expiring while its request waits for a connection names the last error, never written (a CI flake)', async () => {
    const h = harness({ lingerMs: 0, deliveryTimeoutMs: 3000 });
    const refused = new ConnectionError('broker 1', 'connect ECONNREFUSED 127.0.0.1:9092', { retriable: true });
    let connected: () => void = () => {};
    h.transport.connects.push(
      () => Promise.reject(refused),
      () => new Promise<void>((resolve) => (connected = resolve)),
    );
    const record = h.send(0);
    await h.clock.settle();
    expect(h.retries).toHaveLength(1);
    await h.clock.advance(3100); // the retry's connect is still pending at the deadline
    expect(record.result).toBeInstanceOf(DeliveryTimeoutError);
    expect(String(record.result)).toContain('after 1 attempt(s); its next request was still waiting for a connection');
    expect(String(record.result)).toContain('last error: broker 1: connect ECONNREFUSED');
    expect(String(record.result)).not.toContain('may have been written');
    connected();
    await h.clock.settle();
    expect(h.transport.requests).toHaveLength(0); // the expired batch was left out of the request
    expect(h.metrics).toMatchObject({ recordsSent: 0, recordsFailed: 1, bufferUsed: 0 });
  });

  test("a batch's records fail at its first record's deadline, not its last one's (found by npm run faults)", async () => {
    const h = harness({ lingerMs: 3000, deliveryTimeoutMs: 8000 });
    h.send(1); // goes at once (its leader is idle) and is never answered: partition 0's batch lingers behind it
    await h.clock.advance(3000);
    const first = h.send(0);
    await h.clock.advance(2000);
    const second = h.send(0); // same open batch, a deadline 2 s later
    await h.clock.advance(1000); // lingered: the batch goes out, and no answer ever comes
    expect(h.transport.requests).toHaveLength(2);
    await h.clock.advance(3000);
    expect(first.result).toBeUndefined();
    await h.clock.advance(2000);
    expect(first.result).toBeInstanceOf(DeliveryTimeoutError);
    expect(second.result).toBeInstanceOf(DeliveryTimeoutError);
  });

  test('a batch in flight fails at its deadline while an epoch bump waits for the answers of the old epoch', async () => {
    const h = harness({ lingerMs: 0, deliveryTimeoutMs: 5000 });
    h.send(1); // never answered: expiring in flight, it asks for an epoch bump
    await h.clock.settle();
    await h.clock.advance(1000);
    const later = h.send(0); // in flight too, never answered
    await h.clock.settle();
    await h.clock.advance(4000);
    expect(h.state.bumpRequested).toBe(true);
    expect(later.result).toBeUndefined();
    await h.clock.advance(1000);
    expect(later.result).toBeInstanceOf(DeliveryTimeoutError);
  });

  test('a batch waiting behind an expired one still in flight fails at its own deadline (found by npm run faults)', async () => {
    const h = harness({ lingerMs: 0, deliveryTimeoutMs: 5000, maxInFlight: 1 });
    const inFlight = h.send(0);
    await h.clock.settle();
    await h.clock.advance(10);
    const waiting = h.send(0); // one request at a time: it waits behind the unanswered one
    await h.clock.advance(5000);
    expect(inFlight.result).toBeInstanceOf(DeliveryTimeoutError);
    expect(waiting.result).toBeInstanceOf(DeliveryTimeoutError);
    expect(h.transport.requests).toHaveLength(1);
  });

  test('a record fails at its delivery deadline, not at the next periodic look after it', async () => {
    const h = harness({ lingerMs: 0, deliveryTimeoutMs: 1000 });
    const first = h.send(0); // in flight, never answered
    await h.clock.settle();
    await h.clock.advance(100);
    h.send(1); // a drain 100 ms later: the looks every 250 ms from here would pass the deadline by 100 ms
    await h.clock.advance(899);
    expect(first.result).toBeUndefined();
    await h.clock.advance(1);
    expect(first.result).toBeInstanceOf(DeliveryTimeoutError);
  });

  test('a drain per record does not arm a timer per drain', async () => {
    const h = harness({ lingerMs: 0 });
    h.send(0);
    await h.clock.settle();
    const before = h.clock.timersSet;
    for (let i = 0; i < 50; i++) {
      for (const request of h.transport.open) request.answer();
      h.send(i % 2);
      await h.clock.advance(1);
    }
    expect(h.transport.requests.length).toBeGreaterThan(40);
    expect(h.clock.timersSet - before).toBeLessThanOrEqual(2);
  });

  test('a batch that keeps failing retriably fails at its deadline with the last error named', async () => {
    const h = harness({ lingerMs: 0, deliveryTimeoutMs: 1000 });
    const record = h.send(0);
    for (let round = 0; round < 20 && record.result === undefined; round++) {
      await h.clock.settle();
      for (const request of h.transport.open) request.answer({ 't-0': code(ErrorCode.NOT_ENOUGH_REPLICAS) });
      await h.clock.advance(100);
    }
    expect(record.result).toBeInstanceOf(DeliveryTimeoutError);
    expect(String(record.result)).toContain('NOT_ENOUGH_REPLICAS');
    expect(h.retries.length).toBeGreaterThanOrEqual(8);
  });

  test('a producer fenced by a newer epoch (INVALID_PRODUCER_EPOCH) fails its records with the reason, not retried', async () => {
    const h = harness({ lingerMs: 0 });
    const record = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.INVALID_PRODUCER_EPOCH) });
    await h.clock.settle();
    expect((record.result as KafkaProtocolError).code).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(h.retries).toEqual([]);
  });

  test('a lost connection before the answer: retried with the same numbers (the broker drops a duplicate)', async () => {
    const h = harness({ lingerMs: 0 });
    const record = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.lose();
    await h.clock.advance(100);
    expect(h.transport.refreshes).toBeGreaterThan(0);
    expect(h.transport.requests[1]!.batches).toEqual(h.transport.requests[0]!.batches);
    h.transport.requests[1]!.answer({ 't-0': code(ErrorCode.DUPLICATE_SEQUENCE_NUMBER) });
    await h.clock.settle();
    expect(record.result).toMatchObject({ offset: -1n });
  });
});

describe('sender: a batch whose leader may have moved waits for metadata asked for after its failure (found by npm run faults)', () => {
  // leader-fenced-by-cluster: the fenced leader answers REQUEST_TIMED_OUT after 30 s; a retry sent back to it before the
  // refresh answered waited another 30 s, and records failed at their 60 s delivery timeout.
  const fenced = async (failure: (h: Harness) => void) => {
    const h = harness({ lingerMs: 0 });
    h.transport.holdMetadata = true;
    const record = h.send(0);
    await h.clock.settle();
    failure(h);
    await h.clock.advance(500); // well past the retry backoff (100 ms)
    const whileWaiting = h.transport.requests.length;
    h.transport.answerMetadata({ 't-0': 2 });
    await h.clock.settle();
    return { h, record, whileWaiting };
  };

  test.each([
    ['REQUEST_TIMED_OUT', (h: Harness) => h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.REQUEST_TIMED_OUT) })],
    ['NOT_LEADER_OR_FOLLOWER', (h: Harness) => h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.NOT_LEADER_OR_FOLLOWER) })],
    ['a lost connection', (h: Harness) => h.transport.requests[0]!.lose()],
  ])('after %s the retry goes to the leader the refresh names, not back to the old one', async (_name, failure) => {
    const { h, record, whileWaiting } = await fenced(failure);
    expect(whileWaiting).toBe(1);
    expect(h.transport.requests.map((request) => request.broker)).toEqual([1, 2]);
    h.transport.requests[1]!.answer({ 't-0': { baseOffset: 9n } });
    await h.clock.settle();
    expect(record.result).toMatchObject({ offset: 9n });
  });

  test('a refresh that never answers holds the retry METADATA_WAIT_MAX_MS at most, then it goes to the leader known', async () => {
    const h = harness({ lingerMs: 0 });
    h.transport.holdMetadata = true;
    const record = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.NOT_LEADER_OR_FOLLOWER) });
    await h.clock.advance(METADATA_WAIT_MAX_MS - 1);
    expect(h.transport.requests).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.transport.requests.map((request) => request.broker)).toEqual([1, 1]);
    h.transport.requests[1]!.answer();
    await h.clock.settle();
    expect(record.result).toMatchObject({ partition: 0 });
  });

  test('an error that says nothing about leaders does not wait for metadata', async () => {
    const h = harness({ lingerMs: 0 });
    h.transport.holdMetadata = true;
    h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.CORRUPT_MESSAGE) }); // retriable: a bit flipped on the way
    await h.clock.advance(100);
    expect(h.transport.requests).toHaveLength(2);
  });
});

describe('sender: lingerMs is an upper bound: a batch goes at once when its leader has nothing in flight', () => {
  const sizes = (h: Harness) => h.transport.requests.map((request) => request.batches.map((batch) => [batch.partition, batch.records]));

  test('to an idle leader a record goes at once, however long lingerMs is', async () => {
    const h = harness({ lingerMs: 5000 });
    const record = h.send(0);
    await h.clock.settle();
    expect(sizes(h)).toEqual([[[0, 1]]]);
    h.transport.requests[0]!.answer();
    await h.clock.settle();
    expect(record.result).toMatchObject({ partition: 0 });
  });

  test('records of one turn go together; while a request is in flight the next ones gather, and go when it answers', async () => {
    const h = harness({ lingerMs: 5000 }, new ScriptedTransport({ 't-0': 1, 't-1': 1 }));
    h.send(0);
    h.send(0);
    h.send(1);
    await h.clock.settle();
    expect(sizes(h)).toEqual([
      [
        [0, 2],
        [1, 1],
      ],
    ]);
    for (let i = 0; i < 5; i++) h.send(0);
    await h.clock.advance(100);
    expect(h.transport.requests).toHaveLength(1); // the leader is busy: they wait (up to lingerMs)
    h.transport.requests[0]!.answer();
    await h.clock.settle();
    expect(sizes(h)[1]).toEqual([[0, 5]]); // idle again: they go at once, 4.9 s before their linger is up
  });

  test('a leader with a request in flight makes a batch wait lingerMs at most, not for the answer', async () => {
    const h = harness({ lingerMs: 20 }, new ScriptedTransport({ 't-0': 1, 't-1': 1 }));
    h.send(1); // in flight, unanswered
    await h.clock.settle();
    h.send(0);
    await h.clock.advance(19);
    expect(h.transport.requests).toHaveLength(1);
    await h.clock.advance(1);
    expect(sizes(h)).toEqual([[[1, 1]], [[0, 1]]]);
  });

  test('a partition with no leader: its lingered batch still asks for metadata, and goes once a leader is known', async () => {
    const h = harness({ lingerMs: 5 }, new ScriptedTransport({ 't-0': -1 }));
    h.transport.holdMetadata = true; // a refresh answers when the test says
    const record = h.send(0);
    await h.clock.advance(5);
    expect(h.transport.refreshes).toBeGreaterThan(0);
    expect(h.transport.requests).toHaveLength(0);
    h.transport.answerMetadata({ 't-0': 1 });
    await h.clock.advance(200);
    expect(sizes(h)).toEqual([[[0, 1]]]);
    h.transport.requests[0]!.answer();
    await h.clock.settle();
    expect(record.result).toMatchObject({ partition: 0 });
  });

  test('an idle leader lets no batch go before one of its partition waiting to be retried', async () => {
    const h = harness({ lingerMs: 5000 });
    h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.lose(); // to be retried after its backoff
    await h.clock.settle();
    h.send(0); // behind the batch waiting to be retried: it must not go first
    await h.clock.settle();
    expect(h.transport.requests).toHaveLength(1);
    await h.clock.advance(1000);
    expect(sizes(h).slice(1)).toEqual([[[0, 1]]]); // the retry first, alone
  });
});

describe('sender: a batch that cannot go yet keeps taking records (found by npm run faults: slow-disk)', () => {
  test('behind a request still in flight, records over many lingers go out in one batch when it answers', async () => {
    const h = harness({ lingerMs: 5, maxInFlight: 1 });
    const first = h.send(0);
    await h.clock.advance(5);
    expect(h.transport.requests).toHaveLength(1);
    const later: Outcome[] = [];
    for (let i = 0; i < 10; i++) {
      later.push(h.send(0));
      await h.clock.advance(5);
    }
    expect(h.transport.requests).toHaveLength(1);
    h.transport.requests[0]!.answer();
    await h.clock.settle();
    expect(h.transport.requests.map((request) => request.batches.map((batch) => batch.records))).toEqual([[1], [10]]);
    h.transport.requests[1]!.answer();
    await h.clock.settle();
    expect(first.result).toMatchObject({ partition: 0 });
    for (const outcome of later) expect(outcome.result).toMatchObject({ partition: 0 });
  });

  test("a leader with no room for another request holds its partitions' lingered batches open too", async () => {
    const h = harness({ lingerMs: 5, maxInFlight: 1 }, new ScriptedTransport({ 't-0': 1, 't-1': 1 }));
    h.send(0);
    await h.clock.advance(5);
    for (let i = 0; i < 4; i++) {
      h.send(1);
      await h.clock.advance(5);
    }
    h.transport.requests[0]!.answer();
    await h.clock.settle();
    expect(h.transport.requests[1]!.batches.map((batch) => [batch.partition, batch.records])).toEqual([[1, 4]]);
  });

  test('a batch held open still fails at its delivery deadline', async () => {
    const h = harness({ lingerMs: 5, maxInFlight: 1, deliveryTimeoutMs: 1000 });
    h.send(0);
    await h.clock.advance(5);
    const held = h.send(0);
    await h.clock.advance(1100);
    expect(held.result).toBeInstanceOf(DeliveryTimeoutError);
    expect(h.transport.requests).toHaveLength(1);
  });
});

describe('sender: write-ahead journal waits do not reorder a partition (found by npm run faults)', () => {
  test('a batch whose journal write ends after an earlier batch failed waits for that batch to go again first', async () => {
    let releaseSecond: () => void = () => undefined;
    let calls = 0;
    const journal: SenderJournal = {
      batchGoingOut: () => {
        calls++;
        if (calls === 2) return new Promise<void>((resolve) => (releaseSecond = resolve));
        return undefined;
      },
      batchAcknowledged: () => undefined,
    };
    const h = harness({ lingerMs: 0 }, new ScriptedTransport(), undefined, journal);
    await h.acknowledgeFirst(0); // journal call 1, sequence 0
    calls = 0;
    const first = h.send(0);
    await h.clock.settle();
    const second = h.send(0); // its journal write is slow
    await h.clock.settle();
    expect(h.transport.requests.map((request) => request.batches[0]?.baseSequence)).toEqual([1]);
    h.transport.requests[0]!.lose(); // the connection is reset: sequence 1 is to go again
    await h.clock.settle();
    releaseSecond(); // sequence 2 is journaled now; written at once, it would reach the broker before 1
    await h.clock.settle();
    await h.clock.advance(1000);
    const sequences = h.transport.requests.map((request) => request.batches.map((batch) => batch.baseSequence));
    expect(sequences[1]?.[0]).toBe(1);
    for (const request of h.transport.open) request.answer();
    await h.clock.advance(1000);
    for (const request of h.transport.open) request.answer();
    await h.clock.settle();
    expect(first.result).toMatchObject({ partition: 0 });
    expect(second.result).toMatchObject({ partition: 0 });
  });
});

describe('sender: a batch never reaches the wire before an earlier batch of its partition (found by npm run faults)', () => {
  /** A journal whose writes for the given calls (1-based) end only when the test says. */
  function slowJournal(slow: number[]): { journal: SenderJournal; release: () => void } {
    let calls = 0;
    const waiting: (() => void)[] = [];
    const journal: SenderJournal = {
      batchGoingOut: () => (slow.includes(++calls) ? new Promise<void>((resolve) => waiting.push(resolve)) : undefined),
      batchAcknowledged: () => undefined,
    };
    const release = () => {
      for (const resolve of waiting.splice(0)) resolve();
    };
    return { journal, release };
  }

  const written = (h: Harness) =>
    h.transport.requests.map((request) => request.batches.map((batch) => `p${batch.partition}:s${batch.baseSequence}`).join(' '));

  async function answerAll(h: Harness): Promise<void> {
    for (let round = 0; round < 10 && h.transport.open.length > 0; round++) {
      for (const request of h.transport.open) request.answer();
      await h.clock.advance(1000);
    }
  }

  test('a later batch whose request is ready first waits for the earlier one still in a request not yet written', async () => {
    const { journal, release } = slowJournal([1]);
    const h = harness({ lingerMs: 0 }, new ScriptedTransport(), undefined, journal);
    const first = h.send(0); // its journal write is slow: taken for a request, not on the wire
    await h.clock.settle();
    const second = h.send(0); // journaled at once: its request is ready first
    await h.clock.settle();
    expect(written(h)).toEqual([]);
    release();
    await h.clock.settle();
    await answerAll(h);
    expect(written(h)).toEqual(['p0:s0', 'p0:s1']);
    expect(first.result).toMatchObject({ partition: 0 });
    expect(second.result).toMatchObject({ partition: 0 });
  });

  test('a batch expiring while its request waits for the journal says so, not that it waited for a connection', async () => {
    const { journal, release } = slowJournal([1]);
    const h = harness({ lingerMs: 0, deliveryTimeoutMs: 3000 }, new ScriptedTransport(), undefined, journal);
    const record = h.send(0);
    await h.clock.settle();
    await h.clock.advance(3100);
    expect(String(record.result)).toContain("after 0 attempt(s); its next request was still waiting for the journal's write");
    release();
    await h.clock.settle();
    expect(h.transport.requests).toHaveLength(0); // left out of the request: never written
  });

  // In the fault run, a held-back request took an in-doubt batch of another partition with it; that partition's later
  // batches went on, more than 5 landed after the in-doubt one, and its resend was refused as out of order and renumbered.
  test('a batch held back leaves the other partitions of its request to go', async () => {
    const { journal, release } = slowJournal([4, 5]);
    const h = harness({ lingerMs: 0 }, new ScriptedTransport(), undefined, journal);
    await h.acknowledgeFirst(0, 1); // journal calls 1 and 2, sequence 0 of each
    const a = h.send(0);
    await h.clock.settle();
    const b = h.send(0);
    const c = h.send(1);
    await h.clock.settle();
    expect(written(h)).toEqual(['p0:s1']); // b and c wait for the journal in one request
    h.transport.requests[0]!.lose(); // p0:s1 is to go again: p0:s2 must not go before it
    await h.clock.settle();
    release();
    await h.clock.settle();
    expect(written(h)).toEqual(['p0:s1', 'p1:s1']);
    await answerAll(h);
    expect(written(h)).toEqual(['p0:s1', 'p1:s1', 'p0:s1', 'p0:s2']);
    for (const outcome of [a, b, c]) expect(outcome.result).toMatchObject({ offset: 0n });
    expect(h.retries.map((retry) => retry.partition)).toEqual([0]); // a hold-back is not an attempt
    expect(h.metrics.batchesSent).toBe(6); // nor a batch sent: p0:s2 counts once, when it is written (2 acknowledged first)
  });
});

describe('sender: a batch that may already be written is settled under its own numbers before an epoch bump', () => {
  /**
   * Partition 0's first attempt reaches the broker but its answer is lost; meanwhile partition
   * 1's batch fails for good, which asks for an epoch bump. Renumbering partition 0's batch
   * under the new epoch would make the broker write it a second time if the first copy landed.
   */
  async function lostAnswerThenBump(h: Harness) {
    const inDoubt = h.send(0);
    const refused = h.send(1);
    await h.clock.settle();
    expect(h.transport.requests).toHaveLength(1); // one request to broker 1 with both partitions
    expect(h.transport.requests[0]!.batches.map((batch) => [batch.partition, batch.epoch, batch.baseSequence])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
    ]);
    h.transport.requests[0]!.answer({
      't-0': code(ErrorCode.REQUEST_TIMED_OUT), // the broker gave up waiting for replicas: written or not, unknown
      't-1': code(ErrorCode.INVALID_RECORD, { recordErrors: [{ batchIndex: 0, batchIndexErrorMessage: 'bad' }] }),
    });
    await h.clock.settle();
    expect(refused.result).toBeInstanceOf(KafkaProtocolError);
    expect(h.state.bumpRequested).toBe(true);
    return inDoubt;
  }

  test('the first copy was written: the resend under the old epoch and sequence is a duplicate, written once', async () => {
    const h = harness({ lingerMs: 0 });
    const inDoubt = await lostAnswerThenBump(h);
    await h.clock.advance(100);
    expect(h.transport.requests[1]!.batches).toEqual([expect.objectContaining({ partition: 0, epoch: 0, baseSequence: 0 })]);
    expect(h.state.epoch).toBe(0); // not bumped while in doubt
    h.transport.requests[1]!.answer({ 't-0': code(ErrorCode.DUPLICATE_SEQUENCE_NUMBER) });
    await h.clock.settle();
    expect(inDoubt.result).toMatchObject({ partition: 0, offset: -1n });
    // Then the bump, and new records under the new epoch from sequence 0.
    const after = h.send(0);
    await h.clock.settle();
    expect(h.transport.requests[2]!.batches).toEqual([expect.objectContaining({ partition: 0, epoch: 1, baseSequence: 0 })]);
    h.transport.requests[2]!.answer();
    await h.clock.settle();
    expect(after.result).toMatchObject({ partition: 0, offset: 0n });
  });

  test('the first copy was not written: the broker says so (out of order), and the batch goes again renumbered', async () => {
    const h = harness({ lingerMs: 0 });
    const inDoubt = await lostAnswerThenBump(h);
    await h.clock.advance(100);
    expect(h.transport.requests[1]!.batches).toEqual([expect.objectContaining({ partition: 0, epoch: 0, baseSequence: 0 })]);
    h.transport.requests[1]!.answer({ 't-0': code(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) });
    await h.clock.advance(100);
    expect(h.transport.requests[2]!.batches).toEqual([expect.objectContaining({ partition: 0, epoch: 1, baseSequence: 0 })]);
    h.transport.requests[2]!.answer({ 't-0': { baseOffset: 5n } });
    await h.clock.settle();
    expect(inDoubt.result).toMatchObject({ partition: 0, offset: 5n });
  });

  test('a lost connection with the request on the wire puts the batch in doubt too', async () => {
    const h = harness({ lingerMs: 0 });
    const inDoubt = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.lose();
    h.state.requestBump('a test asks for a bump');
    await h.clock.advance(100);
    expect(h.transport.requests[1]!.batches).toEqual([expect.objectContaining({ partition: 0, epoch: 0, baseSequence: 0 })]);
    h.transport.requests[1]!.answer({ 't-0': code(ErrorCode.DUPLICATE_SEQUENCE_NUMBER) });
    await h.clock.settle();
    expect(inDoubt.result).toMatchObject({ offset: -1n });
  });

  // Found by npm run faults: a broker keeps one batch per partition of a request (the last), so the first of two in one request
  // was dropped unseen, the second then refused as out of order, and both renumbered, the first written twice if it had landed.
  test('two batches of a partition in doubt go one request each, in sequence order, under their old numbers', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1); // the same backoff for both: due at the same moment
    onTestFinished(() => {
      vi.restoreAllMocks();
    });
    const h = harness({ lingerMs: 0 });
    await h.acknowledgeFirst(0);
    const first = h.send(0);
    await h.clock.settle();
    const second = h.send(0);
    await h.clock.settle();
    expect(h.transport.requests.map((request) => request.batches.map((batch) => batch.baseSequence))).toEqual([[1], [2]]);
    h.transport.requests[0]!.lose();
    h.transport.requests[1]!.lose();
    h.state.requestBump('a test asks for a bump');
    await h.clock.advance(100);
    expect(h.transport.requests.slice(2).map((request) => request.batches.map((batch) => [batch.epoch, batch.baseSequence]))).toEqual([
      [[0, 1]],
    ]);
    h.transport.requests[2]!.answer({ 't-0': code(ErrorCode.DUPLICATE_SEQUENCE_NUMBER) });
    await h.clock.advance(100);
    expect(h.transport.requests.slice(3).map((request) => request.batches.map((batch) => [batch.epoch, batch.baseSequence]))).toEqual([
      [[0, 2]],
    ]);
    h.transport.requests[3]!.answer({ 't-0': { baseOffset: 7n } });
    await h.clock.settle();
    expect(first.result).toMatchObject({ offset: -1n });
    expect(second.result).toMatchObject({ offset: 7n });
  });
});

describe('sender: its own loop', () => {
  test('one drain at a time: wakes during an InitProducerId in progress ask for one producer id, not several', async () => {
    let release: (() => void) | undefined;
    const transport = new ScriptedTransport();
    const original = transport.initProducerId.bind(transport);
    transport.initProducerId = async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return original();
    };
    const h = harness({ lingerMs: 0 }, transport);
    h.send(0);
    await h.clock.settle();
    h.send(1);
    h.send(2);
    await h.clock.settle();
    release?.();
    await h.clock.settle();
    expect(transport.initProducerIdCalls).toHaveLength(1);
    expect(transport.requests.flatMap((request) => request.batches.map((batch) => batch.partition)).sort()).toEqual([0, 1, 2]);
  });

  test('a backlog goes out maxInFlight requests deep with no new record to wake the sender (found by npm run faults)', async () => {
    // One record per batch: twelve batches of one partition, all closed before the first round.
    const h = harness({ lingerMs: 0, batchSize: 1, maxInFlight: 5 });
    await h.acknowledgeFirst(0);
    const records = Array.from({ length: 12 }, () => h.send(0));
    await h.clock.settle();
    expect(h.transport.open).toHaveLength(5);
    // Each answer frees a place, taken at once by the next batch.
    h.transport.requests[0]!.answer({ 't-0': { baseOffset: 0n } });
    await h.clock.settle();
    expect(h.transport.open).toHaveLength(5);
    for (let answered = 1; answered < 12; answered++) {
      h.transport.requests[answered]!.answer({ 't-0': { baseOffset: BigInt(answered) } });
      await h.clock.settle();
    }
    expect(h.transport.requests).toHaveLength(12);
    expect(records.map((record) => (record.result as RecordMetadata).offset)).toEqual(Array.from({ length: 12 }, (_, i) => BigInt(i)));
  });

  test('a failure inside the drain fails the waiting records loudly and is counted', async () => {
    const transport = new ScriptedTransport();
    transport.failLeaderLookup = new TypeError('a bug');
    const h = harness({ lingerMs: 0 }, transport);
    const record = h.send(0);
    await h.clock.settle();
    expect(record.result).toBeInstanceOf(KafkaWireError);
    expect(String(record.result)).toContain("internal error in the producer's sender: a bug");
    expect(h.metrics.internalErrors).toBe(1);
    expect(h.metrics.bufferUsed).toBe(0);
  });

  test('a partition missing from the answer fails with a message that says so', async () => {
    const h = harness({ lingerMs: 0 });
    const record = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.answer({ 't-0': { index: -1 } });
    await h.clock.settle();
    expect(String(record.result)).toContain('the answer did not mention this partition');
  });

  test('answers are matched to batches by topic and partition, whatever their order', async () => {
    const h = harness({ lingerMs: 5 });
    const records = Array.from({ length: 50 }, (_, partition) => h.send(partition));
    await h.clock.advance(5);
    expect(h.transport.requests).toHaveLength(1);
    const offsets = Object.fromEntries(
      Array.from({ length: 50 }, (_, partition) => [`t-${partition}`, { baseOffset: BigInt(partition * 10) }]),
    );
    h.transport.requests[0]!.answer(offsets);
    await h.clock.settle();
    expect(records.map((record) => (record.result as RecordMetadata).offset)).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i * 10)));
  });
});

/** The sender's side of a transaction, played by the test: what it may send, and what it is told. */
class ScriptedTransaction implements SenderTransaction {
  readonly transactionalId = 'tx-1';
  produceMaxVersion: number | undefined = 11;
  blockedBy: Error | undefined;
  /** Partitions ("t-0") that have joined the transaction. */
  readonly joined = new Set<string>(['t-0', 't-1']);
  readonly asked: string[] = [];
  readonly failures: Error[] = [];

  sendBlockedBy(): Error | undefined {
    return this.blockedBy;
  }

  mayProduce(topic: string, partition: number): boolean {
    this.asked.push(`${topic}-${partition}`);
    return this.joined.has(`${topic}-${partition}`);
  }

  produceSettled(): void {}

  recordFailed(error: Error): void {
    this.failures.push(error);
  }
}

describe('sender: the batches of a transaction', () => {
  /** A transactional producer's sender: its producer id and epoch come from initTransactions(), here 7 and 3. */
  function transactional(options: Partial<ProducerOptions> = {}) {
    const transaction = new ScriptedTransaction();
    const h = harness({ lingerMs: 0, transactionalId: 'tx-1', ...options }, new ScriptedTransport(), transaction);
    h.state.assign(7n, 3);
    return { h, transaction };
  }

  test('flagged transactional, sent with the transactional id and the Produce version cap of its protocol', async () => {
    const { h } = transactional();
    const record = h.send(0);
    await h.clock.settle();
    expect(h.transport.requests[0]).toMatchObject({ transactionalId: 'tx-1', maxVersion: 11 });
    expect(h.transport.requests[0]!.batches).toEqual([
      { topic: 't', partition: 0, producerId: 7n, epoch: 3, baseSequence: 0, records: 1, values: ['v0'], transactional: true },
    ]);
    expect(h.transport.initProducerIdCalls).toEqual([]); // the id is the transaction's, not the sender's to fetch
    h.transport.requests[0]!.answer();
    await h.clock.settle();
    expect(record.result).toMatchObject({ partition: 0, offset: 0n });

    // Without a transaction: no transactional id, no cap, no flag.
    const plain = harness({ lingerMs: 0 });
    plain.send(0);
    await plain.clock.settle();
    expect(plain.transport.requests[0]).toMatchObject({ transactionalId: null, maxVersion: undefined });
    expect(plain.transport.requests[0]!.batches[0]!.transactional).toBe(false);
  });

  test('a partition that has not joined the transaction sends nothing until it has and the sender is woken', async () => {
    const { h, transaction } = transactional();
    const record = h.send(2);
    await h.clock.settle();
    expect(transaction.asked).toEqual(['t-2']);
    await h.clock.advance(1000); // idle looks ask again, and still send nothing
    expect(h.transport.requests).toHaveLength(0);
    expect(transaction.asked.length).toBeGreaterThan(1);
    transaction.joined.add('t-2');
    h.sender.wake();
    await h.clock.settle();
    expect(h.transport.requests[0]!.batches).toMatchObject([{ partition: 2, baseSequence: 0 }]);
    h.transport.requests[0]!.answer();
    await h.clock.settle();
    expect(record.result).toMatchObject({ partition: 2 });
  });

  test('sendBlockedBy: the waiting batches fail with its error; the one on the wire settles with its answer', async () => {
    const { h, transaction } = transactional({ maxInFlight: 1 });
    const onTheWire = h.send(0);
    await h.clock.settle();
    const waiting = h.send(0);
    await h.clock.settle();
    expect(h.transport.requests).toHaveLength(1);
    const aborted = new Error('the transaction was aborted');
    transaction.blockedBy = aborted;
    h.sender.wake();
    await h.clock.settle();
    expect(waiting.result).toBe(aborted);
    expect(transaction.failures).toEqual([aborted]);
    h.transport.requests[0]!.answer();
    await h.clock.settle();
    expect(onTheWire.result).toMatchObject({ partition: 0, offset: 0n });
    expect(h.transport.requests).toHaveLength(1);
  });

  test('a failed record is told to the transaction, and the sender bumps no epoch itself: the next batch waits', async () => {
    const { h, transaction } = transactional();
    const record = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) });
    await h.clock.settle();
    // An idempotent producer would bump its epoch and resend; in a transaction the record fails instead.
    expect((record.result as KafkaProtocolError).code).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(transaction.failures).toEqual([record.result]);
    expect([h.state.epoch, h.state.bumpRequested]).toEqual([3, true]);
    const next = h.send(0);
    await h.clock.advance(1000);
    await h.sender.ensureProducerId(); // as Producer.connect() asks: not the sender's to do here
    expect(h.transport.requests).toHaveLength(1);
    expect(h.transport.initProducerIdCalls).toEqual([]);
    expect(h.state.epoch).toBe(3);
    // The transaction's abort bumps the epoch through its coordinator; then the batch goes, from sequence 0.
    h.state.assign(7n, 4);
    h.sender.wake();
    await h.clock.settle();
    expect(h.transport.requests[1]!.batches).toMatchObject([{ partition: 0, epoch: 4, baseSequence: 0 }]);
    h.transport.requests[1]!.answer();
    await h.clock.settle();
    expect(next.result).toMatchObject({ partition: 0 });
  });
});

// Found by CI's crash loop (Kafka 3.9.2): a restarted durable producer resent a batch that was on the broker but no longer among
// the last five it remembers for the producer; refused as out of order, it was renumbered and written twice.
describe('sender: an out-of-order answer to a batch that may be on the broker is looked into before renumbering', () => {
  function locatingJournal() {
    const asked: { baseSequence: number; epoch: number; producerId: bigint }[] = [];
    const answers: { resolve: (offset: bigint | undefined) => void; reject: (error: Error) => void }[] = [];
    const journal: SenderJournal = {
      batchGoingOut: () => undefined,
      batchAcknowledged: () => undefined,
      locate: (batch, producerId) => {
        asked.push({ baseSequence: batch.baseSequence, epoch: batch.epoch, producerId });
        return new Promise((resolve, reject) => answers.push({ resolve, reject }));
      },
    };
    return { journal, asked, answers };
  }

  /** One record whose first attempt is lost on the wire, resent under its numbers and refused as out of order. */
  async function refusedInDoubt(h: Harness): Promise<Outcome> {
    const record = h.send(0);
    await h.clock.settle();
    h.transport.requests[0]!.lose();
    await h.clock.advance(100);
    expect(h.transport.requests[1]!.batches).toEqual([expect.objectContaining({ epoch: 0, baseSequence: 0 })]);
    h.transport.requests[1]!.answer({ 't-0': code(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) });
    await h.clock.settle();
    return record;
  }

  test('found in the log: the batch is complete at its offset, nothing renumbered, and the partition goes on', async () => {
    const { journal, asked, answers } = locatingJournal();
    const h = harness({ lingerMs: 0 }, new ScriptedTransport(), undefined, journal);
    const record = await refusedInDoubt(h);
    expect(asked).toEqual([{ baseSequence: 0, epoch: 0, producerId: h.state.producerId }]);
    const later = h.send(0);
    await h.clock.advance(1000);
    expect(h.transport.requests).toHaveLength(2); // the partition waits while the batch is looked for
    answers[0]!.resolve(17n);
    await h.clock.settle();
    expect(record.result).toMatchObject({ partition: 0, offset: 17n });
    expect(h.state.epoch).toBe(0);
    await h.clock.advance(1000);
    expect(h.transport.requests[2]!.batches).toEqual([expect.objectContaining({ epoch: 0, baseSequence: 1 })]);
    h.transport.requests[2]!.answer({ 't-0': { baseOffset: 18n } });
    await h.clock.settle();
    expect(later.result).toMatchObject({ offset: 18n });
  });

  test('surely not in the log: renumbered under a bumped epoch, no longer possibly written', async () => {
    const { journal, answers } = locatingJournal();
    const goingOut: { epoch: number; possiblyWritten: boolean }[] = [];
    journal.batchGoingOut = (batch) => {
      goingOut.push({ epoch: batch.epoch, possiblyWritten: batch.possiblyWritten });
      return undefined;
    };
    const h = harness({ lingerMs: 0 }, new ScriptedTransport(), undefined, journal);
    const record = await refusedInDoubt(h);
    answers[0]!.resolve(undefined);
    await h.clock.advance(1000);
    expect(h.transport.requests[2]!.batches).toEqual([expect.objectContaining({ epoch: 1, baseSequence: 0 })]);
    expect(goingOut.at(-1)).toEqual({ epoch: 1, possiblyWritten: false });
    h.transport.requests[2]!.answer({ 't-0': { baseOffset: 3n } });
    await h.clock.settle();
    expect(record.result).toMatchObject({ offset: 3n });
  });

  test('the broker cannot tell: renumbered as before, the reason kept with the error', async () => {
    const { journal, answers } = locatingJournal();
    const goingOut: boolean[] = [];
    journal.batchGoingOut = (batch) => {
      goingOut.push(batch.possiblyWritten);
      return undefined;
    };
    const h = harness({ lingerMs: 0 }, new ScriptedTransport(), undefined, journal);
    const record = await refusedInDoubt(h);
    answers[0]!.reject(new Error('no state for the producer'));
    await h.clock.advance(1000);
    expect(h.transport.requests[2]!.batches).toEqual([expect.objectContaining({ epoch: 1, baseSequence: 0 })]);
    expect(goingOut.at(-1)).toBe(true); // the journal announces a possible duplicate
    expect(h.retries.at(-1)?.error.message).toContain('whether the broker has the batch is unknown: no state for the producer');
    h.transport.requests[2]!.answer({ 't-0': { baseOffset: 3n } });
    await h.clock.settle();
    expect(record.result).toMatchObject({ offset: 3n });
  });
});

/** Compression threads the test plays: each job waits until the test finishes (or fails) it. */
class ScriptedThreads {
  readonly jobs: {
    codec: ThreadCodec;
    input: Buffer;
    level: number | undefined;
    resolve(out: Buffer): void;
    reject(error: Error): void;
  }[] = [];

  compress(codec: ThreadCodec, input: Uint8Array, level: number | undefined): Promise<Buffer> {
    const copy = Buffer.from(input); // as the real ones do: the batch's memory is not theirs
    return new Promise((resolve, reject) => this.jobs.push({ codec, input: copy, level, resolve, reject }));
  }

  finish(at: number): void {
    const job = this.jobs[at]!;
    job.resolve(compress(job.codec, job.input, { level: job.level }));
  }

  fail(at: number): void {
    this.jobs[at]!.reject(new CompressionError('zstd', 'zstd: compression thread exited (code 1)'));
  }

  asThreads(): CompressionThreads {
    return this as unknown as CompressionThreads;
  }
}

describe('sender: batches compressed on threads', () => {
  const value = (i: number) => `${i}:${'lorem ipsum '.repeat(85)}`; // about 1 KiB: 20 make a batch worth a thread
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  test('a batch waits for its thread, the next batch of its partition does not overtake it, sequences follow', async () => {
    const threads = new ScriptedThreads();
    const h = harness({ compression: 'zstd', lingerMs: 0, batchSize: 64 * 1024 }, undefined, undefined, undefined, threads.asThreads());
    const outcomes = range(0, 20).map((i) => h.send(0, value(i)));
    await h.clock.settle();
    expect(threads.jobs).toHaveLength(1);
    expect(h.transport.requests).toHaveLength(0);
    outcomes.push(...range(20, 40).map((i) => h.send(0, value(i))));
    await h.clock.advance(10);
    expect(h.transport.requests).toHaveLength(0); // nothing overtakes the batch on its thread

    threads.finish(0);
    await h.clock.advance(10);
    expect(h.transport.requests[0]!.batches).toMatchObject([{ partition: 0, baseSequence: 0, records: 20 }]);
    expect(h.transport.requests[0]!.batches[0]!.values).toEqual(range(0, 20).map(value));
    expect(h.transport.requests).toHaveLength(1);
    h.transport.requests[0]!.answer(); // the drain it wakes closes the next batch, which goes to a thread
    await h.clock.settle();
    expect(threads.jobs).toHaveLength(2);

    threads.finish(1);
    await h.clock.advance(10);
    expect(h.transport.requests).toHaveLength(2);
    expect(h.transport.requests[1]!.batches).toMatchObject([{ partition: 0, baseSequence: 20, records: 20 }]);
    expect(h.transport.requests[1]!.batches[0]!.values).toEqual(range(20, 40).map(value));
    h.transport.requests[1]!.answer();
    await h.clock.settle();
    expect(outcomes.every((outcome) => outcome.result !== undefined && !(outcome.result instanceof Error))).toBe(true);
    expect(h.metrics.batchesCompressedOnThreads).toBe(2);
  });

  test('batches done go out together once no compression is under way: one request for three partitions', async () => {
    const threads = new ScriptedThreads();
    const h = harness({ compression: 'gzip', lingerMs: 0, batchSize: 64 * 1024 }, undefined, undefined, undefined, threads.asThreads());
    for (const partition of [0, 1, 2]) for (const i of range(0, 20)) h.send(partition, value(i));
    await h.clock.settle();
    expect(threads.jobs.map((job) => job.codec)).toEqual(['gzip', 'gzip', 'gzip']);
    threads.finish(2);
    threads.finish(0);
    await h.clock.advance(10);
    expect(h.transport.requests).toHaveLength(0);
    threads.finish(1);
    await h.clock.advance(10);
    expect(h.transport.requests).toHaveLength(1);
    expect(h.transport.requests[0]!.batches.map((batch) => batch.partition).sort()).toEqual([0, 1, 2]);
  });

  test('a thread that fails leaves the batch to be compressed inline; a small batch never goes to a thread', async () => {
    const threads = new ScriptedThreads();
    const h = harness({ compression: 'zstd', lingerMs: 0, batchSize: 64 * 1024 }, undefined, undefined, undefined, threads.asThreads());
    const outcomes = range(0, 20).map((i) => h.send(0, value(i)));
    await h.clock.settle();
    threads.fail(0);
    await h.clock.advance(10);
    expect(h.transport.requests).toHaveLength(1);
    expect(h.transport.requests[0]!.batches[0]!.values).toEqual(range(0, 20).map(value));
    h.transport.requests[0]!.answer();
    const small = h.send(1, 'small');
    await h.clock.advance(10);
    expect(threads.jobs).toHaveLength(1);
    expect(h.transport.requests[1]!.batches[0]!.values).toEqual(['small']);
    h.transport.requests[1]!.answer();
    await h.clock.settle();
    expect([...outcomes, small].every((outcome) => outcome.result !== undefined && !(outcome.result instanceof Error))).toBe(true);
    expect(h.metrics.batchesCompressedOnThreads).toBe(0);
  });

  test('a batch that expires while on its thread fails once; the late result is dropped', async () => {
    const threads = new ScriptedThreads();
    const h = harness(
      { compression: 'zstd', lingerMs: 0, batchSize: 64 * 1024, deliveryTimeoutMs: 1000 },
      undefined,
      undefined,
      undefined,
      threads.asThreads(),
    );
    const outcomes = range(0, 20).map((i) => h.send(0, value(i)));
    await h.clock.settle();
    await h.clock.advance(1500);
    expect(outcomes.every((outcome) => outcome.result instanceof DeliveryTimeoutError)).toBe(true);
    threads.finish(0);
    await h.clock.advance(10);
    expect(h.transport.requests).toHaveLength(0);
    expect(h.buffer.used).toBe(0);
  });
});

describe('sender: connectionsPerBroker, each partition always on the same connection', () => {
  /** Per request: the connection it went over, and [partition, records, baseSequence] of each batch. */
  const traffic = (h: Harness) =>
    h.transport.requests.map((request) => [
      request.connection,
      request.batches.map((batch) => [batch.partition, batch.records, batch.baseSequence]),
    ]);

  test('partitions are dealt to the connections in turn as they first take a record; one request per connection', async () => {
    const leaders = { 't-0': 1, 't-1': 1, 't-2': 1, 't-3': 1 };
    const h = harness({ lingerMs: 5000, connectionsPerBroker: 2 }, new ScriptedTransport(leaders));
    for (const partition of [2, 0, 3, 1]) h.send(partition);
    await h.clock.settle();
    expect(traffic(h)).toEqual([
      [
        0,
        [
          [2, 1, 0],
          [3, 1, 0],
        ],
      ],
      [
        1,
        [
          [0, 1, 0],
          [1, 1, 0],
        ],
      ],
    ]);
    for (const request of h.transport.requests) request.answer();
    await h.clock.settle();
    // Later batches take the same connection as the partition's first: its sequence goes on in order there.
    for (const partition of [1, 2]) h.send(partition);
    await h.clock.settle();
    expect(traffic(h).slice(2)).toEqual([
      [0, [[2, 1, 1]]],
      [1, [[1, 1, 1]]],
    ]);
  });

  test('requests in flight are counted per connection: one connection full does not hold back the other', async () => {
    const h = harness({ lingerMs: 5000, maxInFlight: 1, connectionsPerBroker: 2 }, new ScriptedTransport({ 't-0': 1, 't-1': 1 }));
    h.send(0); // connection 0, left unanswered
    await h.clock.settle();
    h.send(0); // connection 0 is full: it waits
    h.send(1); // connection 1 is idle: it goes at once, though lingerMs is 5 s
    await h.clock.advance(100);
    expect(traffic(h)).toEqual([
      [0, [[0, 1, 0]]],
      [1, [[1, 1, 0]]],
    ]);
    h.transport.requests[0]!.answer();
    await h.clock.settle();
    expect(traffic(h)[2]).toEqual([0, [[0, 1, 1]]]);
  });

  test('connectionsPerBroker must be an integer from 1 to 16; the default is 2, and 1 for a transactional producer', () => {
    expect(() => producerSettings({ bootstrap: 'localhost:9092', connectionsPerBroker: 0 })).toThrow(/connectionsPerBroker/);
    expect(() => producerSettings({ bootstrap: 'localhost:9092', connectionsPerBroker: 17 })).toThrow(/connectionsPerBroker/);
    expect(() => producerSettings({ bootstrap: 'localhost:9092', connectionsPerBroker: 1.5 })).toThrow(/connectionsPerBroker/);
    expect(producerSettings({ bootstrap: 'localhost:9092' }).connectionsPerBroker).toBe(2);
    expect(producerSettings({ bootstrap: 'localhost:9092', transactionalId: 'x' }).connectionsPerBroker).toBe(1);
    expect(producerSettings({ bootstrap: 'localhost:9092', transactionalId: 'x', connectionsPerBroker: 2 }).connectionsPerBroker).toBe(2);
  });
});

describe("sender: a partition sends one batch at a time until one is acknowledged (found on a fresh topic's partition)", () => {
  test('the first batch refused while the leader starts (NOT_LEADER_OR_FOLLOWER): the ones behind it wait, and go after it', async () => {
    const h = harness({ lingerMs: 0, batchSize: 1, maxInFlight: 5 });
    const records = Array.from({ length: 4 }, () => h.send(0));
    await h.clock.settle();
    // A broker with no state for the producer would take sequence 1 before 0: only sequence 0 goes.
    expect(h.transport.open.map((request) => request.batches.map((batch) => batch.baseSequence))).toEqual([[0]]);
    h.transport.requests[0]!.answer({ 't-0': code(ErrorCode.NOT_LEADER_OR_FOLLOWER) });
    h.transport.answerMetadata();
    await h.clock.advance(100);
    expect(h.transport.open.map((request) => request.batches.map((batch) => batch.baseSequence))).toEqual([[0]]);
    h.transport.open[0]!.answer({ 't-0': { baseOffset: 0n } });
    await h.clock.advance(10);
    // Acknowledged: the closed batches behind it go together (the last, still open, closes on the next answer).
    expect(h.transport.open.map((request) => request.batches.map((batch) => batch.baseSequence))).toEqual([[1], [2]]);
    for (let offset = 1n; h.transport.open.length > 0; offset++) {
      h.transport.open[0]!.answer({ 't-0': { baseOffset: offset } });
      await h.clock.advance(10);
    }
    expect(records.map((record) => (record.result as RecordMetadata).offset)).toEqual([0n, 1n, 2n, 3n]);
  });

  test('after an epoch bump the partition starts over: one batch until the new epoch has an acknowledgement', async () => {
    const h = harness({ lingerMs: 0, batchSize: 1, maxInFlight: 5 });
    await h.acknowledgeFirst(0);
    for (let i = 0; i < 3; i++) h.send(0); // two closed batches and one open
    await h.clock.advance(10);
    expect(h.transport.open).toHaveLength(2); // acknowledged under epoch 0: more than one in flight
    while (h.transport.open.length > 0) {
      h.transport.open[0]!.answer();
      await h.clock.advance(10);
    }
    h.state.requestBump('a test asks for a bump');
    for (let i = 0; i < 3; i++) h.send(0);
    await h.clock.settle();
    const open = () => h.transport.open.map((request) => request.batches.map((batch) => [batch.epoch, batch.baseSequence]));
    expect(open()).toEqual([[[1, 0]]]);
    h.transport.open[0]!.answer();
    await h.clock.advance(10);
    expect(open()).toEqual([[[1, 1]]]); // the last batch, open until now, joins on the next answer
  });
});
