import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../src/cluster/cluster.js';
import { DEFAULT_KAFKA_VERSION } from '../src/embedded/versions.js';
import { type Verdict, verdictOf } from './checker.js';
import { FaultCluster } from './cluster.js';
import { createLoadTopics, LOAD_KINDS, type Load, openLoads } from './load.js';
import { rerunWithSlowDisk, slowDisk, slowDiskReady } from './slow-disk.js';
import { soak } from './soak.js';

/**
 * `npm run faults [-- --quick] [--scenarios a,b] [--clients producer,durable] [--soak minutes]`:
 * four clients (the idempotent acks=all producer, the transactional producer, the durable producer
 * and the daemon) through network and broker faults on a 3-node embedded cluster, every
 * acknowledged record checked by Apache Kafka's console consumer. Writes
 * bench/results/faults-latest.json (or faults-quick.json with --quick) and prints the table the
 * README shows.
 */

interface Scenario {
  name: string;
  what: string;
  /** The fault's length, full and --quick. */
  faultMs: [number, number];
  /** Cuts a broker off from the others (FaultCluster.isolate): their traffic goes through proxies. */
  isolates?: boolean;
  /** Before the producer starts (a fault it must start through). */
  before?: (cluster: FaultCluster, leader: number) => Promise<void>;
  /** Needs the slow-disk shim preloaded (faults/slow-disk.ts). */
  slowsDisks?: boolean;
  /** Puts the fault in place; the returned function lifts it. */
  apply: (cluster: FaultCluster, leader: number, loads: readonly Load[]) => Lift | Promise<Lift>;
}

type Lift = () => void | Promise<void>;

const SCENARIOS: Scenario[] = [
  {
    name: 'leader-cut-from-client',
    what: "the client's path to one partition leader black-holed (the broker keeps running and leading)",
    faultMs: [60_000, 15_000],
    apply: async (cluster, leader) => {
      await cluster.proxy(leader).set({ blackHole: true });
      return () => cluster.heal();
    },
  },
  {
    name: 'leader-fenced-by-cluster',
    what: 'a partition leader cut off from the other brokers and controllers (fenced, led elsewhere) while clients still reach it',
    faultMs: [60_000, 20_000],
    isolates: true,
    apply: async (cluster, leader) => {
      await cluster.isolate(leader);
      return () => cluster.heal();
    },
  },
  {
    name: 'bootstrap-black-holed',
    what: 'the first bootstrap broker black-holed before the producer starts, and for the fault',
    faultMs: [60_000, 15_000],
    before: (cluster) => cluster.proxy(1).set({ blackHole: true }),
    apply: (cluster) => () => cluster.heal(),
  },
  {
    name: 'resets-5pct',
    what: '5% of response chunks from every broker turn into a connection reset',
    faultMs: [300_000, 20_000],
    apply: async (cluster) => {
      await cluster.setAll({ resetResponses: 0.05 });
      return () => cluster.heal();
    },
  },
  {
    name: 'latency-trickle',
    what: '200 ± 150 ms each way on every broker, responses one byte a millisecond',
    faultMs: [120_000, 15_000],
    apply: async (cluster) => {
      await cluster.setAll({ latencyMs: 200, jitterMs: 150, trickleMs: 1 });
      return () => cluster.heal();
    },
  },
  {
    name: 'leader-paused',
    what: 'a partition leader SIGSTOPped (a long GC pause), then SIGCONTed',
    faultMs: [30_000, 12_000],
    apply: (cluster, leader) => {
      cluster.pause(leader, true);
      return () => cluster.pause(leader, false);
    },
  },
  {
    name: 'slow-disk',
    what:
      "a slow disk under a partition leader's log directory (its metadata log too) and under the durable producer's and " +
      "the daemon's journals: every write 20 ms longer, every fsync 500 ms",
    faultMs: [60_000, 15_000],
    slowsDisks: true,
    apply: (cluster, leader, loads) => {
      const dirs = [cluster.dataDir(leader), ...loads.flatMap((load) => (load.journalDir ? [load.journalDir] : []))];
      slowDisk(dirs.map((dir) => ({ dir, writeMs: 20, fsyncMs: 500 })));
      return () => slowDisk([]);
    },
  },
  {
    name: 'controller-killed',
    what: "the metadata quorum's active controller (a broker too) killed with SIGKILL, restarted when the fault ends",
    faultMs: [60_000, 15_000],
    apply: async (cluster) => {
      const controller = await cluster.activeController();
      log(`controller-killed: killing node ${controller}, the active controller`);
      await cluster.kill(controller);
      return () => cluster.restart(controller);
    },
  },
];

interface Result extends Verdict {
  name: string;
  client: Load['kind'];
  what: string;
  faultMs: number;
  peakRssMb: number;
}

/**
 * --soak MINUTES: the mixed load through rolling faults; fails on a bad verdict, or a client whose RSS grew by more
 * than 10%, handles under load grown by more than a fifth, or handles left open after the loads closed.
 */
async function runSoak(minutes: number, kinds: readonly Load['kind'][]): Promise<void> {
  if (!(minutes > 0)) throw new Error('--soak takes the minutes to run, e.g. --soak 30');
  const version = process.env.KAFKA_WIRE_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  const result = await soak(minutes, version, log, kinds);
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results', `faults-soak-${minutes}min.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), kafkaVersion: version, ...result }, null, 2)}\n`);
  console.log(`soak of ${minutes} min, each client in a process of its own (RSS after a last-resort garbage collection):`);
  for (const c of result.clients) {
    const daemon = c.daemonRssAtEndMb === undefined ? '' : `; the daemon ${c.daemonRssAfterWarmUpMb} → ${c.daemonRssAtEndMb} MB`;
    console.log(
      `  ${c.kind}: RSS ${c.rssAfterWarmUpMb} MB after warm-up, ${c.rssAtEndMb} MB at the end${daemon}; ` +
        `active handles under load ${c.resourcesAfterWarmUp} → ${c.resourcesAtEnd} (mean of two fault cycles); ` +
        `left open after close: ${c.leaked.length === 0 ? 'none' : c.leaked.join(', ')}`,
    );
  }
  const kindsRun = result.clients.map((c) => c.kind);
  const header = kindsRun.map((kind) => (kind === 'daemon' ? 'daemon (feeder) MB' : `${kind} MB`));
  console.log(`minute  ${header.join('  ')}  handles  fault`);
  for (const s of result.samples.filter((_, i) => i % 6 === 0 || i === result.samples.length - 1)) {
    const cells = s.clients.map((c, i) => {
      const figure = c.daemonRssMb === undefined ? `${c.rssMb}` : `${c.daemonRssMb} (${c.rssMb})`;
      return figure.padStart((header[i] as string).length);
    });
    const handles = s.clients.reduce((sum, c) => sum + c.resources, 0);
    console.log(`${(s.at / 60).toFixed(1).padStart(6)}  ${cells.join('  ')}  ${String(handles).padStart(7)}  ${s.fault}`);
  }
  const results: Result[] = result.verdicts.map((verdict) => ({
    name: 'soak',
    what: 'rolling faults',
    faultMs: minutes * 60_000,
    peakRssMb: 0,
    ...verdict,
  }));
  console.log(table(results));
  console.log(`\nwritten: ${file}`);
  const grown = (before: number, after: number) => after > before * 1.1;
  const problems = [
    ...results
      .filter(failed)
      .map((r) => `${r.client}: records lost, duplicated, reordered or unsettled, or a transaction not all or nothing`),
    ...result.clients.flatMap((c) => [
      ...(grown(c.rssAfterWarmUpMb, c.rssAtEndMb) ? [`${c.kind}: RSS grew more than 10%`] : []),
      ...(grown(c.daemonRssAfterWarmUpMb ?? 0, c.daemonRssAtEndMb ?? 0) ? ["the daemon's RSS grew more than 10%"] : []),
      ...(c.resourcesAtEnd > c.resourcesAfterWarmUp * 1.2 ? [`${c.kind}: active handles under load grew by more than a fifth`] : []),
      ...(c.leaked.length > 0 ? [`${c.kind}: handles left open after its load closed: ${c.leaked.join(', ')}`] : []),
    ]),
  ];
  if (problems.length > 0) {
    console.error(`FAILED: ${problems.join('; ')}`);
    process.exitCode = 1;
  }
}

const RATE = 2000;
const WARM_UP_MS = 3000;
const AFTER_MS = 5000;
const DELIVERY_TIMEOUT_MS = 60_000;

/**
 * One fault, with the four clients running through it at once, each on a topic of its own
 * whose partition 0 is led by the same node (the one the fault hits).
 */
async function runScenario(scenario: Scenario, quick: boolean, version: string, kinds: readonly Load['kind'][]): Promise<Result[]> {
  const override = Number(process.env.KAFKA_WIRE_FAULT_SECONDS);
  const faultMs = override > 0 ? override * 1000 : scenario.faultMs[quick ? 1 : 0];
  const cluster = await FaultCluster.start(`faults-${process.pid}`, { version, isolatable: scenario.isolates });
  const direct = await Cluster.connect({ bootstrap: cluster.directBootstrap, clientId: 'faults-admin' });
  const loads: Load[] = [];
  try {
    // Node 1 leads partition 0 of every topic.
    const leader = 1;
    await scenario.before?.(cluster, leader);
    // Room for every record the run can send, and two minutes more (lifting a fault can take that long: a node restarting).
    const capacity = Math.ceil((RATE * (WARM_UP_MS + faultMs + AFTER_MS + 120_000)) / 1000);
    const topics = await createLoadTopics(direct, `faults-${scenario.name}`);
    loads.push(...(await openLoads(cluster.bootstrap, topics, capacity, DELIVERY_TIMEOUT_MS, kinds)));
    for (const load of loads) load.start(RATE);
    await sleep(WARM_UP_MS);
    log(`${scenario.name}: fault on (leader of partition 0: node ${leader}) for ${faultMs / 1000} s`);
    const lift = await scenario.apply(cluster, leader, loads);
    await sleep(faultMs);
    await lift();
    log(`${scenario.name}: fault off`);
    await sleep(AFTER_MS);
    for (const load of loads) load.stop();
    await Promise.all(loads.map((load) => load.settle(DELIVERY_TIMEOUT_MS + 5000)));
    const finished = loads.splice(0);
    await Promise.all(finished.map((load) => load.close()));
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    // The four reads at once: each console consumer waits out its idle timeout at the end, and those waits overlap.
    return await Promise.all(
      finished.map(async (load): Promise<Result> => {
        const verdict = await verdictOf(load, version, cluster.directBootstrap);
        return { name: scenario.name, client: load.kind, what: scenario.what, faultMs, peakRssMb, ...verdict };
      }),
    );
  } finally {
    await Promise.all(loads.map((load) => load.close().catch(() => undefined)));
    direct.close();
    await cluster.stop();
  }
}

/** A record lost, duplicated, reordered or unsettled, or a transaction seen in part or seen though aborted. */
function failed(r: Verdict): boolean {
  const torn = r.transactions ? r.transactions.torn + r.transactions.abortedVisible : 0;
  return r.lost > 0 || r.duplicated > 0 || r.reordered > 0 || r.unsettled > 0 || torn > 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.error(`[faults] ${line}`);

export function table(results: readonly Result[]): string {
  const rows = [
    '| scenario | client | sent | acknowledged | lost | duplicated | reordered | failed (typed) | unsettled | worst settle s |',
    '|---|---|---:|---:|---:|---:|---:|---|---:|---:|',
  ];
  for (const r of results) {
    const failed =
      Object.entries(r.failed)
        .map(([name, n]) => `${n} ${name}`)
        .join(', ') || '0';
    const t = r.transactions;
    const client = t
      ? `${r.client} (transactions: ${t.committed} committed, ${t.aborted} aborted, ${t.unknown} unknown; ` +
        `${t.torn} torn, ${t.abortedVisible} aborted records visible)`
      : r.client;
    rows.push(
      `| ${r.name} (${r.faultMs / 1000} s) | ${client} | ${r.sent} | ${r.acknowledged} | ${r.lost} | ${r.duplicated} | ${r.reordered} ` +
        `| ${failed} | ${r.unsettled} | ${r.worstSettleMs === null ? '–' : (r.worstSettleMs / 1000).toFixed(1)} |`,
    );
  }
  return rows.join('\n');
}

/** --clients producer,durable: only these clients (all four unless told). */
function clientsArgument(value: string | undefined): Load['kind'][] {
  const kinds = (value ?? '').split(',').filter(Boolean);
  const unknown = kinds.filter((kind) => !(LOAD_KINDS as string[]).includes(kind));
  if (kinds.length === 0 || unknown.length > 0) {
    throw new Error(`--clients takes some of ${LOAD_KINDS.join(', ')}${unknown.length > 0 ? ` (not ${unknown.join(', ')})` : ''}`);
  }
  return kinds as Load['kind'][];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const kinds = args.includes('--clients') ? clientsArgument(args[args.indexOf('--clients') + 1]) : LOAD_KINDS;
  if (args.includes('--soak')) {
    await runSoak(Number(args[args.indexOf('--soak') + 1]), kinds);
    return;
  }
  const only = args[args.indexOf('--scenarios') + 1]?.split(',');
  const version = process.env.KAFKA_WIRE_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  const chosen = args.includes('--scenarios') ? SCENARIOS.filter((scenario) => only?.includes(scenario.name)) : SCENARIOS;
  if (chosen.some((scenario) => scenario.slowsDisks) && !slowDiskReady()) await rerunWithSlowDisk();
  const results: Result[] = [];
  for (const scenario of chosen) {
    for (const result of await runScenario(scenario, quick, version, kinds)) {
      log(`${scenario.name} · ${result.client}: ${JSON.stringify(result)}`);
      results.push(result);
    }
  }
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results', quick ? 'faults-quick.json' : 'faults-latest.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), kafkaVersion: version, quick, results }, null, 2)}\n`);
  console.log(table(results));
  console.log(`\nwritten: ${file}`);
  const bad = results.filter(failed);
  if (bad.length > 0) {
    console.error(
      `FAILED: ${bad.map((r) => `${r.name} · ${r.client}`).join(', ')} lost, duplicated, reordered or left unsettled records, ` +
        'or a transaction was not all or nothing',
    );
    process.exitCode = 1;
  }
}

await main();
