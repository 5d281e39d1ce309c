import { utf8Length, writeUtf8 } from '../records/utf8.js';

/**
 * Partition choice, as the Java client's default partitioner makes it: keyed records go to
 * `toPositive(murmur2(key)) % partitionCount`; null-key records use the "uniform sticky" behaviour (KIP-480, KIP-794).
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * Java's Utils.murmur2 over the key bytes: a signed 32-bit result, exactly as the Java client
 * computes it (seed 0x9747b28c, m 0x5bd1e995, r 24; note Java's handling of the 1-3 trailing
 * bytes with fall-through, and the final mixing).
 */
export function murmur2(data: Uint8Array, length = data.length): number {
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24) | 0;
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Java's switch (length % 4) falls through from case 3 to case 1; only case 1 ends with the multiply.
  const tail = length & ~3;
  const rest = length & 3;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's Utils.toPositive: clears the sign bit (not Math.abs, so Integer.MIN_VALUE maps to 0). */
export function toPositive(value: number): number {
  return value & 0x7fffffff;
}

/** Where the Java client's default partitioner puts a keyed record. */
export function keyPartition(key: Uint8Array | string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1)
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  if (typeof key !== 'string') return toPositive(murmur2(key)) % partitionCount;
  // A string key is hashed as its UTF-8 bytes, written to a buffer kept for the purpose rather than one per record.
  const length = utf8Length(key);
  if (length > keyScratch.length) keyScratch = Buffer.allocUnsafe(Math.max(length, 2 * keyScratch.length));
  writeUtf8(keyScratch, 0, key, length);
  return toPositive(murmur2(keyScratch, length)) % partitionCount;
}

let keyScratch = Buffer.allocUnsafe(256);

export interface PartitionChoice {
  topic: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
  partitionCount: number;
  /** partitions that currently have a leader */
  available: readonly number[];
}

/** A user partitioner: gets the record and the topic's current metadata, returns a partition number. */
export type CustomPartitioner = (choice: PartitionChoice) => number;

interface StickyState {
  partition: number;
  bytes: number;
  /** The `available` list last seen, and its valid entries: recomputed only when the list changes. */
  availableSeen: readonly number[] | undefined;
  candidates: readonly number[];
}

/**
 * Null-key records (KIP-480/KIP-794, the Java client's built-in "uniform sticky" behaviour): stay on one partition, chosen at random among
 * the available ones, until about `batchSize` bytes have been assigned to it, then switch to another random available partition
 * (a different one when there are at least two). When the partition count grows (metadata refresh found new partitions), the new ones
 * join the random choice from the next switch on.
 *
 * When no partition has a leader, the choice is among all `partitionCount` partitions (as the Java client does). A sticky partition that
 * stops being available, or no longer exists, is left at once.
 */
export class StickyPartitioner {
  private readonly states = new Map<string, StickyState>();
  private readonly batchSize: number;
  private readonly random: () => number;

  constructor(batchSize: number, random: () => number = Math.random) {
    if (!(batchSize > 0)) throw new RangeError(`batchSize must be positive, got ${batchSize}`);
    this.batchSize = batchSize;
    this.random = random;
  }

  /** The partition for a null-key record of `recordBytes` bytes (use the record's encoded size or key+value length). */
  partition(topic: string, partitionCount: number, available: readonly number[], recordBytes: number): number {
    if (!Number.isInteger(partitionCount) || partitionCount < 1)
      throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
    let state = this.states.get(topic);
    let candidates: readonly number[];
    if (state && state.availableSeen === available) {
      candidates = state.candidates; // the common case: the same metadata as for the last record
    } else {
      candidates = available.filter((p) => Number.isInteger(p) && p >= 0 && p < partitionCount);
      if (!state || !this.usable(state.partition, partitionCount, candidates)) {
        state = { partition: this.pick(partitionCount, candidates, state?.partition), bytes: 0, availableSeen: undefined, candidates };
        this.states.set(topic, state);
      }
      state.availableSeen = available;
      state.candidates = candidates;
    }
    const chosen = state.partition;
    state.bytes += Math.max(0, recordBytes);
    // Enough bytes on this partition: the next record starts a new stint elsewhere.
    if (state.bytes >= this.batchSize) {
      state.partition = this.pick(partitionCount, candidates, chosen);
      state.bytes = 0;
    }
    return chosen;
  }

  private usable(partition: number, partitionCount: number, candidates: readonly number[]): boolean {
    if (partition >= partitionCount) return false;
    return candidates.length === 0 || candidates.includes(partition);
  }

  /** A random partition from the candidates (all partitions when none is available), other than `previous` when there is a choice. */
  private pick(partitionCount: number, candidates: readonly number[], previous: number | undefined): number {
    const pool = candidates.length > 0 ? candidates : Array.from({ length: partitionCount }, (_, i) => i);
    const others = previous !== undefined && pool.length > 1 ? pool.filter((p) => p !== previous) : pool;
    const from = others.length > 0 ? others : pool;
    const index = Math.min(from.length - 1, Math.floor(this.random() * from.length));
    return from[index]!;
  }
}

/**
 * A record's partition request as admission carries it, in one number: ≥ 0 a fixed partition,
 * −1 the partitioner's choice, ≤ −2 a partition key (Dory's rule, partitionForKey()) as −2 − key.
 */
export const CHOOSE_PARTITION = -1;
export function partitionKeyRequest(partitionKey: number): number {
  return -2 - partitionKey;
}
export function partitionKeyOf(request: number): number {
  return -2 - request;
}

/**
 * Dory's PartitionKey rule (its doc/sending_messages.md): the partition at index `key mod n` of
 * the topic's partition ids in ascending order (the key an unsigned 32-bit number), or, while that
 * partition has no leader, the next one in that order that has (wrapping around). When none has
 * a leader, the one at `key mod n` (the record waits there for a leader). -1 when there are no partitions.
 * `partitions` must be sorted by id (sortedPartitions()).
 */
export function partitionForKey(partitionKey: number, partitions: readonly { partition: number; leader: number }[]): number {
  const count = partitions.length;
  if (count === 0) return -1;
  const start = (partitionKey >>> 0) % count;
  for (let step = 0; step < count; step++) {
    const candidate = partitions[(start + step) % count] as { partition: number; leader: number };
    if (candidate.leader >= 0) return candidate.partition;
  }
  return (partitions[start] as { partition: number }).partition;
}

/** The partitions in ascending id order (metadata lists them in whatever order the broker chose). */
export function sortedPartitions<P extends { partition: number }>(partitions: readonly P[]): readonly P[] {
  for (let i = 1; i < partitions.length; i++) {
    if ((partitions[i - 1] as P).partition > (partitions[i] as P).partition)
      return [...partitions].sort((a, b) => a.partition - b.partition);
  }
  return partitions;
}
