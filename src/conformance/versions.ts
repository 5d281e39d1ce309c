import type { VersionPair } from './report.js';

/** Version ranges as ApiVersions and our codecs state them: both ends inclusive. */

/** The versions both sides speak, or null when the ranges do not meet (or the broker offers none). */
export function intersect(ours: VersionPair, broker: VersionPair | null): VersionPair | null {
  if (broker === null) return null;
  const low = Math.max(ours[0], broker[0]);
  const high = Math.min(ours[1], broker[1]);
  return low <= high ? [low, high] : null;
}

/** Every version of a range, ascending; none for null. */
export function versionsOf(range: VersionPair | null): number[] {
  if (range === null) return [];
  return Array.from({ length: range[1] - range[0] + 1 }, (_, i) => range[0] + i);
}

/** The versions the broker offers that kafka-wire has no codec for (below or above ours), ascending. */
export function brokerOnly(ours: VersionPair, broker: VersionPair | null): number[] {
  return versionsOf(broker).filter((version) => version < ours[0] || version > ours[1]);
}
