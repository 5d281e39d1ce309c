import { mkdirSync, writeFileSync } from 'node:fs';
import type { DoneLine } from './clients/kit.js';
import type { WindowLoad } from './load.js';
import { DURABLE_BASELINE, type Scenario } from './scenarios.js';

/** One client's run of one scenario in one round. */
export interface RunResult {
  client: string;
  scenario: string;
  round: number;
  skipped?: string;
  valid?: boolean;
  invalidReason?: string;
  recordsPerSec?: number;
  mbPerSec?: number;
  cpuUsPerRecord?: number;
  /** The broker JVM's CPU time (user + system) over the run's timed window, per record acknowledged; absent for an external broker. */
  brokerCpuUsPerRecord?: number;
  /** Of brokerCpuUsPerRecord, the broker's time in the kernel (WindowLoad.brokerSystemCpuUs). */
  brokerSystemUsPerRecord?: number;
  /** The share of all the machine's cores busy (neither idle nor waiting for I/O) over the run's timed window, 0–1. */
  machineBusy?: number;
  rssMb?: number;
  latencyMs?: { p50: number; p99: number; p999: number };
  /** Paced runs with a warm-up: the percentiles of every record (latencyMs is of the steady state). */
  wholeRunLatencyMs?: { p50: number; p99: number; p999: number };
  /** kafka-wire's paced runs: its Produce requests' send-to-answer times (DoneLine.requestLatencyMs). */
  requestLatencyMs?: { p50: number; p99: number; p999: number };
  /**
   * Transactional runs: offsets of the topic that hold no committed record. In a valid run these
   * are the commit markers, one per partition a transaction wrote to.
   */
  markers?: number;
  /** Read runs: how the client reads (a consumer group or not, which call). */
  readPath?: string;
  /** A peer's run that ended without a result and was run once more: why the first attempt ended. */
  retriedAfter?: string;
  /**
   * Produce runs on the embedded broker: the bytes its log holds for the run's topic per record
   * sent (batch headers, compression and any transaction markers included).
   */
  logBytesPerRecord?: number;
}

/** A client's figures for a scenario: medians over the rounds (peak RSS: the largest). */
export interface ClientResult {
  client: string;
  recordsPerSec: number;
  mbPerSec: number;
  cpuUsPerRecord: number;
  /** Median over the rounds that measured it; absent when none did (an external broker). */
  brokerCpuUsPerRecord?: number;
  /** Median over the rounds of the broker's time in the kernel per record. */
  brokerSystemUsPerRecord?: number;
  /** Median over the rounds of the share of all cores busy, 0–1. */
  machineBusy?: number;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  /** Paced scenarios with a warm-up: the median over the rounds of the whole run's p99 (p99Ms is the steady state's). */
  wholeRunP99Ms?: number;
  /** kafka-wire's paced runs: medians over the rounds of its Produce round trips' percentiles. */
  requestLatencyMs?: { p50: number; p99: number; p999: number };
  rssMb: number;
  valid: boolean;
  invalidReason?: string;
  rounds: number;
  /** Read scenarios: how the client reads. */
  readPath?: string;
  /** Median over the rounds that measured it (produce runs on the embedded broker). */
  logBytesPerRecord?: number;
}

export interface Report {
  machine: string;
  kafkaVersion: string;
  date: string;
  command: string;
  quick: boolean;
  rounds: number;
  scenarios: {
    name: string;
    summary: string;
    paced: boolean;
    /** The durable producer's sync mode, for a durable scenario: its latency figures are of acceptance. */
    durable?: string;
    /** Sent through kafka-wire daemon: CPU is the daemon process's. */
    daemon?: boolean;
    /** A read scenario: records/s are records read. */
    read?: boolean;
    results: ClientResult[];
    skipped: { client: string; reason: string }[];
  }[];
  runs: RunResult[];
}

const HOME = 'kafka-wire';

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const round = (value: number, digits: number) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);

/** The median of the figures the runs have, rounded; undefined when none has one. */
function medianOfPresent(values: (number | undefined)[], digits: number): number | undefined {
  const present = values.filter((value): value is number => value !== undefined);
  return present.length > 0 ? round(median(present), digits) : undefined;
}

/**
 * A run's figures and whether it is valid: every record acknowledged and none failed, and the
 * topic holding exactly the workload. That is judged by the sum of its end offsets (`written`),
 * or, for a transactional run, by the records a read_committed reader sees (`committed`), since
 * transaction markers take offsets too. -1 stands for a topic that could not be read. A read run
 * is valid when it read exactly the workload and its checksum is the topic's (`checksum`).
 */
export function runResult(
  run: { client: string; scenario: Scenario; round: number; readPath?: string },
  outcome: { done?: DoneLine; error?: string; load?: WindowLoad },
  topic: { written: number; committed?: number; checksum?: number; logBytes?: number },
): RunResult {
  const { scenario } = run;
  const base = { client: run.client, scenario: scenario.name, round: run.round, readPath: run.readPath };
  const line = outcome.done;
  if (!line) return { ...base, valid: false, invalidReason: outcome.error ?? 'no result' };
  const reasons: string[] = [];
  const what = scenario.read ? { failed: 'reads failed', counted: 'read' } : { failed: 'sends failed', counted: 'acknowledged' };
  if (line.failed > 0) reasons.push(`${line.failed} ${what.failed}${line.firstError ? ` (${line.firstError.slice(0, 160)})` : ''}`);
  if (line.acked !== scenario.count) reasons.push(`${line.acked} of ${scenario.count} ${what.counted}`);
  if (topic.checksum !== undefined && line.checksum !== topic.checksum)
    reasons.push(`checksum ${line.checksum ?? 'missing'}, the topic's is ${topic.checksum}`);
  if (topic.committed === undefined && topic.written !== scenario.count)
    reasons.push(`the topic holds ${topic.written} records, expected ${scenario.count}`);
  if (topic.committed !== undefined && topic.committed !== scenario.count)
    reasons.push(`a read_committed reader sees ${topic.committed} records, expected ${scenario.count}`);
  const seconds = line.elapsedMs / 1000;
  const counted = topic.committed !== undefined && topic.committed >= 0 && topic.written >= 0;
  const brokerCpuUs = outcome.load?.brokerCpuUs;
  const brokerSystemCpuUs = outcome.load?.brokerSystemCpuUs;
  return {
    ...base,
    valid: reasons.length === 0,
    invalidReason: reasons.length > 0 ? reasons.join('; ') : undefined,
    recordsPerSec: scenario.count / seconds,
    mbPerSec: (scenario.count * scenario.size) / seconds / 1e6,
    cpuUsPerRecord: line.cpuUs / scenario.count,
    brokerCpuUsPerRecord: brokerCpuUs !== undefined && line.acked > 0 ? brokerCpuUs / line.acked : undefined,
    brokerSystemUsPerRecord: brokerSystemCpuUs !== undefined && line.acked > 0 ? brokerSystemCpuUs / line.acked : undefined,
    machineBusy: outcome.load?.machineBusy,
    rssMb: line.maxRssMb,
    latencyMs: line.latencyMs ?? undefined,
    wholeRunLatencyMs: line.wholeRunLatencyMs ?? undefined,
    requestLatencyMs: line.requestLatencyMs ?? undefined,
    markers: counted ? topic.written - (topic.committed as number) : undefined,
    logBytesPerRecord: topic.logBytes !== undefined && topic.logBytes > 0 ? topic.logBytes / scenario.count : undefined,
  };
}

export function aggregate(input: {
  machine: string;
  kafkaVersion: string;
  quick: boolean;
  rounds: number;
  command: string;
  scenarios: Scenario[];
  runs: RunResult[];
}): Report {
  const scenarios = input.scenarios.map((scenario) => {
    const ofScenario = input.runs.filter((run) => run.scenario === scenario.name);
    const clients = [...new Set(ofScenario.map((run) => run.client))];
    const skipped = clients.flatMap((client) => {
      const reason = ofScenario.find((run) => run.client === client && run.skipped)?.skipped;
      return reason ? [{ client, reason }] : [];
    });
    const results = clients
      .filter((client) => !skipped.some((entry) => entry.client === client))
      .map((client): ClientResult => {
        const runs = ofScenario.filter((run) => run.client === client);
        const measured = runs.filter((run) => run.recordsPerSec !== undefined);
        const invalid = runs.filter((run) => !run.valid);
        const latency = (pick: (l: NonNullable<RunResult['latencyMs']>) => number) => {
          const values = measured.flatMap((run) => (run.latencyMs ? [pick(run.latencyMs)] : []));
          return (scenario.rate > 0 || scenario.durable) && values.length > 0 ? round(median(values), 2) : null;
        };
        return {
          client,
          recordsPerSec: Math.round(median(measured.map((run) => run.recordsPerSec as number))),
          mbPerSec: round(median(measured.map((run) => run.mbPerSec as number)), 1),
          cpuUsPerRecord: round(median(measured.map((run) => run.cpuUsPerRecord as number)), 2),
          brokerCpuUsPerRecord: medianOfPresent(
            measured.map((run) => run.brokerCpuUsPerRecord),
            2,
          ),
          brokerSystemUsPerRecord: medianOfPresent(
            measured.map((run) => run.brokerSystemUsPerRecord),
            2,
          ),
          machineBusy: medianOfPresent(
            measured.map((run) => run.machineBusy),
            3,
          ),
          p50Ms: latency((l) => l.p50),
          p99Ms: latency((l) => l.p99),
          p999Ms: latency((l) => l.p999),
          wholeRunP99Ms: medianOfPresent(
            measured.map((run) => run.wholeRunLatencyMs?.p99),
            2,
          ),
          requestLatencyMs: requestLatency(measured),
          rssMb: Math.max(0, ...measured.map((run) => run.rssMb ?? 0)),
          valid: invalid.length === 0 && measured.length > 0,
          invalidReason: invalid.length > 0 ? invalid.map((run) => `round ${run.round}: ${run.invalidReason}`).join('; ') : undefined,
          rounds: runs.length,
          readPath: runs.find((run) => run.readPath)?.readPath,
          logBytesPerRecord: medianOfPresent(
            measured.map((run) => run.logBytesPerRecord),
            1,
          ),
        };
      });
    const { name, summary, durable, daemon, read } = scenario;
    return { name, summary, paced: scenario.rate > 0, durable, daemon, read, results, skipped };
  });
  return {
    machine: input.machine,
    kafkaVersion: input.kafkaVersion,
    date: new Date().toISOString(),
    command: input.command,
    quick: input.quick,
    rounds: input.rounds,
    scenarios,
    runs: input.runs,
  };
}

/** Medians over the rounds of the Produce round-trip percentiles; absent when no round measured them. */
function requestLatency(runs: RunResult[]): ClientResult['requestLatencyMs'] {
  const measured = runs.flatMap((run) => (run.requestLatencyMs ? [run.requestLatencyMs] : []));
  if (measured.length === 0) return undefined;
  const at = (pick: (l: NonNullable<RunResult['requestLatencyMs']>) => number) => round(median(measured.map(pick)), 2);
  return { p50: at((l) => l.p50), p99: at((l) => l.p99), p999: at((l) => l.p999) };
}

const count = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');

/** The headings of cpuCells(). */
const CPU_HEADINGS = 'CPU µs/record | broker CPU µs/record (in the kernel) | machine busy %';

/** CPU µs/record, then the broker's and the machine's figures beside it ('–' where not measured). */
function cpuCells(result: ClientResult): string[] {
  const kernel = result.brokerSystemUsPerRecord === undefined ? '' : ` (${result.brokerSystemUsPerRecord})`;
  const broker = result.brokerCpuUsPerRecord === undefined ? '–' : `${result.brokerCpuUsPerRecord}${kernel}`;
  const busy = result.machineBusy === undefined ? '–' : (result.machineBusy * 100).toFixed(0);
  return [String(result.cpuUsPerRecord), broker, busy];
}

/**
 * Markdown: one row per client and scenario. "kafka-wire ×" is kafka-wire's records/s divided
 * by the client's (above 1: kafka-wire is faster); in the paced scenario it is the client's p99
 * divided by kafka-wire's (above 1: kafka-wire answers sooner). "broker CPU µs/record" and
 * "machine busy %" are of the run's timed window: with the client's CPU they show whether the
 * shared cores, rather than the client, set the pace. "log B/record" is what the broker's log holds
 * per record sent (batch overhead and compression included): a client cannot look fast by
 * compressing less without it showing there.
 */
export function markdownTable(report: Report): string {
  const rows = [
    `| scenario | client | records/s | MB/s | kafka-wire × | ${CPU_HEADINGS} | peak RSS MB | log B/record | p50 / p99 / p99.9 ms |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const scenario of report.scenarios.filter((scenario) => !scenario.durable && !scenario.read)) {
    const home = scenario.results.find((result) => result.client === HOME);
    for (const result of scenario.results) {
      let ratio = '–';
      if (home && result.client !== HOME) {
        if (scenario.paced && home.p99Ms && result.p99Ms) ratio = `${(result.p99Ms / home.p99Ms).toFixed(2)}`;
        else if (!scenario.paced) ratio = `${(home.recordsPerSec / result.recordsPerSec).toFixed(2)}`;
      }
      const wholeRun = result.wholeRunP99Ms === undefined ? '' : ` (whole run: p99 ${result.wholeRunP99Ms})`;
      const latency = result.p50Ms === null ? '' : `${result.p50Ms} / ${result.p99Ms} / ${result.p999Ms}${wholeRun}`;
      const name = result.client === HOME ? `**${HOME}**` : result.client;
      const valid = result.valid ? '' : ' ⚠ invalid';
      const logBytes = result.logBytesPerRecord === undefined ? '–' : String(result.logBytesPerRecord);
      const measured = [count(result.recordsPerSec), String(result.mbPerSec), ratio, ...cpuCells(result), String(result.rssMb), logBytes];
      const cells = [`${name}${valid}`, ...measured, latency];
      rows.push(`| ${scenario.name} | ${cells.join(' | ')} |`);
    }
    for (const entry of scenario.skipped)
      rows.push(`| ${scenario.name} | ${entry.client} | – | – | – | – | – | – | – | – | not run: ${entry.reason} |`);
  }
  const roundTrips = report.scenarios.flatMap((scenario) => {
    const home = scenario.paced ? scenario.results.find((result) => result.client === HOME) : undefined;
    const trips = home?.requestLatencyMs;
    return trips
      ? [
          `${scenario.name}: ${HOME}'s Produce requests took ${trips.p50} / ${trips.p99} / ${trips.p999} ms (p50 / p99 / p99.9) ` +
            "from being sent to being answered (medians of the rounds): the part of its records' latency spent waiting for the broker.",
        ]
      : [];
  });
  if (rows.length > 2 && roundTrips.length > 0) rows.push('', ...roundTrips);
  const tables = [rows.length > 2 ? rows.join('\n') : '', readTable(report), durableTable(report)].filter((table) => table);
  const invalid = report.scenarios.flatMap((scenario) =>
    scenario.results.filter((result) => !result.valid).map((result) => `- ${scenario.name} · ${result.client}: ${result.invalidReason}`),
  );
  const retried = report.runs
    .filter((run) => run.retriedAfter)
    .map((run) => `- ${run.scenario} · ${run.client}, round ${run.round}: ${run.retriedAfter}`);
  return (
    tables.join('\n\n') +
    (invalid.length > 0 ? `\n\nInvalid results:\n${invalid.join('\n')}` : '') +
    (retried.length > 0
      ? `\n\nPeer runs retried once after ending without a result (the retry's figures are the ones above):\n${retried.join('\n')}`
      : '')
  );
}

/**
 * The read scenarios: records/s read from offset 0 to the end offsets, "kafka-wire ×" as in the
 * produce table, and how each client reads. Empty when the run had no read scenario.
 */
export function readTable(report: Report): string {
  const read = report.scenarios.filter((scenario) => scenario.read);
  if (read.length === 0) return '';
  const rows = [
    `| read scenario | client | records/s | MB/s | kafka-wire × | ${CPU_HEADINGS} | peak RSS MB | how it reads |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const scenario of read) {
    const home = scenario.results.find((result) => result.client === HOME);
    for (const result of scenario.results) {
      const ratio = home && result.client !== HOME ? (home.recordsPerSec / result.recordsPerSec).toFixed(2) : '–';
      const name = `${result.client === HOME ? `**${HOME}**` : result.client}${result.valid ? '' : ' ⚠ invalid'}`;
      const measured = [count(result.recordsPerSec), String(result.mbPerSec), ratio, ...cpuCells(result), String(result.rssMb)];
      rows.push(`| ${scenario.name} | ${[name, ...measured, result.readPath ?? ''].join(' | ')} |`);
    }
    for (const entry of scenario.skipped)
      rows.push(`| ${scenario.name} | ${entry.client} | – | – | – | – | – | – | – | not run: ${entry.reason} |`);
  }
  return rows.join('\n');
}

/**
 * kafka-wire's durable producer beside its in-memory one (DURABLE_BASELINE, the same records and
 * settings): records/s up to the last acknowledgement, their share of the in-memory figure, and
 * the latency of acceptance. Empty when the run had no durable scenario.
 */
export function durableTable(report: Report): string {
  const durable = report.scenarios.filter((scenario) => scenario.durable);
  if (durable.length === 0) return '';
  const baseline = report.scenarios.find((scenario) => scenario.name === DURABLE_BASELINE)?.results.find((r) => r.client === HOME);
  const rows = [
    `| kafka-wire producer | records/s | of in-memory | ${CPU_HEADINGS} | peak RSS MB | acceptance p50 / p99 / p99.9 ms |`,
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  if (baseline) {
    const cells = [count(baseline.recordsPerSec), '1.00', ...cpuCells(baseline), String(baseline.rssMb), '(send → ack only)'];
    rows.push(`| in memory (${DURABLE_BASELINE})${baseline.valid ? '' : ' ⚠ invalid'} | ${cells.join(' | ')} |`);
  }
  for (const scenario of durable) {
    const result = scenario.results.find((r) => r.client === HOME);
    if (!result) continue;
    const share = baseline ? (result.recordsPerSec / baseline.recordsPerSec).toFixed(2) : '–';
    const latency = result.p50Ms === null ? '' : `${result.p50Ms} / ${result.p99Ms} / ${result.p999Ms}`;
    const cells = [count(result.recordsPerSec), share, ...cpuCells(result), String(result.rssMb), latency];
    const what = scenario.daemon ? `daemon (stream socket), sync ${scenario.durable}, daemon CPU` : `durable, sync ${scenario.durable}`;
    rows.push(`| ${what}${result.valid ? '' : ' ⚠ invalid'} | ${cells.join(' | ')} |`);
  }
  return rows.join('\n');
}

const COLORS: Record<string, string> = {
  'kafka-wire': '#d9480f',
  '@platformatic/kafka': '#1c7ed6',
  kafkajs: '#37b24d',
  'confluent-kafka-javascript': '#7048e8',
  'java (ProducerPerformance)': '#868e96',
  'java (KafkaConsumer)': '#868e96',
};
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A bar chart: records/s per client for each throughput scenario, and p99 latency for the paced one. */
export function svgChart(report: Report): string {
  const width = 860;
  const labelWidth = 230;
  const barArea = width - labelWidth - 110;
  const bar = 14;
  const parts: string[] = [];
  let y = 48;
  for (const scenario of report.scenarios.filter((scenario) => !scenario.durable)) {
    const value = (result: ClientResult) => (scenario.paced ? (result.p99Ms ?? 0) : result.recordsPerSec);
    const max = Math.max(1, ...scenario.results.map(value));
    const measure = scenario.paced
      ? ' — p99 send-to-ack latency, ms (shorter is better)'
      : scenario.read
        ? ' — records/s read'
        : ' — records/s';
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escapeXml(scenario.name)}${measure}</text>`);
    y += 8;
    for (const result of scenario.results) {
      const length = Math.max(1, (value(result) / max) * barArea);
      const shown = scenario.paced ? `${result.p99Ms ?? '–'} ms` : count(result.recordsPerSec);
      const label = `${escapeXml(result.client)}${result.valid ? '' : ' (invalid)'}`;
      parts.push(`<text x="${labelWidth - 8}" y="${y + bar - 3}" text-anchor="end">${label}</text>`);
      parts.push(
        `<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${bar}" fill="${COLORS[result.client] ?? '#495057'}"/>`,
      );
      parts.push(`<text x="${(labelWidth + length + 6).toFixed(1)}" y="${y + bar - 3}">${shown}</text>`);
      y += bar + 4;
    }
    y += 22;
  }
  const reads = report.scenarios.some((scenario) => scenario.read);
  const produces = report.scenarios.some((scenario) => !scenario.read);
  const what = !produces ? 'Read throughput' : reads ? 'Produce and read throughput and latency' : 'Produce throughput and latency';
  const title = `${what}, Kafka ${report.kafkaVersion}${report.quick ? ' (quick run)' : ''}`;
  const footer = `${report.machine}; ${report.date.slice(0, 10)}; ${report.command}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 20}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>
${parts.join('\n')}
<text x="10" y="${y + 4}" font-size="10" fill="#495057">${escapeXml(footer)}</text>
</svg>
`;
}

/**
 * Writes latest.json, the Markdown table and the chart (quick runs go to results/quick/), and a
 * timestamped copy of the JSON to history/ beside them, which git ignores: the repository keeps
 * only the latest results.
 */
export function writeResults(report: Report, root = 'bench/results'): { table: string; written: string[] } {
  const dir = report.quick ? `${root}/quick` : root;
  mkdirSync(`${dir}/history`, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamp = report.date.replace(/[:.]/g, '-');
  const table = markdownTable(report);
  const files: [string, string][] = [
    [`${dir}/latest.json`, json],
    [`${dir}/history/bench-${stamp}.json`, json],
    [`${dir}/latest.md`, `${table}\n`],
    [`${dir}/latest.svg`, svgChart(report)],
  ];
  for (const [file, content] of files) writeFileSync(file, content);
  return { table, written: files.map(([file]) => file) };
}
