import { ConnectionError } from '../../src/connection/errors.js';
import type { ProduceAnswer, ProduceConnection, ProduceRequest, ProducerTransport } from '../../src/producer/transport.js';
import type { ProduceResponsePartitionProduceResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/kafka-errors.js';
import { OFFSETS, TRANSACTIONAL_FLAG } from '../../src/records/batch-builder.js';
import { parseRecordBatches } from '../../src/records/batch-parser.js';

/** One batch of a request, as it was on the wire. */
export interface SentBatch {
  topic: string;
  partition: number;
  producerId: bigint;
  epoch: number;
  baseSequence: number;
  records: number;
  /** Its records' values as text (null for a null value), read back from its bytes. */
  values: (string | null)[];
  /** The batch's transactional attribute bit. */
  transactional: boolean;
}

/** A Produce request the sender made, waiting for the test to answer it. */
export interface ScriptedRequest {
  broker: number;
  /** Which of the broker's produce connections it went over. */
  connection: number;
  batches: SentBatch[];
  /** The request's transactionalId (null for a producer without one). */
  transactionalId: string | null;
  /** The highest Produce version the sender allowed (undefined: no cap). */
  maxVersion: number | undefined;
  /** Answers each partition (by default with no error, offsets counting from 0 per request). */
  answer(codes?: Record<string, Partial<ProduceResponsePartitionProduceResponse>>): void;
  /** The answer never comes: the connection is lost with the request on the wire. */
  lose(error?: Error): void;
  settled: boolean;
}

/** A partition's answer: NONE at `baseOffset`, or what `overrides` says. */
function partitionAnswer(
  index: number,
  overrides: Partial<ProduceResponsePartitionProduceResponse> = {},
): ProduceResponsePartitionProduceResponse {
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: 0n,
    logAppendTimeMs: -1n,
    logStartOffset: 0n,
    recordErrors: [],
    errorMessage: null,
    currentLeader: { leaderId: -1, leaderEpoch: -1, _unknownTags: [] },
    _unknownTags: [],
    ...overrides,
  } as ProduceResponsePartitionProduceResponse;
}

/**
 * A broker the test plays: it sees every Produce request the sender makes (with each batch's
 * producer id, epoch and sequence read off the wire bytes) and answers, or loses, each one when
 * and how the test says. Leaders are fixed by `leaders` (partition → node); producer ids come
 * from `producerIds` in turn.
 */
export class ScriptedTransport implements ProducerTransport {
  readonly requests: ScriptedRequest[] = [];
  readonly initProducerIdCalls: number[] = [];
  readonly noted: number[] = [];
  refreshes = 0;
  /** noteError and refreshMetadata calls, in their order. */
  readonly metadataCalls: ('noteError' | 'refreshMetadata')[] = [];
  /** Metadata refreshes answer when the test says (answerMetadata()); by default at once, naming the same leaders. */
  holdMetadata = false;
  private answeredRefreshes = 0;
  private readonly answerListeners = new Set<() => void>();
  /** Throws from leaderFor() when set: a bug inside the drain, for the test of how it is reported. */
  failLeaderLookup: Error | undefined;

  constructor(
    private readonly leaders: Record<string, number> = {},
    private readonly producerIds: { producerId: bigint; producerEpoch: number }[] = [{ producerId: 1000n, producerEpoch: 0 }],
  ) {}

  leaderFor(topic: string, partition: number): number {
    if (this.failLeaderLookup) throw this.failLeaderLookup;
    return this.leaders[`${topic}-${partition}`] ?? 1;
  }

  brokerLabel(nodeId: number): string {
    return `broker ${nodeId}`;
  }

  noteError(code: number, _nodeId: number): void {
    this.noted.push(code);
    this.metadataCalls.push('noteError');
  }

  refreshMetadata(): number {
    this.refreshes++;
    this.metadataCalls.push('refreshMetadata');
    const number = this.answeredRefreshes + 1;
    if (!this.holdMetadata) this.answerMetadata();
    return number;
  }

  metadataAnswered(): number {
    return this.answeredRefreshes;
  }

  onMetadataAnswer(listener: () => void): () => void {
    this.answerListeners.add(listener);
    return () => this.answerListeners.delete(listener);
  }

  /** A metadata refresh answers, with the partitions' leaders now as `leaders` says (partition → node). */
  answerMetadata(leaders: Record<string, number> = {}): void {
    Object.assign(this.leaders, leaders);
    this.answeredRefreshes++;
    for (const listener of this.answerListeners) listener();
  }

  /** What the next connect() calls do before they return, in turn (each may reject, or wait); then they return at once. */
  readonly connects: (() => Promise<void>)[] = [];

  async connect(nodeId: number, connection: number): Promise<ProduceConnection> {
    await this.connects.shift()?.();
    return { produce: (request) => this.produce(nodeId, connection, request) };
  }

  async initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    this.initProducerIdCalls.push(this.requests.length);
    const next = this.producerIds.shift();
    if (!next) throw new Error('the script has no more producer ids');
    return next;
  }

  /** The requests not answered yet. */
  get open(): ScriptedRequest[] {
    return this.requests.filter((request) => !request.settled);
  }

  private produce(broker: number, connection: number, request: ProduceRequest): Promise<ProduceAnswer | undefined> {
    const batches: SentBatch[] = request.topics.flatMap((topic) =>
      topic.partitions.map(({ index, batch }) => {
        const header = (batch as NonNullable<typeof batch>).pieces[0] as Buffer;
        return {
          topic: topic.name,
          partition: index,
          producerId: header.readBigInt64BE(OFFSETS.producerId),
          epoch: header.readInt16BE(OFFSETS.producerEpoch),
          baseSequence: header.readInt32BE(OFFSETS.baseSequence),
          records: header.readInt32BE(OFFSETS.recordCount),
          values: valuesOf((batch as NonNullable<typeof batch>).pieces),
          transactional: (header.readInt16BE(OFFSETS.attributes) & TRANSACTIONAL_FLAG) !== 0,
        };
      }),
    );
    return new Promise((resolve, reject) => {
      const scripted: ScriptedRequest = {
        broker,
        connection,
        batches,
        transactionalId: request.transactionalId,
        maxVersion: request.maxVersion,
        settled: false,
        answer: (codes = {}) => {
          scripted.settled = true;
          resolve(
            request.topics.map((topic) => ({
              topic: topic.name,
              partitions: topic.partitions
                .filter(({ index }) => codes[`${topic.name}-${index}`]?.index !== -1)
                .map(({ index }) => partitionAnswer(index, codes[`${topic.name}-${index}`])),
            })),
          );
        },
        lose: (error = new ConnectionError(`broker ${broker}`, 'the connection was closed by the broker')) => {
          scripted.settled = true;
          reject(error);
        },
      };
      this.requests.push(scripted);
    });
  }
}

/** The values of the one batch in `pieces`, as text. */
function valuesOf(pieces: readonly Buffer[]): (string | null)[] {
  const [batch] = parseRecordBatches(Buffer.concat(pieces));
  return [...(batch?.records() ?? [])].map((record) => record.value?.toString() ?? null);
}
