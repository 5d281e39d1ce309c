import { type BuiltBatch, CRC_START, OFFSETS } from './batch-builder.js';
import { crc32c } from './crc32c.js';

/**
 * Rewrites a built batch's producer id, epoch and base sequence and recomputes its CRC-32C,
 * for an idempotent producer that must resend a batch under a new epoch or sequence.
 */
export function restampBatch(batch: BuiltBatch, producerId: bigint, producerEpoch: number, baseSequence: number): void {
  const header = batch.pieces[0] as Buffer;
  header.writeBigInt64BE(producerId, OFFSETS.producerId);
  header.writeInt16BE(producerEpoch, OFFSETS.producerEpoch);
  header.writeInt32BE(baseSequence, OFFSETS.baseSequence);
  let crc = crc32c(header.subarray(CRC_START));
  for (let i = 1; i < batch.pieces.length; i++) crc = crc32c(batch.pieces[i] as Buffer, crc);
  header.writeUInt32BE(crc, OFFSETS.crc);
}
