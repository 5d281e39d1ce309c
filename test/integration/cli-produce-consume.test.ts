import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { testKafka } from '../helpers/kafka.js';
import { uniqueTopic } from '../support/topics.js';

const CLI = fileURLToPath(new URL('../../bin/kafka-wire.js', import.meta.url));
const kafka = testKafka();

function cli(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [CLI, ...args, '--bootstrap', kafka.bootstrap], { encoding: 'utf8', timeout: 120_000, input });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('kafka-wire produce (console and load mode) and consume', { timeout: 300_000 }, () => {
  const topic = uniqueTopic('cli-pc');
  expect(cli(['topics', 'create', topic, '--partitions', '3'])).toMatchObject({ status: 0 });

  // Console mode: one keyed record per line.
  const lines = Array.from({ length: 100 }, (_, i) => `k${i}|v${i}`);
  const produced = cli(['produce', topic, '--key-separator', '|'], `${lines.join('\n')}\n`);
  expect(produced.status, produced.stderr).toBe(0);
  expect(produced.stdout).toBe('');
  expect(produced.stderr).toContain('produced 100 records');
  expect(produced.stderr).toContain('0 failed');

  const consumed = cli(['consume', topic, '--from-beginning', '--until-end']);
  expect(consumed.status, consumed.stderr).toBe(0);
  const rows = consumed.stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split('\t'));
  expect(rows).toHaveLength(100);
  for (const row of rows) {
    expect(row).toHaveLength(4);
    expect(row[0]).toMatch(/^[0-2]$/);
    expect(row[1]).toMatch(/^\d+$/);
  }
  expect(rows.map(([, , key, value]) => `${key}|${value}`).sort()).toEqual([...lines].sort());
  // Records of one key share a partition, and offsets within a partition are consecutive from 0.
  expect(new Set(rows.map(([partition]) => partition)).size).toBeGreaterThan(1);
  for (const partition of ['0', '1', '2']) {
    const offsets = rows.filter(([p]) => p === partition).map(([, offset]) => Number(offset));
    expect(offsets).toEqual(offsets.map((_, i) => i));
  }

  // Load mode: synthetic records with a throughput and latency summary.
  const load = cli(['produce', topic, '--count', '20000', '--size', '100']);
  expect(load.status, load.stderr).toBe(0);
  expect(load.stdout).toMatch(
    /20,000 records \(2\.0 MB\) in [\d.]+ s: [\d,]+ records\/s, [\d.]+ MB\/s; latency p50 [\d.]+ ms, p99 [\d.]+ ms/,
  );

  // A slice of one partition: offsets 5, 6, 7 of partition 0.
  const slice = cli(['consume', topic, '--partition', '0', '--offset', '5', '--max', '3', '--until-end']);
  expect(slice.status, slice.stderr).toBe(0);
  const sliceRows = slice.stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split('\t'));
  expect(sliceRows.map(([partition, offset]) => `${partition}/${offset}`)).toEqual(['0/5', '0/6', '0/7']);

  // Usage errors exit 2; Kafka errors exit 1 with the message.
  const badOption = cli(['produce', topic, '--acks', 'maybe']);
  expect(badOption.status).toBe(2);
  expect(badOption.stderr).toContain('--acks must be all, 1 or 0');
  const unknownOption = cli(['consume', topic, '--frm-beginning', '--until-end']);
  expect(unknownOption.status).toBe(2);
  expect(unknownOption.stderr).toContain('unknown option --frm-beginning');
  const missing = cli(['consume', `${topic}-missing`, '--until-end']);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain('UNKNOWN_TOPIC_OR_PARTITION');

  expect(cli(['topics', 'delete', topic]).status).toBe(0);
});
