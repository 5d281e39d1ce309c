import { describe, expect, it } from 'vitest';
import { conformanceArgs, errorSummary } from '../../compat/conformance-run.js';
import { parseReadyLine, pinnedVersion } from '../../compat/kfake.js';
import {
  type ConformanceApi,
  type ConformanceCheck,
  type ConformanceReport,
  codecsCell,
  compactJson,
  groupCell,
  isFailure,
  type ListenerRun,
  matrixTable,
  README_END,
  README_START,
  replaceBetweenMarkers,
  rowCells,
  type TargetResult,
  versionCell,
  versionRuns,
} from '../../compat/matrix.js';

const check = (group: string, name: string, result: ConformanceCheck['result'] = 'pass', detail = ''): ConformanceCheck => ({
  group,
  name,
  result,
  detail,
  durationMs: 5,
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function api(name: string, key: number, broker: [number, number] | null, ours: [number, number], exercised: number[]): ConformanceApi {
  return { api: name, key, brokerVersions: broker, ourVersions: ours, exercised, result: 'pass', detail: '' };
}

/** A report as `kafka-wire conformance --report` writes it, of a broker that offers Produce and Fetch up to `max`. */
function report(checks: ConformanceCheck[], apis: ConformanceApi[], target: Partial<ConformanceReport['target']> = {}): ConformanceReport {
  const summary = { pass: 0, fail: 0, unsupported: 0, skipped: 0 };
  for (const c of checks) summary[c.result]++;
  return {
    tool: 'kafka-wire conformance',
    kafkaWireVersion: '0.1.0',
    startedAt: '2026-12-02T15:00:00.000Z',
    durationMs: 12_000,
    target: { bootstrap: '127.0.0.1:29092', tls: false, saslMechanism: null, ...target },
    apis,
    checks,
    summary,
  };
}

/** Kafka 4.x-like: every Produce version kafka-wire speaks, v3-v12, and Fetch v4-v17. */
const full = report(
  [
    check('connect', 'connect'),
    ...range(3, 12).map((v) => check('produce', `produce v${v}`)),
    ...range(4, 17).map((v) => check('fetch', `fetch v${v}`)),
    ...['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((codec) => check('codecs', `codec ${codec}`)),
    check('idempotence', 'sequence numbers'),
    check('idempotence', 'duplicate batch'),
    check('transactions', 'commit'),
    check('admin', 'create topics'),
  ],
  [api('Produce', 0, [3, 12], [3, 12], range(3, 12)), api('Fetch', 1, [4, 17], [4, 17], range(4, 17))],
);

describe('versionRuns', () => {
  it('writes consecutive versions as runs and single ones alone, sorted and without repeats', () => {
    expect(versionRuns([5, 3, 4, 9, 11, 10, 4])).toBe('v3–v5, v9–v11');
    expect(versionRuns([7])).toBe('v7');
    expect(versionRuns([])).toBe('');
  });
});

describe('versionCell', () => {
  it('gives the passed versions of the group', () => {
    expect(versionCell(full, 'produce', 'Produce')).toBe('v3–v12 ✓');
    expect(versionCell(full, 'fetch', 'Fetch')).toBe('v4–v17 ✓');
  });

  it('says where the broker stops when it offers fewer versions than kafka-wire speaks', () => {
    const old = report(
      [...range(3, 9).map((v) => check('produce', `produce v${v}`)), check('produce', 'produce v10', 'unsupported', 'broker offers v0-9')],
      [api('Produce', 0, [0, 9], [3, 12], range(3, 9))],
    );
    expect(versionCell(old, 'produce', 'Produce')).toBe('v3–v9 ✓ (broker ≤ v9)');
  });

  it('names the first failed check with its detail and counts the others', () => {
    const failing = report(
      [
        check('produce', 'produce v3'),
        check('produce', 'produce v9', 'fail', 'read back 7 of 8 records'),
        check('produce', 'produce v10', 'fail', 'CORRUPT_MESSAGE'),
      ],
      [api('Produce', 0, [3, 12], [3, 12], [3, 9, 10])],
    );
    const cell = versionCell(failing, 'produce', 'Produce');
    expect(cell).toBe('FAIL: produce v9: read back 7 of 8 records (+1 more failed)');
    expect(isFailure(cell)).toBe(true);
  });

  it('falls back to the API entry when the report has no per-version checks', () => {
    const apisOnly = report([], [api('Fetch', 1, [4, 11], [4, 17], [4, 7, 11])]);
    expect(versionCell(apisOnly, 'fetch', 'Fetch')).toBe('v4, v7, v11 ✓ (broker ≤ v11)');
  });

  it('says when the broker does not offer the API at all', () => {
    const none = report([], [{ ...api('Fetch', 1, null, [4, 17], []), result: 'unsupported', detail: 'not in ApiVersions' }]);
    expect(versionCell(none, 'fetch', 'Fetch')).toBe('not offered by the broker: not in ApiVersions');
  });
});

describe('codecsCell and groupCell', () => {
  it('lists the codecs that passed and names the ones the broker lacks', () => {
    const noZstd = report(
      [
        check('codecs', 'codec gzip'),
        check('codecs', 'codec lz4'),
        check('codecs', 'codec zstd', 'unsupported', 'UNSUPPORTED_COMPRESSION_TYPE below Produce v7'),
      ],
      [],
    );
    expect(codecsCell(full)).toBe('none, gzip, snappy, lz4, zstd ✓');
    expect(codecsCell(noZstd)).toBe('gzip, lz4 ✓; zstd: UNSUPPORTED_COMPRESSION_TYPE below Produce v7');
  });

  it('passes a group whose checks all passed, and words unsupported and failed ones', () => {
    expect(groupCell(full, 'idempotence')).toBe('✓ (2 checks)');
    const mixed = report(
      [
        check('transactions', 'commit'),
        check('transactions', 'abort', 'unsupported', 'no EndTxn v3'),
        check('admin', 'describe configs', 'skipped', 'no DescribeConfigs'),
        check('idempotence', 'duplicate batch', 'fail', 'offset 4 written twice'),
      ],
      [],
    );
    expect(groupCell(mixed, 'transactions')).toBe('✓ 1 of 2; unsupported: abort: no EndTxn v3');
    expect(groupCell(mixed, 'admin')).toBe('unsupported: describe configs: no DescribeConfigs');
    expect(groupCell(mixed, 'idempotence')).toBe('FAIL: duplicate batch: offset 4 written twice');
    expect(groupCell(mixed, 'errors')).toBe('not run: no errors checks in the report');
  });
});

const run = (listener: ListenerRun['listener'], rep: ConformanceReport | null, extra: Partial<ListenerRun> = {}): ListenerRun => ({
  listener,
  args: listener === 'sasl' ? ['--bootstrap', 'x', '--sasl-mechanism', 'PLAIN'] : ['--bootstrap', 'x'],
  exitCode: rep ? 0 : 1,
  durationMs: 1000,
  report: rep,
  ...extra,
});

const secured = (target: Partial<ConformanceReport['target']>) =>
  report([check('connect', 'connect'), check('produce', 'produce v9')], [api('Produce', 0, [0, 9], [3, 12], [9])], target);

describe('rowCells', () => {
  it('fills every column of a row that passed, naming the SASL mechanism and why it is not SCRAM', () => {
    const target: TargetResult = {
      broker: 'Apache Kafka',
      version: '3.3.2',
      variant: 'KRaft',
      saslNote: 'no SCRAM users in KRaft 3.3',
      startMs: 9000,
      runs: [run('plaintext', full), run('sasl', secured({ saslMechanism: 'PLAIN' })), run('tls', secured({ tls: true }))],
    };
    expect(rowCells(target)).toEqual({
      Produce: 'v3–v12 ✓',
      Fetch: 'v4–v17 ✓',
      Codecs: 'none, gzip, snappy, lz4, zstd ✓',
      Idempotence: '✓ (2 checks)',
      Transactions: '✓ (1 check)',
      Admin: '✓ (1 check)',
      Protocol: '✓ (1 check)',
      SASL: 'PLAIN ✓ (no SCRAM users in KRaft 3.3)',
      TLS: '✓',
    });
  });

  it('fails the cells of a run that wrote no report, and every cell of a broker that did not start', () => {
    const noTls: TargetResult = {
      broker: 'kfake',
      version: 'v0.0.0-20260918054303-01f206a7e32c',
      variant: 'franz-go v1.22.3',
      startMs: 100,
      runs: [run('plaintext', full), run('tls', null, { error: 'no report written (exit code 1): Error: socket hang up' })],
    };
    const cells = rowCells(noTls);
    expect(cells.TLS).toBe('FAIL: tls run: no report written (exit code 1): Error: socket hang up');
    expect(cells.SASL).toBe('not run');
    expect(cells.Produce).toBe('v3–v12 ✓');

    const dead: TargetResult = {
      broker: 'Apache Kafka',
      version: '2.8.2',
      variant: 'ZooKeeper',
      startError: 'port in use',
      startMs: 1,
      runs: [],
    };
    expect(Object.values(rowCells(dead))).toEqual(Array(9).fill('FAIL: start: port in use'));
  });
});

describe('known differences', () => {
  const withFailure = (detail: string) =>
    report([check('idempotence', 'sequence numbers'), check('idempotence', 'idempotent producer', 'fail', detail)], []);
  const target = (broker: TargetResult['broker'], detail: string): TargetResult => ({
    broker,
    version: 'v',
    variant: 'x',
    startMs: 1,
    runs: [run('plaintext', withFailure(detail))],
  });

  it("words a failure that kfake's own source explains as what kfake lacks", () => {
    expect(rowCells(target('kfake', 'DescribeProducers does not list producer 42')).Idempotence).toBe(
      '✓ 1 of 2; unsupported: idempotent producer: ' +
        'kfake DescribeProducers lists only producers inside an open transaction, not idempotent ones',
    );
  });

  it('still fails the same check with another detail, or on another broker', () => {
    expect(rowCells(target('kfake', 'sequence 3 accepted twice')).Idempotence).toBe('FAIL: idempotent producer: sequence 3 accepted twice');
    expect(rowCells(target('Apache Kafka', 'DescribeProducers does not list producer 42')).Idempotence).toBe(
      'FAIL: idempotent producer: DescribeProducers does not list producer 42',
    );
  });
});

describe('matrixTable', () => {
  it('has a header, a separator and one row per target, with pipes in cells escaped', () => {
    const target: TargetResult = {
      broker: 'Apache Kafka',
      version: '4.3.2',
      variant: 'KRaft',
      startMs: 1,
      runs: [run('plaintext', report([check('admin', 'acls', 'fail', 'a | b')], []))],
    };
    const lines = matrixTable([target]).split('\n');
    expect(lines[0]).toBe('| Broker | Produce | Fetch | Codecs | Idempotence | Transactions | Admin | Protocol | SASL | TLS |');
    expect(lines[1]).toBe('|---|---|---|---|---|---|---|---|---|---|');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('| Apache Kafka 4.3.2 (KRaft) |');
    expect(lines[2]).toContain('| FAIL: acls: a \\| b |');
  });
});

describe('compactJson', () => {
  it('keeps short values on one line, breaks long ones, and parses back to the same value', () => {
    const value = { short: { a: 1, b: [1, 2] }, long: ['x'.repeat(30), 'y'.repeat(30)], none: undefined, nil: null };
    const text = compactJson(value, '', 40);
    expect(text).toBe(
      `{\n  "short": {"a":1,"b":[1,2]},\n  "long": [\n    "${'x'.repeat(30)}",\n    "${'y'.repeat(30)}"\n  ],\n  "nil": null\n}`,
    );
    expect(JSON.parse(text)).toEqual({ short: value.short, long: value.long, nil: null });
    expect(compactJson(full)).toBe(compactJson(JSON.parse(compactJson(full))));
  });
});

describe('replaceBetweenMarkers', () => {
  const readme = `# x\n\nbefore\n${README_START}\nold table\n${README_END}\nafter\n`;

  it('replaces only what lies between the markers, and doing it twice changes nothing more', () => {
    const once = replaceBetweenMarkers(readme, '| new |\n');
    expect(once).toBe(`# x\n\nbefore\n${README_START}\n| new |\n${README_END}\nafter\n`);
    expect(replaceBetweenMarkers(once, '| new |')).toBe(once);
  });

  it('refuses a README without both markers in order', () => {
    expect(() => replaceBetweenMarkers('# x\n', 't')).toThrow(/markers/);
    expect(() => replaceBetweenMarkers(`${README_END}\n${README_START}`, 't')).toThrow(/markers/);
  });
});

describe('kfake and conformance plumbing', () => {
  const goMod = [
    'module kafka-wire/compat/kfake',
    '',
    'go 1.26.0',
    '',
    'require github.com/twmb/franz-go/pkg/kfake v0.0.0-20260918054303-01f206a7e32c',
    '',
    'require (',
    '\tgithub.com/twmb/franz-go v1.22.3 // indirect',
    ')',
  ].join('\n');

  it('reads pinned versions from go.mod, telling franz-go from its kfake module', () => {
    expect(pinnedVersion(goMod, 'github.com/twmb/franz-go/pkg/kfake')).toBe('v0.0.0-20260918054303-01f206a7e32c');
    expect(pinnedVersion(goMod, 'github.com/twmb/franz-go')).toBe('v1.22.3');
    expect(() => pinnedVersion(goMod, 'github.com/twmb/franz-go/pkg/kadm')).toThrow(/requires no version/);
  });

  it('accepts a complete ready line and rejects anything else', () => {
    const line = JSON.stringify({
      ready: true,
      pid: 1,
      kfakeVersion: 'v0',
      franzGoVersion: 'v1',
      brokers: 1,
      bootstrap: { plaintext: '127.0.0.1:39092', saslPlaintext: '127.0.0.1:39093', ssl: '127.0.0.1:39094' },
      sasl: { username: 'u', password: 'p', mechanisms: ['PLAIN'] },
      caFile: '/tmp/ca.pem',
    });
    expect(parseReadyLine(line).bootstrap.ssl).toBe('127.0.0.1:39094');
    expect(() => parseReadyLine('panic: boom')).toThrow(/instead of its JSON ready line/);
    expect(() => parseReadyLine('{"ready":true}')).toThrow(/lacks a field/);
  });

  it('builds the conformance arguments of each listener', () => {
    expect(conformanceArgs({ listener: 'plaintext', bootstrap: 'h:1' })).toEqual(['--bootstrap', 'h:1']);
    expect(
      conformanceArgs({
        listener: 'sasl',
        bootstrap: 'h:2',
        sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' },
        only: ['connect', 'produce'],
      }),
    ).toEqual([
      '--bootstrap',
      'h:2',
      '--sasl-mechanism',
      'SCRAM-SHA-256',
      '--sasl-username',
      'u',
      '--sasl-password',
      'p',
      '--only',
      'connect,produce',
    ]);
    expect(conformanceArgs({ listener: 'tls', bootstrap: 'h:3', caFile: '/ca.pem' })).toEqual([
      '--bootstrap',
      'h:3',
      '--tls',
      '--tls-ca',
      '/ca.pem',
    ]);
  });

  it('picks the error line out of a crashed child stderr', () => {
    const stderr = '/work/main/src/x.ts:12\n  const a = b();\n      ^\n\nTypeError: b is not a function\n    at main (x.ts:12)\n';
    expect(errorSummary(stderr)).toBe('TypeError: b is not a function');
    expect(errorSummary('kafka-wire: --bootstrap needs a value\n')).toBe('kafka-wire: --bootstrap needs a value');
    expect(errorSummary('just this\n')).toBe('just this');
  });
});
