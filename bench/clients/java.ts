/**
 * The Java client, through Kafka's own perf tool (org.apache.kafka.tools.ProducerPerformance,
 * i.e. kafka-producer-perf-test) from the broker's jars, on the JDK on the PATH, with the JVM
 * flags its script uses. It sends keyless records only (it has no key option), so a keyed run
 * goes keyless and says so in a "note". The values are our recordValues(), one per line of a
 * --payload-file (it picks one at random per record; the others cycle through the same values),
 * so records carry the same bytes as in the other clients (with --record-size it would draw
 * fresh random letters for every record).
 *
 * Its lines are translated: each periodic "N records sent, ..." line (N acknowledged in that
 * interval) adds to {"progress"}; the summary line gives the done line (elapsedMs from its
 * records/sec; its percentiles are whole milliseconds). CPU and peak RSS are the JVM's own,
 * read from /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmHWM) every 100 ms while
 * it runs, and reported as the last values seen (so the last <100 ms are missed). cpuUs counts
 * from its "Number of records read" line, printed once the JVM is up and before it creates its
 * producer, like the Node clients' count from the workload's start; jvmCpuUs includes the JVM's
 * start-up (about a CPU second of class loading and JIT). That line is also when it says
 * {"started"}, and its done line comes once the JVM has exited: the orchestrator's window for the
 * broker's CPU and the machine's load is that of cpuUs.
 *
 * In transactions (--transactional-id) the tool commits by time, not by record count: it commits
 * once --transaction-duration-ms has passed since the transaction began, then begins the next.
 * Its initTransactions() comes before its clock starts, as in the other clients, but inside
 * cpuUs, like the creation of its producer.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { JVM_FLAGS } from './jvm.js';
import { type DoneLine, emit, readConfig, recordValues, runClient } from './kit.js';

/**
 * The shortest transaction the tool allows (a whole number of milliseconds above 0). On the
 * bench machine that made transactions of about 950 to 1,330 records on average, against the
 * scenario's 1,000 (bench/README.md says how that was counted).
 */
const TRANSACTION_DURATION_MS = 1;

const WINDOW_LINE = /^(\d+) records sent, [\d.]+ records\/sec .* max latency\.$/;
const SUMMARY_LINE = new RegExp(
  String.raw`^(\d+) records sent, ([\d.]+) records/sec \(.*\), ([\d.]+) ms avg latency, [\d.]+ ms max latency, ` +
    String.raw`(\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$`,
);
/** With --warmup-records the tool prints this one after the summary: the records after the warm-up. */
const STEADY_LINE = /^(\d+) steady state records sent, .* ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$/;

/** CPU micros (user + system) and peak RSS in MiB of a live process, or undefined once it has exited. */
function sample(pid: number, ticksPerSecond: number): { cpuUs: number; maxRssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
    const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 and 15: utime, stime
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (!hwm) return undefined; // a zombie: its memory lines are gone
    return { cpuUs: Math.round((ticks * 1e6) / ticksPerSecond), maxRssMb: Math.round(Number(hwm[1]) / 1024) };
  } catch {
    return undefined;
  }
}

runClient(async () => {
  const config = readConfig();
  const dir = mkdtempSync(join(tmpdir(), 'bench-java-'));
  const payload = join(dir, 'payload.txt');
  writeFileSync(payload, recordValues(config.size).join('\n'));
  const props = {
    acks: config.acks === 'all' ? 'all' : '1',
    'enable.idempotence': String(config.idempotent),
    'compression.type': config.compression,
    'linger.ms': String(config.lingerMs),
    'batch.size': String(config.batchSize),
    'max.in.flight.requests.per.connection': String(config.maxInFlight),
    'retry.backoff.ms': String(config.retryBackoffMs),
  };
  const args = [
    ...JVM_FLAGS,
    '-cp',
    `${config.kafkaLibDir}/*`,
    'org.apache.kafka.tools.ProducerPerformance',
    '--bootstrap-server',
    config.bootstrap,
    '--topic',
    config.topic,
    '--num-records',
    String(config.count),
    '--payload-file',
    payload,
    '--throughput',
    String(config.rate > 0 ? config.rate : -1),
    '--reporting-interval',
    '250',
    ...(config.warmupRecords ? ['--warmup-records', String(config.warmupRecords)] : []),
    ...(config.transactionalId
      ? ['--transactional-id', config.transactionalId, '--transaction-duration-ms', String(TRANSACTION_DURATION_MS)]
      : []),
    '--command-property',
    ...Object.entries(props).map(([key, value]) => `${key}=${value}`),
  ];
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const java = spawn('java', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve, reject) => java.once('error', reject).once('close', resolve));
  const pid = java.pid ?? 0;
  let last = sample(pid, ticksPerSecond);
  const poller = setInterval(() => (last = sample(pid, ticksPerSecond) ?? last), 100);

  let atStart: { cpuUs: number } | undefined;
  let progress = 0;
  let summary: RegExpExecArray | undefined;
  let steady: RegExpExecArray | undefined;
  createInterface({ input: java.stdout }).on('line', (text) => {
    const window = WINDOW_LINE.exec(text);
    const total = SUMMARY_LINE.exec(text);
    const steadyTotal = STEADY_LINE.exec(text);
    if (window) emit({ progress: (progress += Number(window[1])) });
    else if (total) summary = total;
    else if (steadyTotal) steady = steadyTotal;
    else {
      if (text.startsWith('Number of records read')) {
        atStart = sample(pid, ticksPerSecond);
        emit({ started: true }); // as kit's startClock() does, for the orchestrator's window
      }
      process.stderr.write(`java: ${text}\n`);
    }
  });
  const code = await exited.finally(() => {
    clearInterval(poller);
    rmSync(dir, { recursive: true, force: true });
  });
  if (!summary) throw new Error(`ProducerPerformance exited with ${code} without its summary line`);
  if (config.warmupRecords && !steady) throw new Error(`ProducerPerformance exited with ${code} without its steady-state line`);
  const acked = Number(summary[1]);
  const wholeRun = { p50: Number(summary[4]), p99: Number(summary[5]), p999: Number(summary[6]) };
  const line: DoneLine = {
    acked,
    failed: config.count - acked,
    elapsedMs: Math.round((config.count / Number(summary[2])) * 1e6) / 1000,
    latencyMs: steady ? { p50: Number(steady[2]), p99: Number(steady[3]), p999: Number(steady[4]) } : wholeRun,
    wholeRunLatencyMs: steady ? wholeRun : undefined,
    cpuUs: (last?.cpuUs ?? 0) - (atStart?.cpuUs ?? 0),
    maxRssMb: last?.maxRssMb ?? 0,
  };
  emit({ done: true, ...line, jvmCpuUs: last?.cpuUs ?? 0, ...(config.keyed ? { note: 'keyless only' } : {}) });
});
