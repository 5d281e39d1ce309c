import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster } from '../cluster/cluster.js';
import { UnknownTopicOrPartitionError } from '../cluster/errors.js';
import { type BackoffOptions, backoffDelay } from '../connection/backoff.js';
import type { Connection } from '../connection/connection.js';
import { isRetriable } from '../errors.js';
import { Fetch, type FetchResponseAbortedTransaction, type FetchResponsePartitionData, ListOffsets } from '../protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import { ZERO_UUID } from '../protocol/primitives/elements.js';
import { OFFSETS } from '../records/batch-builder.js';
import { parseRecordBatches, type RecordBatch } from '../records/batch-parser.js';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

export interface PartitionReaderOptions {
  topic: string;
  partition: number;
  /**
   * Where to start: 'earliest', 'latest', an offset, or the first record whose timestamp is at or
   * after `timestamp` (ms; the end when there is none yet). Default 'earliest'.
   */
  from?: 'earliest' | 'latest' | bigint | { timestamp: bigint };
  /**
   * Stop (end the iteration) once every record below this offset has been read; 'end' = the
   * partition's end offset when reading starts (for --until-end).
   */
  until?: bigint | 'end';
  /** Fetch max wait, default 500. */
  maxWaitMs?: number;
  /** Per fetch, default 8 MiB; grown (up to 128 MiB) when a single batch does not fit. */
  maxBytes?: number;
  /** Default read_uncommitted. read_committed reads up to the last stable offset and drops aborted transactions. */
  isolation?: 'read_uncommitted' | 'read_committed';
  /** Aborting ends the iteration promptly (without an error); the in-flight fetch's result is dropped. */
  signal?: AbortSignal;
}

const DEFAULT_MAX_WAIT_MS = 500;
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
const MAX_FETCH_BYTES = 128 * 1024 * 1024;
/** Retriable failures are retried this long without progress before the last one is thrown. */
const RETRY_WINDOW_MS = 30_000;
const RETRY_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 1000 };
/** How long past maxWaitMs a Fetch may take to be answered. */
const REQUEST_SLACK_MS = 30_000;
const LATEST_TIMESTAMP = -1n;
const EARLIEST_TIMESTAMP = -2n;
const ABORT_MARKER = 0;

interface Leader {
  nodeId: number;
  leaderEpoch: number;
  topicId: string;
}

let readers = 0;

/**
 * Reads one partition from an offset, as an async iterator, in the spirit of Dafka: no
 * consumer group, no committed offsets, no fetch session — ListOffsets to resolve where to
 * start, then Fetch from the leader (long-polling with maxWaitMs) on a connection of its own.
 * Leadership changes and lost connections are followed by refreshing metadata and retrying.
 */
export class PartitionReader implements AsyncIterable<ConsumedRecord> {
  private next: bigint;
  private stopAt: bigint | undefined;
  private fetchBytes: number;
  private iterating = false;
  /** Each reader fetches on its own connection per broker, so its long polls hold up no one else's requests. */
  private readonly lane = `partition-reader-${++readers}`;
  private readonly connections = new Map<number, Connection>();
  private readonly subject: string;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: PartitionReaderOptions,
  ) {
    const { from = 'earliest', until } = options;
    if (typeof from === 'bigint' && from < 0n)
      throw new RangeError(`from must be an offset ≥ 0, 'earliest', 'latest' or { timestamp }, not ${from}`);
    if (typeof from === 'object' && (typeof from.timestamp !== 'bigint' || from.timestamp < 0n))
      throw new RangeError(`from.timestamp must be a bigint ≥ 0 (ms since the epoch), not ${String(from.timestamp)}`);
    if (typeof until === 'bigint' && until < 0n) throw new RangeError(`until must be an offset ≥ 0 or 'end', not ${until}`);
    this.next = typeof from === 'bigint' ? from : -1n;
    this.stopAt = typeof until === 'bigint' ? until : undefined;
    this.fetchBytes = this.maxBytes;
    this.subject = `topic ${options.topic} partition ${options.partition}`;
  }

  /** The offset of the next record to read (−1 until 'earliest' or 'latest' has been resolved). */
  get position(): bigint {
    return this.next;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumedRecord, void, undefined> {
    for await (const data of this.fetches()) yield* this.decode(data.batches, data.abortedTransactions);
  }

  /**
   * The record batches from the position on, as the broker stores them (headers read and
   * checked, records decoded only if asked): control batches and aborted transactions included.
   */
  async *batches(): AsyncGenerator<RecordBatch, void, undefined> {
    for await (const data of this.fetches()) {
      for (const batch of data.batches) {
        const last = batch.baseOffset + BigInt(batch.lastOffsetDelta);
        if (last < this.next) continue;
        if ((this.stopAt !== undefined && batch.baseOffset >= this.stopAt) || this.options.signal?.aborted) return;
        this.next = last + 1n;
        yield batch;
      }
    }
  }

  /** Fetches from the position until `until` (the caller moves the position past what it took of each answer). */
  private async *fetches(): AsyncGenerator<Awaited<ReturnType<PartitionReader['fetch']>>, void, undefined> {
    if (this.iterating) throw new Error(`a PartitionReader of ${this.subject} is already being iterated`);
    this.iterating = true;
    const signal = this.options.signal;
    try {
      if (this.next < 0n) this.next = await this.start();
      if (this.options.until === 'end') this.stopAt ??= await this.listOffset(LATEST_TIMESTAMP);
      const minPollMs = Math.min(this.maxWaitMs, 100);
      while (!signal?.aborted && (this.stopAt === undefined || this.next < this.stopAt)) {
        const startedAt = Date.now();
        const before = this.next;
        yield await this.fetch();
        // The broker's long poll does the waiting; this only guards against one that answers empty at once.
        if (this.next === before && Date.now() - startedAt < minPollMs) await delay(minPollMs, undefined, { signal });
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    } finally {
      this.iterating = false;
      for (const connection of this.connections.values()) connection.close();
      this.connections.clear();
    }
  }

  /** The offset `from` names. */
  private async start(): Promise<bigint> {
    const { from } = this.options;
    if (typeof from !== 'object') return this.listOffset(from === 'latest' ? LATEST_TIMESTAMP : EARLIEST_TIMESTAMP);
    const offset = await this.listOffset(from.timestamp);
    // −1: no record that late (below the high watermark) yet.
    return offset >= 0n ? offset : this.listOffset(LATEST_TIMESTAMP);
  }

  private get maxWaitMs(): number {
    return this.options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  private get maxBytes(): number {
    return this.options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  private get readCommitted(): boolean {
    return this.options.isolation === 'read_committed';
  }

  /**
   * Hands out the records at or after the position, advancing it; skips control batches (and,
   * read_committed, the batches of aborted transactions) while moving past them.
   */
  private *decode(
    batches: RecordBatch[],
    abortedTransactions: FetchResponseAbortedTransaction[] | null,
  ): Generator<ConsumedRecord, void, undefined> {
    const { topic, partition, signal } = this.options;
    const pending = [...(abortedTransactions ?? [])].sort((a, b) =>
      a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
    );
    const abortedProducers = new Set<bigint>();
    for (const batch of batches) {
      const last = batch.baseOffset + BigInt(batch.lastOffsetDelta);
      if (this.readCommitted && batch.producerId >= 0n) {
        // The same bookkeeping as the Java consumer: a producer's transaction is aborted from its first offset to its abort marker.
        while (pending[0] !== undefined && pending[0].firstOffset <= last)
          abortedProducers.add((pending.shift() as FetchResponseAbortedTransaction).producerId);
        if (batch.isControl) {
          if (controlType(batch) === ABORT_MARKER) abortedProducers.delete(batch.producerId);
        } else if (batch.isTransactional && abortedProducers.has(batch.producerId)) {
          if (this.next <= last) this.next = last + 1n;
          continue;
        }
      }
      if (last < this.next) continue;
      if (!batch.isControl) {
        for (const record of batch.records()) {
          if (record.offset < this.next) continue;
          if ((this.stopAt !== undefined && record.offset >= this.stopAt) || signal?.aborted) return;
          this.next = record.offset + 1n;
          yield {
            topic,
            partition,
            offset: record.offset,
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: record.headers,
          };
        }
      }
      // Control batches, and batches whose last records compaction removed, still move the position past them.
      if (this.next <= last) this.next = last + 1n;
    }
  }

  /** One Fetch at the position; grows the size limit when not even one whole batch came back. */
  private async fetch(): Promise<{ batches: RecordBatch[]; abortedTransactions: FetchResponseAbortedTransaction[] | null }> {
    for (;;) {
      const data = await this.retrying('Fetch', (leader) => this.fetchFrom(leader));
      const records = data.records ?? Buffer.alloc(0);
      const batches = parseRecordBatches(records, { ignoreTruncatedTail: true });
      if (batches.length > 0 || records.length === 0) {
        this.fetchBytes = this.maxBytes;
        return { batches, abortedTransactions: data.abortedTransactions };
      }
      const needed = records.length >= OFFSETS.batchLength + 4 ? records.readInt32BE(OFFSETS.batchLength) + 12 : 0;
      if (this.fetchBytes >= MAX_FETCH_BYTES) {
        throw new KafkaProtocolError(ErrorCode.MESSAGE_TOO_LARGE, {
          api: 'Fetch',
          subject:
            `${this.subject} at offset ${this.next} ` +
            `(a batch of ${needed} bytes does not fit in the ${MAX_FETCH_BYTES}-byte fetch limit)`,
        });
      }
      this.fetchBytes = Math.min(MAX_FETCH_BYTES, Math.max(this.fetchBytes * 2, needed));
    }
  }

  private async fetchFrom(leader: Leader): Promise<FetchResponsePartitionData> {
    const { topic, partition } = this.options;
    const connection = await this.cluster.connectionTo(leader.nodeId, { lane: this.lane });
    this.connections.set(leader.nodeId, connection);
    const response = await connection.request(
      Fetch,
      Fetch.request.create({
        replicaId: -1,
        replicaState: { replicaId: -1, replicaEpoch: -1n },
        maxWaitMs: this.maxWaitMs,
        minBytes: 1,
        maxBytes: this.fetchBytes,
        isolationLevel: this.readCommitted ? 1 : 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            topicId: leader.topicId,
            partitions: [
              {
                partition,
                currentLeaderEpoch: leader.leaderEpoch,
                fetchOffset: this.next,
                lastFetchedEpoch: -1,
                logStartOffset: -1n,
                partitionMaxBytes: this.fetchBytes,
                replicaDirectoryId: ZERO_UUID,
                highWatermark: 9223372036854775807n,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      }),
      { timeoutMs: this.maxWaitMs + REQUEST_SLACK_MS },
    );
    if (response.errorCode !== ErrorCode.NONE)
      throw new KafkaProtocolError(response.errorCode, { api: 'Fetch', broker: connection.label, subject: this.subject });
    const data = response.responses.flatMap((result) => result.partitions).find((result) => result.partitionIndex === partition);
    if (!data) throw new Error(`Fetch to ${connection.label}: the answer holds nothing for ${this.subject}`);
    if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      const range = data.logStartOffset >= 0n ? ` (the log holds offsets ${data.logStartOffset} to ${data.highWatermark})` : '';
      throw new KafkaProtocolError(data.errorCode, {
        api: 'Fetch',
        broker: connection.label,
        subject: `${this.subject} at offset ${this.next}${range}`,
      });
    }
    if (data.errorCode !== ErrorCode.NONE)
      throw new KafkaProtocolError(data.errorCode, { api: 'Fetch', broker: connection.label, subject: this.subject });
    return data;
  }

  /**
   * The earliest (−2) or latest (−1) offset, or the first at or after a timestamp (−1 when none),
   * asked of the leader; latest is the last stable offset when read_committed.
   */
  private listOffset(timestamp: bigint): Promise<bigint> {
    const { topic, partition } = this.options;
    return this.retrying('ListOffsets', async (leader) => {
      const response = await this.cluster.request(
        leader.nodeId,
        ListOffsets,
        ListOffsets.request.create({
          replicaId: -1,
          isolationLevel: this.readCommitted ? 1 : 0,
          topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: leader.leaderEpoch, timestamp }] }],
        }),
      );
      const result = response.topics.flatMap((entry) => entry.partitions).find((entry) => entry.partitionIndex === partition);
      if (!result)
        throw new Error(`ListOffsets to ${this.cluster.brokerLabel(leader.nodeId)}: the answer holds nothing for ${this.subject}`);
      if (result.errorCode !== ErrorCode.NONE)
        throw new KafkaProtocolError(result.errorCode, {
          api: 'ListOffsets',
          broker: this.cluster.brokerLabel(leader.nodeId),
          subject: this.subject,
        });
      return result.offset;
    });
  }

  /** The partition's leader from metadata. A topic or partition the cluster does not have is a final error. */
  private async leader(api: string): Promise<Leader> {
    const { topic, partition } = this.options;
    const metadata = this.cluster.metadata;
    const info = await metadata.topic(topic);
    if (!info) {
      const code = metadata.topicErrors.get(topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new KafkaProtocolError(code, { api: 'Metadata', subject: `topic ${topic}` });
      throw new UnknownTopicOrPartitionError(topic, undefined, `topic "${topic}" does not exist on the cluster`);
    }
    const state = info.partitions[partition];
    if (!state) {
      const message = `partition ${partition} of topic "${topic}" does not exist: the topic has partitions 0-${info.partitions.length - 1}`;
      throw new UnknownTopicOrPartitionError(topic, partition, message);
    }
    if (state.leader < 0) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, { api, subject: this.subject });
    return { nodeId: state.leader, leaderEpoch: state.leaderEpoch, topicId: info.topicId };
  }

  /**
   * Runs a request against the leader; after a leadership error or a lost connection, backs off,
   * refreshes metadata and tries again, giving up with the last error after RETRY_WINDOW_MS.
   * Aborting rejects at once (the in-flight request's answer is dropped).
   */
  private async retrying<T>(api: string, attempt: (leader: Leader) => Promise<T>): Promise<T> {
    const signal = this.options.signal;
    let failures = 0;
    let failingSince = 0;
    for (;;) {
      try {
        if (failures > 0) await abortable(this.cluster.metadata.refresh([this.options.topic]), signal);
        const leader = await abortable(this.leader(api), signal);
        return await abortable(attempt(leader), signal);
      } catch (error) {
        if (signal?.aborted || !isRetriable(error)) throw error;
        failingSince ||= Date.now();
        if (Date.now() - failingSince >= RETRY_WINDOW_MS) throw error;
        await delay(backoffDelay(failures++, RETRY_BACKOFF), undefined, { signal });
      }
    }
  }
}

/** The type of a control batch's marker: 0 abort, 1 commit (−1 when it cannot be read). */
function controlType(batch: RecordBatch): number {
  for (const record of batch.records()) return record.key !== null && record.key.length >= 4 ? record.key.readInt16BE(2) : -1;
  return -1;
}

/** The promise, or a rejection as soon as the signal aborts (the promise's own outcome is then ignored). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Convenience: every record of a partition from `from` up to the end offset at call time. */
export async function readPartition(
  cluster: Cluster,
  topic: string,
  partition: number,
  from: 'earliest' | bigint = 'earliest',
): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  for await (const record of new PartitionReader(cluster, { topic, partition, from, until: 'end' })) records.push(record);
  return records;
}
