/**
 * The durable producer beside the in-memory one (issue 13): the same records to the same broker,
 * each variant in a process of its own, alternating, and every run checked by the topic's end
 * offsets (exactly the records sent, no more). Figures: records/s from the first enqueue to the
 * last acknowledgement, CPU per record, and the p50/p99 latency of acceptance (enqueue() →
 * durable by `sync`; for the in-memory producer, send() → acknowledged, its only moment).
 *
 *   npm run bench:durable [-- --count N] [--rounds R] [--variants memory,none,interval,always]
 *
 * With KAFKA_BOOTSTRAP it uses that broker; else it starts an embedded one (kafka-wire/testing).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const VARIANTS = ['memory', 'none', 'interval', 'always'] as const;
type Variant = (typeof VARIANTS)[number];
const SIZE = 100;
const PARTITIONS = 6;
/** Records handed over per step, and how many may await acceptance (or acknowledgement) at once. */
const CHUNK = 1000;
const WINDOW = 20_000;

interface Result {
  variant: Variant;
  records: number;
  elapsedMs: number;
  cpuUsPerRecord: number;
  acceptP50Ms: number;
  acceptP99Ms: number;
  maxRssMb: number;
}

async function child(variant: Variant, bootstrap: string, topic: string, count: number): Promise<Result> {
  const { DurableProducer, Producer } = await import('../src/index.js');
  const value = Buffer.alloc(SIZE, 'x');
  const latencies = new Float64Array(count);
  const dir = variant === 'memory' ? undefined : mkdtempSync(join(tmpdir(), 'kw-bench-durable-'));
  const options = { bootstrap, lingerMs: 5, batchSize: 256 * 1024, bufferMemory: 64 * 1024 * 1024 };
  const memory = dir ? undefined : new Producer(options);
  const durable = dir ? await DurableProducer.open({ ...options, durable: { dir, sync: variant as 'none' } }) : undefined;
  await memory?.connect([topic]);
  const cpu = process.cpuUsage();
  const started = performance.now();
  let waiting = 0;
  let wake: (() => void) | undefined;
  const settled = () => {
    waiting--;
    if (waiting < WINDOW / 2) wake?.();
  };
  for (let from = 0; from < count; from += CHUNK) {
    while (waiting >= WINDOW) await new Promise<void>((resolve) => (wake = resolve));
    const at = performance.now();
    for (let i = from; i < Math.min(count, from + CHUNK); i++) {
      waiting++;
      const record = { topic, value };
      const accepted: Promise<unknown> = durable ? durable.enqueue(record) : (memory as InstanceType<typeof Producer>).send(record);
      accepted.then(() => {
        latencies[i] = performance.now() - at;
        settled();
      }, settled);
    }
  }
  if (durable) await durable.flush();
  else await memory?.flush();
  while (waiting > 0) await new Promise<void>((resolve) => (wake = resolve));
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await durable?.close();
  await memory?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  const sorted = latencies.sort();
  return {
    variant,
    records: count,
    elapsedMs,
    cpuUsPerRecord: (used.user + used.system) / count,
    acceptP50Ms: sorted[Math.floor(count * 0.5)] ?? 0,
    acceptP99Ms: sorted[Math.floor(count * 0.99)] ?? 0,
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000000' },
      rounds: { type: 'string', default: '3' },
      variants: { type: 'string', default: VARIANTS.join(',') },
      child: { type: 'string' },
      bootstrap: { type: 'string' },
      topic: { type: 'string' },
    },
  });
  const count = Number(values.count);
  if (values.child) {
    const result = await child(values.child as Variant, values.bootstrap as string, values.topic as string, count);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
  const variants = (values.variants as string).split(',') as Variant[];
  for (const variant of variants) if (!VARIANTS.includes(variant)) throw new Error(`no variant "${variant}"; there are ${VARIANTS}`);
  const { startKafka, stopKafka } = await import('../src/testing/index.js');
  const external = process.env.KAFKA_BOOTSTRAP;
  const bootstrap = external ?? (await startKafka({ name: 'bench-durable' })).bootstrap;
  const { Admin, Cluster } = await import('../src/index.js');
  const cluster = await Cluster.connect({ bootstrap });
  const admin = new Admin(cluster);
  const results: Result[] = [];
  try {
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const variant of variants) {
        const topic = `bench-durable-${variant}-${Date.now().toString(36)}`;
        await admin.createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
        const run = spawnSync(
          process.execPath,
          [
            '--import',
            'tsx',
            fileURLToPath(import.meta.url),
            '--child',
            variant,
            '--bootstrap',
            bootstrap,
            '--topic',
            topic,
            '--count',
            String(count),
          ],
          { encoding: 'utf8', maxBuffer: 16 << 20 },
        );
        const line = run.stdout.trim().split('\n').at(-1) ?? '';
        if (run.status !== 0 || !line.startsWith('{')) throw new Error(`${variant} failed: ${run.stderr.slice(-2000)}`);
        const result = JSON.parse(line) as Result;
        const offsets = await admin.listOffsets(topic, 'latest');
        const written = offsets.reduce((sum, entry) => sum + Number(entry.offset), 0);
        if (written !== count) throw new Error(`${variant}: the topic holds ${written} records, not ${count}`);
        results.push(result);
        console.log(
          `round ${round} ${variant.padEnd(8)} ${Math.round((count / result.elapsedMs) * 1000).toLocaleString('en')} records/s, ` +
            `${result.cpuUsPerRecord.toFixed(2)} µs CPU/record, acceptance p50 ${result.acceptP50Ms.toFixed(1)} / p99 ` +
            `${result.acceptP99Ms.toFixed(1)} ms, peak RSS ${result.maxRssMb} MB (checked: ${written} in the topic)`,
        );
      }
    }
  } finally {
    cluster.close();
    if (!external) await stopKafka('bench-durable');
  }
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;
  console.log('\n| variant | records/s (median) | CPU µs/record | acceptance p99 ms | peak RSS MB |\n|---|---:|---:|---:|---:|');
  for (const variant of variants) {
    const mine = results.filter((result) => result.variant === variant);
    const rate = median(mine.map((result) => (count / result.elapsedMs) * 1000));
    console.log(
      `| ${variant} | ${Math.round(rate).toLocaleString('en')} | ${median(mine.map((r) => r.cpuUsPerRecord)).toFixed(2)} | ` +
        `${median(mine.map((r) => r.acceptP99Ms)).toFixed(1)} | ${median(mine.map((r) => r.maxRssMb))} |`,
    );
  }
}

await main();
