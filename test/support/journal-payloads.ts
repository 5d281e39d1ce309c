import type { JournalEntry } from '../../src/durable/segment-reader.js';

/** The entries the journal's tests write, known by id, so anything read back can be checked. */

/** The payload the tests write as entry `id`: its length (0-199 bytes) and bytes follow from the id. */
export function payloadFor(id: number, size = (id * 7919) % 200): Buffer {
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (id * 31 + i * 17) & 0xff;
  return payload;
}

export function typeFor(id: number): number {
  return id % 256;
}

/** Whether each entry holds the test payload (and type) of its id. */
export function allGenuine(entries: readonly JournalEntry[], size?: (id: number) => number): boolean {
  return entries.every((entry) => entry.type === typeFor(entry.id) && entry.payload.equals(payloadFor(entry.id, size?.(entry.id))));
}
