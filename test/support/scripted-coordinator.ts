import type { CoordinatorType } from '../../src/cluster/coordinators.js';
import type { TransactionTransport } from '../../src/producer/transaction-manager.js';
import type {
  AddPartitionsToTxnRequest,
  EndTxnRequest,
  InitProducerIdRequest,
  TxnOffsetCommitRequest,
} from '../../src/protocol/generated/index.js';
import type { ApiDefinition } from '../../src/protocol/primitives/message-codec.js';

/**
 * How the scripted coordinator answers one request: an error code (for AddPartitionsToTxn and
 * TxnOffsetCommit, every partition's), fields of the response over the usual answer, an Error
 * thrown instead of an answer (FindCoordinator failing, a lost connection), or HOLD: no answer
 * until the test calls release().
 */
export type CoordinatorAnswer = number | Error | typeof HOLD | Record<string, unknown>;
export const HOLD = Symbol('hold');

/** One request the transaction manager made of a coordinator. */
export interface CoordinatorCall {
  api: string;
  type: CoordinatorType;
  key: string;
  // biome-ignore lint/suspicious/noExplicitAny: each API's own request type; tests read the fields they check.
  body: any;
  /** The cap the manager asked for (undefined: none). */
  maxVersion: number | undefined;
  /** The version it went out at: the cap, or the newest this coordinator speaks. */
  version: number;
  /** Fake-clock time it was made at. */
  at: number;
  settled: boolean;
  /** Answers a held request (by default as a well-behaved coordinator would). */
  release(answer?: CoordinatorAnswer): void;
}

/**
 * Transaction and group coordinators the test plays. Every request is encoded at the version it
 * goes out at (so a field that version lacks fails the test) and every answer is encoded and
 * decoded again at that version (so what the manager reads is what that version can carry).
 * Unscripted requests get a well-behaved coordinator's answer: InitProducerId hands out producer
 * id 1000 at epoch 0, or the same id at the next epoch when the current one is given (KIP-360);
 * EndTxn v5 (protocol version 2) hands back the next epoch; everything else succeeds.
 */
export class ScriptedCoordinator implements TransactionTransport {
  readonly calls: CoordinatorCall[] = [];
  /** forgetCoordinator() calls, as "type:key". */
  readonly forgotten: string[] = [];
  private readonly scripts = new Map<string, CoordinatorAnswer[]>();
  private readonly standing = new Map<string, CoordinatorAnswer>();

  constructor(
    private readonly protocolVersion: 1 | 2,
    private readonly clock: { now(): number },
  ) {}

  /** Answers for the next requests of `api` (or "transactionVersion" for that question), in turn. */
  script(api: string, ...answers: CoordinatorAnswer[]): this {
    this.scripts.set(api, [...(this.scripts.get(api) ?? []), ...answers]);
    return this;
  }

  /** The answer for every request of `api` once its script is used up (undefined: the usual answer again). */
  always(api: string, answer: CoordinatorAnswer | undefined): this {
    if (answer === undefined) this.standing.delete(api);
    else this.standing.set(api, answer);
    return this;
  }

  /** The calls of one API, in order. */
  of(api: string): CoordinatorCall[] {
    return this.calls.filter((call) => call.api === api);
  }

  /** The API names of every call, in order. */
  get apis(): string[] {
    return this.calls.map((call) => call.api);
  }

  async transactionVersion(): Promise<1 | 2> {
    const answer = this.next('transactionVersion');
    if (answer instanceof Error) throw answer;
    return this.protocolVersion;
  }

  forgetCoordinator(type: CoordinatorType, key: string): void {
    this.forgotten.push(`${type}:${key}`);
  }

  coordinatorRequest<Request, Response>(
    type: CoordinatorType,
    key: string,
    api: ApiDefinition<Request, Response>,
    body: Request,
    maxVersion?: number,
  ): Promise<{ response: Response; version: number; broker: string }> {
    const version = Math.min(api.request.maxVersion, maxVersion ?? Number.POSITIVE_INFINITY);
    api.request.encode(body, version);
    const answer = this.next(api.name);
    return new Promise((resolve, reject) => {
      const call: CoordinatorCall = {
        api: api.name,
        type,
        key,
        body,
        maxVersion,
        version,
        at: this.clock.now(),
        settled: false,
        release: (given) => {
          if (call.settled) throw new Error(`${api.name} was answered already`);
          call.settled = true;
          if (given instanceof Error) {
            reject(given);
            return;
          }
          const response = api.response.create(this.answerFields(api.name, body, version, given) as Partial<Response>);
          const decoded = api.response.decode(api.response.encode(response, version), version);
          resolve({ response: decoded, version, broker: 'broker 1' });
        },
      };
      this.calls.push(call);
      if (answer !== HOLD) call.release(answer);
    });
  }

  private next(api: string): CoordinatorAnswer | undefined {
    return this.scripts.get(api)?.shift() ?? this.standing.get(api);
  }

  private answerFields(api: string, body: unknown, version: number, answer: CoordinatorAnswer | undefined): Record<string, unknown> {
    const code = typeof answer === 'number' ? answer : 0;
    const given = typeof answer === 'object' ? (answer as Record<string, unknown>) : {};
    switch (api) {
      case 'InitProducerId': {
        const request = body as InitProducerIdRequest;
        const bump = request.producerId >= 0n;
        const ok = { producerId: bump ? request.producerId : 1000n, producerEpoch: bump ? request.producerEpoch + 1 : 0 };
        return { ...(code === 0 ? ok : { producerId: -1n, producerEpoch: -1 }), errorCode: code, ...given };
      }
      case 'EndTxn': {
        const request = body as EndTxnRequest;
        const next = version >= 5 && code === 0 ? { producerId: request.producerId, producerEpoch: request.producerEpoch + 1 } : {};
        return { ...next, errorCode: code, ...given };
      }
      case 'AddPartitionsToTxn': {
        const request = body as AddPartitionsToTxnRequest;
        const resultsByTopicV3AndBelow = request.v3AndBelowTopics.map((topic) => ({
          name: topic.name,
          resultsByPartition: topic.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: code })),
        }));
        return { resultsByTopicV3AndBelow, ...given };
      }
      case 'TxnOffsetCommit': {
        const request = body as TxnOffsetCommitRequest;
        const topics = request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map(({ partitionIndex }) => ({ partitionIndex, errorCode: code })),
        }));
        return { topics, ...given };
      }
      case 'DescribeTransactions': {
        // By default the transaction has ended with its markers written.
        const transactionalId = (body as { transactionalIds: string[] }).transactionalIds[0];
        const state = {
          errorCode: code,
          transactionalId,
          transactionState: 'CompleteCommit',
          transactionTimeoutMs: 60_000,
          transactionStartTimeMs: -1n,
          producerId: 1000n,
          producerEpoch: 0,
          topics: [],
        };
        return { transactionStates: [{ ...state, ...given }] };
      }
      default:
        return { errorCode: code, ...given };
    }
  }
}
