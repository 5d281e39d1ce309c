/**
 * Dory's PartitionKey rule (doc/sending_messages.md): the partition at index `key mod n` of the
 * topic's partition ids in ascending order (the key read as an unsigned 32-bit number, as Dory's
 * router casts it), or, while that partition has no leader, the next one in that order that has
 * (wrapping around). -1 when no partition has a leader.
 */
export function partitionForKey(partitionKey: number, partitions: readonly { partition: number; leader: number }[]): number {
  const sorted = [...partitions].sort((a, b) => a.partition - b.partition);
  const count = sorted.length;
  if (count === 0) return -1;
  const start = (partitionKey >>> 0) % count;
  for (let step = 0; step < count; step++) {
    const candidate = sorted[(start + step) % count] as { partition: number; leader: number };
    if (candidate.leader >= 0) return candidate.partition;
  }
  return -1;
}
