import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ConformanceReport, GROUPS, type Group, renderReport } from '../conformance/report.js';
import { DEFAULT_TOPIC_PREFIX, runConformance } from '../conformance/run.js';
import { type Command, integerFlag, type ParsedArgs, stringFlag, UsageError } from './args.js';
import { CONNECTION_OPTIONS, CONNECTION_SWITCHES, CONNECTION_USAGE, connectionOptions } from './cluster-options.js';

export const DEFAULT_REPORT_FILE = 'kafka-wire-conformance.json';

export const CONFORMANCE_USAGE = `usage: kafka-wire conformance [options]   check kafka-wire against a Kafka-compatible cluster

  Runs every check group against the cluster, prints a table (API, versions the broker offers,
  versions exercised, result) and writes a JSON report. It creates only topics named with the
  prefix, and deletes them at the end. What the broker lacks is reported as unsupported or
  skipped, not as a failure. Exit code 0 when no check failed, 1 when one did, 2 for a usage mistake.

  --report FILE               the JSON report (default ${DEFAULT_REPORT_FILE} in the current directory)
  --only GROUP,…              run only these groups (connect always runs):
                              ${GROUPS.join(', ')}
  --topic-prefix P            prefix of every topic the run creates (default ${DEFAULT_TOPIC_PREFIX})
  --check-timeout-ms N        bound on each check (default 30000)
  --json                      print the report to stdout instead of the table

${CONNECTION_USAGE}`;

/** Kafka's legal topic characters; the prefix must leave room for the run's own suffix. */
const TOPIC_CHARS = /^[a-zA-Z0-9._-]+$/;
const MAX_PREFIX = 160;

function groupsFrom(args: ParsedArgs): Group[] | undefined {
  const raw = stringFlag(args, 'only');
  if (raw === undefined) return undefined;
  const names = raw
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new UsageError('--only needs at least one group');
  for (const name of names) {
    if (!(GROUPS as readonly string[]).includes(name))
      throw new UsageError(`--only: no group "${name}"; the groups are ${GROUPS.join(', ')}`);
  }
  return names as Group[];
}

function topicPrefixFrom(args: ParsedArgs): string {
  const prefix = stringFlag(args, 'topic-prefix') ?? DEFAULT_TOPIC_PREFIX;
  if (!TOPIC_CHARS.test(prefix) || prefix.length > MAX_PREFIX)
    throw new UsageError(`--topic-prefix must be 1-${MAX_PREFIX} of the characters a-z A-Z 0-9 . _ -, not "${prefix}"`);
  return prefix;
}

async function conformanceCommand(args: ParsedArgs, out: (line: string) => void): Promise<number> {
  if (args.positional.length > 0) throw new UsageError(`"conformance" takes no arguments, not "${args.positional.join(' ')}"`);
  const groups = groupsFrom(args);
  const topicPrefix = topicPrefixFrom(args);
  const reportFile = resolve(stringFlag(args, 'report') ?? DEFAULT_REPORT_FILE);
  const checkTimeoutMs = integerFlag(args, 'check-timeout-ms', 1000, 600_000);
  const json = args.flags.has('json');
  const connection = connectionOptions(args);

  const report: ConformanceReport = await runConformance({
    connection: { ...connection, clientId: 'kafka-wire-conformance' },
    groups,
    topicPrefix,
    checkTimeoutMs,
    // Progress on stderr, so stdout stays the table or the JSON alone.
    onCheck: (check) => process.stderr.write(`${check.result.padEnd(11)} ${check.group} / ${check.name} (${check.durationMs} ms)\n`),
  });
  writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  if (json) out(JSON.stringify(report, null, 2));
  else {
    for (const line of renderReport(report)) out(line);
    out(`report: ${reportFile}`);
  }
  const connect = report.checks.find((check) => check.group === 'connect');
  if (connect?.result === 'fail') console.error(`kafka-wire: could not connect: ${connect.detail}`);
  return report.summary.fail > 0 ? 1 : 0;
}

export const CONFORMANCE: Command = {
  name: 'conformance',
  summary: 'check kafka-wire against any Kafka-compatible cluster; prints a table, writes a JSON report',
  usage: CONFORMANCE_USAGE,
  spec: {
    command: 'conformance',
    options: [...CONNECTION_OPTIONS, 'report', 'only', 'topic-prefix', 'check-timeout-ms'],
    switches: [...CONNECTION_SWITCHES, 'json'],
  },
  run: conformanceCommand,
};
