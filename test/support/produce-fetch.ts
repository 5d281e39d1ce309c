import type { Cluster } from '../../src/cluster/cluster.js';
import { Fetch, Produce } from '../../src/protocol/generated/index.js';
import type { BuiltBatch } from '../../src/records/batch-builder.js';
import { parseRecordBatches, type RecordBatch } from '../../src/records/batch-parser.js';
import { encodeProduceFrame } from '../../src/records/produce-frame.js';

/** Test helpers below the producer: send one built batch to a partition leader, and fetch a partition's batches. */

export async function produceBatch(cluster: Cluster, topic: string, partition: number, batch: BuiltBatch, acks = -1): Promise<bigint> {
  const info = await cluster.metadata.topic(topic);
  if (!info) throw new Error(`topic ${topic} is unknown`);
  const leader = info.partitions[partition]!.leader;
  const connection = await cluster.connectionTo(leader);
  const version = connection.version(Produce);
  let frame: ReturnType<typeof encodeProduceFrame> | undefined;
  try {
    const response = await connection.requestEncoded(Produce, version, (correlationId) => {
      frame = encodeProduceFrame(version, correlationId, connection.clientId, {
        transactionalId: null,
        acks,
        timeoutMs: 30_000,
        topics: [{ name: topic, topicId: info.topicId, partitions: [{ index: partition, batch }] }],
      });
      return frame.pieces;
    });
    const result = response.responses[0]!.partitionResponses[0]!;
    if (result.errorCode !== 0)
      throw new Error(`Produce to ${topic}-${partition} failed with error code ${result.errorCode}: ${result.errorMessage}`);
    return result.baseOffset;
  } finally {
    frame?.release();
    batch.release();
  }
}

export async function fetchBatches(cluster: Cluster, topic: string, partition: number, fromOffset = 0n): Promise<RecordBatch[]> {
  const info = await cluster.metadata.topic(topic);
  if (!info) throw new Error(`topic ${topic} is unknown`);
  const connection = await cluster.connectionTo(info.partitions[partition]!.leader);
  const response = await connection.request(
    Fetch,
    Fetch.request.create({
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 64 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          topicId: info.topicId,
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: fromOffset,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 32 * 1024 * 1024,
              replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
              highWatermark: 9223372036854775807n,
            },
          ],
        },
      ],
    }),
  );
  const data = response.responses[0]!.partitions[0]!;
  if (data.errorCode !== 0) throw new Error(`Fetch of ${topic}-${partition} failed with error code ${data.errorCode}`);
  return data.records ? parseRecordBatches(data.records, { ignoreTruncatedTail: true }) : [];
}
