import type { CoordinatorType } from '../cluster/coordinators.js';
import { backoffDelay } from '../connection/backoff.js';
import { ConnectionError } from '../connection/errors.js';
import { isRetriable } from '../errors.js';
import {
  AddOffsetsToTxn,
  AddPartitionsToTxn,
  DescribeTransactions,
  EndTxn,
  InitProducerId,
  TxnOffsetCommit,
} from '../protocol/generated/index.js';
import { ErrorCode, errorInfo, KafkaProtocolError } from '../protocol/kafka-errors.js';
import type { ApiDefinition } from '../protocol/primitives/message-codec.js';
import type { Clock } from './clock.js';
import {
  ProducerFencedError,
  TransactionAbortableError,
  TransactionAbortedError,
  TransactionStateError,
  TransactionTimeoutError,
} from './errors.js';
import type { ProducerMetrics } from './metrics.js';
import type { ProducerSettings } from './options.js';
import type { ProducerState } from './producer-state.js';

/** Java's TransactionManager states, by the same names. */
export type TransactionState =
  | 'uninitialized'
  | 'initializing'
  | 'ready'
  | 'inTransaction'
  | 'committing'
  | 'aborting'
  | 'abortableError'
  | 'fatalError';

/** One partition's offset to commit with the transaction: the next record to read, as a consumer commits it. */
export interface TransactionOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch?: number;
  metadata?: string | null;
}

/** The consumer group the offsets belong to (a group id alone is a group without members, as a simple consumer commits). */
export interface ConsumerGroupMetadata {
  groupId: string;
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
}

/** What the transaction manager needs of the cluster: requests to a coordinator, and the protocol version it offers. */
export interface TransactionTransport {
  /** Sends a request to the coordinator of a group or transactional id (found first if need be), at most `maxVersion`. */
  coordinatorRequest<Request, Response>(
    type: CoordinatorType,
    key: string,
    api: ApiDefinition<Request, Response>,
    body: Request,
    maxVersion?: number,
  ): Promise<{ response: Response; version: number; broker: string }>;
  /** The coordinator answered NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE: find it again next time. */
  forgetCoordinator(type: CoordinatorType, key: string): void;
  /**
   * 2 when the cluster runs transaction protocol version 2 (KIP-890: feature transaction.version
   * ≥ 2 finalized, with Produce v12, EndTxn v5 and TxnOffsetCommit v5), else 1.
   */
  transactionVersion(transactionalId: string): Promise<1 | 2>;
}

/** What the transaction manager needs of the rest of the producer. */
export interface TransactionHost {
  /** Sends everything waiting and resolves once all of it has settled. */
  flush(): Promise<void>;
  /** Fails every batch not on the wire with `error`. */
  failUnsent(error: Error): void;
  /** Another look by the sender (a partition was added to the transaction). */
  wake(): void;
}

export interface TransactionParts {
  transactionalId: string;
  transactionTimeoutMs: number;
  settings: Pick<ProducerSettings, 'maxBlockMs' | 'retryBackoff'>;
  state: ProducerState;
  transport: TransactionTransport;
  clock: Clock;
  metrics: Pick<ProducerMetrics, 'transactionMarkerChecks' | 'transactionMarkerWaitMs'>;
  host: TransactionHost;
}

/** Errors after which the producer cannot go on: it is fenced, not allowed, or the broker cannot do transactions with us. */
const FATAL_CODES: ReadonlySet<number> = new Set([
  ErrorCode.PRODUCER_FENCED,
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.TRANSACTION_COORDINATOR_FENCED,
  ErrorCode.INVALID_TXN_STATE,
]);
const FENCED_CODES: ReadonlySet<number> = new Set([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH]);
/**
 * A wait after CONCURRENT_TRANSACTIONS: the previous transaction's markers are usually written within a few
 * milliseconds. Java waits 20 ms; on 3.9.2, 200 transactions of 1,000 records took 28.9 ms each with 20 and 14.7 with 5.
 */
const CONCURRENT_TRANSACTIONS_WAIT_MS = 5;
/**
 * How often DescribeTransactions asks whether the last transaction's markers are written. A
 * transaction starting before they are is refused CONCURRENT_TRANSACTIONS: under version 2 its
 * first Produce then costs the broker's 20 ms wait, under version 1 its AddPartitionsToTxn costs
 * CONCURRENT_TRANSACTIONS_WAIT_MS. They are usually written within a few milliseconds.
 */
const MARKERS_POLL_MS = 1;
const MARKERS_BEING_WRITTEN: ReadonlySet<string> = new Set(['PrepareCommit', 'PrepareAbort']);
/** The newest versions of the transaction protocol version 1: later Produce and EndTxn versions belong to version 2. */
const V1_MAX = { produce: 11, endTxn: 4, txnOffsetCommit: 4 } as const;
/** AddPartitionsToTxn v4+ is the brokers' own batched form; clients use v3 at most. */
const ADD_PARTITIONS_CLIENT_MAX = 3;

/**
 * The transactional producer's state machine (Java's TransactionManager, KIP-98 and KIP-890):
 * initTransactions() obtains the producer id and epoch for the transactional id, fencing any
 * older producer with it; each transaction then goes begin → sends (and offsets) → commit or
 * abort. Under protocol version 1 (Kafka 3.x) each partition joins the transaction through
 * AddPartitionsToTxn before its first Produce, and offsets through AddOffsetsToTxn; under version
 * 2 (Kafka 4.x) the broker adds them itself and every EndTxn hands back a new epoch.
 *
 * Errors are sorted as the Java client sorts them: retriable ones are retried within maxBlockMs;
 * abortable ones (a record failed) leave only abortTransaction() allowed; fatal ones (fenced, not
 * authorised, unsupported) make every later call throw the same error.
 */
export class TransactionManager {
  readonly transactionalId: string;
  private readonly parts: TransactionParts;
  private current: TransactionState = 'uninitialized';
  private version: 1 | 2 = 1;
  /** Why the transaction cannot commit (abortableError) or the producer cannot go on (fatalError). */
  private error: Error | undefined;
  /** Something was sent in this transaction (a partition or the offsets joined it), so it needs an EndTxn. */
  private started = false;
  private startedAt = 0;
  /** Partitions in the transaction (version 1: AddPartitionsToTxn answered; version 2: a Produce request of it answered). */
  private readonly added = new Set<string>();
  /** Partitions with records waiting to join the transaction. */
  private readonly toAdd = new Map<string, { topic: string; partition: number }>();
  /** Version 2: partitions whose first Produce of the transaction is out, by the connection that carries it (see mayProduce()). */
  private readonly joining = new Map<string, number>();
  /** The last EndTxn was answered, and its markers may not all be written yet (see markersWritten()). */
  private markersPending = false;
  private checkingMarkers: Promise<void> | undefined;
  /** DescribeTransactions failed for a reason asking again will not mend (not supported, not authorised): not asked again. */
  private describeUnavailable = false;
  private adding: Promise<void> | undefined;
  /**
   * The coordinator aborted the transaction for its timeout, bumping the epoch by one. Version 2
   * takes EndTxn(abort) with the old epoch as a retry of that abort and answers with the new epoch;
   * version 1 refuses the old epoch, so the abort asks InitProducerId to bump the one the
   * coordinator's abort left (refused, as fenced, if another producer has taken the id since).
   */
  private timedOut = false;

  constructor(parts: TransactionParts) {
    this.parts = parts;
    this.transactionalId = parts.transactionalId;
  }

  get state(): TransactionState {
    return this.current;
  }

  /** The highest Produce version the transaction protocol in use allows (undefined: no cap). */
  get produceMaxVersion(): number | undefined {
    return this.version === 1 ? V1_MAX.produce : undefined;
  }

  /** Why send() may not take a record now (undefined: it may). */
  sendRefusal(): Error | undefined {
    switch (this.current) {
      case 'inTransaction':
        return undefined;
      case 'abortableError':
      case 'fatalError':
        return this.error;
      case 'uninitialized':
        return new TransactionStateError('send() on a transactional producer before initTransactions()');
      default:
        return new TransactionStateError(
          `send() outside a transaction (the producer is ${describe(this.current)}); call beginTransaction() first`,
        );
    }
  }

  /** Why no batch of the transaction may be sent now (it is being aborted, or has failed); undefined: batches may go. */
  sendBlockedBy(): Error | undefined {
    if (this.current === 'aborting') return new TransactionAbortedError('the transaction was aborted before these records were sent');
    if (this.current === 'abortableError' || this.current === 'fatalError') {
      const error = this.error as Error;
      return new TransactionAbortedError(`the transaction cannot commit (${error.message}); these records were not sent`, { cause: error });
    }
    return undefined;
  }

  /**
   * True when a batch of this partition may be sent over `connection` (one number for a broker's
   * produce connection) now. Version 1: false until AddPartitionsToTxn has added the partition,
   * which is queued for it. Version 2: the broker adds a partition on its first Produce of the
   * transaction by asking the coordinator; of two such Produce requests at once, the second is
   * refused CONCURRENT_TRANSACTIONS, and the broker tries it again after 20 ms, for up to 100 ms
   * (add.partitions.to.txn.retry.backoff.ms and .max.ms). So partitions join over one connection
   * at a time, on which the broker takes one request after another; the others wait for its answers.
   */
  mayProduce(topic: string, partition: number, connection: number): boolean {
    const key = `${topic}\u0000${partition}`;
    if (this.markersPending) {
      void this.previousMarkers();
      return false;
    }
    if (this.version === 2) {
      if (!this.added.has(key)) {
        for (const [joiner, over] of this.joining) if (over !== connection && joiner !== key) return false;
        this.joining.set(key, connection);
      }
      // Only now: a transaction aborted while its first batch waited sent nothing, and needs no EndTxn.
      this.started = true;
      return true;
    }
    if (this.added.has(key)) return true;
    this.toAdd.set(key, { topic, partition });
    // Started after the current drain has queued every partition it met, so they join in one request.
    this.adding ??= Promise.resolve()
      .then(() => this.addPartitions())
      .finally(() => {
        this.adding = undefined;
        this.parts.host.wake();
      });
    return false;
  }

  /**
   * The wait for the last transaction's markers (one, however many ask); resolves at once when
   * none is pending. Its end wakes the sender once, for the batches mayProduce() held back.
   */
  private previousMarkers(): Promise<void> {
    if (!this.markersPending) return Promise.resolve();
    this.checkingMarkers ??= this.markersWritten().finally(() => {
      this.checkingMarkers = undefined;
      this.parts.host.wake();
    });
    return this.checkingMarkers;
  }

  /**
   * Waits until the coordinator has written the last transaction's markers, asking
   * DescribeTransactions every MARKERS_POLL_MS, within maxBlockMs. EndTxn is answered before they
   * are written; adding a partition (a Produce under version 2, AddPartitionsToTxn under version 1)
   * or the offsets' group before then is refused CONCURRENT_TRANSACTIONS, and tried again only
   * after a backoff. Errors end the wait: the transaction then goes on at once, as it would without it.
   */
  private async markersWritten(): Promise<void> {
    const { clock, transport, settings, metrics } = this.parts;
    const started = clock.now();
    const deadline = started + settings.maxBlockMs;
    try {
      while (!this.describeUnavailable) {
        const { response } = await transport.coordinatorRequest(
          'transaction',
          this.transactionalId,
          DescribeTransactions,
          DescribeTransactions.request.create({ transactionalIds: [this.transactionalId] }),
        );
        const described = response.transactionStates[0];
        metrics.transactionMarkerChecks++;
        if (!described || described.errorCode !== ErrorCode.NONE) {
          if (!described || !errorInfo(described.errorCode).retriable) this.describeUnavailable = true;
          return;
        }
        // PrepareCommit and PrepareAbort: the markers are being written. Anything else (CompleteCommit, Ongoing, ...): done.
        if (!MARKERS_BEING_WRITTEN.has(described.transactionState) || clock.now() >= deadline) return;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, MARKERS_POLL_MS));
      }
    } catch (error) {
      if (!isRetriable(error)) this.describeUnavailable = true;
    } finally {
      this.markersPending = false;
      metrics.transactionMarkerWaitMs += clock.now() - started;
    }
  }

  /** A Produce request carrying a batch of the partition was answered (or failed): under version 2 the partition has joined. */
  produceSettled(topic: string, partition: number): void {
    if (this.version !== 2) return;
    const key = `${topic}\u0000${partition}`;
    if (this.joining.delete(key)) this.added.add(key);
  }

  /** A record of the transaction failed: the transaction can no longer commit (and a fencing is fatal). */
  recordFailed(error: Error): void {
    if (this.current !== 'inTransaction' && this.current !== 'committing') return;
    this.failWith(error);
  }

  async init(): Promise<void> {
    this.throwIfFatal();
    if (this.current !== 'uninitialized') {
      throw new TransactionStateError(`initTransactions() called twice (the producer is ${describe(this.current)})`);
    }
    this.current = 'initializing';
    try {
      const deadline = this.parts.clock.now() + this.parts.settings.maxBlockMs;
      this.version = await this.retrying('to learn the transaction protocol version', deadline, () =>
        this.parts.transport.transactionVersion(this.transactionalId),
      );
      await this.initProducerId(-1n, -1, deadline);
      this.current = 'ready';
    } catch (error) {
      // A timeout may be tried again; anything else (fenced, not authorised, a timeout the broker refuses) is fatal.
      if (error instanceof TransactionTimeoutError) {
        this.current = 'uninitialized';
        throw error;
      }
      this.current = 'fatalError';
      this.error = error as Error;
      throw error;
    }
  }

  begin(): void {
    this.throwIfFatal();
    if (this.current !== 'ready') {
      throw new TransactionStateError(
        this.current === 'uninitialized'
          ? 'beginTransaction() before initTransactions()'
          : `beginTransaction() while the producer is ${describe(this.current)}`,
      );
    }
    this.current = 'inTransaction';
    this.started = false;
    this.timedOut = false;
    this.added.clear();
    this.toAdd.clear();
    this.joining.clear();
    this.startedAt = this.parts.clock.now();
  }

  async sendOffsets(offsets: TransactionOffset[], group: ConsumerGroupMetadata): Promise<void> {
    const mayAdd = () => {
      this.throwIfFatal();
      if (this.current === 'abortableError') throw this.error;
      if (this.current !== 'inTransaction') {
        throw new TransactionStateError(`sendOffsetsToTransaction() outside a transaction (the producer is ${describe(this.current)})`);
      }
    };
    mayAdd();
    if (this.markersPending) {
      await this.previousMarkers();
      mayAdd(); // the transaction may have ended while the markers were awaited
    }
    const deadline = this.parts.clock.now() + this.parts.settings.maxBlockMs;
    if (this.version === 2) this.started = true;
    try {
      if (this.version === 1) {
        await this.coordinatorStep('AddOffsetsToTxn', deadline, async () => {
          const { response, broker } = await this.parts.transport.coordinatorRequest('transaction', this.transactionalId, AddOffsetsToTxn, {
            ...this.identity(),
            groupId: group.groupId,
          });
          return { code: response.errorCode, broker };
        });
      }
      this.started = true;
      await this.commitOffsets(offsets, group, deadline);
    } catch (error) {
      this.failWith(error as Error);
      throw this.failed() ? this.error : error;
    }
  }

  /** A commit or abort under way: a second call waits for it instead of sending a second EndTxn. */
  private ending: { commit: boolean; done: Promise<void> } | undefined;

  commit(): Promise<void> {
    return this.once(true, () => this.runCommit());
  }

  abort(): Promise<void> {
    return this.once(false, () => this.runAbort());
  }

  private once(commit: boolean, run: () => Promise<void>): Promise<void> {
    if (this.ending) {
      if (this.ending.commit === commit) return this.ending.done;
      const what = commit ? 'commitTransaction()' : 'abortTransaction()';
      return Promise.reject(
        new TransactionStateError(`${what} while the transaction is being ${this.ending.commit ? 'committed' : 'aborted'}`),
      );
    }
    const done = run().finally(() => {
      this.ending = undefined;
    });
    this.ending = { commit, done };
    return done;
  }

  private async runCommit(): Promise<void> {
    this.throwIfFatal();
    if (this.current === 'abortableError') {
      throw new TransactionAbortableError(`the transaction cannot commit: ${(this.error as Error).message}; call abortTransaction()`, {
        cause: this.error,
      });
    }
    if (this.current !== 'inTransaction' && this.current !== 'committing') {
      throw new TransactionStateError(`commitTransaction() outside a transaction (the producer is ${describe(this.current)})`);
    }
    this.current = 'committing';
    await this.parts.host.flush();
    // A record that failed while flushing moved the transaction to abortableError (or fatalError).
    this.throwIfFatal();
    if ((this.current as TransactionState) === 'abortableError') {
      throw new TransactionAbortableError(`the transaction cannot commit: ${(this.error as Error).message}; call abortTransaction()`, {
        cause: this.error,
      });
    }
    await this.end(true);
  }

  private async runAbort(): Promise<void> {
    this.throwIfFatal();
    if (this.current !== 'inTransaction' && this.current !== 'abortableError' && this.current !== 'aborting') {
      throw new TransactionStateError(`abortTransaction() outside a transaction (the producer is ${describe(this.current)})`);
    }
    this.current = 'aborting';
    this.parts.host.failUnsent(new TransactionAbortedError('the transaction was aborted before these records were sent'));
    // What is in flight settles first: its answers are needed before the epoch may change.
    await this.parts.host.flush();
    // So does an AddPartitionsToTxn on the wire: once answered, its partition is in the transaction and needs the EndTxn.
    await this.adding;
    this.throwIfFatal();
    await this.end(false);
  }

  /** Ends the transaction with EndTxn (when anything was sent in it), then bumps the epoch if a failure left sequences out of step. */
  private async end(commit: boolean): Promise<void> {
    const deadline = this.parts.clock.now() + this.parts.settings.maxBlockMs;
    const what = commit ? 'EndTxn (commit)' : 'EndTxn (abort)';
    try {
      if (this.started && (!this.timedOut || this.version === 2)) {
        const answer = await this.endTxn(what, commit, deadline);
        // Version 2: every EndTxn bumps the epoch (or, at its end, hands out a new producer id).
        if (answer && this.version === 2 && answer.producerId >= 0n) this.parts.state.assign(answer.producerId, answer.producerEpoch);
        if (!this.describeUnavailable) this.markersPending = true;
      }
      const timedOutV1 = this.timedOut && this.version === 1;
      if (this.parts.state.bumpRequested || timedOutV1) {
        // KIP-360: InitProducerId with the id and the epoch the coordinator holds (after its timeout abort, one above
        // ours) bumps the epoch, and every sequence starts again.
        const epoch = timedOutV1 ? this.parts.state.epoch + 1 : this.parts.state.epoch;
        await this.initProducerId(this.parts.state.producerId, epoch, deadline);
      }
    } catch (error) {
      if (error instanceof TransactionTimeoutError) throw error; // the same call may be made again
      this.failWith(error as Error);
      throw this.failed() ? this.error : error;
    }
    this.current = 'ready';
    this.error = undefined;
  }

  /**
   * EndTxn; undefined when, under version 1, an abort finds the coordinator already aborted the
   * transaction for outliving transactionTimeoutMs (then the epoch it left is bumped instead).
   */
  private async endTxn(
    what: string,
    commit: boolean,
    deadline: number,
  ): Promise<{ producerId: bigint; producerEpoch: number } | undefined> {
    try {
      return await this.coordinatorStep(what, deadline, async () => {
        const { response, broker } = await this.parts.transport.coordinatorRequest(
          'transaction',
          this.transactionalId,
          EndTxn,
          { ...this.identity(), committed: commit },
          this.version === 1 ? V1_MAX.endTxn : undefined,
        );
        return { code: response.errorCode, broker, value: response };
      });
    } catch (error) {
      // Version 1, past the timeout: the coordinator may have aborted the transaction itself, moving the epoch on. The
      // abort then bumps the epoch it left, which is refused as fenced if another producer has taken the id instead.
      // (Version 2 takes an abort after the coordinator's own as a retry: fencing there means the id was taken.)
      const ranMs = this.parts.clock.now() - this.startedAt;
      const timedOut = this.timedOut || ranMs > this.parts.transactionTimeoutMs;
      if (!commit && this.version === 1 && timedOut && error instanceof ProducerFencedError) {
        this.timedOut = true;
        return undefined;
      }
      throw error;
    }
  }

  private async initProducerId(producerId: bigint, producerEpoch: number, deadline: number): Promise<void> {
    const answer = await this.coordinatorStep('InitProducerId', deadline, async () => {
      const { response, broker } = await this.parts.transport.coordinatorRequest('transaction', this.transactionalId, InitProducerId, {
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.parts.transactionTimeoutMs,
        producerId,
        producerEpoch,
      });
      return { code: response.errorCode, broker, value: response };
    });
    this.parts.state.assign(answer.producerId, answer.producerEpoch);
  }

  /** Version 1: the partitions with records waiting join the transaction, retried until the transaction's own timeout. */
  private async addPartitions(): Promise<void> {
    const deadline = this.parts.clock.now() + Math.max(this.parts.settings.maxBlockMs, this.parts.transactionTimeoutMs);
    while (this.toAdd.size > 0 && (this.current === 'inTransaction' || this.current === 'committing')) {
      const batch = [...this.toAdd];
      const topics = new Map<string, number[]>();
      for (const [, { topic, partition }] of batch) {
        let list = topics.get(topic);
        if (!list) topics.set(topic, (list = []));
        list.push(partition);
      }
      try {
        await this.coordinatorStep('AddPartitionsToTxn', deadline, async () => {
          const { response, broker } = await this.parts.transport.coordinatorRequest(
            'transaction',
            this.transactionalId,
            AddPartitionsToTxn,
            AddPartitionsToTxn.request.create({
              v3AndBelowTransactionalId: this.transactionalId,
              v3AndBelowProducerId: this.parts.state.producerId,
              v3AndBelowProducerEpoch: this.parts.state.epoch,
              v3AndBelowTopics: [...topics].map(([name, partitions]) => ({ name, partitions })),
            }),
            ADD_PARTITIONS_CLIENT_MAX,
          );
          const errors = response.resultsByTopicV3AndBelow.flatMap((topic) =>
            topic.resultsByPartition
              .filter((result) => result.partitionErrorCode !== ErrorCode.NONE)
              .map((result) => ({ topic: topic.name, partition: result.partitionIndex, code: result.partitionErrorCode })),
          );
          // OPERATION_NOT_ATTEMPTED only says another partition failed; the real error is the other one.
          const real = errors.find((entry) => entry.code !== ErrorCode.OPERATION_NOT_ATTEMPTED);
          const code = real ? real.code : response.errorCode;
          return { code, broker, subject: real ? `topic ${real.topic} partition ${real.partition}` : undefined, value: undefined };
        });
        for (const [key] of batch) {
          this.toAdd.delete(key);
          this.added.add(key);
        }
        this.started = true;
      } catch (error) {
        this.toAdd.clear();
        // Records cannot wait for their partition forever: a join that kept failing fails the transaction.
        this.failWith(
          error instanceof TransactionTimeoutError ? new TransactionAbortableError(error.message, { cause: error }) : (error as Error),
        );
        this.parts.host.failUnsent(this.sendBlockedBy() as Error);
        return;
      }
    }
  }

  private async commitOffsets(offsets: TransactionOffset[], group: ConsumerGroupMetadata, deadline: number): Promise<void> {
    const topics = new Map<
      string,
      { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }[]
    >();
    for (const entry of offsets) {
      let list = topics.get(entry.topic);
      if (!list) topics.set(entry.topic, (list = []));
      list.push({
        partitionIndex: entry.partition,
        committedOffset: entry.offset,
        committedLeaderEpoch: entry.leaderEpoch ?? -1,
        committedMetadata: entry.metadata ?? null,
      });
    }
    await this.coordinatorStep(
      'TxnOffsetCommit',
      deadline,
      async () => {
        const { response, broker } = await this.parts.transport.coordinatorRequest(
          'group',
          group.groupId,
          TxnOffsetCommit,
          {
            ...this.identity(),
            groupId: group.groupId,
            generationId: group.generationId ?? -1,
            memberId: group.memberId ?? '',
            groupInstanceId: group.groupInstanceId ?? null,
            topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
          },
          this.version === 1 ? V1_MAX.txnOffsetCommit : undefined,
        );
        const failed = response.topics.flatMap((topic) =>
          topic.partitions
            .filter((p) => p.errorCode !== ErrorCode.NONE)
            .map((p) => ({ topic: topic.name, partition: p.partitionIndex, code: p.errorCode })),
        );
        const first = failed[0];
        return {
          code: first ? first.code : ErrorCode.NONE,
          broker,
          subject: first && `topic ${first.topic} partition ${first.partition}`,
          value: undefined,
        };
      },
      { type: 'group', key: group.groupId },
    );
  }

  /**
   * Runs one coordinator request until it succeeds, retrying within the deadline what Kafka says
   * may succeed later: the coordinator moving or loading, CONCURRENT_TRANSACTIONS (the previous
   * transaction still finishing), an unreachable broker. Other errors are thrown, fencing as
   * ProducerFencedError.
   */
  private async coordinatorStep<T>(
    api: string,
    deadline: number,
    attempt: () => Promise<{ code: number; broker: string; subject?: string; value?: T }>,
    coordinator: { type: CoordinatorType; key: string } = { type: 'transaction', key: this.transactionalId },
  ): Promise<T> {
    return this.retrying(`${api} for ${coordinator.type} ${coordinator.key}`, deadline, async () => {
      const { code, broker, subject, value } = await attempt();
      if (code === ErrorCode.NONE) return value as T;
      const error = new KafkaProtocolError(code, { api, broker, subject });
      if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
        this.parts.transport.forgetCoordinator(coordinator.type, coordinator.key);
      }
      throw this.classify(error);
    });
  }

  /** Retries `attempt` while it fails retriably, with backoff, until the deadline; then TransactionTimeoutError naming the last failure. */
  private async retrying<T>(what: string, deadline: number, attempt: () => Promise<T>): Promise<T> {
    const clock = this.parts.clock;
    for (let tries = 0; ; tries++) {
      let last: unknown;
      try {
        return await attempt();
      } catch (error) {
        if (!isRetriable(error)) throw error;
        last = error;
      }
      const left = deadline - clock.now();
      if (left <= 0) {
        throw new TransactionTimeoutError(
          `${what} did not succeed within maxBlockMs (${this.parts.settings.maxBlockMs} ms); last error: ${(last as Error).message}`,
          { cause: last },
        );
      }
      const wait =
        (last as KafkaProtocolError).code === ErrorCode.CONCURRENT_TRANSACTIONS
          ? CONCURRENT_TRANSACTIONS_WAIT_MS
          : backoffDelay(tries, this.parts.settings.retryBackoff);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(wait, left)));
    }
  }

  /** Fencing becomes a ProducerFencedError (or, when the transaction outlived its timeout, an abortable timeout). */
  private classify(error: KafkaProtocolError): Error {
    // Version 2 answers EndTxn(commit) after the coordinator's timeout abort as a retry of that abort, with INVALID_TXN_STATE.
    const abortedCommit = this.version === 2 && error.code === ErrorCode.INVALID_TXN_STATE && this.current === 'committing';
    if (!FENCED_CODES.has(error.code as number) && !abortedCommit) return error;
    const ranMs = this.parts.clock.now() - this.startedAt;
    const open = this.current === 'inTransaction' || this.current === 'committing';
    if (open && ranMs > this.parts.transactionTimeoutMs) {
      this.timedOut = true;
      return new TransactionAbortableError(
        `the transaction ran ${ranMs} ms, longer than transactionTimeoutMs (${this.parts.transactionTimeoutMs} ms), ` +
          'and the coordinator aborted it; call abortTransaction() and begin again',
        { cause: error },
      );
    }
    if (abortedCommit) return error;
    return new ProducerFencedError(
      `producer fenced: another producer initialised transactional id "${this.transactionalId}" after this one ` +
        `(${error.errorName} from ${error.api}); close this producer`,
      { cause: error, code: error.code },
    );
  }

  /** Moves to abortableError, or to fatalError for errors no abort can cure. */
  private failWith(error: Error): void {
    if (this.current === 'fatalError') return;
    if (error instanceof TransactionTimeoutError) return;
    const code = (error as KafkaProtocolError).code;
    if (error instanceof KafkaProtocolError && FENCED_CODES.has(code as number)) error = this.classify(error);
    const fatal =
      error instanceof ProducerFencedError ||
      (code !== undefined && FATAL_CODES.has(code) && !(error instanceof TransactionAbortableError)) ||
      (error instanceof ConnectionError && !error.retriable && /no version of/.test(error.message));
    if (fatal) {
      this.current = 'fatalError';
      this.error = error;
      this.parts.host.failUnsent(error);
      return;
    }
    if (this.current === 'aborting' || this.current === 'abortableError') return;
    this.current = 'abortableError';
    this.error = error instanceof TransactionAbortableError ? error : new TransactionAbortableError(error.message, { cause: error, code });
  }

  /** The transaction (or the producer) has failed: the error to throw is this.error. */
  private failed(): boolean {
    return this.current === 'fatalError' || this.current === 'abortableError';
  }

  private throwIfFatal(): void {
    if (this.current === 'fatalError') throw this.error;
  }

  private identity(): { transactionalId: string; producerId: bigint; producerEpoch: number } {
    return { transactionalId: this.transactionalId, producerId: this.parts.state.producerId, producerEpoch: this.parts.state.epoch };
  }
}

function describe(state: TransactionState): string {
  switch (state) {
    case 'uninitialized':
      return 'not initialised (call initTransactions())';
    case 'initializing':
      return 'initialising';
    case 'ready':
      return 'ready, with no transaction begun';
    case 'inTransaction':
      return 'in a transaction';
    case 'committing':
      return 'committing a transaction';
    case 'aborting':
      return 'aborting a transaction';
    case 'abortableError':
      return 'in a failed transaction that must be aborted';
    case 'fatalError':
      return 'unusable after a fatal error';
  }
}
