/**
 * npm run bench [-- --quick] [--rounds N] [--clients a,b] [--scenarios x,y] [--kafka-version V] [--profile]
 *
 * The same produce and read workloads, against the same real broker (the embedded one, or
 * KAFKA_BOOTSTRAP), from kafka-wire and the clients people would otherwise pick, each in its own
 * process. Clients take turns (A B C … A B C …) over the rounds, so drift of the machine hits
 * all of them alike. Every produce run is checked by the topic's end offsets, a transactional one
 * by the records a read_committed reader sees; every read run by the count and checksum of the
 * records it read, against those of the topic it read (filled once per scenario, read-topics.ts).
 * Over each run's timed window the broker's CPU time and the share of the machine's cores busy are
 * measured too (load.ts): the broker shares the cores, and can be what limits a client.
 * --profile writes a V8 CPU profile of every kafka-wire run to bench/results/profiles/ (open it
 * in Chrome's DevTools).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Admin, type PartitionOffset } from '../src/cluster/admin.js';
import { Cluster } from '../src/cluster/cluster.js';
import { PartitionReader } from '../src/consumer/partition-reader.js';
import { fetchKafka } from '../src/embedded/artifacts.js';
import { bootstrapFor, nodeDataDir, startCluster, stopCluster } from '../src/embedded/cluster.js';
import { DEFAULT_KAFKA_VERSION } from '../src/embedded/versions.js';
import { Producer } from '../src/producer/producer.js';
import type { DoneLine, RunConfig } from './clients/kit.js';
import { type BenchClient, CLIENTS, resultName } from './clients.js';
import { startLoadWindow, type WindowLoad } from './load.js';
import { topicLogBytes } from './log-bytes.js';
import { type ReadTopic, ReadTopics } from './read-topics.js';
import { aggregate, type RunResult, runResult, writeResults } from './report.js';
import { scenarios as allScenarios, PARTITIONS, READ_TUNING, type Scenario, TUNING } from './scenarios.js';

const CLUSTER_NAME = 'bench';
/** How long counting a transactional run's committed records may take, waiting for its last markers included. */
const COMMITTED_COUNT_MS = 60_000;
/** Bound on the untimed read that warms a read scenario's topic before each run. */
const WARM_READ_MS = 120_000;

interface Options {
  quick: boolean;
  rounds: number;
  clients: BenchClient[];
  scenarios: Scenario[];
  kafkaVersion: string;
  profile: boolean;
}

const USAGE = `usage: npm run bench [-- --quick] [--rounds N] [--clients a,b] [--scenarios x,y] [--kafka-version V] [--profile]
  (kafka-wire bench takes the same options; see its --help)`;
const VALUE_FLAGS = ['--rounds', '--clients', '--scenarios', '--kafka-version'];
const SWITCHES = ['--quick', '--profile'];

function parseOptions(argv: string[]): Options {
  // A typo must not start a ten-minute run that ignores it.
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (VALUE_FLAGS.includes(arg)) i++;
    else if (!SWITCHES.includes(arg)) throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const pick = <T extends { name: string }>(all: T[], list: string | undefined, what: string): T[] => {
    if (!list) return all;
    const chosen = list.split(',').map((wanted) => {
      const found = all.find((item) => item.name === wanted || item.name.startsWith(wanted));
      if (!found) throw new Error(`unknown ${what} "${wanted}"; choose from: ${all.map((item) => item.name).join(', ')}`);
      return found;
    });
    return all.filter((item) => chosen.includes(item));
  };
  const rounds = Number(value('--rounds') ?? (quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, not ${value('--rounds')}`);
  return {
    quick,
    rounds,
    clients: pick(CLIENTS, value('--clients'), 'client'),
    scenarios: pick(allScenarios(quick), value('--scenarios'), 'scenario'),
    kafkaVersion: value('--kafka-version') ?? DEFAULT_KAFKA_VERSION,
    profile: argv.includes('--profile'),
  };
}

/** Generous bound on one run, so a stuck client fails its run instead of hanging the bench. */
function runTimeoutMs(scenario: Scenario): number {
  const atSlowest = scenario.rate > 0 ? (scenario.count / scenario.rate) * 1000 : (scenario.count * Math.max(1, scenario.size / 100)) / 10;
  return 60_000 + atSlowest * 2;
}

class Display {
  private readonly tty = process.stdout.isTTY === true;
  line(text: string): void {
    if (this.tty) process.stdout.write(`\r\u001b[2K${text}`);
  }
  done(text: string): void {
    process.stdout.write(this.tty ? `\r\u001b[2K${text}\n` : `${text}\n`);
  }
}

/**
 * Runs one client process to its done line. The broker's CPU and the machine's load are measured
 * over the client's timed window: from its {"started"} line (until one comes, from the spawn)
 * to its done line.
 */
async function runOne(
  context: RunContext,
  { client, scenario, label }: Run,
  runner: string,
  config: RunConfig,
): Promise<{ done?: DoneLine; error?: string; load?: WindowLoad }> {
  const { display, profile } = context;
  const profiling = profile && client.name === 'kafka-wire' ? ['--cpu-prof', `--cpu-prof-dir=bench/results/profiles/${scenario.name}`] : [];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...profiling, compiledRunner(runner), JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const loadWindow = startLoadWindow(context.brokerPids);
    let done: DoneLine | undefined;
    let load: WindowLoad | undefined;
    let error: string | undefined;
    let stderr = '';
    let buffered = '';
    const started = performance.now();
    const timer = setTimeout(() => {
      error = `no result within ${Math.round(runTimeoutMs(scenario) / 1000)} s`;
      child.kill('SIGKILL');
    }, runTimeoutMs(scenario));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let message: { started?: boolean; progress?: number; done?: boolean; error?: string } & Partial<DoneLine>;
        try {
          message = JSON.parse(text);
        } catch {
          stderr += `${text}\n`; // a client library printing to stdout
          continue;
        }
        if (message.started) loadWindow.restart();
        else if (typeof message.progress === 'number') {
          const seconds = (performance.now() - started) / 1000;
          const share = Math.min(1, message.progress / scenario.count);
          const bar = '█'.repeat(Math.round(share * 24)).padEnd(24, '░');
          const rate = Math.round(message.progress / seconds).toLocaleString('en-US');
          display.line(`${label} ${bar} ${(share * 100).toFixed(0).padStart(3)}%  ${rate} records/s`);
        } else if (message.done) {
          load = loadWindow.stop();
          done = message as DoneLine;
        } else if (message.error) error = message.error;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('close', (code) => {
      clearTimeout(timer);
      const lastLines = stderr.trim().split('\n').slice(-3).join(' | ');
      if (!done && !error) error = `exited with code ${code}: ${lastLines}`;
      // The client's own account of a failure (a peer's exception, say) goes with its error line.
      else if (!done && lastLines) error = `${error} (its last output: ${lastLines.slice(-600)})`;
      resolve({ done, error, load });
    });
  });
}

/**
 * The confluent client's native addon is built on demand, not at `npm ci` (it takes minutes):
 * build-confluent.mjs returns at once when the addon already loads. A failed build leaves the
 * client out of this run (its runs are marked not run), with the reason and the command to retry.
 */
function prepareConfluentPeer(clients: BenchClient[]): void {
  if (!clients.some((client) => client.runner === 'confluent.ts')) return;
  const build = spawnSync(process.execPath, [fileURLToPath(new URL('./build-confluent.mjs', import.meta.url))], { stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('the confluent-kafka-javascript client will not run; fix the cause above, then "npm run bench:confluent"');
  }
}

/**
 * Each runner compiled to one plain JavaScript file beside its source (`*.built.mjs`, not in git),
 * so that a run's process holds the client and the harness only. Under tsx every runner carried
 * tsx itself: an empty script took 61 MB of RSS against 43 MB with plain node, and tsx loads
 * node:crypto and node:child_process, which kafka-wire no longer loads at import. Beside its source
 * so that paths a runner builds from its own URL stay right. Dependencies stay external: each
 * client is loaded from node_modules as a user would load it.
 */
async function compileRunners(clients: BenchClient[]): Promise<void> {
  const runners = clients.flatMap((client) => [client.runner, ...(client.reader ? [client.reader.runner] : [])]);
  await build({
    entryPoints: runners.map((runner) => `bench/clients/${runner}`),
    outdir: 'bench/clients',
    outbase: 'bench/clients',
    outExtension: { '.js': '.built.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node22.12',
    logLevel: 'warning',
  });
}

function compiledRunner(runner: string): string {
  return `bench/clients/${runner.replace(/\.ts$/, '.built.mjs')}`;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const options = parseOptions(process.argv.slice(2));
  const display = new Display();
  prepareConfluentPeer(options.clients);
  await compileRunners(options.clients);
  const artifacts = await fetchKafka(options.kafkaVersion, (line) => console.log(line));
  let bootstrap = process.env.KAFKA_BOOTSTRAP;
  let kafkaVersion = bootstrap ? 'external' : options.kafkaVersion;
  let started = false;
  // The embedded broker's JVMs, whose CPU each run measures; none for an external broker.
  let brokerPids: number[] = [];
  // Their log directories, whose segment files show what each run's records take on disk; none for an external broker.
  let logDirs: string[] = [];
  const stop = async () => {
    if (started) await stopCluster(CLUSTER_NAME).catch(() => {});
    started = false;
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  if (!bootstrap) {
    console.log(`starting the embedded Kafka ${options.kafkaVersion} broker…`);
    await stopCluster(CLUSTER_NAME).catch(() => {});
    started = true;
    const state = await startCluster({ name: CLUSTER_NAME, version: options.kafkaVersion, portBase: 'auto' });
    bootstrap = bootstrapFor(state, 'plaintext');
    brokerPids = state.nodes.flatMap((node) => (node.pid === null ? [] : [node.pid]));
    logDirs = state.nodes.map((node) => nodeDataDir(state.dir, node.id));
    kafkaVersion = state.kafkaVersion;
  }
  const cluster = await Cluster.connect({ bootstrap, clientId: 'bench-orchestrator', partitionCountRefreshMs: 0 });
  const admin = new Admin(cluster);
  const runs: RunResult[] = [];
  const readTopics = new ReadTopics(cluster, admin, bootstrap);
  const context: RunContext = {
    bootstrap,
    brokerPids,
    logDirs,
    cluster,
    admin,
    readTopics,
    kafkaLibDir: artifacts.libDir,
    display,
    profile: options.profile,
  };
  try {
    // Only kafka-wire has a durable producer (and a daemon): the other clients sit those scenarios out.
    const clientsOf = (scenario: Scenario) =>
      scenario.durable ? options.clients.filter((client) => client.name === 'kafka-wire') : options.clients;
    const perRound = options.scenarios.reduce((sum, scenario) => sum + clientsOf(scenario).length, 0);
    const total = options.rounds * perRound;
    console.log(
      `${total} runs: ${options.rounds} round(s) of ${options.scenarios.length} scenarios × ${options.clients.length} clients ` +
        `(the durable scenarios: kafka-wire only), against ${bootstrap}\n`,
    );
    await warmUpBroker(admin, bootstrap, display);
    let index = 0;
    for (let round = 1; round <= options.rounds; round++) {
      for (const scenario of options.scenarios) {
        for (const client of clientsOf(scenario)) {
          index++;
          const label = `[${index}/${total}] round ${round} ${scenario.name} · ${resultName(client, scenario)}`;
          const skip = client.cannot?.(scenario);
          if (skip) {
            runs.push({ client: resultName(client, scenario), scenario: scenario.name, round, skipped: skip });
            display.done(`${label}: skipped (${skip})`);
            continue;
          }
          const run = { client, scenario, round, label };
          const attempt = () => (scenario.read ? readRun(context, run) : produceRun(context, run));
          let result = await attempt();
          // A peer process that ended without a result (e.g. Kafka's perf tool exiting 1 mid-run) goes once
          // more, and the report lists why. kafka-wire never does, nor does any run whose records did not check out.
          if (!result.valid && result.recordsPerSec === undefined && client.name !== 'kafka-wire') {
            display.done(`${label}: ended without a result (${result.invalidReason}); running it once more`);
            result = { ...(await attempt()), retriedAfter: result.invalidReason };
          }
          runs.push(result);
          const rate = `${Math.round(result.recordsPerSec ?? 0).toLocaleString('en-US')} records/s`;
          display.done(`${label}: ${result.valid ? rate : `INVALID (${result.invalidReason})`}`);
        }
      }
    }
  } finally {
    await readTopics.deleteAll();
    cluster.close();
    await stop();
  }
  const cores = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`;
  const machine = `${cores}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Linux, Node ${process.version}, broker on the same machine`;
  const report = aggregate({
    machine,
    kafkaVersion,
    quick: options.quick,
    rounds: options.rounds,
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    scenarios: options.scenarios,
    runs,
  });
  const files = writeResults(report);
  console.log(`\n${files.table}`);
  console.log(`\nwritten: ${files.written.join(', ')}`);
  const invalid = report.scenarios.flatMap((scenario) => scenario.results.filter((result) => !result.valid));
  if (invalid.length > 0) {
    console.error(`${invalid.length} result(s) invalid: a client lost, duplicated or failed records, or did not finish`);
    process.exitCode = 1;
  }
}

/** What every run needs besides its client and scenario. */
interface RunContext {
  bootstrap: string;
  /** The broker JVMs on this machine (empty for an external broker, whose CPU is not measured). */
  brokerPids: readonly number[];
  /** The embedded broker's log.dirs (empty for an external broker). */
  logDirs: readonly string[];
  cluster: Cluster;
  admin: Admin;
  readTopics: ReadTopics;
  kafkaLibDir: string;
  display: Display;
  profile: boolean;
}

interface Run {
  client: BenchClient;
  scenario: Scenario;
  round: number;
  label: string;
}

/** A produce run: to a topic of its own, checked by the topic's end offsets (transactional: the committed records), then deleted. */
async function produceRun(context: RunContext, run: Run): Promise<RunResult> {
  const { client, scenario, round } = run;
  const { admin, cluster } = context;
  const topic = `bench-${scenario.name}-${client.runner.replace('.ts', '')}-${round}-${Date.now().toString(36)}`;
  await admin.createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
  const config: RunConfig = { bootstrap: context.bootstrap, topic, ...TUNING, ...scenario, kafkaLibDir: context.kafkaLibDir };
  // A transactional id of the run's own, so no run fences or waits for another's.
  if (scenario.transactionRecords) config.transactionalId = `${topic}-txn`;
  const outcome = await runOne(context, run, client.runner, config);
  const ends = await admin.listOffsets(topic).catch(() => undefined);
  const written = ends ? ends.reduce((sum, entry) => sum + Number(entry.offset), 0) : -1;
  if (scenario.transactionRecords && ends) context.display.line(`${run.label}: counting the committed records`);
  const committed = scenario.transactionRecords && ends ? await committedRecords(cluster, topic, ends).catch(() => -1) : undefined;
  const logBytes = topicLogBytes(context.logDirs, topic, PARTITIONS);
  await admin.deleteTopics([topic]).catch(() => {});
  return runResult({ client: client.name, scenario, round }, outcome, { written, committed, logBytes });
}

/**
 * A read run: the scenario's topic (filled on first use, and read once just before every run,
 * both untimed), read to its end offsets, checked by count and checksum.
 */
async function readRun(context: RunContext, { client, scenario, round, label }: Run): Promise<RunResult> {
  const run = { client: resultName(client, scenario), scenario, round, readPath: client.reader.path };
  let filled: ReadTopic;
  try {
    filled = await context.readTopics.of(scenario, (line) => context.display.line(`${label}: ${line}`));
    await context.readTopics.warm(filled, AbortSignal.timeout(WARM_READ_MS));
  } catch (error) {
    return runResult(
      run,
      { error: `the topic to read was not filled or warmed: ${error instanceof Error ? error.message : String(error)}` },
      { written: -1 },
    );
  }
  const reading = { partitionEnds: filled.partitionEnds, ...READ_TUNING };
  const config: RunConfig = {
    bootstrap: context.bootstrap,
    topic: filled.topic,
    ...TUNING,
    ...scenario,
    kafkaLibDir: context.kafkaLibDir,
    reading,
  };
  const outcome = await runOne(context, { client, scenario, round, label }, client.reader.runner, config);
  return runResult(run, outcome, { written: scenario.count, checksum: filled.checksum });
}

/**
 * A freshly started broker is slow until its JIT has warmed up, which would penalize whichever
 * client runs first: 500,000 records go to a scratch topic before any run is measured, and the
 * group coordinator is started.
 */
async function warmUpBroker(admin: Admin, bootstrap: string, display: Display): Promise<void> {
  const topic = `bench-warm-up-${Date.now().toString(36)}`;
  await admin.createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
  const producer = new Producer({ bootstrap, clientId: 'bench-warm-up', batchSize: TUNING.batchSize });
  const value = Buffer.alloc(100, 'w');
  for (let sent = 0; sent < 500_000; sent += 10_000) {
    await producer.sendMany(Array.from({ length: 10_000 }, () => ({ topic, value })));
    display.line(`warming up the broker: ${sent + 10_000} records`);
  }
  await producer.close();
  await admin.deleteTopics([topic]).catch(() => {});
  // The first group lookup makes the broker create __consumer_offsets: done here, not while KafkaJS joins its group to read.
  await admin.listGroupOffsets('bench-warm-up').catch(() => {});
  display.done('broker warmed up with 500,000 records and its group coordinator');
}

/**
 * The records a read_committed reader sees, read from the start of every partition up to its end
 * offset: records of aborted or still open transactions are not counted, nor are the transaction
 * markers. A commit's markers land just after the commit returns, so the readers wait for them,
 * up to COMMITTED_COUNT_MS in all; a transaction left open then ends the count short.
 */
async function committedRecords(cluster: Cluster, topic: string, ends: PartitionOffset[]): Promise<number> {
  const signal = AbortSignal.timeout(COMMITTED_COUNT_MS);
  const counts = await Promise.all(
    ends.map(async ({ partition, offset }) => {
      let records = 0;
      const reader = new PartitionReader(cluster, { topic, partition, until: offset, isolation: 'read_committed', signal });
      for await (const _record of reader) records++;
      return records;
    }),
  );
  return counts.reduce((sum, records) => sum + records, 0);
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
