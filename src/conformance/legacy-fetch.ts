import type { Connection } from '../connection/connection.js';
import { type ApiDefinition, MessageCodec } from '../protocol/primitives/index.js';

/**
 * Fetch v0–v3, which kafka-wire's codecs do not cover (their answers carry message sets, and the
 * generated Fetch starts at v4): just enough to ask and to see what the broker answers — its
 * error code and the magic byte of the first entry — so a skip states what the broker did.
 */

export interface LegacyFetchAnswer {
  errorCode: number;
  highWatermark: bigint;
  records: Buffer | null;
}

const NOT_WRITTEN = 'the legacy Fetch probe writes its requests by hand';
const NEVER_FLEXIBLE = 99;

const legacyResponse = new MessageCodec<LegacyFetchAnswer>({
  name: 'FetchResponse(v0-3)',
  minVersion: 0,
  maxVersion: 3,
  flexibleMin: NEVER_FLEXIBLE,
  size: () => {
    throw new Error(NOT_WRITTEN);
  },
  write: () => {
    throw new Error(NOT_WRITTEN);
  },
  create: () => ({ errorCode: 0, highWatermark: -1n, records: null }),
  read(reader, version) {
    if (version >= 1) reader.int32(); // throttle_time_ms
    let answer: LegacyFetchAnswer | undefined;
    const topics = reader.arrayLength(false, false, 'responses');
    for (let t = 0; t < topics; t++) {
      reader.string(false, false, 'topic');
      const partitions = reader.arrayLength(false, false, 'partitions');
      for (let p = 0; p < partitions; p++) {
        reader.int32(); // partition
        const errorCode = reader.int16();
        const highWatermark = reader.int64();
        const records = reader.bytes(false, true, 'records');
        answer ??= { errorCode, highWatermark, records };
      }
    }
    return answer ?? reader.fail('the answer holds no partition');
  },
});

const LegacyFetch: ApiDefinition<never, LegacyFetchAnswer> = {
  name: 'Fetch',
  apiKey: 1,
  request: legacyResponse as unknown as MessageCodec<never>,
  response: legacyResponse,
};

/** A Fetch v0–v3 request frame: request header v1, then one topic with one partition. */
export function legacyFetchFrame(
  version: number,
  correlationId: number,
  clientId: string,
  topic: string,
  partition: number,
  offset: bigint,
): Buffer {
  const client = Buffer.from(clientId, 'utf8');
  const name = Buffer.from(topic, 'utf8');
  const parts: Buffer[] = [];
  const int16 = (value: number) => parts.push(Buffer.from([(value >> 8) & 0xff, value & 0xff]));
  const int32 = (value: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value);
    parts.push(b);
  };
  int16(LegacyFetch.apiKey);
  int16(version);
  int32(correlationId);
  int16(client.length);
  parts.push(client);
  int32(-1); // replica_id: a consumer
  int32(100); // max_wait_ms
  int32(1); // min_bytes
  if (version >= 3) int32(1 << 20); // max_bytes
  int32(1); // one topic
  int16(name.length);
  parts.push(name);
  int32(1); // one partition
  int32(partition);
  const fetchOffset = Buffer.alloc(8);
  fetchOffset.writeBigInt64BE(offset);
  parts.push(fetchOffset);
  int32(1 << 20); // partition_max_bytes
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** Sends Fetch at a version from 0 to 3 and returns the partition's answer. */
export function legacyFetch(
  connection: Connection,
  version: number,
  topic: string,
  partition: number,
  offset: bigint,
): Promise<LegacyFetchAnswer> {
  return connection.requestEncoded(LegacyFetch, version, (correlationId) => [
    legacyFetchFrame(version, correlationId, connection.clientId, topic, partition, offset),
  ]);
}

/** The magic byte of the first entry of a message set or batch list (byte 16 in all three formats), or null. */
export function firstMagic(records: Buffer | null): number | null {
  return records !== null && records.length > 16 ? records.readInt8(16) : null;
}
