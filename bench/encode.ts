/**
 * npm run bench:encode — the record-batch encode path on one core: records appended to a
 * RecordBatchBuilder in pooled memory, the batch built (compressed when asked, CRC-32C), wrapped
 * in a Produce frame ready for the socket, and the memory released, as the producer will do.
 * Prints a table and writes bench/results/encode-latest.json.
 *
 * Bytes allocated per record are measured in a separate pass with a young generation large
 * enough that no garbage collection runs during it (checked; the figure is left out otherwise).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RecordBatchBuilder, type RecordInput } from '../src/records/batch-builder.js';
import type { CompressionName } from '../src/records/compression.js';
import { crc32c, crc32cImplementation, crc32cJavaScript, loadCrc32cNative } from '../src/records/crc32c.js';
import { encodeProduceFrame } from '../src/records/produce-frame.js';

const BATCH_SIZE = 16_384;
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

interface Result {
  name: string;
  recordsPerSec: number;
  mbPerSec: number;
  bytesAllocatedPerRecord: number | null;
}

/** Values that compress about as real JSON-ish payloads do: a repeated shape with varying fields. */
function makeValues(size: number, count: number): Buffer[] {
  const values: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const event = ['click', 'view', 'buy', 'scroll'][i % 4];
    const text = `{"id":${i},"user":"user-${(i * 7919) % 10007}","event":"${event}","ts":${1763700000000 + i},"pad":"`;
    const value = Buffer.alloc(size, 0x61 + (i % 26));
    value.write(text.slice(0, size));
    values.push(value);
  }
  return values;
}

/** Encodes `count` records into batches and Produce frames; returns the bytes of record values encoded. */
function encodeRecords(records: RecordInput[], count: number, compression: CompressionName): number {
  let builder = new RecordBatchBuilder({ compression, producerId: 1000n, producerEpoch: 0, baseSequence: 0 }, BATCH_SIZE);
  let valueBytes = 0;
  const flush = () => {
    const batch = builder.build();
    const frame = encodeProduceFrame(9, 1, 'bench', {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30_000,
      topics: [{ name: 'bench', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ index: 0, batch }] }],
    });
    frame.release();
    batch.release();
  };
  for (let i = 0; i < count; i++) {
    const record = records[i % records.length] as RecordInput;
    if (!builder.tryAppend(record)) {
      flush();
      builder = new RecordBatchBuilder({ compression, producerId: 1000n, producerEpoch: 0, baseSequence: i }, BATCH_SIZE);
      builder.tryAppend(record);
    }
    valueBytes += (record.value as Buffer).length;
  }
  flush();
  return valueBytes;
}

function measureThroughput(
  name: string,
  records: RecordInput[],
  compression: CompressionName,
  seconds: number,
): Omit<Result, 'bytesAllocatedPerRecord'> {
  encodeRecords(records, 200_000, compression); // warm up: JIT and the buffer pool
  let count = 0;
  let bytes = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  const chunk = compression === 'none' ? 500_000 : 50_000;
  while (process.hrtime.bigint() < deadline) {
    bytes += encodeRecords(records, chunk, compression);
    count += chunk;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return { name, recordsPerSec: Math.round(count / elapsed), mbPerSec: Math.round((bytes / elapsed / 1e6) * 10) / 10 };
}

function measureAllocation(records: RecordInput[], compression: CompressionName): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  let collections = 0;
  const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const count = compression === 'none' ? 200_000 : 20_000;
  encodeRecords(records, count, compression);
  gc();
  const before = process.memoryUsage();
  encodeRecords(records, count, compression);
  const after = process.memoryUsage();
  observer.disconnect();
  if (collections > 1) return null; // the gc() above is one; any other means the figure undercounts
  const allocated = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  return Math.max(0, Math.round(allocated / count));
}

function measureCrc(): Result[] {
  const data = Buffer.alloc(BATCH_SIZE);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131) & 0xff;
  const results: Result[] = [];
  loadCrc32cNative(); // what a producer in volume checksums with (src/records/crc32c.ts)
  for (const [name, fn] of [
    [`crc32c-16KiB (${crc32cImplementation()}, used)`, crc32c],
    ['crc32c-16KiB (crc-32 package, JavaScript)', crc32cJavaScript],
  ] as const) {
    for (let i = 0; i < 2000; i++) fn(data);
    const iterations = 40_000;
    const started = process.hrtime.bigint();
    let sink = 0;
    for (let i = 0; i < iterations; i++) sink ^= fn(data);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    if (sink === 0.5) console.log(sink);
    results.push({
      name,
      recordsPerSec: 0,
      mbPerSec: Math.round((data.length * iterations) / elapsed / 1e6),
      bytesAllocatedPerRecord: null,
    });
  }
  return results;
}

function main(): void {
  const quick = process.argv.includes('--quick');
  const seconds = quick ? 0.5 : 3;
  const timestamp = 1763700000000;
  const cases: { name: string; size: number; compression: CompressionName }[] = [
    { name: 'uncompressed-100B', size: 100, compression: 'none' },
    { name: 'uncompressed-1KiB', size: 1024, compression: 'none' },
    { name: 'lz4-100B', size: 100, compression: 'lz4' },
    { name: 'lz4-1KiB', size: 1024, compression: 'lz4' },
    { name: 'zstd-100B', size: 100, compression: 'zstd' },
    { name: 'snappy-100B', size: 100, compression: 'snappy' },
    { name: 'gzip-100B', size: 100, compression: 'gzip' },
  ];
  const results: Result[] = [];
  for (const entry of cases) {
    const records: RecordInput[] = makeValues(entry.size, 1024).map((value, i) => ({ key: null, value, timestamp: timestamp + i }));
    const throughput = measureThroughput(entry.name, records, entry.compression, seconds);
    results.push({ ...throughput, bytesAllocatedPerRecord: measureAllocation(records, entry.compression) });
  }
  results.push(...measureCrc());

  const memory = `${Math.round(totalmem() / 2 ** 30)} GiB`;
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${memory}, Node ${process.version}, one core`;
  console.log(`record-batch encode path (batch.size ${BATCH_SIZE}, Produce frame included) on ${machine}\n`);
  console.log(`${'case'.padEnd(44)} ${'records/s'.padStart(12)} ${'MB/s'.padStart(9)} ${'bytes alloc/record'.padStart(19)}`);
  for (const result of results) {
    console.log(
      [
        result.name.padEnd(44),
        (result.recordsPerSec ? result.recordsPerSec.toLocaleString('en-US') : '—').padStart(12),
        String(result.mbPerSec).padStart(9),
        String(result.bytesAllocatedPerRecord ?? '—').padStart(19),
      ].join(' '),
    );
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  // A quick run is a smoke test; only a full run replaces the committed figures.
  const file = quick ? 'encode-quick.json' : 'encode-latest.json';
  writeFileSync(`${RESULTS_DIR}${file}`, `${JSON.stringify({ machine, date: new Date().toISOString(), quick, results }, null, 2)}\n`);
  console.log(`\nwrote bench/results/${file}`);
}

main();
