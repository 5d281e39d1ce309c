import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ConnectionError } from '../../src/connection/errors.js';
import { Accumulator, type PendingRecord } from '../../src/producer/accumulator.js';
import { BufferMemory } from '../../src/producer/buffer-memory.js';
import {
  ProducerFencedError,
  TransactionAbortableError,
  TransactionAbortedError,
  TransactionStateError,
  TransactionTimeoutError,
} from '../../src/producer/errors.js';
import { newMetrics, type ProducerMetrics } from '../../src/producer/metrics.js';
import { type ProducerOptions, producerSettings } from '../../src/producer/options.js';
import { type RecordMetadata, SingleSend } from '../../src/producer/outcomes.js';
import { ProducerState } from '../../src/producer/producer-state.js';
import { Sender } from '../../src/producer/sender.js';
import { TransactionManager } from '../../src/producer/transaction-manager.js';
import { ErrorCode, KafkaProtocolError } from '../../src/protocol/kafka-errors.js';
import { recordSize } from '../../src/records/batch-builder.js';
import { FakeClock } from '../support/fake-clock.js';
import { HOLD, ScriptedCoordinator } from '../support/scripted-coordinator.js';
import { ScriptedTransport } from '../support/scripted-transport.js';

/**
 * The transaction manager (Java's TransactionManager) with the real sender, accumulator and
 * producer state, on fake time, against coordinators and a partition leader the test plays:
 * which coordinator requests go out, in which order, at which version and with which producer
 * id and epoch, and what each error does to the state machine.
 */

interface Outcome {
  result: RecordMetadata | Error | undefined;
}

/** A promise's outcome, readable without awaiting it (the fake clock decides when it settles). */
interface Tracked<T> {
  settled: boolean;
  value?: T;
  error?: unknown;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { settled: false };
  promise.then(
    (value) => Object.assign(tracked, { settled: true, value }),
    (error: unknown) => Object.assign(tracked, { settled: true, error }),
  );
  return tracked;
}

interface Harness {
  clock: FakeClock;
  /** The partition leader(s): every Produce request, answered by the test. */
  broker: ScriptedTransport;
  coordinator: ScriptedCoordinator;
  manager: TransactionManager;
  state: ProducerState;
  metrics: ProducerMetrics;
  /** Sends one record to topic t (refused as send() refuses it outside a transaction). */
  send(partition: number): Outcome;
  /** Answers every open Produce request (each partition with no error unless `codes` says otherwise). */
  answerProduce(codes?: Record<string, object>): void;
  /** init() run to its end. */
  init(): Promise<void>;
}

const TXN_ID = 'tx-1';

function harness(version: 1 | 2, options: Partial<ProducerOptions> = {}, broker = new ScriptedTransport()): Harness {
  const settings = producerSettings({
    bootstrap: '127.0.0.1:9092',
    transactionalId: TXN_ID,
    lingerMs: 0,
    maxBlockMs: 1000,
    retryBackoff: { initialMs: 100, maxMs: 100 },
    connectionsPerBroker: 1,
    ...options,
  });
  const clock = new FakeClock();
  const coordinator = new ScriptedCoordinator(version, clock);
  const metrics = newMetrics(settings.bufferMemory);
  const buffer = new BufferMemory(settings.bufferMemory, clock, metrics);
  const accumulator = new Accumulator(settings, clock);
  const state = new ProducerState();
  // flush() as the Producer does it: wake the sender, resolve once nothing is pending.
  const idle: (() => void)[] = [];
  const checkIdle = () => {
    if (!accumulator.hasPending) for (const resolve of idle.splice(0)) resolve();
  };
  const flush = async () => {
    sender.flushing++;
    try {
      sender.wake();
      if (accumulator.hasPending) await new Promise<void>((resolve) => idle.push(resolve));
    } finally {
      sender.flushing--;
    }
  };
  const manager = new TransactionManager({
    transactionalId: TXN_ID,
    transactionTimeoutMs: settings.transactionTimeoutMs,
    settings,
    state,
    transport: coordinator,
    clock,
    metrics,
    host: { flush, failUnsent: (error) => sender.failWaiting(error), wake: () => sender.wake() },
  });
  const sender: Sender = new Sender({
    settings,
    accumulator,
    state,
    buffer,
    transport: broker,
    transaction: manager,
    clock,
    metrics,
    events: { retry: () => undefined, deliveryFailed: () => undefined, progress: checkIdle },
  });
  return {
    clock,
    broker,
    coordinator,
    manager,
    state,
    metrics,
    send(partition) {
      const kept: Outcome = { result: undefined };
      const refused = manager.sendRefusal();
      if (refused) {
        kept.result = refused;
        return kept;
      }
      const outcome = new SingleSend();
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
        value: Buffer.from(`v${partition}`),
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
    answerProduce(codes = {}) {
      for (const request of broker.open) request.answer(codes);
    },
    async init() {
      const init = track(manager.init());
      await clock.settle();
      expect(init).toEqual({ settled: true, value: undefined });
    },
  };
}

/** Runs `call` (a commit, an abort, ...) while answering Produce requests, and returns how it ended. */
async function finish<T>(h: Harness, call: Promise<T>): Promise<Tracked<T>> {
  const tracked = track(call);
  await h.clock.settle();
  h.answerProduce();
  await h.clock.settle();
  return tracked;
}

/** A harness whose first transaction (one record) has committed: the next one awaits its markers before its first partition joins. */
async function afterOneTransaction(version: 1 | 2 = 2): Promise<Harness> {
  const h = harness(version);
  await h.init();
  h.manager.begin();
  h.send(0);
  expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
  return h;
}

describe('transaction protocol version 2 (KIP-890)', () => {
  test('init, records, commit: no AddPartitionsToTxn; EndTxn v5 hands over the next epoch, and sequences start again', async () => {
    const h = harness(2, { transactionTimeoutMs: 30_000 });
    await h.init();
    expect(h.coordinator.of('InitProducerId')[0]).toMatchObject({
      type: 'transaction',
      key: TXN_ID,
      body: { transactionalId: TXN_ID, transactionTimeoutMs: 30_000, producerId: -1n, producerEpoch: -1 },
    });
    expect(h.manager.state).toBe('ready');
    expect([h.state.producerId, h.state.epoch]).toEqual([1000n, 0]);
    expect(h.manager.produceMaxVersion).toBeUndefined();

    h.manager.begin();
    const first = [h.send(0), h.send(1)];
    await h.clock.settle();
    expect(h.broker.requests).toHaveLength(1);
    const request = h.broker.requests[0]!;
    expect(request).toMatchObject({ transactionalId: TXN_ID, maxVersion: undefined });
    expect(request.batches.map((b) => [b.partition, b.producerId, b.epoch, b.baseSequence, b.transactional])).toEqual([
      [0, 1000n, 0, 0, true],
      [1, 1000n, 0, 0, true],
    ]);
    const second = h.send(0);
    await h.clock.settle();

    // The commit waits for every record of the transaction before EndTxn.
    const commit = track(h.manager.commit());
    await h.clock.settle();
    expect(h.manager.state).toBe('committing');
    h.answerProduce();
    await h.clock.settle();
    expect(h.coordinator.of('EndTxn')).toHaveLength(0);
    // Partition 0's second batch went once its first was acknowledged (one at a time until then).
    expect(h.broker.requests[1]!.batches).toMatchObject([{ partition: 0, epoch: 0, baseSequence: 1 }]);
    h.answerProduce();
    await h.clock.settle();
    expect(commit).toEqual({ settled: true, value: undefined });
    expect([...first, second].map((outcome) => outcome.result)).toMatchObject([{ partition: 0 }, { partition: 1 }, { partition: 0 }]);
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'EndTxn']);
    expect(h.coordinator.of('EndTxn')[0]).toMatchObject({
      version: 5,
      maxVersion: undefined,
      body: { transactionalId: TXN_ID, producerId: 1000n, producerEpoch: 0, committed: true },
    });
    expect(h.manager.state).toBe('ready');
    expect([h.state.producerId, h.state.epoch]).toEqual([1000n, 1]);

    // The next transaction: the new epoch, every partition from sequence 0.
    h.manager.begin();
    h.send(0);
    await h.clock.settle();
    expect(h.broker.requests[2]!.batches).toMatchObject([{ partition: 0, producerId: 1000n, epoch: 1, baseSequence: 0 }]);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.of('EndTxn')[1]!.body).toMatchObject({ producerEpoch: 1, committed: true });
    expect(h.state.epoch).toBe(2);
  });

  test('partitions join over one connection at a time: two first Produce requests at once would make the broker wait 20 ms', async () => {
    const h = harness(2, { connectionsPerBroker: 2 });
    await h.init();
    h.manager.begin();
    // Partitions are dealt to the connections in turn: 0 goes over connection 0, 1 over connection 1.
    h.send(0);
    h.send(1);
    await h.clock.settle();
    expect(h.broker.requests.map((request) => [request.connection, request.batches.map((batch) => batch.partition)])).toEqual([[0, [0]]]);
    // Partition 1 waits for partition 0's answer, not for a timer.
    await h.clock.advance(1000);
    expect(h.broker.requests).toHaveLength(1);
    h.answerProduce();
    await h.clock.settle();
    expect(h.broker.requests.map((request) => [request.connection, request.batches.map((batch) => batch.partition)])).toEqual([
      [0, [0]],
      [1, [1]],
    ]);
    h.answerProduce();
    await h.clock.settle();

    // Both have joined: their next batches go at once, one request per connection.
    h.send(0);
    h.send(1);
    await h.clock.settle();
    expect(h.broker.requests.slice(2).map((request) => request.connection)).toEqual([0, 1]);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });

    // A new transaction: they join again, one connection at a time.
    h.manager.begin();
    h.send(0);
    h.send(1);
    await h.clock.settle();
    expect(h.broker.requests.slice(4).map((request) => [request.connection, request.batches.map((batch) => batch.partition)])).toEqual([
      [0, [0]],
    ]);
    h.answerProduce();
    await h.clock.settle();
    expect(h.broker.requests.slice(5).map((request) => request.connection)).toEqual([1]);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
  });

  test('a partition that joins and then moves to another connection is not held back by its own first batch', async () => {
    const h = harness(2, { connectionsPerBroker: 2 });
    await h.init();
    h.manager.begin();
    expect(h.manager.mayProduce('t', 0, 0)).toBe(true);
    expect(h.manager.mayProduce('t', 1, 1)).toBe(false);
    // Its leader moved before the batch went: it may go over the new connection, and then partition 1 waits for that one.
    expect(h.manager.mayProduce('t', 0, 3)).toBe(true);
    expect(h.manager.mayProduce('t', 1, 1)).toBe(false);
    expect(h.manager.mayProduce('t', 1, 3)).toBe(true);
    h.manager.produceSettled('t', 0);
    h.manager.produceSettled('t', 1);
    expect(h.manager.mayProduce('t', 2, 1)).toBe(true);
    expect(h.manager.mayProduce('t', 0, 0)).toBe(true);
  });

  test("the next transaction's first Produce waits until DescribeTransactions says the last one's markers are written", async () => {
    const h = await afterOneTransaction();
    // The first transaction after initTransactions() asks nothing.
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'EndTxn']);

    h.coordinator.script('DescribeTransactions', { transactionState: 'PrepareCommit' }, { transactionState: 'PrepareCommit' });
    h.manager.begin();
    const record = h.send(1);
    await h.clock.settle();
    expect(h.coordinator.of('DescribeTransactions').map((call) => call.body)).toMatchObject([{ transactionalIds: [TXN_ID] }]);
    expect(h.broker.requests).toHaveLength(1); // the first transaction's only
    await h.clock.advance(1);
    expect(h.coordinator.of('DescribeTransactions')).toHaveLength(2);
    expect(h.broker.requests).toHaveLength(1);
    // CompleteCommit: the markers are written, and the batch goes.
    await h.clock.advance(1);
    expect(h.coordinator.of('DescribeTransactions')).toHaveLength(3);
    expect(h.broker.requests).toHaveLength(2);
    expect(h.broker.requests[1]!.batches).toMatchObject([{ partition: 1, epoch: 1, baseSequence: 0 }]);
    expect(h.metrics).toMatchObject({ transactionMarkerChecks: 3, transactionMarkerWaitMs: 2 });
    // Later batches of the same transaction do not ask again.
    h.answerProduce();
    await h.clock.settle();
    expect(record.result).toMatchObject({ partition: 1 });
    h.send(1);
    await h.clock.settle();
    expect(h.broker.requests).toHaveLength(3);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.of('DescribeTransactions')).toHaveLength(3);
  });

  test('aborted while its first batch waits for the markers: nothing was sent, so no EndTxn', async () => {
    const h = await afterOneTransaction();

    h.coordinator.script('DescribeTransactions', HOLD);
    h.manager.begin();
    const record = h.send(0);
    await h.clock.settle();
    expect(h.broker.requests).toHaveLength(1);
    expect(await finish(h, h.manager.abort())).toEqual({ settled: true, value: undefined });
    expect(record.result).toBeInstanceOf(TransactionAbortedError);
    expect(h.coordinator.of('EndTxn')).toHaveLength(1);
    // The answer that comes late changes nothing; the next transaction sends at once (the markers are no longer awaited).
    h.coordinator.of('DescribeTransactions')[0]!.release({ transactionState: 'CompleteCommit' });
    await h.clock.settle();
    h.manager.begin();
    h.send(0);
    await h.clock.settle();
    expect(h.broker.requests).toHaveLength(2);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.of('EndTxn')).toHaveLength(2);
  });

  test('the wait for the markers is bounded by maxBlockMs, and ends for good when DescribeTransactions cannot be answered', async () => {
    const h = await afterOneTransaction();

    // Markers that are never written: the batch goes after maxBlockMs (1 s here), and the broker waits for them instead.
    h.coordinator.always('DescribeTransactions', { transactionState: 'PrepareCommit' });
    h.manager.begin();
    h.send(0);
    await h.clock.advance(999);
    expect(h.broker.requests).toHaveLength(1);
    await h.clock.advance(2);
    expect(h.broker.requests).toHaveLength(2);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });

    // Not authorised to describe the transactional id: the batch goes at once, and later transactions do not ask.
    h.coordinator.always('DescribeTransactions', ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const asked = h.coordinator.of('DescribeTransactions').length;
    h.manager.begin();
    h.send(0);
    await h.clock.settle();
    expect(h.coordinator.of('DescribeTransactions')).toHaveLength(asked + 1);
    expect(h.broker.requests).toHaveLength(3);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    h.manager.begin();
    h.send(0);
    await h.clock.settle();
    expect(h.broker.requests).toHaveLength(4);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.of('DescribeTransactions')).toHaveLength(asked + 1);
    expect(h.manager.state).toBe('ready');
  });

  test('EndTxn v5 may hand over a new producer id (the epoch ran out): it is adopted too', async () => {
    const h = harness(2);
    await h.init();
    h.manager.begin();
    h.send(0);
    h.coordinator.script('EndTxn', { producerId: 2000n, producerEpoch: 0 });
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    expect([h.state.producerId, h.state.epoch]).toEqual([2000n, 0]);
  });

  test('offsets alone: TxnOffsetCommit v5 to the group coordinator, no AddOffsetsToTxn, and the commit sends EndTxn', async () => {
    const h = harness(2);
    await h.init();
    h.manager.begin();
    const offsets = [
      { topic: 'in', partition: 0, offset: 42n },
      { topic: 'in', partition: 1, offset: 7n, leaderEpoch: 3, metadata: 'm' },
    ];
    const sent = track(h.manager.sendOffsets(offsets, { groupId: 'g', generationId: 5, memberId: 'member-1' }));
    await h.clock.settle();
    expect(sent).toEqual({ settled: true, value: undefined });
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'TxnOffsetCommit', 'EndTxn']);
    expect(h.coordinator.of('TxnOffsetCommit')[0]).toMatchObject({
      type: 'group',
      key: 'g',
      version: 5,
      body: {
        transactionalId: TXN_ID,
        groupId: 'g',
        producerId: 1000n,
        producerEpoch: 0,
        generationId: 5,
        memberId: 'member-1',
        groupInstanceId: null,
        topics: [
          {
            name: 'in',
            partitions: [
              { partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: null },
              { partitionIndex: 1, committedOffset: 7n, committedLeaderEpoch: 3, committedMetadata: 'm' },
            ],
          },
        ],
      },
    });
  });
});

describe('transaction protocol version 1', () => {
  test('a partition joins with AddPartitionsToTxn before its first Produce; Produce stops at v11, EndTxn at v4', async () => {
    const h = harness(1);
    await h.init();
    expect(h.manager.produceMaxVersion).toBe(11);
    h.manager.begin();
    h.coordinator.script('AddPartitionsToTxn', HOLD);
    const record = h.send(0);
    await h.clock.settle();
    expect(h.manager.mayProduce('t', 0, 0)).toBe(false);
    expect(h.broker.requests).toHaveLength(0);
    const add = h.coordinator.of('AddPartitionsToTxn');
    expect(add).toHaveLength(1);
    expect(add[0]).toMatchObject({
      type: 'transaction',
      key: TXN_ID,
      maxVersion: 3,
      version: 3,
      body: { v3AndBelowTransactionalId: TXN_ID, v3AndBelowProducerId: 1000n, v3AndBelowProducerEpoch: 0 },
    });
    expect(add[0]!.body.v3AndBelowTopics).toMatchObject([{ name: 't', partitions: [0] }]);
    // The sender looks again at its next idle look: still nothing goes out.
    await h.clock.advance(1000);
    expect(h.broker.requests).toHaveLength(0);

    add[0]!.release();
    await h.clock.settle();
    expect(h.manager.mayProduce('t', 0, 0)).toBe(true);
    expect(h.broker.requests).toHaveLength(1);
    expect(h.broker.requests[0]).toMatchObject({ transactionalId: TXN_ID, maxVersion: 11 });
    expect(h.broker.requests[0]!.batches).toMatchObject([{ partition: 0, epoch: 0, baseSequence: 0, transactional: true }]);
    h.answerProduce();
    await h.clock.settle();
    expect(record.result).toMatchObject({ partition: 0 });

    // A joined partition needs no second AddPartitionsToTxn in the same transaction.
    h.send(0);
    await h.clock.settle();
    expect(h.broker.requests).toHaveLength(2);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'AddPartitionsToTxn', 'EndTxn']);
    expect(h.coordinator.of('EndTxn')[0]).toMatchObject({
      maxVersion: 4,
      version: 4,
      body: { producerId: 1000n, producerEpoch: 0, committed: true },
    });
    // Version 1 keeps the epoch, and each partition's sequence goes on into the next transaction.
    expect([h.state.producerId, h.state.epoch]).toEqual([1000n, 0]);
    h.manager.begin();
    h.send(0);
    await h.clock.settle();
    expect(h.coordinator.of('AddPartitionsToTxn')).toHaveLength(2); // a new transaction: the partition joins again
    expect(h.broker.requests[2]!.batches).toMatchObject([{ partition: 0, epoch: 0, baseSequence: 2 }]);
  });

  test('partitions that wait while an AddPartitionsToTxn is out join together in the next one', async () => {
    const h = harness(1, {}, new ScriptedTransport({ 't-1': 2, 't-2': 2 }));
    await h.init();
    h.manager.begin();
    h.coordinator.script('AddPartitionsToTxn', HOLD);
    h.send(0);
    await h.clock.settle();
    h.send(1);
    h.send(2);
    await h.clock.settle();
    expect(h.coordinator.of('AddPartitionsToTxn')).toHaveLength(1);
    h.coordinator.of('AddPartitionsToTxn')[0]!.release();
    await h.clock.settle();
    const adds = h.coordinator.of('AddPartitionsToTxn').map((call) => call.body.v3AndBelowTopics);
    expect(adds).toMatchObject([[{ name: 't', partitions: [0] }], [{ name: 't', partitions: [1, 2] }]]);
    expect(h.broker.requests.map((request) => request.batches.map((batch) => batch.partition))).toEqual([[0], [1, 2]]);
  });

  test("the next transaction's AddPartitionsToTxn waits until DescribeTransactions says the last one's markers are written", async () => {
    const h = await afterOneTransaction(1);
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'AddPartitionsToTxn', 'EndTxn']);
    // Otherwise the coordinator refuses it CONCURRENT_TRANSACTIONS, and it is tried again only after a wait.
    h.coordinator.script('DescribeTransactions', { transactionState: 'PrepareCommit' });
    h.manager.begin();
    h.send(1);
    await h.clock.settle();
    expect(h.coordinator.apis.slice(3)).toEqual(['DescribeTransactions']);
    await h.clock.advance(1);
    expect(h.coordinator.apis.slice(3)).toEqual(['DescribeTransactions', 'DescribeTransactions', 'AddPartitionsToTxn']);
    expect(h.broker.requests.at(-1)!.batches).toMatchObject([{ partition: 1 }]);
    expect(h.metrics).toMatchObject({ transactionMarkerChecks: 2, transactionMarkerWaitMs: 1 });
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
  });

  test("offsets of the next transaction: AddOffsetsToTxn waits for the last one's markers too", async () => {
    const h = await afterOneTransaction(1);
    h.coordinator.script('DescribeTransactions', HOLD);
    h.manager.begin();
    const sent = track(h.manager.sendOffsets([{ topic: 'in', partition: 2, offset: 9n }], { groupId: 'g' }));
    await h.clock.settle();
    expect(h.coordinator.apis.slice(3)).toEqual(['DescribeTransactions']);
    h.coordinator.of('DescribeTransactions')[0]!.release({ transactionState: 'CompleteCommit' });
    await h.clock.settle();
    expect(sent).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis.slice(3)).toEqual(['DescribeTransactions', 'AddOffsetsToTxn', 'TxnOffsetCommit']);
  });

  test('a transaction aborted while its offsets wait for the markers: sendOffsetsToTransaction() says so, nothing is added', async () => {
    const h = await afterOneTransaction(1);
    h.coordinator.script('DescribeTransactions', HOLD);
    h.manager.begin();
    const sent = track(h.manager.sendOffsets([{ topic: 'in', partition: 2, offset: 9n }], { groupId: 'g' }));
    await h.clock.settle();
    expect(await finish(h, h.manager.abort())).toEqual({ settled: true, value: undefined });
    h.coordinator.of('DescribeTransactions')[0]!.release({ transactionState: 'CompleteCommit' });
    await h.clock.settle();
    expect(sent).toMatchObject({ settled: true, error: expect.any(TransactionStateError) });
    expect(h.coordinator.apis.slice(3)).toEqual(['DescribeTransactions']);
  });

  test('offsets: AddOffsetsToTxn to the transaction coordinator, then TxnOffsetCommit capped at v4 to the group coordinator', async () => {
    const h = harness(1);
    await h.init();
    h.manager.begin();
    const sent = track(h.manager.sendOffsets([{ topic: 'in', partition: 2, offset: 9n }], { groupId: 'g' }));
    await h.clock.settle();
    expect(sent).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'AddOffsetsToTxn', 'TxnOffsetCommit']);
    expect(h.coordinator.of('AddOffsetsToTxn')[0]).toMatchObject({
      type: 'transaction',
      key: TXN_ID,
      body: { transactionalId: TXN_ID, producerId: 1000n, producerEpoch: 0, groupId: 'g' },
    });
    expect(h.coordinator.of('TxnOffsetCommit')[0]).toMatchObject({
      type: 'group',
      key: 'g',
      maxVersion: 4,
      version: 4,
      body: { groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null },
    });
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.of('EndTxn')[0]).toMatchObject({ version: 4, body: { committed: true } });
  });
});

describe('calls out of order throw TransactionStateError naming the mistake', () => {
  test('before initTransactions(): send, begin, commit, abort', async () => {
    const h = harness(2);
    expect(h.send(0).result).toEqual(new TransactionStateError('send() on a transactional producer before initTransactions()'));
    expect(() => h.manager.begin()).toThrow(new TransactionStateError('beginTransaction() before initTransactions()'));
    await expect(h.manager.commit()).rejects.toThrow(
      new TransactionStateError('commitTransaction() outside a transaction (the producer is not initialised (call initTransactions()))'),
    );
    await expect(h.manager.abort()).rejects.toThrow(/abortTransaction\(\) outside a transaction \(the producer is not initialised/);
    expect(h.coordinator.calls).toHaveLength(0);
    await h.init(); // none of it did harm
  });

  test('init twice, begin twice, commit and abort with no transaction, send and offsets outside one', async () => {
    const h = harness(2);
    await h.init();
    await expect(h.manager.init()).rejects.toThrow(
      new TransactionStateError('initTransactions() called twice (the producer is ready, with no transaction begun)'),
    );
    await expect(h.manager.commit()).rejects.toThrow(
      new TransactionStateError('commitTransaction() outside a transaction (the producer is ready, with no transaction begun)'),
    );
    await expect(h.manager.abort()).rejects.toThrow(
      new TransactionStateError('abortTransaction() outside a transaction (the producer is ready, with no transaction begun)'),
    );
    expect(h.send(0).result).toEqual(
      new TransactionStateError(
        'send() outside a transaction (the producer is ready, with no transaction begun); call beginTransaction() first',
      ),
    );
    await expect(h.manager.sendOffsets([], { groupId: 'g' })).rejects.toThrow(TransactionStateError);

    h.manager.begin();
    expect(() => h.manager.begin()).toThrow(new TransactionStateError('beginTransaction() while the producer is in a transaction'));
    expect(h.manager.state).toBe('inTransaction');
    h.send(0);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    // Commit twice: the second finds no transaction.
    await expect(h.manager.commit()).rejects.toThrow(/^commitTransaction\(\) outside a transaction \(the producer is ready/);
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'EndTxn']);
  });
});

describe('coordinator errors that pass are retried within maxBlockMs', () => {
  // Every backoff at its ceiling (100 ms here), so the test knows when each retry goes out.
  beforeEach(() => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test('init: FindCoordinator not available, then InitProducerId loading, not the coordinator, concurrent transactions', async () => {
    const h = harness(2);
    const findFailed = new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, { api: 'FindCoordinator', subject: 'transaction tx-1' });
    h.coordinator
      .script('transactionVersion', findFailed)
      .script(
        'InitProducerId',
        new ConnectionError('broker 1', 'the connection was closed by the broker'),
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        ErrorCode.NOT_COORDINATOR,
        ErrorCode.CONCURRENT_TRANSACTIONS,
      );
    const init = track(h.manager.init());
    await h.clock.settle();
    expect(h.coordinator.calls).toHaveLength(0); // the version question failed first: one backoff
    await h.clock.advance(100);
    expect(h.coordinator.of('InitProducerId')).toHaveLength(1); // the lost connection: another backoff
    await h.clock.advance(100);
    expect(h.coordinator.of('InitProducerId')).toHaveLength(2); // COORDINATOR_LOAD_IN_PROGRESS: another backoff
    expect(h.coordinator.forgotten).toEqual([]);
    await h.clock.advance(100);
    expect(h.coordinator.of('InitProducerId')).toHaveLength(3);
    expect(h.coordinator.forgotten).toEqual(['transaction:tx-1']); // NOT_COORDINATOR: find it again
    await h.clock.advance(100);
    expect(h.coordinator.of('InitProducerId')).toHaveLength(4);
    // CONCURRENT_TRANSACTIONS waits 5 ms, not a whole backoff.
    await h.clock.advance(4);
    expect(h.coordinator.of('InitProducerId')).toHaveLength(4);
    expect(init.settled).toBe(false);
    await h.clock.advance(1);
    expect(h.coordinator.of('InitProducerId')).toHaveLength(5);
    expect(init).toEqual({ settled: true, value: undefined });
    expect(h.manager.state).toBe('ready');
  });

  test('EndTxn: coordinator not available (forgotten), concurrent transactions, then committed', async () => {
    const h = harness(1);
    await h.init();
    h.manager.begin();
    h.send(0);
    h.coordinator.script('EndTxn', ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.CONCURRENT_TRANSACTIONS);
    const commit = await finish(h, h.manager.commit());
    expect(h.coordinator.forgotten).toEqual(['transaction:tx-1']);
    await h.clock.advance(100);
    expect(h.coordinator.of('EndTxn')).toHaveLength(2);
    expect(commit.settled).toBe(false);
    await h.clock.advance(20);
    expect(h.coordinator.of('EndTxn')).toHaveLength(3);
    expect(commit).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.of('EndTxn').every((call) => call.body.committed === true && call.body.producerEpoch === 0)).toBe(true);
  });

  test('TxnOffsetCommit answered NOT_COORDINATOR forgets the group coordinator, not the transaction coordinator', async () => {
    const h = harness(1);
    await h.init();
    h.manager.begin();
    h.coordinator.script('TxnOffsetCommit', ErrorCode.NOT_COORDINATOR);
    const sent = track(h.manager.sendOffsets([{ topic: 'in', partition: 0, offset: 1n }], { groupId: 'g' }));
    await h.clock.settle();
    expect(h.coordinator.forgotten).toEqual(['group:g']);
    await h.clock.advance(100);
    expect(sent).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'AddOffsetsToTxn', 'TxnOffsetCommit', 'TxnOffsetCommit']);
  });

  test('init keeps failing retriably: TransactionTimeoutError at maxBlockMs, and initTransactions() may be called again', async () => {
    const h = harness(2, { maxBlockMs: 1000 });
    h.coordinator.always('InitProducerId', ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    const started = h.clock.now();
    const init = track(h.manager.init());
    await h.clock.advance(999);
    expect(init.settled).toBe(false);
    await h.clock.advance(1);
    expect(init.error).toBeInstanceOf(TransactionTimeoutError);
    expect((init.error as Error).message).toMatch(
      /^InitProducerId for transaction tx-1 did not succeed within maxBlockMs \(1000 ms\); last error: .*COORDINATOR_LOAD_IN_PROGRESS/,
    );
    expect(h.coordinator.of('InitProducerId').at(-1)!.at).toBe(started + 1000); // one last try at the deadline
    expect(h.manager.state).toBe('uninitialized');

    h.coordinator.always('InitProducerId', undefined); // the coordinator has loaded
    const again = track(h.manager.init());
    await h.clock.settle();
    expect(again).toEqual({ settled: true, value: undefined });
    expect(h.manager.state).toBe('ready');
  });

  test('commit keeps failing retriably: TransactionTimeoutError, send() still refused, and commitTransaction() again commits', async () => {
    const h = harness(2, { maxBlockMs: 1000 });
    await h.init();
    h.manager.begin();
    h.send(0);
    h.coordinator.always('EndTxn', ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    const commit = await finish(h, h.manager.commit());
    await h.clock.advance(1000);
    expect(commit.error).toBeInstanceOf(TransactionTimeoutError);
    expect((commit.error as Error).message).toMatch(/^EndTxn \(commit\) for transaction tx-1 did not succeed within maxBlockMs/);
    expect(h.manager.state).toBe('committing');
    expect(h.send(1).result).toBeInstanceOf(TransactionStateError);
    await expect(h.manager.abort()).rejects.toThrow(TransactionStateError); // a commit under way is finished, not aborted

    h.coordinator.always('EndTxn', undefined);
    const again = await finish(h, h.manager.commit());
    expect(again).toEqual({ settled: true, value: undefined });
    expect(h.manager.state).toBe('ready');
    expect(h.coordinator.of('EndTxn').at(-1)!.body).toMatchObject({ producerEpoch: 0, committed: true });
    expect(h.state.epoch).toBe(1);
  });
});

describe('fatal errors: the producer cannot go on, and every later call says why', () => {
  async function expectFatal(h: Harness, error: unknown): Promise<void> {
    expect(h.manager.state).toBe('fatalError');
    expect(h.send(0).result).toBe(error);
    expect(() => h.manager.begin()).toThrow(error as Error);
    await expect(h.manager.init()).rejects.toBe(error);
    await expect(h.manager.commit()).rejects.toBe(error);
    await expect(h.manager.abort()).rejects.toBe(error);
    await expect(h.manager.sendOffsets([], { groupId: 'g' })).rejects.toBe(error);
  }

  test.each([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH])('EndTxn answered %i: ProducerFencedError', async (code) => {
    const h = harness(1);
    await h.init();
    h.manager.begin();
    h.send(0);
    h.coordinator.script('EndTxn', code);
    const commit = await finish(h, h.manager.commit());
    expect(commit.error).toBeInstanceOf(ProducerFencedError);
    expect((commit.error as Error).message).toMatch(
      /^producer fenced: another producer initialised transactional id "tx-1" after this one/,
    );
    expect(h.coordinator.of('EndTxn')).toHaveLength(1); // not retried
    await expectFatal(h, commit.error);
  });

  test.each([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH])('a record answered %i: ProducerFencedError', async (code) => {
    const h = harness(2);
    await h.init();
    h.manager.begin();
    const record = h.send(0);
    await h.clock.settle();
    h.answerProduce({ 't-0': { errorCode: code } });
    await h.clock.settle();
    expect((record.result as KafkaProtocolError).code).toBe(code);
    expect(h.manager.state).toBe('fatalError');
    const commit = track(h.manager.commit());
    await h.clock.settle();
    expect(commit.error).toBeInstanceOf(ProducerFencedError);
    expect(h.coordinator.apis).toEqual(['InitProducerId']); // no EndTxn
    await expectFatal(h, commit.error);
  });

  test('TRANSACTIONAL_ID_AUTHORIZATION_FAILED on InitProducerId: not retried, fatal', async () => {
    const h = harness(2);
    h.coordinator.script('InitProducerId', ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const init = track(h.manager.init());
    await h.clock.advance(1000);
    expect((init.error as KafkaProtocolError).code).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect((init.error as Error).message).toContain('InitProducerId to broker 1 failed: TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    expect(h.coordinator.calls).toHaveLength(1);
    await expectFatal(h, init.error);
  });
});

describe('abortable errors: a failed record leaves only abortTransaction()', () => {
  test('version 1: commit refuses, abort sends EndTxn(abort) and then bumps the epoch with InitProducerId (KIP-360)', async () => {
    const h = harness(1);
    await h.init();
    h.manager.begin();
    const good = h.send(0);
    const bad = h.send(1);
    await h.clock.settle();
    h.answerProduce({ 't-1': { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED } });
    await h.clock.settle();
    expect(good.result).toMatchObject({ partition: 0 });
    expect((bad.result as KafkaProtocolError).code).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(h.manager.state).toBe('abortableError');
    expect(h.state.bumpRequested).toBe(true); // the failed batch's sequence left a gap

    const commit = track(h.manager.commit());
    await h.clock.settle();
    expect(commit.error).toBeInstanceOf(TransactionAbortableError);
    expect((commit.error as Error).message).toMatch(
      /^the transaction cannot commit: .*TOPIC_AUTHORIZATION_FAILED.*; call abortTransaction\(\)$/,
    );
    expect(h.send(0).result).toBeInstanceOf(TransactionAbortableError);
    expect(() => h.manager.begin()).toThrow(TransactionStateError);
    await expect(h.manager.sendOffsets([], { groupId: 'g' })).rejects.toBeInstanceOf(TransactionAbortableError);
    expect(h.coordinator.of('EndTxn')).toHaveLength(0);

    expect(await finish(h, h.manager.abort())).toEqual({ settled: true, value: undefined });
    // Both partitions met in one drain joined with one AddPartitionsToTxn.
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'AddPartitionsToTxn', 'EndTxn', 'InitProducerId']);
    expect(h.coordinator.of('AddPartitionsToTxn')[0]!.body).toMatchObject({
      v3AndBelowTopics: [{ name: 't', partitions: [0, 1] }],
    });
    expect(h.coordinator.of('EndTxn')[0]!.body).toMatchObject({ producerId: 1000n, producerEpoch: 0, committed: false });
    expect(h.coordinator.of('InitProducerId')[1]!.body).toMatchObject({ transactionalId: TXN_ID, producerId: 1000n, producerEpoch: 0 });
    expect(h.manager.state).toBe('ready');
    expect([h.state.producerId, h.state.epoch, h.state.bumpRequested]).toEqual([1000n, 1, false]);

    // The next transaction goes out under the new epoch, from sequence 0.
    h.manager.begin();
    h.send(1);
    await h.clock.settle();
    expect(h.coordinator.of('AddPartitionsToTxn')[1]!.body).toMatchObject({ v3AndBelowProducerEpoch: 1 });
    expect(h.broker.requests.at(-1)!.batches).toMatchObject([{ partition: 1, epoch: 1, baseSequence: 0 }]);
  });

  test('a partition that cannot join (TOPIC_AUTHORIZATION_FAILED on AddPartitionsToTxn): its records fail unsent', async () => {
    const h = harness(1);
    await h.init();
    h.manager.begin();
    h.coordinator.script('AddPartitionsToTxn', ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const record = h.send(0);
    await h.clock.settle();
    expect(record.result).toBeInstanceOf(TransactionAbortedError);
    expect((record.result as Error).message).toMatch(
      /^the transaction cannot commit \(.*TOPIC_AUTHORIZATION_FAILED.*\); these records were not sent$/,
    );
    expect(h.broker.requests).toHaveLength(0);
    expect(h.manager.state).toBe('abortableError');
    // Nothing joined the transaction: the abort needs no EndTxn, and no sequence was used.
    expect(await finish(h, h.manager.abort())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'AddPartitionsToTxn']);
  });

  test('abort while a partition is still joining: its records fail unsent, and EndTxn follows the join', async () => {
    const h = harness(1);
    await h.init();
    h.manager.begin();
    h.coordinator.script('AddPartitionsToTxn', HOLD);
    const record = h.send(0);
    await h.clock.settle();
    const abort = track(h.manager.abort());
    await h.clock.settle();
    expect(record.result).toEqual(new TransactionAbortedError('the transaction was aborted before these records were sent'));
    expect(h.broker.requests).toHaveLength(0);
    // The coordinator may add the partition yet: the transaction is ended only once the answer is in.
    expect(abort.settled).toBe(false);
    h.coordinator.of('AddPartitionsToTxn')[0]!.release();
    await h.clock.settle();
    expect(abort).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'AddPartitionsToTxn', 'EndTxn']);
    expect(h.coordinator.of('EndTxn')[0]!.body).toMatchObject({ committed: false });
    expect(h.manager.state).toBe('ready');
  });
});

describe('a transaction that outlived transactionTimeoutMs', () => {
  test('a record fenced after the timeout: abortable, naming transactionTimeoutMs; the abort bumps the coordinator epoch', async () => {
    const h = harness(1, { transactionTimeoutMs: 5000 });
    await h.init();
    h.manager.begin();
    const record = h.send(0);
    await h.clock.settle();
    expect(h.broker.requests).toHaveLength(1);
    await h.clock.advance(6000); // the coordinator aborts the transaction and bumps the epoch meanwhile
    h.answerProduce({ 't-0': { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH } });
    await h.clock.settle();
    expect((record.result as KafkaProtocolError).code).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(h.manager.state).toBe('abortableError');

    const commit = track(h.manager.commit());
    await h.clock.settle();
    expect(commit.error).toBeInstanceOf(TransactionAbortableError);
    expect((commit.error as Error).message).toMatch(
      /the transaction ran 6000 ms, longer than transactionTimeoutMs \(5000 ms\), and the coordinator aborted it; call abortTransaction/,
    );
    expect(await finish(h, h.manager.abort())).toEqual({ settled: true, value: undefined });
    // Version 1: the coordinator's timeout abort moved the epoch to 1; InitProducerId bumps that one (EndTxn would be refused).
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'AddPartitionsToTxn', 'InitProducerId']);
    expect(h.coordinator.of('InitProducerId')[1]!.body).toMatchObject({ producerId: 1000n, producerEpoch: 1 });
    expect([h.manager.state, h.state.epoch]).toEqual(['ready', 2]);
  });

  test('version 2, EndTxn(commit) after the timeout: INVALID_TXN_STATE is the timeout, and the abort is EndTxn(abort) again', async () => {
    const h = harness(2, { transactionTimeoutMs: 5000 });
    await h.init();
    h.manager.begin();
    h.send(0);
    await h.clock.settle();
    h.answerProduce();
    await h.clock.advance(5001);
    // What Kafka 4.3.1 answers a commit of a transaction its coordinator already aborted for the timeout.
    h.coordinator.script('EndTxn', ErrorCode.INVALID_TXN_STATE);
    const commit = track(h.manager.commit());
    await h.clock.settle();
    expect(commit.error).toBeInstanceOf(TransactionAbortableError);
    expect((commit.error as Error).message).toContain('longer than transactionTimeoutMs (5000 ms)');
    expect(h.manager.state).toBe('abortableError');
    // The coordinator takes EndTxn(abort) with the old epoch as a retry of its own abort, and hands over the new epoch.
    expect(await finish(h, h.manager.abort())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'EndTxn', 'EndTxn']);
    expect(h.coordinator.of('EndTxn')[1]!.body).toMatchObject({ producerEpoch: 0, committed: false });
    expect([h.manager.state, h.state.epoch]).toEqual(['ready', 1]);
  });

  test('INVALID_TXN_STATE on a commit within the timeout stays fatal', async () => {
    const h = harness(2, { transactionTimeoutMs: 5000 });
    await h.init();
    h.manager.begin();
    h.send(0);
    await h.clock.settle();
    h.answerProduce();
    h.coordinator.script('EndTxn', ErrorCode.INVALID_TXN_STATE);
    const commit = track(h.manager.commit());
    await h.clock.settle();
    expect((commit.error as KafkaProtocolError).code).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(h.manager.state).toBe('fatalError');
  });

  test('the same fencing within the timeout is fatal', async () => {
    const h = harness(1, { transactionTimeoutMs: 5000 });
    await h.init();
    h.manager.begin();
    h.send(0);
    await h.clock.settle();
    await h.clock.advance(4000);
    h.answerProduce({ 't-0': { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH } });
    await h.clock.settle();
    expect(h.manager.state).toBe('fatalError');
  });
});

describe('commit and abort called more than once at a time', () => {
  test('a second commitTransaction() waits for the first: one EndTxn; an abort meanwhile is refused', async () => {
    const h = harness(2);
    await h.init();
    h.manager.begin();
    h.send(0);
    const first = track(h.manager.commit());
    const second = track(h.manager.commit());
    const abort = track(h.manager.abort());
    await h.clock.settle();
    expect(abort.error).toBeInstanceOf(TransactionStateError);
    expect((abort.error as Error).message).toBe('abortTransaction() while the transaction is being committed');
    h.answerProduce();
    await h.clock.settle();
    expect(first).toEqual({ settled: true, value: undefined });
    expect(second).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.of('EndTxn')).toHaveLength(1);
    expect(h.manager.state).toBe('ready');
  });

  test('an abort that finds the transaction already timed out by the coordinator bumps the epoch instead of failing', async () => {
    const h = harness(1, { transactionTimeoutMs: 5000 });
    await h.init();
    h.manager.begin();
    h.send(0);
    await h.clock.settle();
    h.answerProduce();
    await h.clock.settle();
    await h.clock.advance(5001);
    h.coordinator.script('EndTxn', ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await finish(h, h.manager.abort())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis).toEqual(['InitProducerId', 'AddPartitionsToTxn', 'EndTxn', 'InitProducerId']);
    // The coordinator's timeout abort left epoch 1: that is the one to bump.
    expect(h.coordinator.of('InitProducerId')[1]!.body).toMatchObject({ producerId: 1000n, producerEpoch: 1 });
    expect(h.manager.state).toBe('ready');
  });
});

describe('an empty transaction', () => {
  test.each([1, 2] as const)('protocol version %i: commit and abort with nothing sent need no EndTxn', async (version) => {
    const h = harness(version);
    await h.init();
    h.manager.begin();
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    h.manager.begin();
    expect(await finish(h, h.manager.abort())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.apis).toEqual(['InitProducerId']);
    expect([h.manager.state, h.state.epoch]).toEqual(['ready', 0]);
    // Nor after a transaction that had records.
    h.manager.begin();
    h.send(0);
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    const calls = h.coordinator.calls.length;
    h.manager.begin();
    expect(await finish(h, h.manager.commit())).toEqual({ settled: true, value: undefined });
    h.manager.begin();
    expect(await finish(h, h.manager.abort())).toEqual({ settled: true, value: undefined });
    expect(h.coordinator.calls).toHaveLength(calls);
  });
});
