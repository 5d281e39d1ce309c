import { KafkaWireError } from '../errors.js';
import { partitionKeyOf, partitionKeyRequest } from '../producer/partitioner.js';
import type { RecordHeader } from '../records/batch-builder.js';
import { putUint32 } from './frame.js';

/**
 * What the durable producer writes to its journal, one entry per event, so that a restart can
 * tell which records were accepted, which batch (producer id, epoch, base sequence) each went
 * out in, and which were acknowledged. The producer id and epoch in use are those of the last
 * BATCH (or CHECKPOINT): an id obtained but never used on the wire need not survive a restart.
 * Entries are written in the order things happen; recovery folds them (recovery-state.ts). Each
 * kind has a type byte of its own; payloads are a small big-endian binary format (lengths as uint32, −1 as 0xffffffff for null).
 */
export const EntryType = {
  /** A record accepted by enqueue() or send(): its topic's number, fixed partition (−1: chosen later) and content. */
  RECORD: 1,
  /** A topic's number for the RECORD entries after it (see TopicTable). */
  TOPIC: 2,
  /** Records about to go on the wire as one batch: partition, epoch, base sequence and the records' entry ids. */
  BATCH: 3,
  /** A batch was acknowledged: its records are delivered. */
  ACK: 4,
  /** Records that failed for good (their error was reported): never replayed. */
  FAILED: 5,
  /** The state older segments held (producer id, epoch, next sequences), written before they are deleted. */
  CHECKPOINT: 6,
} as const;

export interface JournalRecord {
  topic: string;
  /**
   * A partition request (partitionKeyRequest()): ≥ 0 fixed, −1 when the partitioner chooses (once metadata is at hand, which it may
   * not be at acceptance), ≤ −2 a partition key (stored after the headers, the partition field then −1).
   */
  partition: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

export interface JournalBatch {
  topic: string;
  partition: number;
  producerId: bigint;
  epoch: number;
  baseSequence: number;
  /** The journal ids of its records, in batch order (stored as runs of consecutive ids: mostly one or a few). */
  recordIds: number[];
}

export interface JournalAck {
  topic: string;
  partition: number;
  producerId: bigint;
  epoch: number;
  baseSequence: number;
}

export interface JournalCheckpoint {
  producerId: bigint;
  epoch: number;
  /** Next sequence of each partition under that producer id and epoch. */
  sequences: { topic: string; partition: number; next: number }[];
}

/** An entry that does not decode (it passed its checksum, so it was written by something else): recovery reports and skips it. */
export class JournalEntryError extends KafkaWireError {
  override name = 'JournalEntryError';
}

const NULL_LENGTH = 0xffffffff;

/** Appends fields to a growing buffer. */
class Writer {
  private buffer: Buffer;
  private at = 0;

  constructor(size = 64) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }

  uint8(value: number): this {
    this.room(1);
    this.buffer.writeUInt8(value, this.at);
    this.at += 1;
    return this;
  }

  int32(value: number): this {
    this.room(4);
    this.buffer.writeInt32BE(value, this.at);
    this.at += 4;
    return this;
  }

  int64(value: bigint): this {
    this.room(8);
    this.buffer.writeBigInt64BE(value, this.at);
    this.at += 8;
    return this;
  }

  double(value: number): this {
    this.room(8);
    this.buffer.writeDoubleBE(value, this.at);
    this.at += 8;
    return this;
  }

  bytes(value: Uint8Array | null): this {
    if (value === null) return this.uint32(NULL_LENGTH);
    this.uint32(value.length);
    this.room(value.length);
    this.buffer.set(value, this.at);
    this.at += value.length;
    return this;
  }

  string(value: string): this {
    return this.bytes(Buffer.from(value, 'utf8'));
  }

  uint32(value: number): this {
    this.room(4);
    this.buffer.writeUInt32BE(value, this.at);
    this.at += 4;
    return this;
  }

  done(): Buffer {
    return this.buffer.subarray(0, this.at);
  }
}

/** Reads fields back; running past the end is a JournalEntryError. */
class Reader {
  private at = 0;

  constructor(
    private readonly buffer: Buffer,
    private readonly what: string,
  ) {}

  private need(bytes: number): void {
    if (this.at + bytes > this.buffer.length) {
      throw new JournalEntryError(`a ${this.what} entry ends after ${this.buffer.length} bytes, in the middle of a field`);
    }
  }

  remaining(): number {
    return this.buffer.length - this.at;
  }

  uint8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.at++);
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }

  int64(): bigint {
    this.need(8);
    const value = this.buffer.readBigInt64BE(this.at);
    this.at += 8;
    return value;
  }

  double(): number {
    this.need(8);
    const value = this.buffer.readDoubleBE(this.at);
    this.at += 8;
    return value;
  }

  bytes(): Buffer | null {
    this.need(4);
    const length = this.buffer.readUInt32BE(this.at);
    this.at += 4;
    if (length === NULL_LENGTH) return null;
    this.need(length);
    // A copy: the journal's read buffer is reused.
    const value = Buffer.from(this.buffer.subarray(this.at, this.at + length));
    this.at += length;
    return value;
  }

  string(): string {
    const value = this.bytes();
    if (value === null) throw new JournalEntryError(`a ${this.what} entry has a null where a string belongs`);
    return value.toString('utf8');
  }

  end(): void {
    if (this.at !== this.buffer.length) {
      throw new JournalEntryError(`a ${this.what} entry has ${this.buffer.length - this.at} bytes past its last field`);
    }
  }
}

/** A record as the durable producer journals it: its fields already bytes, its topic by number (TopicTable). */
export interface RecordToJournal {
  topicId: number;
  partition: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: readonly RecordHeader[] | undefined;
}

/** The RECORD payload's length, for Journal.appendWith(). */
export function recordPayloadBytes(record: RecordToJournal): number {
  let bytes = 4 + 4 + 8 + 4 + (record.key?.length ?? 0) + 4 + (record.value?.length ?? 0) + 4;
  for (const header of record.headers ?? []) bytes += 4 + Buffer.byteLength(header.key) + 4 + (header.value?.length ?? 0);
  return record.partition <= -2 ? bytes + 4 : bytes;
}

/**
 * Writes the RECORD payload (recordPayloadBytes() of it) at `offset`: the one encoder of the
 * format decodeRecord() reads. Byte by byte rather than through Buffer's write methods: this runs
 * once per accepted record, and their range checks were a tenth of the durable producer's CPU.
 */
export function writeRecordPayload(target: Buffer, offset: number, record: RecordToJournal): void {
  const partition = record.partition;
  let at = putUint32(target, offset, record.topicId);
  at = putUint32(target, at, partition <= -2 ? NULL_LENGTH : partition >>> 0);
  at = putDouble(target, at, record.timestamp);
  at = writeBytes(target, at, record.key);
  at = writeBytes(target, at, record.value);
  const headers = record.headers;
  if (headers === undefined) {
    at = putUint32(target, at, 0);
  } else {
    at = putUint32(target, at, headers.length);
    for (const header of headers) {
      const keyBytes = target.write(header.key, at + 4, 'utf8');
      putUint32(target, at, keyBytes);
      at = writeBytes(target, at + 4 + keyBytes, header.value);
    }
  }
  // A partition key (partition ≤ −2): an optional trailing field, so entries without one keep the format they always had.
  if (partition <= -2) putUint32(target, at, partitionKeyOf(partition));
}

function writeBytes(target: Buffer, offset: number, value: Uint8Array | null): number {
  if (value === null) return putUint32(target, offset, NULL_LENGTH);
  putUint32(target, offset, value.length);
  target.set(value, offset + 4);
  return offset + 4 + value.length;
}

const doubleScratch = new Float64Array(1);
const doubleBytes = new Uint8Array(doubleScratch.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Big-endian IEEE 754 double at `offset`; returns the offset after it. */
function putDouble(target: Uint8Array, offset: number, value: number): number {
  doubleScratch[0] = value;
  for (let i = 0; i < 8; i++) target[offset + i] = doubleBytes[littleEndian ? 7 - i : i] as number;
  return offset + 8;
}

/** The RECORD payload of `record`, whose topic is declared as `topicId`. */
export function encodeRecord(record: JournalRecord, topicId: number): Buffer {
  const toJournal: RecordToJournal = { ...record, topicId };
  const payload = Buffer.allocUnsafe(recordPayloadBytes(toJournal));
  writeRecordPayload(payload, 0, toJournal);
  return payload;
}

/** A RECORD entry, its topic named by `topics` (a number it does not know is a JournalEntryError). */
export function decodeRecord(payload: Buffer, topics: { nameOf(id: number): string | undefined }): JournalRecord {
  const reader = new Reader(payload, 'RECORD');
  const topicId = reader.uint32();
  const topic = topics.nameOf(topicId);
  if (topic === undefined)
    throw new JournalEntryError(`a RECORD entry names topic ${topicId}, which no TOPIC entry or checkpoint declared`);
  const partition = reader.int32();
  const timestamp = reader.double();
  const key = reader.bytes();
  const value = reader.bytes();
  const count = reader.int32();
  if (count < 0) throw new JournalEntryError(`a RECORD entry claims ${count} headers`);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < count; i++) headers.push({ key: reader.string(), value: reader.bytes() });
  const request = reader.remaining() === 4 ? partitionKeyRequest(reader.uint32()) : partition;
  reader.end();
  return { topic, partition: request, timestamp, key, value, headers };
}

export function encodeBatch(batch: JournalBatch): Buffer {
  const ids = batch.recordIds;
  const writer = new Writer(48);
  writer.string(batch.topic).int32(batch.partition).int64(batch.producerId).int32(batch.epoch).int32(batch.baseSequence);
  writer.int32(ids.length);
  // Runs of consecutive ids: a batch's records were mostly accepted one after another.
  let runs = 0;
  for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== (ids[i - 1] as number) + 1) runs++;
  writer.int32(runs);
  for (let i = 0; i < ids.length; ) {
    let end = i + 1;
    while (end < ids.length && ids[end] === (ids[end - 1] as number) + 1) end++;
    writer.int64(BigInt(ids[i] as number)).int32(end - i);
    i = end;
  }
  return writer.done();
}

export function decodeBatch(payload: Buffer): JournalBatch {
  const reader = new Reader(payload, 'BATCH');
  const topic = reader.string();
  const partition = reader.int32();
  const producerId = reader.int64();
  const epoch = reader.int32();
  const baseSequence = reader.int32();
  const count = reader.int32();
  const runs = reader.int32();
  if (count < 0 || runs < 0 || runs > count) throw new JournalEntryError(`a BATCH entry claims ${count} records in ${runs} runs`);
  const recordIds: number[] = [];
  for (let run = 0; run < runs; run++) {
    const first = Number(reader.int64());
    const length = reader.int32();
    if (length < 1 || recordIds.length + length > count || !Number.isSafeInteger(first + length)) {
      throw new JournalEntryError(`a BATCH entry has a run of ${length} ids from ${first}, past its ${count} records`);
    }
    for (let id = first; id < first + length; id++) recordIds.push(id);
  }
  if (recordIds.length !== count) throw new JournalEntryError(`a BATCH entry's runs hold ${recordIds.length} ids, not ${count}`);
  reader.end();
  return { topic, partition, producerId, epoch, baseSequence, recordIds };
}

export function encodeTopic(topic: { id: number; name: string }): Buffer {
  return new Writer(32).uint32(topic.id).string(topic.name).done();
}

export function decodeTopic(payload: Buffer): { id: number; name: string } {
  const reader = new Reader(payload, 'TOPIC');
  const topic = { id: reader.uint32(), name: reader.string() };
  reader.end();
  return topic;
}

export function encodeAck(ack: JournalAck): Buffer {
  return new Writer(32).string(ack.topic).int32(ack.partition).int64(ack.producerId).int32(ack.epoch).int32(ack.baseSequence).done();
}

export function decodeAck(payload: Buffer): JournalAck {
  const reader = new Reader(payload, 'ACK');
  const ack = {
    topic: reader.string(),
    partition: reader.int32(),
    producerId: reader.int64(),
    epoch: reader.int32(),
    baseSequence: reader.int32(),
  };
  reader.end();
  return ack;
}

export function encodeFailed(recordIds: bigint[]): Buffer {
  const writer = new Writer(4 + recordIds.length * 8).int32(recordIds.length);
  for (const id of recordIds) writer.int64(id);
  return writer.done();
}

export function decodeFailed(payload: Buffer): bigint[] {
  const reader = new Reader(payload, 'FAILED');
  const count = reader.int32();
  if (count < 0) throw new JournalEntryError(`a FAILED entry claims ${count} records`);
  const ids: bigint[] = [];
  for (let i = 0; i < count; i++) ids.push(reader.int64());
  reader.end();
  return ids;
}

export function encodeCheckpoint(checkpoint: JournalCheckpoint): Buffer {
  const writer = new Writer().int64(checkpoint.producerId).int32(checkpoint.epoch).int32(checkpoint.sequences.length);
  for (const entry of checkpoint.sequences) writer.string(entry.topic).int32(entry.partition).int32(entry.next);
  return writer.done();
}

export function decodeCheckpoint(payload: Buffer): JournalCheckpoint {
  const reader = new Reader(payload, 'CHECKPOINT');
  const producerId = reader.int64();
  const epoch = reader.int32();
  const count = reader.int32();
  if (count < 0) throw new JournalEntryError(`a CHECKPOINT entry claims ${count} partitions`);
  const sequences: JournalCheckpoint['sequences'] = [];
  for (let i = 0; i < count; i++) sequences.push({ topic: reader.string(), partition: reader.int32(), next: reader.int32() });
  reader.end();
  return { producerId, epoch, sequences };
}
