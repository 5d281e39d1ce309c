import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import type { ConformanceReport } from '../../src/conformance/report.js';
import { GROUPS } from '../../src/conformance/report.js';
import { parseBootstrap } from '../../src/connection/bootstrap.js';
import { decodeApiVersionsV0Response, encodeApiVersionsV0Request } from '../../src/embedded/api-versions-probe.js';
import { API_DEFINITIONS, Fetch, Produce } from '../../src/protocol/generated/index.js';
import { testKafka } from '../helpers/kafka.js';
import { runCli } from '../support/cli.js';
import { exchangeOnce } from '../support/raw-exchange.js';

const kafka = testKafka();
const dir = mkdtempSync(join(tmpdir(), 'kw-conformance-test-'));
const prefix = `kw-conftest-${process.pid}-`;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The broker's ranges from a hand-encoded ApiVersions v0 on a raw socket: independent of the code under test. */
async function offeredRanges(): Promise<Map<number, [number, number]>> {
  const [broker] = parseBootstrap(kafka.bootstrap);
  const body = await exchangeOnce(broker!.host, broker!.port, encodeApiVersionsV0Request(1, 'conformance-test'));
  const answer = decodeApiVersionsV0Response(body);
  return new Map(answer.apis.map((api) => [api.apiKey, [api.minVersion, api.maxVersion]]));
}

function common(ranges: Map<number, [number, number]>, api: typeof Produce | typeof Fetch): number[] {
  const broker = ranges.get(api.apiKey);
  if (!broker) return [];
  const versions: number[] = [];
  for (let v = Math.max(broker[0], api.request.minVersion); v <= Math.min(broker[1], api.request.maxVersion); v++) versions.push(v);
  return versions;
}

async function topicsWithPrefix(): Promise<string[]> {
  const cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  try {
    return (await new Admin(cluster).listTopics()).filter((topic) => topic.startsWith(prefix));
  } finally {
    cluster.close();
  }
}

test('kafka-wire conformance passes against the test broker, exercises every shared Produce and Fetch version, and cleans up', async () => {
  const reportFile = join(dir, 'report.json');
  const result = runCli(['conformance', '--bootstrap', kafka.bootstrap, '--report', reportFile, '--topic-prefix', prefix], {
    timeoutMs: 300_000,
  });
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stdout).toMatch(/^API +broker +kafka-wire +exercised +result$/m);
  expect(result.stdout).toMatch(/\d+ checks: \d+ passed, 0 failed, \d+ unsupported, \d+ skipped/);

  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ConformanceReport;
  expect(report.tool).toBe('kafka-wire conformance');
  expect(typeof report.kafkaWireVersion).toBe('string');
  expect(new Date(report.startedAt).toISOString()).toBe(report.startedAt);
  expect(report.durationMs).toBeGreaterThan(0);
  expect(report.target).toEqual({ bootstrap: kafka.bootstrap, tls: false, saslMechanism: null });
  expect(report.cluster.brokers.length).toBeGreaterThan(0);
  expect(typeof report.cluster.clusterId).toBe('string');

  expect(report.apis.map((api) => api.key)).toEqual([...API_DEFINITIONS.keys()]);
  for (const api of report.apis) {
    expect(Object.keys(api).sort()).toEqual(['api', 'brokerVersions', 'detail', 'exercised', 'key', 'ourVersions', 'result']);
    expect(['pass', 'unsupported', 'skipped']).toContain(api.result);
  }
  const groups = new Set(report.checks.map((check) => check.group));
  expect([...groups].sort()).toEqual([...GROUPS].sort());
  for (const check of report.checks) {
    expect(Object.keys(check).sort()).toEqual(['detail', 'durationMs', 'group', 'name', 'result']);
    expect(check.result, `${check.group} / ${check.name}: ${check.detail}`).not.toBe('fail');
  }
  const counts = { pass: 0, fail: 0, unsupported: 0, skipped: 0 };
  for (const check of report.checks) counts[check.result]++;
  expect(report.summary).toEqual(counts);

  // Every version both sides speak, computed here from the broker's own ApiVersions answer.
  const ranges = await offeredRanges();
  for (const api of [Produce, Fetch]) {
    const versions = common(ranges, api);
    expect(versions.length).toBeGreaterThan(0);
    const row = report.apis.find((candidate) => candidate.key === api.apiKey)!;
    expect(row.brokerVersions).toEqual(ranges.get(api.apiKey));
    for (const version of versions) expect(row.exercised).toContain(version);
    const group = api === Produce ? 'produce' : 'fetch';
    for (const version of versions) {
      const check = report.checks.find((candidate) => candidate.name === `${group} v${version}`);
      expect(check?.result, `${group} v${version}`).toBe('pass');
    }
  }

  expect(await topicsWithPrefix()).toEqual([]);
});

test('--only runs the named groups (and connect), --json prints the report, and a usage mistake exits 2', async () => {
  const reportFile = join(dir, 'only.json');
  const result = runCli(
    ['conformance', '--bootstrap', kafka.bootstrap, '--report', reportFile, '--topic-prefix', prefix, '--only', 'fetch,errors', '--json'],
    { timeoutMs: 180_000 },
  );
  expect(result.status, result.stderr).toBe(0);
  const printed = JSON.parse(result.stdout) as ConformanceReport;
  expect(printed).toEqual(JSON.parse(readFileSync(reportFile, 'utf8')));
  expect([...new Set(printed.checks.map((check) => check.group))]).toEqual(['connect', 'fetch', 'errors']);
  expect(await topicsWithPrefix()).toEqual([]);

  const usage = runCli(['conformance', '--bootstrap', kafka.bootstrap, '--only', 'nonsense']);
  expect(usage.status).toBe(2);
  expect(usage.stderr).toContain('no group "nonsense"');
});
