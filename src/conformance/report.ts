/** The conformance report: its JSON shape (a contract other tools read), its summary and its printed table. */

export const GROUPS = [
  'connect',
  'negotiation',
  'metadata',
  'admin',
  'produce',
  'fetch',
  'codecs',
  'idempotence',
  'transactions',
  'errors',
] as const;
export type Group = (typeof GROUPS)[number];

/** unsupported and skipped are what the broker (or this run) lacks, never a failure of kafka-wire's. */
export type Result = 'pass' | 'fail' | 'unsupported' | 'skipped';

export type VersionPair = [number, number];

export interface CheckReport {
  group: Group;
  name: string;
  result: Result;
  detail: string;
  durationMs: number;
}

export interface ApiReport {
  api: string;
  key: number;
  /** What the broker offered in ApiVersions; null when it does not offer the API. */
  brokerVersions: VersionPair | null;
  ourVersions: VersionPair;
  /** Versions actually sent in this run, ascending. */
  exercised: number[];
  result: Result;
  detail: string;
}

export interface Summary {
  pass: number;
  fail: number;
  unsupported: number;
  skipped: number;
}

export interface ConformanceReport {
  tool: 'kafka-wire conformance';
  kafkaWireVersion: string;
  startedAt: string;
  durationMs: number;
  target: { bootstrap: string; tls: boolean; saslMechanism: string | null };
  cluster: { clusterId: string | null; controllerId: number | null; brokers: { nodeId: number; host: string; port: number }[] };
  apis: ApiReport[];
  checks: CheckReport[];
  summary: Summary;
}

/** Counts of the checks by result. */
export function summarize(checks: readonly Pick<CheckReport, 'result'>[]): Summary {
  const summary: Summary = { pass: 0, fail: 0, unsupported: 0, skipped: 0 };
  for (const check of checks) summary[check.result]++;
  return summary;
}

/** "v3-13", "v4" or "none". */
export function formatRange(range: VersionPair | null): string {
  if (range === null) return 'none';
  return range[0] === range[1] ? `v${range[0]}` : `v${range[0]}-${range[1]}`;
}

/** Versions as runs: [3,4,5,7,9,10] → "3-5,7,9-10"; "-" for none. */
export function formatVersions(versions: readonly number[]): string {
  if (versions.length === 0) return '-';
  const sorted = [...new Set(versions)].sort((a, b) => a - b);
  const runs: string[] = [];
  let start = sorted[0] as number;
  let previous = start;
  for (const version of [...sorted.slice(1), Number.NaN]) {
    if (version === previous + 1) {
      previous = version;
      continue;
    }
    runs.push(start === previous ? `${start}` : `${start}-${previous}`);
    start = version;
    previous = version;
  }
  return runs.join(',');
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] as number)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * The human summary: one line per API (broker versions, ours, exercised, result), then every
 * failed, unsupported or skipped check with its detail, then the counts.
 */
export function renderReport(report: ConformanceReport): string[] {
  const lines: string[] = [];
  const cluster = report.cluster;
  lines.push(
    `kafka-wire ${report.kafkaWireVersion} conformance against ${report.target.bootstrap}` +
      `${report.target.tls ? ' (TLS)' : ''}${report.target.saslMechanism ? ` (SASL ${report.target.saslMechanism})` : ''}`,
  );
  if (cluster.clusterId !== null || cluster.brokers.length > 0) {
    lines.push(
      `cluster ${cluster.clusterId ?? '(no id)'}, controller ${cluster.controllerId ?? '?'}, ` +
        `brokers ${cluster.brokers.map((broker) => `${broker.nodeId}@${broker.host}:${broker.port}`).join(' ') || 'none'}`,
    );
  }
  lines.push('');
  if (report.apis.every((api) => api.brokerVersions === null)) lines.push('no ApiVersions answer: the API table is empty');
  else
    lines.push(
      ...table([
        ['API', 'broker', 'kafka-wire', 'exercised', 'result'],
        ...report.apis.map((api) => [
          `${api.api} (${api.key})`,
          formatRange(api.brokerVersions),
          formatRange(api.ourVersions),
          formatVersions(api.exercised),
          api.result,
        ]),
      ]),
    );
  const notable = report.checks.filter((check) => check.result !== 'pass');
  if (notable.length > 0) {
    lines.push('');
    for (const check of notable) lines.push(`${check.result.toUpperCase().padEnd(11)} ${check.group} / ${check.name}: ${check.detail}`);
  }
  const { pass, fail, unsupported, skipped } = report.summary;
  lines.push('');
  lines.push(
    `${report.checks.length} checks: ${pass} passed, ${fail} failed, ${unsupported} unsupported, ${skipped} skipped ` +
      `in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return lines;
}
