/**
 * npm run bench:crc — CRC-32C of the crc-32 package (JavaScript) against @node-rs/crc32 (native,
 * hardware-assisted) across input sizes. The figures decide src/records/crc32c.ts: native from
 * 512 bytes up, JavaScript below. Writes bench/results/crc32c-latest.json.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const javascript = (require('crc-32/crc32c') as { buf(data: Uint8Array, seed?: number): number }).buf;
const native = (require('@node-rs/crc32') as { crc32c(data: Uint8Array, initial?: number): number }).crc32c;

const SIZES = [64, 128, 256, 512, 1024, 4096, 16_384, 1 << 20];
const rows: { bytes: number; javascriptGBps: number; nativeGBps: number; javascriptNsPerCall: number; nativeNsPerCall: number }[] = [];

function rate(fn: (data: Uint8Array) => number, data: Uint8Array): { gbps: number; ns: number } {
  const iterations = Math.max(200, Math.floor(300_000_000 / data.length));
  for (let i = 0; i < Math.min(iterations, 20_000); i++) fn(data);
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink ^= fn(data);
  const elapsed = Number(process.hrtime.bigint() - started);
  if (sink === 0.5) console.log(sink);
  return { gbps: (data.length * iterations) / elapsed, ns: elapsed / iterations };
}

for (const size of SIZES) {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + 17) & 0xff;
  if (javascript(data) >>> 0 !== native(data) >>> 0) throw new Error(`the implementations disagree at ${size} bytes`);
  const js = rate((d) => javascript(d) >>> 0, data);
  const nat = rate((d) => native(d) >>> 0, data);
  rows.push({
    bytes: size,
    javascriptGBps: +js.gbps.toFixed(2),
    nativeGBps: +nat.gbps.toFixed(2),
    javascriptNsPerCall: Math.round(js.ns),
    nativeNsPerCall: Math.round(nat.ns),
  });
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`;
console.log(`CRC-32C on ${machine}\n`);
console.log(
  [
    'bytes'.padStart(8),
    'crc-32 (JS) GB/s'.padStart(17),
    '@node-rs/crc32 GB/s'.padStart(20),
    'ns/call JS'.padStart(11),
    'ns/call native'.padStart(14),
  ].join('  '),
);
for (const row of rows) {
  console.log(
    [
      String(row.bytes).padStart(8),
      String(row.javascriptGBps).padStart(17),
      String(row.nativeGBps).padStart(20),
      String(row.javascriptNsPerCall).padStart(11),
      String(row.nativeNsPerCall).padStart(14),
    ].join('  '),
  );
}
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}crc32c-latest.json`, `${JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2)}\n`);
