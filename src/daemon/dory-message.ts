import { KafkaWireError } from '../errors.js';
import { isValidTopicName } from '../producer/record-input.js';

/**
 * Dory's input message format (github.com/dspeterson/dory, doc/sending_messages.md), byte for
 * byte, so that Dory's clients work unchanged with `kafka-wire daemon`. Big-endian:
 *
 *   GenericMessage      => Size:int32 ApiKey:int16 ApiVersion:int16 Message   (Size counts the whole message)
 *   AnyPartition (256)  => Flags:int16 TopicSize:int16 Topic Timestamp:int64 KeySize:int32 Key ValueSize:int32 Value
 *   PartitionKey (257)  => Flags:int16 PartitionKey:int32 TopicSize:int16 Topic Timestamp:int64 KeySize:int32 Key ValueSize:int32 Value
 *
 * Flags must be 0 and the topic non-empty. An empty key or value is sent to Kafka as null, as
 * Dory does.
 */

export const DoryApiKey = { ANY_PARTITION: 256, PARTITION_KEY: 257 } as const;

/** The generic header: size, api key, api version. */
export const DORY_HEADER_BYTES = 8;

export interface DoryMessage {
  topic: string;
  /** PartitionKey messages: the key, as an unsigned 32-bit number (Dory picks partition `key % count`); undefined for AnyPartition. */
  partitionKey: number | undefined;
  /** Milliseconds since the epoch, as the client stamped it. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** Why a message will never reach Kafka, as the daemon counts discards. */
export type DoryFormatReason = 'malformed' | 'unsupportedApiKey' | 'unsupportedVersion' | 'badTopic';

/** A message that does not follow the format: its reason, and (when it got that far) its topic. */
export class DoryMessageError extends KafkaWireError {
  override name = 'DoryMessageError';

  constructor(
    readonly reason: DoryFormatReason,
    message: string,
    readonly topic?: string,
  ) {
    super(message);
  }
}

/**
 * Decodes one whole message (`frame` is exactly its Size bytes, header included). The key and
 * value are copies: the caller may reuse the frame's memory. Throws DoryMessageError.
 */
export function decodeDoryMessage(frame: Buffer): DoryMessage {
  if (frame.length < DORY_HEADER_BYTES) throw malformed(`${frame.length} bytes is shorter than the 8-byte header`);
  const size = frame.readInt32BE(0);
  if (size !== frame.length) throw malformed(`its size field says ${size} bytes, but it has ${frame.length}`);
  const apiKey = frame.readInt16BE(4);
  const apiVersion = frame.readInt16BE(6);
  if (apiKey !== DoryApiKey.ANY_PARTITION && apiKey !== DoryApiKey.PARTITION_KEY) {
    throw new DoryMessageError('unsupportedApiKey', `api key ${apiKey} is neither AnyPartition (256) nor PartitionKey (257)`);
  }
  if (apiVersion !== 0) {
    throw new DoryMessageError('unsupportedVersion', `api version ${apiVersion} of api key ${apiKey}; only version 0 exists`);
  }
  let at = DORY_HEADER_BYTES;
  const need = (bytes: number, what: string) => {
    if (at + bytes > frame.length) throw malformed(`it ends inside its ${what} (${frame.length - at} of ${bytes} bytes there)`);
  };
  need(2, 'flags');
  const flags = frame.readInt16BE(at);
  at += 2;
  if (flags !== 0) throw malformed(`its flags are ${flags}; they must be 0`);
  let partitionKey: number | undefined;
  if (apiKey === DoryApiKey.PARTITION_KEY) {
    need(4, 'partition key');
    partitionKey = frame.readUInt32BE(at);
    at += 4;
  }
  need(2, 'topic size');
  const topicSize = frame.readInt16BE(at);
  at += 2;
  if (topicSize <= 0) throw new DoryMessageError('badTopic', `its topic size is ${topicSize}; the topic must not be empty`);
  need(topicSize, 'topic');
  const topic = frame.toString('latin1', at, at + topicSize);
  at += topicSize;
  need(8, 'timestamp');
  const timestamp = Number(frame.readBigInt64BE(at));
  at += 8;
  need(4, 'key size');
  const keySize = frame.readInt32BE(at);
  at += 4;
  if (keySize < 0) throw malformed(`its key size is ${keySize}`, topic);
  need(keySize, 'key');
  const key = keySize === 0 ? null : Buffer.from(frame.subarray(at, at + keySize));
  at += keySize;
  need(4, 'value size');
  const valueSize = frame.readInt32BE(at);
  at += 4;
  if (valueSize < 0) throw malformed(`its value size is ${valueSize}`, topic);
  need(valueSize, 'value');
  const value = valueSize === 0 ? null : Buffer.from(frame.subarray(at, at + valueSize));
  at += valueSize;
  if (at !== frame.length) throw malformed(`${frame.length - at} bytes follow its value`, topic);
  // Checked last, so that a malformed message is named as such first; latin1 keeps every byte, and a valid name is ASCII.
  if (!isValidTopicName(topic)) {
    throw new DoryMessageError('badTopic', `topic "${topic.slice(0, 300)}" is not a valid topic name`, topic.slice(0, 300));
  }
  return { topic, partitionKey, timestamp, key, value };
}

/** The bytes of a message, as Dory's clients write them. */
export function encodeDoryMessage(message: {
  topic: string;
  partitionKey?: number;
  timestamp?: number;
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
}): Buffer {
  const topic = Buffer.from(message.topic, 'utf8');
  const key = toBytes(message.key ?? null);
  const value = toBytes(message.value);
  const keyed = message.partitionKey !== undefined;
  const size = DORY_HEADER_BYTES + 2 + (keyed ? 4 : 0) + 2 + topic.length + 8 + 4 + key.length + 4 + value.length;
  const frame = Buffer.allocUnsafe(size);
  let at = frame.writeInt32BE(size, 0);
  at = frame.writeInt16BE(keyed ? DoryApiKey.PARTITION_KEY : DoryApiKey.ANY_PARTITION, at);
  at = frame.writeInt16BE(0, at);
  at = frame.writeInt16BE(0, at);
  if (keyed) at = frame.writeUInt32BE((message.partitionKey as number) >>> 0, at);
  at = frame.writeInt16BE(topic.length, at);
  at += topic.copy(frame, at);
  at = frame.writeBigInt64BE(BigInt(message.timestamp ?? Date.now()), at);
  at = frame.writeInt32BE(key.length, at);
  at += key.copy(frame, at);
  at = frame.writeInt32BE(value.length, at);
  value.copy(frame, at);
  return frame;
}

function toBytes(data: Uint8Array | string | null): Buffer {
  if (data === null) return Buffer.alloc(0);
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function malformed(detail: string, topic?: string): DoryMessageError {
  return new DoryMessageError('malformed', `malformed message: ${detail}`, topic);
}
