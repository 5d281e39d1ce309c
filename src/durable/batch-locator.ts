import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster } from '../cluster/cluster.js';
import { PartitionReader } from '../consumer/partition-reader.js';
import { isRetriable } from '../errors.js';
import { DescribeProducers, type DescribeProducersResponseProducerState } from '../protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import type { RecordBatch } from '../records/batch-parser.js';
import { BatchNotLocatedError } from './errors.js';

/** A batch that went out under these numbers and may or may not be in the partition's log. */
export interface BatchInDoubt {
  topic: string;
  partition: number;
  producerId: bigint;
  epoch: number;
  baseSequence: number;
  records: number;
  /** The earliest timestamp among its records (ms): the log is searched from the first record this late. */
  earliestTimestamp: number;
}

const SEQUENCES = 0x80000000;
/** How long a written batch may take to be replicated (below the high watermark, where readers see it) before the search gives up. */
const COMMIT_WAIT_MS = 30_000;
const RECHECK_MS = 200;

/**
 * Whether the partition's log holds a batch, and its base offset if it does (undefined: it does
 * not, and cannot later, as the broker's sequence for the producer is past it without it).
 *
 * A broker recognises a resent batch by its sequence numbers only among a producer's last five
 * batches; one further back is refused as out of order whether or not it was written. The
 * producer's state on the leader (DescribeProducers: the last sequence it wrote under the epoch)
 * tells which: at or past the batch's last sequence, it was written, and is then looked for in
 * the log by its producer id, epoch and base sequence, below the high watermark, so that it is
 * reported only once replicated (a batch only on a leader that then fails would be lost).
 */
export async function locateBatch(cluster: Cluster, batch: BatchInDoubt): Promise<bigint | undefined> {
  const deadline = Date.now() + COMMIT_WAIT_MS;
  const subject =
    `the batch of ${batch.topic}-${batch.partition} with producer id ${batch.producerId}, ` +
    `epoch ${batch.epoch}, sequence ${batch.baseSequence}`;
  const lastSequence = (batch.baseSequence + batch.records - 1) % SEQUENCES;
  for (;;) {
    let state: DescribeProducersResponseProducerState | undefined;
    try {
      state = await producerState(cluster, batch);
    } catch (error) {
      // A leader moving, a connection lost: asked again, within the same bound.
      if (!isRetriable(error) || Date.now() >= deadline) throw error;
      cluster.metadata.requestRefresh();
      await delay(RECHECK_MS);
      continue;
    }
    if (!state) {
      throw new BatchNotLocatedError(
        `cannot tell whether ${subject} is on the broker: it keeps no state for the producer (expired, or the topic was recreated)`,
      );
    }
    if (state.producerEpoch > batch.epoch) {
      throw new BatchNotLocatedError(`cannot tell whether ${subject} is on the broker: it has seen epoch ${state.producerEpoch} since`);
    }
    // Sequences wrap at 2^31: the broker's last one is at or past the batch's within half the range.
    const written =
      state.producerEpoch === batch.epoch &&
      state.lastSequence >= 0 &&
      (state.lastSequence - lastSequence + SEQUENCES) % SEQUENCES < SEQUENCES / 2;
    if (!written) return undefined;
    const stored = await findInLog(cluster, batch, deadline);
    if (stored && stored.recordCount !== batch.records) {
      // The same numbers on different records: resending could only be refused, renumbering may duplicate.
      throw new BatchNotLocatedError(
        `${subject} holds ${batch.records} records, but the log's batch with those numbers ` +
          `(offset ${stored.baseOffset}) holds ${stored.recordCount}`,
      );
    }
    if (stored) return stored.baseOffset;
    if (Date.now() >= deadline) {
      throw new BatchNotLocatedError(
        `${subject} is on the leader (its last sequence for the producer is ${state.lastSequence}) but was not found below the ` +
          `high watermark within ${COMMIT_WAIT_MS / 1000} s`,
      );
    }
    await delay(RECHECK_MS);
  }
}

/** The leader's state for the batch's producer id on its partition (undefined: none). */
async function producerState(cluster: Cluster, batch: BatchInDoubt): Promise<DescribeProducersResponseProducerState | undefined> {
  const subject = `topic ${batch.topic} partition ${batch.partition}`;
  const leader = cluster.metadata.leaderFor(batch.topic, batch.partition);
  if (leader < 0) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, { api: 'DescribeProducers', subject });
  const response = await cluster.request(
    leader,
    DescribeProducers,
    DescribeProducers.request.create({ topics: [{ name: batch.topic, partitionIndexes: [batch.partition] }] }),
  );
  const answer = response.topics.flatMap((topic) => topic.partitions).find((entry) => entry.partitionIndex === batch.partition);
  const broker = cluster.brokerLabel(leader);
  if (!answer)
    throw new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, { api: 'DescribeProducers', broker, subject, detail: 'no answer for it' });
  if (answer.errorCode !== ErrorCode.NONE)
    throw new KafkaProtocolError(answer.errorCode, { api: 'DescribeProducers', broker, subject, detail: answer.errorMessage ?? undefined });
  return answer.activeProducers.find((producer) => producer.producerId === batch.producerId);
}

/** The log's batch with the batch's numbers, searched from its earliest timestamp up to the high watermark (undefined: not there, yet). */
async function findInLog(cluster: Cluster, batch: BatchInDoubt, deadline: number): Promise<RecordBatch | undefined> {
  const reader = new PartitionReader(cluster, {
    topic: batch.topic,
    partition: batch.partition,
    from: { timestamp: BigInt(batch.earliestTimestamp) },
    until: 'end',
    maxWaitMs: 0,
  });
  for await (const stored of reader.batches()) {
    if (stored.producerId === batch.producerId && stored.producerEpoch === batch.epoch && stored.baseSequence === batch.baseSequence) {
      return stored;
    }
    if (Date.now() >= deadline) return undefined;
  }
  return undefined;
}
