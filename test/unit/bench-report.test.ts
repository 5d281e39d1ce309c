import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Latencies, recordValues, valueAt } from '../../bench/clients/kit.js';
import { startLoadWindow } from '../../bench/load.js';
import { topicLogBytes } from '../../bench/log-bytes.js';
import { aggregate, markdownTable, type RunResult, runResult, svgChart, writeResults } from '../../bench/report.js';
import { scenarios } from '../../bench/scenarios.js';

const [throughput, , , , , paced, transactional, , durableInterval] = scenarios(false) as ReturnType<typeof scenarios>;

function run(client: string, scenario: string, round: number, recordsPerSec: number, extra: Partial<RunResult> = {}): RunResult {
  return {
    client,
    scenario,
    round,
    valid: true,
    recordsPerSec,
    mbPerSec: recordsPerSec / 10_000,
    cpuUsPerRecord: 1_000_000 / recordsPerSec,
    rssMb: 100 + round,
    ...extra,
  };
}

const base = { machine: 'test machine', kafkaVersion: '4.3.1', quick: false, rounds: 3, command: 'npm run bench' };

describe('bench report', () => {
  test('medians over rounds, the largest RSS, invalid rounds and skipped clients kept apart', () => {
    // kafkajs's runs as against an external broker: the machine's load measured, the broker's CPU not.
    const runs = [
      run('kafka-wire', throughput!.name, 1, 900, {
        brokerCpuUsPerRecord: 2.5,
        brokerSystemUsPerRecord: 0.5,
        machineBusy: 0.95,
        logBytesPerRecord: 131.25,
      }),
      run('kafka-wire', throughput!.name, 2, 1000, {
        brokerCpuUsPerRecord: 4,
        brokerSystemUsPerRecord: 2.25,
        machineBusy: 0.8,
        logBytesPerRecord: 118.5,
      }),
      run('kafka-wire', throughput!.name, 3, 1200, {
        brokerCpuUsPerRecord: 3,
        brokerSystemUsPerRecord: 0.75,
        machineBusy: 0.9,
        logBytesPerRecord: 120.04,
      }),
      run('kafkajs', throughput!.name, 1, 200, { machineBusy: 0.5 }),
      run('kafkajs', throughput!.name, 2, 400, { valid: false, invalidReason: 'the topic holds 7 records, expected 8', machineBusy: 0.7 }),
      run('kafkajs', throughput!.name, 3, 300, { machineBusy: 0.6 }),
      { client: 'java', scenario: throughput!.name, round: 1, skipped: 'keyless only' },
    ];
    const report = aggregate({ ...base, scenarios: [throughput!], runs });
    const [scenario] = report.scenarios;
    expect(scenario!.skipped).toEqual([{ client: 'java', reason: 'keyless only' }]);
    const [home, peer] = scenario!.results;
    expect(home).toMatchObject({ client: 'kafka-wire', recordsPerSec: 1000, rssMb: 103, valid: true, p50Ms: null });
    expect(home).toMatchObject({ brokerCpuUsPerRecord: 3, brokerSystemUsPerRecord: 0.75, machineBusy: 0.9 });
    expect(peer).toMatchObject({ client: 'kafkajs', recordsPerSec: 300, valid: false, machineBusy: 0.6 });
    expect(peer!.brokerCpuUsPerRecord).toBeUndefined();
    expect(peer!.invalidReason).toContain('round 2: the topic holds 7 records');

    const table = markdownTable(report);
    // CPU µs/record, then the broker's per record (in the kernel) and the machine's busy share in percent ('–': not measured).
    expect(table).toContain(`| ${throughput!.name} | **kafka-wire** | 1,000 | 0.1 | – | 1000 | 3 (0.75) | 90 | 103 |`);
    expect(table).toContain(`| ${throughput!.name} | kafkajs ⚠ invalid | 300 | 0 | 3.33 | 3333.33 | – | 60 | 103 |`);
    expect(table).toContain('| 3.33 |'); // kafka-wire's 1000 records/s over kafkajs's 300
    // The broker's log bytes per record: the median of the rounds that measured it, '–' for none.
    expect(home!.logBytesPerRecord).toBe(120);
    expect(table).toContain('| 90 | 103 | 120 |');
    expect(table).toContain('| 60 | 103 | – |');
    expect(table).toContain('not run: keyless only');
    expect(table).toContain('Invalid results:');
    // Every row, the skipped client's included, has a cell under every heading.
    const rows = table.split('\n').filter((line) => line.startsWith('| '));
    expect(new Set(rows.map((line) => line.split(' | ').length))).toEqual(new Set([rows[0]!.split(' | ').length]));
  });

  test("a peer's run retried after ending without a result is listed with why, and counts as the retry measured", () => {
    const runs = [
      run('kafka-wire', transactional!.name, 1, 900),
      run('java', transactional!.name, 1, 300, { retriedAfter: 'ProducerPerformance exited with 1 without its summary line' }),
    ];
    const report = aggregate({ ...base, scenarios: [transactional!], runs });
    expect(report.scenarios[0]!.results.find((result) => result.client === 'java')).toMatchObject({ valid: true, recordsPerSec: 300 });
    const table = markdownTable(report);
    expect(table).not.toContain('Invalid results:');
    expect(table).toContain(
      `Peer runs retried once after ending without a result (the retry's figures are the ones above):\n` +
        `- ${transactional!.name} · java, round 1: ProducerPerformance exited with 1 without its summary line`,
    );
    expect(markdownTable(aggregate({ ...base, scenarios: [transactional!], runs: runs.slice(0, 1) }))).not.toContain('retried');
  });

  test('durable scenarios: their own table, against the in-memory baseline, with acceptance latency', () => {
    expect(durableInterval!.durable).toBe('interval');
    const runs = [
      run('kafka-wire', throughput!.name, 1, 1000),
      run('kafka-wire', durableInterval!.name, 1, 800, {
        latencyMs: { p50: 2, p99: 11, p999: 15 },
        brokerCpuUsPerRecord: 4.5,
        machineBusy: 0.97,
      }),
    ];
    const report = aggregate({ ...base, scenarios: [throughput!, durableInterval!], runs });
    expect(report.scenarios[1]!.results[0]).toMatchObject({ p50Ms: 2, p99Ms: 11, p999Ms: 15 });
    const table = markdownTable(report);
    // Not in the side-by-side table (no other client runs it), but in the durable one, as a share of the in-memory 1000.
    expect(table).not.toContain(`| ${durableInterval!.name} |`);
    expect(table).toContain('| durable, sync interval | 800 | 0.80 | 1250 | 4.5 | 97 | 101 | 2 / 11 / 15 |');
    expect(svgChart(report)).not.toContain(durableInterval!.name);
  });

  test('the paced scenario compares p99 latency, and the chart names every client', () => {
    const runs = [
      run('kafka-wire', paced!.name, 1, 20_000, { latencyMs: { p50: 3, p99: 8, p999: 12 } }),
      run('@platformatic/kafka', paced!.name, 1, 20_000, { latencyMs: { p50: 1, p99: 20, p999: 40 } }),
    ];
    const report = aggregate({ ...base, scenarios: [paced!], runs });
    expect(report.scenarios[0]!.results.map((result) => [result.p50Ms, result.p99Ms, result.p999Ms])).toEqual([
      [3, 8, 12],
      [1, 20, 40],
    ]);
    expect(markdownTable(report)).toContain('| 2.50 |');
    const svg = svgChart(report);
    expect(svg).toContain('@platformatic/kafka');
    expect(svg).toContain('20 ms');
    expect(svg.startsWith('<svg')).toBe(true);
  });

  test('paced runs: steady-state percentiles after the warm-up, the whole run beside them', () => {
    expect(paced!.warmupRecords).toBe(paced!.rate); // the first second
    // Ten records, the first four the warm-up: slow ones there must not reach the steady state's figures.
    const latencies = new Latencies(10, 4);
    latencies.add(50, 0, 2); // records 0 and 1
    latencies.add(1, 2, 4); // records 2-5: two in the warm-up, two after
    for (let i = 6; i < 10; i++) latencies.add(i - 4, i); // 2, 3, 4, 5 ms
    expect(latencies.summary()).toEqual({ p50: 3, p99: 5, p999: 5 }); // 1, 1, 2, 3, 4, 5
    expect(latencies.wholeRun()).toEqual({ p50: 3, p99: 50, p999: 50 }); // 1, 1, 1, 1, 2, 3, 4, 5, 50, 50
    // Beyond the capacity nothing is kept; without a warm-up there is no whole-run figure apart.
    latencies.add(99, 10);
    expect(latencies.summary()!.p99).toBe(5);
    const plain = new Latencies(3);
    plain.add(7, 0, 3);
    expect(plain.summary()).toEqual({ p50: 7, p99: 7, p999: 7 });
    expect(plain.wholeRun()).toBeNull();

    const runs = [1, 2, 3].map((round) =>
      run('kafka-wire', paced!.name, round, 20_000, {
        latencyMs: { p50: 0.3, p99: 1.5 + round / 10, p999: 6 },
        wholeRunLatencyMs: { p50: 0.3, p99: 2 + round, p999: 9 },
      }),
    );
    const report = aggregate({ ...base, scenarios: [paced!], runs });
    expect(report.scenarios[0]!.results[0]).toMatchObject({ p99Ms: 1.7, wholeRunP99Ms: 4 });
    expect(markdownTable(report)).toContain('| 0.3 / 1.7 / 6 (whole run: p99 4) |');
  });

  test("kafka-wire's Produce round trips in the paced scenario: medians over its rounds, written under the table", () => {
    const runs = [
      run('kafka-wire', paced!.name, 1, 20_000, {
        latencyMs: { p50: 0.3, p99: 2, p999: 6 },
        requestLatencyMs: { p50: 0.2, p99: 0.9, p999: 4 },
      }),
      run('kafka-wire', paced!.name, 2, 20_000, {
        latencyMs: { p50: 0.3, p99: 2, p999: 6 },
        requestLatencyMs: { p50: 0.25, p99: 0.7, p999: 5 },
      }),
      run('kafka-wire', paced!.name, 3, 20_000, {
        latencyMs: { p50: 0.3, p99: 2, p999: 6 },
        requestLatencyMs: { p50: 0.21, p99: 1.1, p999: 3 },
      }),
      run('@platformatic/kafka', paced!.name, 1, 20_000, { latencyMs: { p50: 1, p99: 20, p999: 40 } }),
    ];
    const report = aggregate({ ...base, scenarios: [paced!], runs });
    const [home, peer] = report.scenarios[0]!.results;
    expect(home!.requestLatencyMs).toEqual({ p50: 0.21, p99: 0.9, p999: 4 });
    expect(peer!.requestLatencyMs).toBeUndefined();
    expect(markdownTable(report)).toContain(`${paced!.name}: kafka-wire's Produce requests took 0.21 / 0.9 / 4 ms (p50 / p99 / p99.9)`);
    // Without round trips measured (the throughput scenarios, every peer) there is no such line.
    const withoutTrips = aggregate({ ...base, scenarios: [paced!], runs: runs.map(({ requestLatencyMs: _, ...rest }) => rest) });
    expect(markdownTable(withoutTrips)).not.toContain('Produce requests took');
  });

  test('a run is judged by the end offsets, a transactional run by what a read_committed reader sees', () => {
    const done = { acked: 1_000_000, failed: 0, elapsedMs: 2000, latencyMs: null, cpuUs: 1_000_000, maxRssMb: 100 };
    const plain = { client: 'kafka-wire', scenario: throughput!, round: 1 };
    expect(runResult(plain, { done }, { written: 1_000_000 })).toMatchObject({ valid: true, recordsPerSec: 500_000, cpuUsPerRecord: 1 });
    expect(runResult(plain, { done }, { written: 1_000_001 })).toMatchObject({
      valid: false,
      invalidReason: 'the topic holds 1000001 records, expected 1000000',
    });

    // 1,000 transactions leave their commit markers at offsets of their own: those are not records.
    const txn = { client: 'kafka-wire', scenario: transactional!, round: 1 };
    expect(transactional!.transactionRecords).toBe(1000);
    expect(runResult(txn, { done }, { written: 1_001_413, committed: 1_000_000 })).toMatchObject({ valid: true, markers: 1413 });
    expect(runResult(txn, { done }, { written: 1_001_413, committed: 999_000 })).toMatchObject({
      valid: false,
      invalidReason: 'a read_committed reader sees 999000 records, expected 1000000',
    });
    expect(runResult(txn, { done }, { written: 1_000_000, committed: -1 })).toMatchObject({ valid: false, markers: undefined });
    expect(runResult(txn, { error: 'no result within 260 s' }, { written: 0, committed: 0 })).toMatchObject({
      valid: false,
      invalidReason: 'no result within 260 s',
    });
  });

  test("the broker's CPU is per record acknowledged, and absent without a broker pid; the machine's load is kept as measured", () => {
    const done = { acked: 1_000_000, failed: 0, elapsedMs: 2000, latencyMs: null, cpuUs: 1_000_000, maxRssMb: 100 };
    const plain = { client: 'kafka-wire', scenario: throughput!, round: 1 };
    const load = { brokerCpuUs: 3_000_000, brokerSystemCpuUs: 1_000_000, machineBusy: 0.75 };
    expect(runResult(plain, { done, load }, { written: 1_000_000 })).toMatchObject({
      brokerCpuUsPerRecord: 3,
      brokerSystemUsPerRecord: 1,
      machineBusy: 0.75,
    });
    // Half acknowledged: the broker's CPU is shared among those.
    const half = runResult(plain, { done: { ...done, acked: 500_000 }, load }, { written: 500_000 });
    expect(half).toMatchObject({ valid: false, cpuUsPerRecord: 1, brokerCpuUsPerRecord: 6, brokerSystemUsPerRecord: 2 });
    const external = runResult(plain, { done, load: { machineBusy: 0.5 } }, { written: 1_000_000 });
    expect(external).toMatchObject({ machineBusy: 0.5 });
    expect(external.brokerCpuUsPerRecord).toBeUndefined();
    expect(external.brokerSystemUsPerRecord).toBeUndefined();
  });

  test("the broker's log bytes: a topic's segment files summed over its partitions, per record sent", () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'kw-logdir-')), mkdtempSync(join(tmpdir(), 'kw-logdir-'))];
    try {
      // Partition 0 on the first log dir with two segments (indexes not counted), partition 1 on the second.
      mkdirSync(join(dirs[0]!, 't-x-0'));
      writeFileSync(join(dirs[0]!, 't-x-0', '00000000000000000000.log'), Buffer.alloc(700));
      writeFileSync(join(dirs[0]!, 't-x-0', '00000000000000000042.log'), Buffer.alloc(300));
      writeFileSync(join(dirs[0]!, 't-x-0', '00000000000000000000.index'), Buffer.alloc(4096));
      mkdirSync(join(dirs[1]!, 't-x-1'));
      writeFileSync(join(dirs[1]!, 't-x-1', '00000000000000000000.log'), Buffer.alloc(1000));
      // Another topic whose name starts the same is not counted.
      mkdirSync(join(dirs[1]!, 't-x-1-other-0'));
      writeFileSync(join(dirs[1]!, 't-x-1-other-0', '00000000000000000000.log'), Buffer.alloc(5000));
      expect(topicLogBytes(dirs, 't-x', 2)).toBe(2000);
      expect(topicLogBytes(dirs, 't-x', 3)).toBeUndefined(); // partition 2 found nowhere
      expect(topicLogBytes([], 't-x', 2)).toBeUndefined(); // an external broker
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
    const done = { acked: 1000, failed: 0, elapsedMs: 1000, latencyMs: null, cpuUs: 1000, maxRssMb: 100 };
    const plain = { client: 'kafka-wire', scenario: { ...throughput!, count: 1000 }, round: 1 };
    expect(runResult(plain, { done }, { written: 1000, logBytes: 123_456 }).logBytesPerRecord).toBeCloseTo(123.456, 6);
    expect(runResult(plain, { done }, { written: 1000 }).logBytesPerRecord).toBeUndefined();
  });

  test("the load window: a process's CPU from /proc/<pid>/stat and all cores' busy share from /proc/stat", () => {
    const loadWindow = startLoadWindow([process.pid]);
    const started = performance.now();
    // 300 ms of this process's CPU time, not of wall time: on a busy machine the loop may wait for a core.
    const cpuAtStart = process.cpuUsage();
    let usedUs = 0;
    let systemUs = 0;
    while (usedUs < 300_000) {
      const { user, system } = process.cpuUsage(cpuAtStart);
      usedUs = user + system;
      systemUs = system;
      readFileSync('/proc/self/stat'); // some time in the kernel, too
    }
    const elapsedMs = performance.now() - started;
    const { brokerCpuUs, brokerSystemCpuUs, machineBusy } = loadWindow.stop();
    const tickSlackUs = 30_000; // clock ticks of 10 ms, read at both ends
    expect(brokerCpuUs).toBeGreaterThan(usedUs - tickSlackUs);
    // The kernel's share: what process.cpuUsage() counted as system time, within the ticks' slack, and part of the whole.
    expect(systemUs).toBeGreaterThan(2 * tickSlackUs);
    expect(brokerSystemCpuUs).toBeGreaterThan(systemUs - tickSlackUs);
    expect(brokerSystemCpuUs).toBeLessThanOrEqual(brokerCpuUs as number);
    const cores = cpus().length; // the cpuN lines of /proc/stat, whose total the share is of
    const windowUs = elapsedMs * 1000 * cores + tickSlackUs;
    expect(brokerCpuUs).toBeLessThan(windowUs); // at most all cores, all the time
    // This process's CPU time is part of the machine's busy time; others can only add to it.
    expect(machineBusy).toBeGreaterThan((usedUs - tickSlackUs) / windowUs);
    expect(machineBusy).toBeLessThanOrEqual(1);
    expect(startLoadWindow([]).stop()).toMatchObject({ brokerCpuUs: undefined, brokerSystemCpuUs: undefined });
  });

  test('--quick keeps the transactional scenario to 20 transactions, every other one to a quarter or 3 s', () => {
    const quick = scenarios(true);
    expect(quick.map((scenario) => scenario.name)).toEqual(scenarios(false).map((scenario) => scenario.name));
    expect(quick.find((scenario) => scenario.transactionRecords)).toMatchObject({ count: 20_000, transactionRecords: 1000 });
    expect(quick.find((scenario) => scenario.name === throughput!.name)!.count).toBe(throughput!.count / 4);
    expect(quick.find((scenario) => scenario.name === paced!.name)!.count).toBe(paced!.rate * 3);
  });

  test('record values: the given size, different from each other, no newlines, cycled by record number', () => {
    const values = recordValues(100);
    expect(values.every((value) => value.length === 100 && !value.includes(10))).toBe(true);
    expect(new Set(values.map((value) => value.toString())).size).toBe(values.length);
    expect(valueAt(values, values.length + 3)).toBe(values[3]);
  });

  test('only the latest results are kept in the repository: timestamped copies go where git ignores them', () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-results-'));
    try {
      const report = aggregate({ ...base, scenarios: [throughput!], runs: [run('kafka-wire', throughput!.name, 1, 1000)] });
      const { written } = writeResults(report, root);
      const inRepository = written.map((file) => `bench/results/${relative(root, file)}`);
      const ignored = (file: string) => spawnSync('git', ['check-ignore', '-q', file]).status === 0;
      expect(inRepository.filter((file) => !ignored(file)).sort()).toEqual([
        'bench/results/latest.json',
        'bench/results/latest.md',
        'bench/results/latest.svg',
      ]);
      expect(readdirSync(join(root, 'history'))).toEqual([`bench-${report.date.replace(/[:.]/g, '-')}.json`]);
      const tracked = execFileSync('git', ['ls-files', 'bench/results'], { encoding: 'utf8' }).trim().split('\n');
      expect(tracked.filter((file) => /bench-\d{4}-/.test(file))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
