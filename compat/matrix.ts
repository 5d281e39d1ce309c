import { knownDifference } from './known-differences.js';

/**
 * The compatibility matrix: conformance reports of every broker → one row per broker and
 * version → markdown for compat/results/matrix.md and the README. Pure functions, no I/O.
 */

/** The parts of `kafka-wire conformance --report`'s JSON that the matrix reads (its contract). */
export type Result = 'pass' | 'fail' | 'unsupported' | 'skipped';

export interface ConformanceCheck {
  group: string;
  name: string;
  result: Result;
  detail: string;
  durationMs: number;
}

export interface ConformanceApi {
  api: string;
  key: number;
  brokerVersions: [number, number] | null;
  ourVersions: [number, number];
  exercised: number[];
  result: Result;
  detail: string;
}

export interface ConformanceReport {
  tool: string;
  kafkaWireVersion: string;
  startedAt: string;
  durationMs: number;
  target: { bootstrap: string; tls: boolean; saslMechanism: string | null };
  apis: ConformanceApi[];
  checks: ConformanceCheck[];
  summary: Record<Result, number>;
}

export type Listener = 'plaintext' | 'sasl' | 'tls';

/** One run of the conformance command against one listener. */
export interface ListenerRun {
  listener: Listener;
  /** The command line after `kafka-wire conformance`, to repeat it by hand. */
  args: string[];
  exitCode: number | null;
  durationMs: number;
  /** Null when the command wrote none (it crashed, timed out, or never ran). */
  report: ConformanceReport | null;
  /** Why there is no report, or why the command ended badly. */
  error?: string;
  /** The end of what the command printed on stderr, when it did not exit 0. */
  stderr?: string;
}

export interface TargetResult {
  broker: 'Apache Kafka' | 'kfake';
  version: string;
  /** "ZooKeeper", "KRaft" or "franz-go v1.22.3": shown after the version. */
  variant: string;
  /** Why SASL was run with PLAIN instead of SCRAM, in the broker's terms; absent when SCRAM was run. */
  saslNote?: string;
  /** The broker did not start: nothing was run against it. */
  startError?: string;
  startMs: number;
  runs: ListenerRun[];
}

export interface MatrixFile {
  tool: 'kafka-wire compat';
  generatedAt: string;
  kafkaWireVersion: string | null;
  targets: TargetResult[];
}

export const COLUMNS = ['Produce', 'Fetch', 'Codecs', 'Idempotence', 'Transactions', 'Admin', 'Protocol', 'SASL', 'TLS'] as const;
/** The groups behind the Protocol column: the ones no other column shows, so none of their failures goes unseen. */
export const PROTOCOL_GROUPS = ['connect', 'negotiation', 'metadata', 'errors'];
export type Column = (typeof COLUMNS)[number];

const PASS = '✓';
const DETAIL_LIMIT = 120;

/** One line, no table breakers, cut to a readable length. */
function short(text: string, limit = DETAIL_LIMIT): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > limit ? `${line.slice(0, limit - 1)}…` : line;
}

/** Versions as runs: [3,4,5,7] → "v3–v5, v7". */
export function versionRuns(versions: readonly number[]): string {
  const sorted = [...new Set(versions)].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    runs.push(i === j ? `v${sorted[i]}` : `v${sorted[i]}–v${sorted[j]}`);
    i = j + 1;
  }
  return runs.join(', ');
}

/** "FAIL: produce v9: detail", and how many more failed. */
function failure(failed: readonly ConformanceCheck[]): string {
  const [first] = failed;
  if (!first) return '';
  const more = failed.length > 1 ? ` (+${failed.length - 1} more failed)` : '';
  return `FAIL: ${first.name}: ${short(first.detail)}${more}`;
}

/** What the broker lacks, from checks that were unsupported or skipped: "name: detail; name: detail". */
function missing(checks: readonly ConformanceCheck[], strip: RegExp = /^$/): string {
  return checks.map((check) => `${check.name.replace(strip, '')}: ${short(check.detail)}`).join('; ');
}

const notRun = (check: ConformanceCheck) => check.result === 'unsupported' || check.result === 'skipped';

/**
 * Produce or Fetch: the versions exercised and passed ("v3–v12 ✓"), narrowed by the broker
 * when it offers fewer than kafka-wire speaks; from the `<api> vN` checks, else the API entry.
 */
export function versionCell(report: ConformanceReport, group: 'produce' | 'fetch', apiName: string): string {
  const checks = report.checks.filter((check) => check.group === group);
  const failed = checks.filter((check) => check.result === 'fail');
  const api = report.apis.find((entry) => entry.api.toLowerCase() === apiName.toLowerCase());
  if (failed.length > 0) return failure(failed);
  // The API entry fails when any check that sent it failed (idempotence, say): that is that group's cell, unless this group has no checks.
  if (checks.length === 0 && api?.result === 'fail') return `FAIL: ${api.api}: ${short(api.detail)}`;

  const pattern = new RegExp(`^${group}\\s+v(\\d+)\\b`, 'i');
  const passed = checks.flatMap((check) => {
    const match = pattern.exec(check.name);
    return match && check.result === 'pass' ? [Number(match[1])] : [];
  });
  const versions = passed.length > 0 ? passed : api?.result === 'pass' ? api.exercised : [];
  if (versions.length === 0) {
    if (api && api.brokerVersions === null) return `not offered by the broker${api.detail ? `: ${short(api.detail)}` : ''}`;
    const unsupported = checks.filter(notRun);
    if (unsupported.length > 0) return `not run: ${missing(unsupported)}`;
    return 'not run: no such checks in the report';
  }
  let cell = `${versionRuns(versions)} ${PASS}`;
  const broker = api?.brokerVersions;
  if (api && broker && broker[1] < api.ourVersions[1]) cell += ` (broker ≤ v${broker[1]})`;
  return cell;
}

/** Codecs: the ones that round-tripped, then any the broker lacks. */
export function codecsCell(report: ConformanceReport): string {
  const checks = report.checks.filter((check) => check.group === 'codecs');
  const failed = checks.filter((check) => check.result === 'fail');
  if (failed.length > 0) return failure(failed);
  const name = (check: ConformanceCheck) => check.name.replace(/^codec\s+/i, '');
  const passed = checks.filter((check) => check.result === 'pass').map(name);
  const lacking = checks.filter(notRun);
  if (passed.length === 0 && lacking.length === 0) return 'not run: no codec checks in the report';
  const parts = passed.length > 0 ? [`${passed.join(', ')} ${PASS}`] : [];
  if (lacking.length > 0) parts.push(missing(lacking, /^codec\s+/i));
  return parts.join('; ');
}

/** Whole groups: ✓ when every check passed, else what failed or what the broker lacks. */
export function groupCell(report: ConformanceReport, group: string | readonly string[]): string {
  const groups = typeof group === 'string' ? [group] : group;
  const checks = report.checks.filter((check) => groups.includes(check.group));
  const failed = checks.filter((check) => check.result === 'fail');
  if (failed.length > 0) return failure(failed);
  const passed = checks.filter((check) => check.result === 'pass');
  const lacking = checks.filter(notRun);
  if (passed.length === 0 && lacking.length === 0) return `not run: no ${groups.join('/')} checks in the report`;
  if (lacking.length === 0) return `${PASS} (${passed.length} ${passed.length === 1 ? 'check' : 'checks'})`;
  if (passed.length === 0) return `unsupported: ${missing(lacking)}`;
  return `${PASS} ${passed.length} of ${checks.length}; unsupported: ${missing(lacking)}`;
}

/** SASL or TLS: its run's checks (connect and produce) passed, over which mechanism. */
function listenerCell(run: ListenerRun | undefined, label: string): string {
  if (!run) return 'not run';
  if (!run.report) return `FAIL: ${run.listener} run: ${short(run.error ?? `exit code ${run.exitCode}`)}`;
  const failed = run.report.checks.filter((check) => check.result === 'fail');
  if (failed.length > 0) return failure(failed);
  const passed = run.report.checks.filter((check) => check.result === 'pass');
  if (passed.length === 0) return `not run: ${missing(run.report.checks) || 'no checks in the report'}`;
  if (run.exitCode !== 0) return `FAIL: ${run.listener} run exited ${run.exitCode}: ${short(run.error ?? '')}`;
  return `${label}${PASS}`;
}

/**
 * The report as the matrix reads it: a failed check that a known difference of this broker
 * explains becomes unsupported, in the difference's words (see known-differences.ts).
 */
export function explained(target: Pick<TargetResult, 'broker'>, report: ConformanceReport): ConformanceReport {
  const checks = report.checks.map((check) => {
    const known = knownDifference(target.broker, check);
    return known ? { ...check, result: 'unsupported' as const, detail: known.lacks } : check;
  });
  return { ...report, checks };
}

/** The cells of one broker and version. */
export function rowCells(target: TargetResult): Record<Column, string> {
  if (target.startError !== undefined) {
    const cell = `FAIL: start: ${short(target.startError)}`;
    return Object.fromEntries(COLUMNS.map((column) => [column, cell])) as Record<Column, string>;
  }
  const runs = target.runs.map((run) => (run.report ? { ...run, report: explained(target, run.report) } : run));
  const plain = runs.find((run) => run.listener === 'plaintext');
  const sasl = runs.find((run) => run.listener === 'sasl');
  const tls = runs.find((run) => run.listener === 'tls');
  const fromPlain = (cell: (report: ConformanceReport) => string): string => {
    if (!plain) return 'not run';
    if (!plain.report) return `FAIL: plaintext run: ${short(plain.error ?? `exit code ${plain.exitCode}`)}`;
    return cell(plain.report);
  };
  const flag = sasl?.args.indexOf('--sasl-mechanism') ?? -1;
  const mechanism = sasl?.report?.target.saslMechanism ?? (flag >= 0 ? sasl?.args[flag + 1] : undefined) ?? 'SASL';
  return {
    Produce: fromPlain((report) => versionCell(report, 'produce', 'Produce')),
    Fetch: fromPlain((report) => versionCell(report, 'fetch', 'Fetch')),
    Codecs: fromPlain(codecsCell),
    Idempotence: fromPlain((report) => groupCell(report, 'idempotence')),
    Transactions: fromPlain((report) => groupCell(report, 'transactions')),
    Admin: fromPlain((report) => groupCell(report, 'admin')),
    Protocol: fromPlain((report) => groupCell(report, PROTOCOL_GROUPS)),
    SASL: listenerCell(sasl, `${mechanism} `) + (target.saslNote && sasl?.report ? ` (${target.saslNote})` : ''),
    TLS: listenerCell(tls, ''),
  };
}

/** A cell that holds a failure: what makes the whole run exit non-zero. */
export const isFailure = (cell: string) => cell.startsWith('FAIL');

export function rowLabel(target: TargetResult): string {
  return `${target.broker} ${target.version} (${target.variant})`;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The markdown table: a header, then one row per target in the order given. */
export function matrixTable(targets: readonly TargetResult[]): string {
  const lines = [`| Broker | ${COLUMNS.join(' | ')} |`, `|---|${COLUMNS.map(() => '---').join('|')}|`];
  for (const target of targets) {
    const cells = rowCells(target);
    lines.push(`| ${escapeCell(rowLabel(target))} | ${COLUMNS.map((column) => escapeCell(cells[column])).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The table with a line saying when, with what, and how long each target took. */
export function matrixMarkdown(matrix: MatrixFile): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
  const timings = matrix.targets.map((target) => {
    const runs = target.runs.map((run) => `${run.listener} ${seconds(run.durationMs)}`).join(', ');
    return `${rowLabel(target)}: start ${seconds(target.startMs)}${runs ? `, ${runs}` : ''}`;
  });
  return [
    `Generated by \`npm run compat\` on ${matrix.generatedAt.slice(0, 16).replace('T', ' ')} UTC with kafka-wire ` +
      `${matrix.kafkaWireVersion ?? '(unknown)'}, one single-node broker per row. The columns Produce through Protocol come from ` +
      '`kafka-wire conformance` with every group over PLAINTEXT (Protocol: the connect, negotiation, metadata and errors groups); ' +
      'SASL and TLS: `--only connect,produce` over SASL_PLAINTEXT and SSL. ✓ passed; anything else names what the broker lacks, ' +
      'or says FAIL.',
    '',
    matrixTable(matrix.targets),
    '',
    `<details><summary>Time per row</summary>\n\n${timings.map((line) => `- ${line}`).join('\n')}\n\n</details>`,
  ].join('\n');
}

export const README_START = '<!-- compat-matrix:start -->';
export const README_END = '<!-- compat-matrix:end -->';

/** The README with everything between the two markers replaced by `content`. */
export function replaceBetweenMarkers(readme: string, content: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < 0 || end < start) {
    throw new Error(`README.md needs the markers ${README_START} and ${README_END}, in that order, around the matrix`);
  }
  return `${readme.slice(0, start + README_START.length)}\n${content.trim()}\n${readme.slice(end)}`;
}

/**
 * JSON with each value on one line where that line stays short (a check, an API entry), and
 * indented otherwise: a third of the size of fully indented JSON, and still diffs line by line.
 */
export function compactJson(value: unknown, indent = '', width = 160): string {
  const flat = JSON.stringify(value);
  if (flat === undefined || flat.length + indent.length <= width || value === null || typeof value !== 'object') return flat ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    return `[\n${value.map((item) => inner + compactJson(item, inner, width)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, item]) => item !== undefined);
  return `{\n${entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${compactJson(item, inner, width)}`).join(',\n')}\n${indent}}`;
}
