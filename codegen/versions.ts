/** An inclusive version range; `none` is the empty range. */
export interface VersionRange {
  min: number;
  max: number;
}

export const NO_VERSIONS: VersionRange = { min: 0, max: -1 };
export const OPEN_END = 0x7fff;

/** Parses "3", "3+", "0-7" or "none". */
export function parseRange(text: string): VersionRange {
  if (text === 'none') return NO_VERSIONS;
  const plus = /^(\d+)\+$/.exec(text);
  if (plus) return { min: Number(plus[1]), max: OPEN_END };
  const span = /^(\d+)-(\d+)$/.exec(text);
  if (span) return { min: Number(span[1]), max: Number(span[2]) };
  if (/^\d+$/.test(text)) return { min: Number(text), max: Number(text) };
  throw new Error(`"${text}" is not a version range (expected N, N+, N-M or none)`);
}

export function formatRange(range: VersionRange): string {
  if (isEmpty(range)) return 'none';
  if (range.max >= OPEN_END) return `${range.min}+`;
  return range.min === range.max ? `${range.min}` : `${range.min}-${range.max}`;
}

export function isEmpty(range: VersionRange): boolean {
  return range.max < range.min;
}

export function contains(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  const result = { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
  return isEmpty(result) ? NO_VERSIONS : result;
}

/** True when every version of `outer` lies in `inner`. */
export function covers(inner: VersionRange, outer: VersionRange): boolean {
  return isEmpty(outer) || (inner.min <= outer.min && inner.max >= outer.max);
}
