import { describeValue } from '../option-checks.js';
import type { RecordHeader, RecordPayload } from '../records/batch-builder.js';
import type { PendingRecord } from './accumulator.js';
import { InvalidRecordError } from './errors.js';
import type { RecordOutcome } from './outcomes.js';
import { CHOOSE_PARTITION, partitionKeyRequest } from './partitioner.js';

/** What a key, value or header value may be on the wire side: bytes, a string (sent as UTF-8), or null. */
export type RecordBytes = Uint8Array | string | null;

export interface ProducerRecord<K = RecordBytes, V = RecordBytes> {
  topic: string;
  /** Omitted, undefined or null: no key. */
  key?: K;
  /** null is a tombstone; undefined is refused, so a forgotten value is not sent as one. */
  value: V;
  headers?: Record<string, RecordBytes> | { key: string; value: RecordBytes }[] | null;
  /** A fixed partition; omitted or null: the partitioner chooses. */
  partition?: number | null;
  /**
   * Instead of `partition`: an unsigned 32-bit partition key, routed by Dory's rule (the partition
   * at index `key mod n` of the sorted partition ids, or the next one with a leader). Omitted or null: none.
   */
  partitionKey?: number | null;
  /** Milliseconds since the epoch; omitted or null: now. */
  timestamp?: number | null;
}

/** Turn typed keys and values into bytes; each is called once per record, at send(). */
export interface Serializers<K, V> {
  key?: (key: K, topic: string) => RecordBytes;
  value?: (value: V, topic: string) => RecordBytes;
}

/** Topic names as Kafka accepts them. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const MAX_PARTITION = 2 ** 31 - 1;
const MAX_PARTITION_KEY = 2 ** 32 - 1;
const BYTES = 'a string, a Buffer/Uint8Array or null';

function invalid(field: string, expected: string, value: unknown, hint = ''): InvalidRecordError {
  return new InvalidRecordError(`record.${field} must be ${expected}, not ${describeValue(value)}${hint}`);
}

/** A header value as bytes (a string is encoded as UTF-8). */
function bytes(field: string, value: unknown): Uint8Array | null {
  if (value === null) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw invalid(field, BYTES, value);
}

/**
 * A key or value as the batch takes it (`serializerHint`: the error names serializers.key/value
 * as the way to send other types): a string stays a string, written as UTF-8 straight into
 * its batch, rather than becoming a Buffer held until the record is acknowledged.
 */
function payload(field: string, value: unknown, serializerHint = false): RecordPayload {
  if (value === null || typeof value === 'string' || value instanceof Uint8Array) return value;
  // The hint is built here, not by the caller: a string built for every record is garbage for every record.
  throw invalid(field, BYTES, value, serializerHint ? ` (or give serializers.${field} to send other types)` : '');
}

function serialized(
  field: 'key' | 'value',
  value: unknown,
  topic: string,
  serializer: ((input: never, topic: string) => RecordBytes) | undefined,
) {
  if (!serializer) return payload(field, value, true);
  let output: unknown;
  try {
    output = serializer(value as never, topic);
  } catch (error) {
    throw new InvalidRecordError(`serializers.${field} threw for record.${field}: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
  }
  if (output === null || typeof output === 'string' || output instanceof Uint8Array) return output;
  throw new InvalidRecordError(`serializers.${field} must return ${BYTES}; it returned ${describeValue(output)}`);
}

function headerList(headers: unknown): RecordHeader[] | undefined {
  if (headers === undefined || headers === null) return undefined;
  if (Array.isArray(headers)) {
    return headers.map((header: unknown, index) => {
      if (header === null || typeof header !== 'object' || typeof (header as RecordHeader).key !== 'string') {
        throw invalid(`headers[${index}]`, 'an object { key: string, value }', header);
      }
      return { key: (header as RecordHeader).key, value: bytes(`headers[${index}].value`, (header as { value: unknown }).value) };
    });
  }
  if (typeof headers !== 'object' || Object.getPrototypeOf(headers) !== Object.prototype) {
    throw invalid('headers', 'a plain object of name → value, or an array of { key, value }', headers);
  }
  return Object.entries(headers).map(([key, value]) => ({ key, value: bytes(`headers["${key}"]`, value) }));
}

/** Kafka's rule for topic names: 1-249 characters of a-z, A-Z, 0-9, '.', '_', '-', and not '.' or '..'. */
export function isValidTopicName(topic: string): boolean {
  return TOPIC_NAME.test(topic) && topic !== '.' && topic !== '..';
}

/** Checks the topic name of a record whose topic is not in the metadata (a cached one was valid). */
export function checkTopicName(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string') throw invalid('topic', 'a topic name (a string)', topic);
  if (!isValidTopicName(topic)) {
    throw new InvalidRecordError(`record.topic "${topic}" is not a valid topic name (1-249 characters of a-z, A-Z, 0-9, '.', '_', '-')`);
  }
}

/**
 * A record checked field by field and turned into bytes, as the producer holds it until it is
 * acknowledged; anything wrong is an InvalidRecordError naming the field and what it held.
 * record.partition is checked here too (the caller reads it afterwards).
 */
export function toPendingRecord(
  record: ProducerRecord<unknown, unknown>,
  serializers: Serializers<unknown, unknown> | undefined,
  now: number,
  deadline: number,
  outcome: RecordOutcome,
  index: number,
  into?: PendingRecord,
): PendingRecord {
  const value = record.value;
  if (value === undefined && !serializers?.value) {
    throw new InvalidRecordError('record.value is missing (undefined); give null to send a tombstone');
  }
  const key = record.key;
  const timestamp = record.timestamp;
  if (
    timestamp !== undefined &&
    timestamp !== null &&
    !(typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0)
  ) {
    const hint = (timestamp as unknown) instanceof Date ? ' (use date.getTime())' : '';
    throw invalid('timestamp', 'milliseconds since the epoch (an integer ≥ 0)', timestamp, hint);
  }
  const partition = record.partition;
  if (partition !== undefined && partition !== null && !(Number.isInteger(partition) && partition >= 0 && partition <= MAX_PARTITION)) {
    throw invalid('partition', 'a partition number (an integer ≥ 0)', partition);
  }
  const partitionKey = record.partitionKey;
  if (partitionKey !== undefined && partitionKey !== null) {
    if (!(Number.isInteger(partitionKey) && partitionKey >= 0 && partitionKey <= MAX_PARTITION_KEY)) {
      throw invalid('partitionKey', 'an unsigned 32-bit integer (0 to 4294967295)', partitionKey);
    }
    if (partition !== undefined && partition !== null) {
      throw new InvalidRecordError(`record.partition (${partition}) and record.partitionKey (${partitionKey}) were both given; give one`);
    }
  }
  const keyBytes = key === undefined || (key === null && !serializers?.key) ? null : serialized('key', key, record.topic, serializers?.key);
  const valueBytes = serialized('value', value, record.topic, serializers?.value);
  const headers = headerList(record.headers);
  if (!into) {
    return { key: keyBytes, value: valueBytes, headers, timestamp: timestamp ?? now, size: 0, deadline, outcome, index, journalId: -1 };
  }
  into.key = keyBytes;
  into.value = valueBytes;
  into.headers = headers;
  into.timestamp = timestamp ?? now;
  into.size = 0;
  into.deadline = deadline;
  into.outcome = outcome;
  into.index = index;
  into.journalId = -1;
  return into;
}

/** A PendingRecord to fill with toPendingRecord(..., into), its fields already of the types they will hold. */
export function blankPendingRecord(): PendingRecord {
  return {
    key: null,
    value: null,
    headers: undefined,
    timestamp: 0.5,
    size: 0,
    deadline: 0.5,
    outcome: NO_OUTCOME,
    index: 0,
    journalId: -1,
  };
}

/** The outcome of no record: what the scratch record holds between records. */
export const NO_OUTCOME: RecordOutcome = { resolved() {}, rejected() {} };

/** The partition request of a record toPendingRecord() has checked (see partitionKeyRequest()). */
export function requestedPartition(record: ProducerRecord<unknown, unknown>): number {
  if (record.partition !== undefined && record.partition !== null) return record.partition;
  if (record.partitionKey !== undefined && record.partitionKey !== null) return partitionKeyRequest(record.partitionKey);
  return CHOOSE_PARTITION;
}

/** Checks that what was passed as a record is an object at all. */
export function checkRecordObject(record: unknown): asserts record is ProducerRecord<unknown, unknown> {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new InvalidRecordError(
      `a record must be an object { topic, value, key?, headers?, partition?, timestamp? }, not ${describeValue(record)}`,
    );
  }
}
