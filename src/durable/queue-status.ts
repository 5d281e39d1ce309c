import { resolve } from 'node:path';
import { LOCK_FILE_NAME } from './dir-lock.js';
import { decodeBatch, decodeRecord, EntryType } from './entries.js';
import { inspectJournal, type JournalInspection } from './inspect.js';
import { RecoveryFold } from './recovery-state.js';
import { listSegmentFiles } from './segment-files.js';
import { readSegmentEntries } from './segment-reader.js';
import { scanSegment } from './segment-scan.js';

/** What `kafka-wire queue status` shows of a durable producer's journal. */
export interface QueueStatus extends JournalInspection {
  /** The producer id and epoch a restart would resume with. */
  producer: { producerId: bigint; epoch: number } | undefined;
  /** Records accepted and not yet acknowledged (or failed for good). */
  unacknowledged: number;
  /** Of those, in batches that may already be on the broker (resent with their numbers). */
  inDoubtBatches: number;
  /** When the oldest unacknowledged record was made (its timestamp), ms since the epoch. */
  oldestRecordTimestamp: number | undefined;
  /** Unacknowledged records by topic and partition (−1: the partitioner has not chosen yet). */
  byPartition: { topic: string; partition: number; records: number }[];
}

/**
 * Reads a journal without taking its lock or changing it (a producer may have it open): the
 * journal's files, and what a restart would resume with. Reads every entry, so it takes as long
 * as reading the journal once.
 */
export async function queueStatus(dir: string): Promise<QueueStatus> {
  const inspection = await inspectJournal(dir);
  const absolute = resolve(dir);
  const listing = await listSegmentFiles(absolute, LOCK_FILE_NAME);
  const fold = new RecoveryFold();
  /** Topic, partition and timestamp of every record seen (for those still open at the end). */
  const records = new Map<number, { topic: string; partition: number; timestamp: number }>();
  for (const [position, file] of listing.segments.entries()) {
    const { segment, keptBytes } = await scanSegment(file, listing.segments[position + 1]?.firstId);
    // What the scan found intact is what there is to read (a running writer's later bytes are left for next time).
    segment.writtenBytes = keptBytes;
    for await (const entry of readSegmentEntries(segment, 0, Number.MAX_SAFE_INTEGER, () => undefined)) {
      const payload = Buffer.from(entry.payload);
      fold.add(entry.id, entry.type, payload);
      try {
        if (entry.type === EntryType.RECORD) {
          const { topic, partition, timestamp } = decodeRecord(payload, fold.topics);
          records.set(entry.id, { topic, partition, timestamp });
        } else if (entry.type === EntryType.BATCH) {
          const batch = decodeBatch(payload);
          for (const id of batch.recordIds) {
            const known = records.get(Number(id));
            if (known) known.partition = batch.partition;
          }
        }
      } catch {
        // The fold reports entries that do not decode.
      }
    }
  }
  const state = fold.result();
  const open = [...state.pending, ...state.inDoubt.flatMap((batch) => batch.recordIds)];
  const counts = new Map<string, { topic: string; partition: number; records: number }>();
  let oldest: number | undefined;
  for (const id of open) {
    const record = records.get(id);
    if (!record) continue;
    oldest = oldest === undefined ? record.timestamp : Math.min(oldest, record.timestamp);
    const key = `${record.topic}\u0000${record.partition}`;
    const entry = counts.get(key) ?? { topic: record.topic, partition: record.partition, records: 0 };
    entry.records++;
    counts.set(key, entry);
  }
  return {
    ...inspection,
    producer: state.producer,
    unacknowledged: open.length,
    inDoubtBatches: state.inDoubt.length,
    oldestRecordTimestamp: oldest,
    byPartition: [...counts.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
  };
}
