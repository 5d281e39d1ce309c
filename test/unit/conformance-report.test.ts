import { expect, test } from 'vitest';
import { type ConformanceReport, formatRange, formatVersions, renderReport, summarize } from '../../src/conformance/report.js';

test('formatVersions writes runs of consecutive versions', () => {
  expect(formatVersions([])).toBe('-');
  expect(formatVersions([4])).toBe('4');
  expect(formatVersions([3, 4, 5, 7, 9, 10])).toBe('3-5,7,9-10');
  expect(formatVersions([10, 9, 3, 3, 4])).toBe('3-4,9-10');
});

test('formatRange writes one version, a range, or none', () => {
  expect(formatRange(null)).toBe('none');
  expect(formatRange([0, 0])).toBe('v0');
  expect(formatRange([3, 13])).toBe('v3-13');
});

test('summarize counts every result, zeros included', () => {
  expect(summarize([])).toEqual({ pass: 0, fail: 0, unsupported: 0, skipped: 0 });
  expect(summarize([{ result: 'pass' }, { result: 'pass' }, { result: 'skipped' }, { result: 'fail' }])).toEqual({
    pass: 2,
    fail: 1,
    unsupported: 0,
    skipped: 1,
  });
});

const REPORT: ConformanceReport = {
  tool: 'kafka-wire conformance',
  kafkaWireVersion: '0.1.0',
  startedAt: '2026-12-02T16:00:00.000Z',
  durationMs: 5432,
  target: { bootstrap: '127.0.0.1:9092', tls: true, saslMechanism: 'PLAIN' },
  cluster: { clusterId: 'abc', controllerId: 1, brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092 }] },
  apis: [
    { api: 'Produce', key: 0, brokerVersions: [0, 9], ourVersions: [3, 13], exercised: [3, 4, 5, 6, 7, 8, 9], result: 'pass', detail: '' },
    { api: 'DescribeProducers', key: 61, brokerVersions: null, ourVersions: [0, 0], exercised: [], result: 'unsupported', detail: '' },
  ],
  checks: [
    { group: 'connect', name: 'connect and ApiVersions', result: 'pass', detail: 'ok', durationMs: 12 },
    { group: 'produce', name: 'produce v0', result: 'skipped', detail: 'magic 0', durationMs: 0 },
    { group: 'errors', name: 'fetch out of range', result: 'fail', detail: 'expected OFFSET_OUT_OF_RANGE', durationMs: 3 },
  ],
  summary: { pass: 1, fail: 1, unsupported: 0, skipped: 1 },
};

test('renderReport prints the target, one aligned line per API, the checks that did not pass, then the counts', () => {
  expect(renderReport(REPORT)).toEqual([
    'kafka-wire 0.1.0 conformance against 127.0.0.1:9092 (TLS) (SASL PLAIN)',
    'cluster abc, controller 1, brokers 1@127.0.0.1:9092',
    '',
    'API                     broker  kafka-wire  exercised  result',
    'Produce (0)             v0-9    v3-13       3-9        pass',
    'DescribeProducers (61)  none    v0          -          unsupported',
    '',
    'SKIPPED     produce / produce v0: magic 0',
    'FAIL        errors / fetch out of range: expected OFFSET_OUT_OF_RANGE',
    '',
    '3 checks: 1 passed, 1 failed, 0 unsupported, 1 skipped in 5.4 s',
  ]);
});

test('renderReport says so when no broker answered ApiVersions', () => {
  const lines = renderReport({
    ...REPORT,
    cluster: { clusterId: null, controllerId: null, brokers: [] },
    apis: REPORT.apis.map((api) => ({ ...api, brokerVersions: null })),
  });
  expect(lines).toContain('no ApiVersions answer: the API table is empty');
  expect(lines.some((line) => line.startsWith('cluster '))).toBe(false);
});
