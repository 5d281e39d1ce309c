import { UnknownTopicOrPartitionError } from '../cluster/errors.js';
import type { ProducerBatch } from '../producer/accumulator.js';
import { InvalidRecordError, RecordTooLargeError } from '../producer/errors.js';
import type { SenderJournal } from '../producer/sender.js';
import { KafkaProtocolError } from '../protocol/kafka-errors.js';
import type { BatchInDoubt } from './batch-locator.js';
import { EntryType, encodeAck, encodeBatch } from './entries.js';
import type { Journal } from './journal.js';

/**
 * The sender's side of the journal: a batch's producer id, epoch, base sequence and records are
 * appended before the batch can reach the broker (write-ahead), and its acknowledgement after
 * (a record's own outcome reaches the DurableProducer as any send()'s does). A restart reads them back (recovery-state.ts) to resend what
 * may be on the broker under the same numbers.
 */
export class BatchJournal implements SenderJournal {
  constructor(
    private readonly journal: Journal,
    /** Records of a batch that may be on the broker went out again under other numbers: the broker cannot match a copy. */
    private readonly mayDuplicate: (records: number, reason: string) => void,
    /** Asks the cluster whether a batch is in the log (locateBatch). */
    private readonly locator: (batch: BatchInDoubt) => Promise<bigint | undefined>,
  ) {}

  locate(batch: ProducerBatch, producerId: bigint): Promise<bigint | undefined> {
    const earliestTimestamp = batch.runs.earliestTimestamp();
    const { topic, partition, epoch, baseSequence } = batch;
    return this.locator({ topic, partition, producerId, epoch, baseSequence, records: batch.runs.count, earliestTimestamp });
  }

  batchGoingOut(batch: ProducerBatch, producerId: bigint): Promise<void> | undefined {
    if (!batch.journaled) return undefined;
    const as = `${producerId}:${batch.epoch}:${batch.baseSequence}:${batch.runs.count}`;
    if (batch.journaledAs === as) return undefined;
    if (batch.journaledAs !== undefined && batch.possiblyWritten) {
      // Renumbered after the broker lost this producer's state (an expired producer id, a recreated topic) or fenced its
      // epoch: a copy written under the old numbers, if any, is not recognised. Said once per batch.
      batch.possiblyWritten = false;
      const [, epoch, baseSequence] = batch.journaledAs.split(':');
      this.mayDuplicate(
        batch.runs.count,
        `a batch of ${batch.topic}-${batch.partition} that may be on the broker (epoch ${epoch}, sequence ${baseSequence}) went out ` +
          `again as epoch ${batch.epoch}, sequence ${batch.baseSequence}${batch.lastError ? ` after ${batch.lastError.message}` : ''}`,
      );
    }
    let appended: { durable: Promise<void> };
    try {
      appended = this.journal.append(
        EntryType.BATCH,
        encodeBatch({
          topic: batch.topic,
          partition: batch.partition,
          producerId,
          epoch: batch.epoch,
          baseSequence: batch.baseSequence,
          recordIds: batch.runs.indexes(),
        }),
        // The batch waits for this entry to be durable: an fsync now, not at the next sync interval, is what lets it go.
        { syncNow: true },
      );
    } catch (error) {
      // The journal is closed or failed: the batch must not go out unjournaled.
      return Promise.reject(error);
    }
    batch.journaledAs = as;
    return appended.durable;
  }

  batchAcknowledged(batch: ProducerBatch): void {
    if (batch.journaledAs === undefined) return;
    const [producerId, epoch, baseSequence] = batch.journaledAs.split(':');
    // Not waited for: an acknowledgement lost in a crash only means the batch is resent, and the broker drops the copy.
    const ack = encodeAck({
      topic: batch.topic,
      partition: batch.partition,
      producerId: BigInt(producerId as string),
      epoch: Number(epoch),
      baseSequence: Number(baseSequence),
    });
    try {
      this.journal.append(EntryType.ACK, ack).durable.catch(() => undefined);
    } catch {
      // The journal closed or failed: the records are delivered all the same.
    }
  }
}

/**
 * Whether a failure is the record's own, so replaying it could only fail again: the broker
 * refused it, or it cannot be sent as it is. Anything else (the producer closing, a lost
 * cluster, a bug) leaves the record in the journal for the next start.
 */
export function failsForGood(error: Error): boolean {
  if (error instanceof KafkaProtocolError) return error.api === 'Produce' && !error.retriable;
  return error instanceof RecordTooLargeError || error instanceof InvalidRecordError || error instanceof UnknownTopicOrPartitionError;
}
