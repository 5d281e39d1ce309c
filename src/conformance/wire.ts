import type { TopicInfo } from '../cluster/metadata.js';
import type { Connection } from '../connection/connection.js';
import {
  Fetch,
  type FetchResponsePartitionData,
  Produce,
  type ProduceResponsePartitionProduceResponse,
} from '../protocol/generated/index.js';
import { type BatchSettings, type BuiltBatch, RecordBatchBuilder, type RecordInput } from '../records/batch-builder.js';
import { parseRecordBatches, type RecordBatch } from '../records/batch-parser.js';
import { encodeProduceFrame } from '../records/produce-frame.js';
import { CheckFailure, type ConformanceContext } from './context.js';

/**
 * Produce and Fetch below the producer and the partition reader, at a version the check picks:
 * the suite has to send every version both sides speak, not only the one the library would.
 */

export interface PartitionTarget {
  topic: TopicInfo;
  partition: number;
}

/** The leader's connection for a partition, from fresh metadata. */
export async function leaderConnection(
  context: ConformanceContext,
  topicName: string,
  partition: number,
): Promise<{
  connection: Connection;
  target: PartitionTarget;
}> {
  const cluster = context.connectedCluster;
  await cluster.metadata.refresh([topicName]);
  const topic = cluster.metadata.topics.get(topicName);
  if (!topic) throw new CheckFailure(`topic ${topicName} is not in the metadata`);
  const leader = topic.partitions[partition]?.leader ?? -1;
  if (leader < 0) throw new CheckFailure(`topic ${topicName} partition ${partition} has no leader`);
  return { connection: await cluster.connectionTo(leader), target: { topic, partition } };
}

/** Builds one RecordBatch v2 of `records`. */
export function buildBatch(records: readonly RecordInput[], settings: BatchSettings = {}): BuiltBatch {
  const [first, ...rest] = records;
  const builder = new RecordBatchBuilder(settings, 1 << 20, first);
  for (const record of rest) if (!builder.tryAppend(record)) throw new Error('internal error: the fixture does not fit one batch');
  return builder.build();
}

/** Sends one batch in a Produce request at `version` (acks=all) and returns the partition's answer, error or not. */
export async function produceAt(
  context: ConformanceContext,
  connection: Connection,
  target: PartitionTarget,
  version: number,
  batch: BuiltBatch,
  transactionalId: string | null = null,
): Promise<ProduceResponsePartitionProduceResponse> {
  let frame: ReturnType<typeof encodeProduceFrame> | undefined;
  try {
    context.sent(Produce, version);
    const response = await connection.requestEncoded(Produce, version, (correlationId) => {
      frame = encodeProduceFrame(version, correlationId, connection.clientId, {
        transactionalId,
        acks: -1,
        timeoutMs: 15_000,
        topics: [{ name: target.topic.name, topicId: target.topic.topicId, partitions: [{ index: target.partition, batch }] }],
      });
      return frame.pieces;
    });
    const answer = response.responses[0]?.partitionResponses[0];
    if (!answer) throw new CheckFailure(`the Produce v${version} answer holds no partition`);
    return answer;
  } finally {
    frame?.release();
    batch.release();
  }
}

/** One Fetch at `version` of one partition from `offset`; the partition's answer, error or not. */
export async function fetchAt(
  context: ConformanceContext,
  connection: Connection,
  target: PartitionTarget,
  version: number,
  offset: bigint,
  isolationLevel: 0 | 1 = 0,
): Promise<FetchResponsePartitionData> {
  context.sent(Fetch, version);
  const response = await connection.request(
    Fetch,
    Fetch.request.create({
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 100,
      minBytes: 1,
      maxBytes: 8 << 20,
      isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: target.topic.name,
          topicId: target.topic.topicId,
          partitions: [
            {
              partition: target.partition,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 4 << 20,
              replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
              highWatermark: 9223372036854775807n,
            },
          ],
        },
      ],
    }),
    { version },
  );
  if (response.errorCode !== 0) throw new CheckFailure(`Fetch v${version} failed as a whole with error code ${response.errorCode}`);
  const data = response.responses[0]?.partitions[0];
  if (!data) throw new CheckFailure(`the Fetch v${version} answer holds no partition`);
  return data;
}

/** The batches of a Fetch answer; magic 0/1 message sets (a down-converting broker) are named as such. */
export function batchesOf(data: FetchResponsePartitionData): RecordBatch[] {
  if (!data.records || data.records.length === 0) return [];
  if (data.records.length >= 17 && data.records.readInt8(16) !== 2) {
    throw new CheckFailure(
      `the broker answered with magic ${data.records.readInt8(16)} message sets, which kafka-wire does not read ` +
        `(first bytes ${data.records.subarray(0, 24).toString('hex')})`,
    );
  }
  return parseRecordBatches(data.records, { ignoreTruncatedTail: true });
}
