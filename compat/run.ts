/**
 * `npm run compat`: `kafka-wire conformance` against every Apache Kafka line of the matrix
 * (an embedded single-node broker each, one after the other) and against franz-go's kfake, over
 * PLAINTEXT, SASL and TLS; writes compat/results/matrix.{json,md} and the README's matrix.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerFlag, parseArgs, stringFlag, UsageError } from '../src/cli/args.js';
import { listenForInterrupts } from '../src/cli/interrupt.js';
import { bootstrapFor, loadClusterState, nodeIsRunning, startCluster, stopCluster } from '../src/embedded/cluster.js';
import { stateRoot } from '../src/embedded/paths.js';
import { MATRIX_KAFKA_VERSIONS, versionFeatures } from '../src/embedded/versions.js';
import { type ConformanceTarget, runConformance } from './conformance-run.js';
import { pinnedVersions, startKfake } from './kfake.js';
import {
  COLUMNS,
  compactJson,
  isFailure,
  type ListenerRun,
  type MatrixFile,
  matrixMarkdown,
  replaceBetweenMarkers,
  rowCells,
  rowLabel,
  type TargetResult,
} from './matrix.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(REPO, 'compat', 'results');
const README = join(REPO, 'README.md');
/** Each run's own report, before matrix.json gathers them: scratch, beside the clusters' state. */
const REPORTS = join(stateRoot(), 'compat-reports');
/** Every group over PLAINTEXT; the secured listeners only need to prove they carry a connection and a produce. */
const SECURED_GROUPS = ['connect', 'produce'];
const PLAINTEXT_TIMEOUT_MS = 15 * 60_000;
const SECURED_TIMEOUT_MS = 5 * 60_000;

const USAGE = `usage: npm run compat -- [--versions A,B] [--no-kfake | --kfake-only] [--readme | --no-readme]
                        [--port-base P] [--kfake-port-base K]
       npm run compat -- --render [--readme]

  runs kafka-wire conformance against an embedded Apache Kafka of each version (default: all of
  ${MATRIX_KAFKA_VERSIONS.join(', ')}) and against franz-go's kfake,
  over PLAINTEXT (every group), SASL_PLAINTEXT and SSL (connect and produce)
  writes compat/results/matrix.json and matrix.md; the README's matrix only after a full run (or with --readme)
  version i's broker uses ports P+10i.. (default P 29092), kfake K.. (default 39092)
  --render writes matrix.md (and with --readme the README) again from matrix.json, running nothing`;

interface Options {
  versions: string[];
  kfake: boolean;
  portBase: number;
  kfakePortBase: number;
  readme: boolean;
  render: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const args = parseArgs(argv, {
    command: 'compat',
    options: ['versions', 'port-base', 'kfake-port-base'],
    switches: ['no-kfake', 'kfake-only', 'readme', 'no-readme', 'render'],
  });
  if (args.help) return undefined;
  const listed = stringFlag(args, 'versions');
  const versions = args.flags.has('kfake-only') ? [] : listed ? listed.split(',').map((v) => v.trim()) : [...MATRIX_KAFKA_VERSIONS];
  for (const version of versions) versionFeatures(version); // rejects a malformed or too old version now, not after an hour
  if (args.flags.has('no-kfake') && args.flags.has('kfake-only')) throw new UsageError('--no-kfake and --kfake-only exclude each other');
  const kfake = !args.flags.has('no-kfake');
  const full = !listed && kfake && !args.flags.has('kfake-only');
  return {
    versions,
    kfake,
    portBase: integerFlag(args, 'port-base', 1024, 65_000) ?? 29_092,
    kfakePortBase: integerFlag(args, 'kfake-port-base', 1024, 65_000) ?? 39_092,
    readme: args.flags.has('readme') || (full && !args.flags.has('no-readme') && !args.flags.has('render')),
    render: args.flags.has('render'),
  };
}

/** Tries a port base, and a few others above it when one of its ports is taken (often only by a client's ephemeral port). */
const PORT_TRIES = 4;
const PORT_STEP = 200;

async function onFreePorts<T>(base: number, label: string, start: (base: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await start(base + attempt * PORT_STEP);
    } catch (error) {
      const taken = /in use|EADDRINUSE/i.test((error as Error).message);
      if (!taken || attempt + 1 >= PORT_TRIES) throw error;
      say(`${label}: ${(error as Error).message.split('\n')[0]}; trying ports from ${base + (attempt + 1) * PORT_STEP}`);
    }
  }
}

/** Cluster names this script owns: a leftover from an interrupted run of it is stopped before its ports are needed. */
const clusterName = (version: string) => `compat-${version.replaceAll('.', '-')}`;

function say(line: string): void {
  console.log(`[compat ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** PLAINTEXT with every group, then SASL and TLS with connect and produce. */
async function runListeners(targets: ConformanceTarget[], label: string, reportDir: string, signal: AbortSignal): Promise<ListenerRun[]> {
  const runs: ListenerRun[] = [];
  for (const target of targets) {
    if (signal.aborted) break;
    say(`${label}: conformance over ${target.listener} (${target.bootstrap})`);
    const run = await runConformance(target, {
      reportFile: join(reportDir, `${target.listener}.json`),
      timeoutMs: target.only ? SECURED_TIMEOUT_MS : PLAINTEXT_TIMEOUT_MS,
      log: (line) => console.log(`    ${line}`),
      signal,
    });
    const summary = run.report?.summary;
    say(
      `${label} ${target.listener}: exit ${run.exitCode} in ${(run.durationMs / 1000).toFixed(1)} s` +
        (summary ? `, ${summary.pass} pass ${summary.fail} fail ${summary.unsupported} unsupported ${summary.skipped} skipped` : '') +
        (run.error ? ` (${run.error.split('\n')[0]})` : ''),
    );
    runs.push(run);
  }
  return runs;
}

async function kafkaRow(version: string, index: number, options: Options, signal: AbortSignal): Promise<TargetResult> {
  const features = versionFeatures(version);
  const name = clusterName(version);
  const result: TargetResult = {
    broker: 'Apache Kafka',
    version,
    variant: features.mode === 'kraft' ? 'KRaft' : 'ZooKeeper',
    startMs: 0,
    runs: [],
  };
  const scram = features.scram.how !== 'unavailable';
  if (!scram) result.saslNote = `no SCRAM users in KRaft ${version.split('.').slice(0, 2).join('.')}`;
  const label = `Kafka ${version}`;
  const started = performance.now();
  try {
    const leftover = loadClusterState(name);
    if (leftover?.nodes.some(nodeIsRunning)) {
      say(`${label}: stopping ${name}, left running by an earlier compat run`);
      await stopCluster(name);
    }
    const state = await onFreePorts(options.portBase + 10 * index, label, (portBase) => {
      say(`${label}: starting ${name} (${result.variant}) on ports from ${portBase}`);
      return startCluster({ name, version, brokers: 1, portBase, log: (line) => console.log(`    ${line}`) });
    });
    result.startMs = Math.round(performance.now() - started);
    const mechanism = scram ? 'SCRAM-SHA-256' : 'PLAIN';
    result.runs = await runListeners(
      [
        { listener: 'plaintext', bootstrap: bootstrapFor(state, 'plaintext') },
        {
          listener: 'sasl',
          bootstrap: bootstrapFor(state, 'saslPlaintext'),
          sasl: { mechanism, username: state.sasl.username, password: state.sasl.password },
          only: SECURED_GROUPS,
        },
        { listener: 'tls', bootstrap: bootstrapFor(state, 'ssl'), caFile: state.tls.caFile, only: SECURED_GROUPS },
      ],
      label,
      join(REPORTS, `kafka-${version}`),
      signal,
    );
  } catch (error) {
    result.startMs = Math.round(performance.now() - started);
    result.startError = (error as Error).message;
    say(`${label}: ${result.startError}`);
  } finally {
    say(`${label}: stopping ${name}`);
    await stopCluster(name).catch((error: unknown) => say(`${label}: stopping ${name} failed: ${(error as Error).message}`));
  }
  return result;
}

async function kfakeRow(options: Options, signal: AbortSignal): Promise<TargetResult> {
  const pinned = pinnedVersions();
  const result: TargetResult = { broker: 'kfake', version: pinned.kfake, variant: `franz-go ${pinned.franzGo}`, startMs: 0, runs: [] };
  const started = performance.now();
  let kfake: Awaited<ReturnType<typeof startKfake>> | undefined;
  try {
    kfake = await onFreePorts(options.kfakePortBase, 'kfake', (portBase) => {
      say(`kfake: building if needed and starting on ports from ${portBase}`);
      return startKfake({ portBase, dir: join(stateRoot(), 'compat-kfake'), log: say });
    });
    result.startMs = Math.round(performance.now() - started);
    const { info } = kfake;
    result.version = info.kfakeVersion;
    result.variant = `franz-go ${info.franzGoVersion}`;
    result.runs = await runListeners(
      [
        { listener: 'plaintext', bootstrap: info.bootstrap.plaintext },
        {
          listener: 'sasl',
          bootstrap: info.bootstrap.saslPlaintext,
          sasl: { mechanism: 'SCRAM-SHA-256', username: info.sasl.username, password: info.sasl.password },
          only: SECURED_GROUPS,
        },
        { listener: 'tls', bootstrap: info.bootstrap.ssl, caFile: info.caFile, only: SECURED_GROUPS },
      ],
      'kfake',
      join(REPORTS, 'kfake'),
      signal,
    );
  } catch (error) {
    result.startMs = Math.round(performance.now() - started);
    result.startError = (error as Error).message;
    say(`kfake: ${result.startError}`);
  } finally {
    await kfake?.stop();
  }
  return result;
}

async function main(argv: string[]): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions(argv);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  if (options.render) {
    const matrix = JSON.parse(readFileSync(join(RESULTS, 'matrix.json'), 'utf8')) as MatrixFile;
    return writeMatrix(matrix, options.readme);
  }
  const interrupts = listenForInterrupts((signal) => say(`${signal}: stopping after the current step (again to quit at once)`));
  const targets: TargetResult[] = [];
  const began = performance.now();
  try {
    for (const [index, version] of options.versions.entries()) {
      if (interrupts.signal.aborted) break;
      targets.push(await kafkaRow(version, index, options, interrupts.signal));
    }
    if (options.kfake && !interrupts.signal.aborted) targets.push(await kfakeRow(options, interrupts.signal));
  } finally {
    interrupts.dispose();
  }
  if (interrupts.signal.aborted) {
    say('interrupted: nothing written');
    return 130;
  }

  const matrix: MatrixFile = {
    tool: 'kafka-wire compat',
    generatedAt: new Date().toISOString(),
    kafkaWireVersion: targets.flatMap((t) => t.runs).find((run) => run.report)?.report?.kafkaWireVersion ?? null,
    targets,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'matrix.json'), `${compactJson(matrix)}\n`);
  say(`ran ${targets.length} broker(s) in ${((performance.now() - began) / 60_000).toFixed(1)} min; wrote compat/results/matrix.json`);
  return writeMatrix(matrix, options.readme);
}

/** matrix.md and, if asked, the README's section from the matrix; 1 when any cell failed. */
function writeMatrix(matrix: MatrixFile, readme: boolean): number {
  const markdown = matrixMarkdown(matrix);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'matrix.md'), `# Compatibility matrix\n\n${markdown}\n`);
  if (readme) writeFileSync(README, replaceBetweenMarkers(readFileSync(README, 'utf8'), markdown));
  say(`wrote compat/results/matrix.md${readme ? ' and the README matrix' : ''}`);
  const targets = matrix.targets;
  let failed = 0;
  for (const target of targets) {
    const cells = rowCells(target);
    for (const column of COLUMNS) {
      if (!isFailure(cells[column])) continue;
      failed++;
      console.log(`${rowLabel(target)} / ${column}: ${cells[column]}`);
    }
  }
  say(failed === 0 ? 'every cell passed or names what the broker lacks' : `${failed} cell(s) failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
