import type { RecordInput } from '../records/batch-builder.js';
import type { ParsedRecord, RecordBatch } from '../records/batch-parser.js';
import { CheckFailure } from './context.js';

/**
 * Records whose every field is worth checking on the way back: a null key, an empty value, a
 * multi-byte UTF-8 value, binary bytes, headers (one with a null value), distinct timestamps.
 */
export function fixtureRecords(tag: string, count = 4, now = Date.now()): RecordInput[] {
  // Recent timestamps: records stamped long ago fall to the cluster's retention while the run reads them.
  const base = now - 60_000 + tag.length;
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const binary = Buffer.alloc(64 + i * 37);
    for (let b = 0; b < binary.length; b++) binary[b] = (b * 31 + i * 7 + tag.length) & 0xff;
    records.push({
      key: i === 0 ? null : Buffer.from(`${tag}-key-${i}`),
      value: i === 1 ? Buffer.alloc(0) : i === 2 ? Buffer.from(`${tag} ünïcødé ✓ ${i}`) : binary,
      headers:
        i === 3
          ? []
          : [
              { key: 'kw-conformance', value: Buffer.from(tag) },
              { key: `h${i}`, value: i === 2 ? null : Buffer.from([i, 0, 255]) },
            ],
      timestamp: base + i * 17,
    });
  }
  return records;
}

const bytes = (payload: RecordInput['key']): Buffer | null =>
  payload === null ? null : typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

const show = (value: Buffer | null) => (value === null ? 'null' : `0x${value.subarray(0, 24).toString('hex')}`);

/**
 * Checks that the batches hold `expected` at offsets from `baseOffset` on, field by field
 * (key, value, headers, timestamp); returns how many records it compared.
 */
export function compareRecords(batches: readonly RecordBatch[], baseOffset: bigint, expected: readonly RecordInput[]): number {
  const byOffset = new Map<bigint, ParsedRecord>();
  for (const batch of batches) {
    if (batch.isControl) continue;
    for (const record of batch.records()) byOffset.set(record.offset, record);
  }
  expected.forEach((want, i) => {
    const offset = baseOffset + BigInt(i);
    const got = byOffset.get(offset);
    if (!got) throw new CheckFailure(`offset ${offset} was not in the fetched batches (${byOffset.size} records came back)`);
    const wantKey = bytes(want.key);
    const wantValue = bytes(want.value);
    if (!sameBytes(got.key, wantKey)) throw new CheckFailure(`offset ${offset}: key ${show(got.key)}, expected ${show(wantKey)}`);
    if (!sameBytes(got.value, wantValue)) throw new CheckFailure(`offset ${offset}: value ${show(got.value)}, expected ${show(wantValue)}`);
    if (got.timestamp !== BigInt(want.timestamp))
      throw new CheckFailure(`offset ${offset}: timestamp ${got.timestamp}, expected ${want.timestamp}`);
    const wantHeaders = want.headers ?? [];
    const headersMatch =
      got.headers.length === wantHeaders.length &&
      wantHeaders.every(
        (header, h) =>
          got.headers[h]?.key === header.key &&
          sameBytes(got.headers[h]?.value ?? null, header.value === null ? null : Buffer.from(header.value)),
      );
    if (!headersMatch)
      throw new CheckFailure(
        `offset ${offset}: headers ${JSON.stringify(got.headers.map((header) => [header.key, show(header.value)]))} differ from ` +
          JSON.stringify(wantHeaders.map((header) => [header.key, show(header.value === null ? null : Buffer.from(header.value))])),
      );
  });
  return expected.length;
}
