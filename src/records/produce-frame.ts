import { Produce } from '../protocol/generated/index.js';
import { uvarintSize } from '../protocol/primitives/index.js';
import { defaultMemoryPool, type MemoryPool } from './memory-pool.js';

/**
 * The Produce request, hand-written for the hot path: the request's own fields go into one
 * small pooled buffer, and the record batches are not copied — the frame is a list of pieces
 * (fields, batch, fields, batch, …) for one vectored write. The generated codec remains the
 * reference: a unit test checks these bytes against it for every version.
 */

export interface ProduceBatch {
  pieces: Buffer[];
  size: number;
}

export interface ProducePartition {
  index: number;
  batch: ProduceBatch | null;
}

export interface ProduceTopic {
  /** Used up to v12. */
  name: string;
  /** Used from v13 (Kafka's URL-safe base64 uuid). */
  topicId: string;
  partitions: ProducePartition[];
}

export interface ProduceRequestParts {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topics: ProduceTopic[];
}

export interface ProduceFrame {
  pieces: Buffer[];
  size: number;
  /** Returns the fields buffer to the pool (the batches are released by their owner). */
  release(): void;
}

const PRODUCE_KEY = Produce.apiKey;
const FIRST_FLEXIBLE = Produce.request.flexibleMin;
const FIRST_TOPIC_ID = 13;

function stringSize(bytes: number, compact: boolean): number {
  return (compact ? uvarintSize(bytes + 1) : 2) + bytes;
}

export function encodeProduceFrame(
  version: number,
  correlationId: number,
  clientId: string | null,
  request: ProduceRequestParts,
  pool: MemoryPool = defaultMemoryPool,
): ProduceFrame {
  Produce.request.checkVersion(version);
  const flexible = version >= FIRST_FLEXIBLE;
  const byId = version >= FIRST_TOPIC_ID;
  const clientIdBytes = clientId === null ? -1 : Buffer.byteLength(clientId, 'utf8');
  const transactionalBytes = request.transactionalId === null ? -1 : Buffer.byteLength(request.transactionalId, 'utf8');
  const topicNameBytes = byId ? [] : request.topics.map((topic) => Buffer.byteLength(topic.name, 'utf8'));
  const arrayHeader = (count: number) => (flexible ? uvarintSize(count + 1) : 4);

  // Size pass: every byte except the batches themselves.
  let fields = 4 + 2 + 2 + 4 + (clientIdBytes < 0 ? 2 : 2 + clientIdBytes) + (flexible ? 1 : 0);
  fields += transactionalBytes < 0 ? (flexible ? 1 : 2) : stringSize(transactionalBytes, flexible);
  fields += 2 + 4 + arrayHeader(request.topics.length);
  let batchBytes = 0;
  request.topics.forEach((topic, t) => {
    fields += byId ? 16 : stringSize(topicNameBytes[t] as number, flexible);
    fields += arrayHeader(topic.partitions.length);
    for (const partition of topic.partitions) {
      const size = partition.batch?.size ?? -1;
      fields += 4 + (size < 0 ? (flexible ? 1 : 4) : flexible ? uvarintSize(size + 1) : 4);
      if (size > 0) batchBytes += size;
      if (flexible) fields += 1;
    }
    if (flexible) fields += 1;
  });
  if (flexible) fields += 1;

  // Write pass.
  const memory = pool.acquire(fields);
  const buffer = memory.buffer;
  const pieces: Buffer[] = [];
  let at = 0;
  let segment = 0;
  const uvarint = (value: number) => {
    while (value >= 0x80) {
      buffer[at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buffer[at++] = value;
  };
  const string = (text: string | null, bytes: number, compact: boolean) => {
    if (text === null) {
      if (compact) buffer[at++] = 0;
      else at = buffer.writeInt16BE(-1, at);
      return;
    }
    if (compact) uvarint(bytes + 1);
    else at = buffer.writeInt16BE(bytes, at);
    at += buffer.write(text, at, bytes, 'utf8');
  };
  const arrayLength = (count: number) => {
    if (flexible) uvarint(count + 1);
    else at = buffer.writeInt32BE(count, at);
  };

  at = buffer.writeInt32BE(fields - 4 + batchBytes, at);
  at = buffer.writeInt16BE(PRODUCE_KEY, at);
  at = buffer.writeInt16BE(version, at);
  at = buffer.writeInt32BE(correlationId, at);
  string(clientId, clientIdBytes, false); // the header's client id keeps an int16 length even when flexible
  if (flexible) buffer[at++] = 0; // header tagged fields
  string(request.transactionalId, transactionalBytes, flexible);
  at = buffer.writeInt16BE(request.acks, at);
  at = buffer.writeInt32BE(request.timeoutMs, at);
  arrayLength(request.topics.length);
  request.topics.forEach((topic, t) => {
    if (byId) at += Buffer.from(topic.topicId, 'base64url').copy(buffer, at);
    else string(topic.name, topicNameBytes[t] as number, flexible);
    arrayLength(topic.partitions.length);
    for (const partition of topic.partitions) {
      at = buffer.writeInt32BE(partition.index, at);
      const batch = partition.batch;
      if (batch === null) {
        if (flexible) buffer[at++] = 0;
        else at = buffer.writeInt32BE(-1, at);
      } else {
        if (flexible) uvarint(batch.size + 1);
        else at = buffer.writeInt32BE(batch.size, at);
        pieces.push(buffer.subarray(segment, at));
        for (const piece of batch.pieces) pieces.push(piece);
        segment = at;
      }
      if (flexible) buffer[at++] = 0; // partition tagged fields
    }
    if (flexible) buffer[at++] = 0; // topic tagged fields
  });
  if (flexible) buffer[at++] = 0; // request tagged fields
  if (at !== fields) throw new Error(`internal error: Produce v${version} fields sized ${fields} bytes but wrote ${at}`);
  if (segment < at) pieces.push(buffer.subarray(segment, at));
  return { pieces, size: fields + batchBytes, release: () => memory.release() };
}
