import { Cluster } from '../src/cluster/cluster.js';
import { type Verdict, verdictOf } from './checker.js';
import { FaultCluster } from './cluster.js';
import { createLoadTopics, LOAD_KINDS, type Load } from './load.js';
import { RemoteLoad, type WorkerMemory } from './remote-load.js';

/** One client's worker process (and the daemon, for the daemon's load). */
export interface ClientSample extends WorkerMemory {
  kind: Load['kind'];
}

export interface SoakSample {
  /** Seconds since the loads started. */
  at: number;
  fault: string;
  /** This process: the fault cluster's admin and the soak's bookkeeping, no client. */
  harnessRssMb: number;
  clients: ClientSample[];
}

/** A client's figures after warm-up and at the end (both after a last-resort garbage collection in its worker). */
export interface SoakClient {
  kind: Load['kind'];
  rssAfterWarmUpMb: number;
  rssAtEndMb: number;
  daemonRssAfterWarmUpMb?: number;
  daemonRssAtEndMb?: number;
  /** Mean active handles under load over the first two fault cycles after warm-up, and over the last two. */
  resourcesAfterWarmUp: number;
  resourcesAtEnd: number;
  /** What its load left open after it closed (kinds, e.g. Timeout): leaked. */
  leaked: string[];
}

export interface SoakResult {
  minutes: number;
  samples: SoakSample[];
  clients: SoakClient[];
  verdicts: ({ client: Load['kind'] } & Verdict)[];
}

const RATE = 1000;
const DELIVERY_TIMEOUT_MS = 60_000;
/** The rolling faults, one after another, each for FAULT_MS with HEALTHY_MS of calm after it. */
const FAULT_MS = 10_000;
const HEALTHY_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Mixed load (the four clients at RATE records/s each, each in a worker process of its own) for
 * `minutes` through rolling faults: latency, resets, a leader cut from the client, a paused leader,
 * each in turn with calm between. Each worker's memory and handles (and the daemon's RSS) are
 * sampled every 10 s; after a warm-up (a tenth of the run, at least two full cycles of the faults:
 * 160 s) and at the end, after a last-resort garbage collection in each worker (node --expose-gc)
 * and in the daemon (through its inspector).
 */
export async function soak(
  minutes: number,
  version: string,
  log: (line: string) => void,
  kinds: readonly Load['kind'][] = LOAD_KINDS,
): Promise<SoakResult> {
  const cluster = await FaultCluster.start(`faults-soak-${process.pid}`, { version });
  const direct = await Cluster.connect({ bootstrap: cluster.directBootstrap, clientId: 'faults-admin' });
  const loads: RemoteLoad[] = [];
  try {
    const durationMs = minutes * 60_000;
    const capacity = Math.ceil((RATE * durationMs) / 1000) + 10_000;
    const topics = await createLoadTopics(direct, 'faults-soak');
    for (const kind of kinds) {
      const spec = { kind, bootstrap: cluster.bootstrap, topic: topics(kind), capacity, deliveryTimeoutMs: DELIVERY_TIMEOUT_MS };
      loads.push(await RemoteLoad.open(spec));
    }
    const started = performance.now();
    for (const load of loads) load.start(RATE);

    type Lift = () => void | Promise<void>;
    const faults: [string, () => Promise<Lift>][] = [
      [
        'latency',
        async () => {
          await cluster.setAll({ latencyMs: 100, jitterMs: 80 });
          return () => cluster.heal();
        },
      ],
      [
        'resets',
        async () => {
          await cluster.setAll({ resetResponses: 0.05 });
          return () => cluster.heal();
        },
      ],
      [
        'leader-cut',
        async () => {
          await cluster.proxy(1).set({ blackHole: true });
          return () => cluster.heal();
        },
      ],
      [
        'leader-paused',
        async () => {
          cluster.pause(1, true);
          return () => cluster.pause(1, false);
        },
      ],
    ];
    let fault = 'none';
    const samples: SoakSample[] = [];
    const sample = async (collect: boolean): Promise<SoakSample> => {
      const at = Math.round((performance.now() - started) / 1000);
      const memories = await Promise.all(loads.map((load) => load.memory(collect)));
      const taken = {
        at,
        fault,
        harnessRssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
        clients: memories.map((memory, i) => ({ kind: (loads[i] as RemoteLoad).kind, ...memory })),
      };
      samples.push(taken);
      return taken;
    };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await sleep(10_000);
        if (sampling) await sample(false);
      }
    })();
    // Past two full cycles of the faults, so the queues each fault builds have been seen once before.
    const warmUpMs = Math.max(2 * faults.length * (FAULT_MS + HEALTHY_MS), durationMs / 10);
    let afterWarmUp: SoakSample | undefined;
    let turn = 0;
    while (performance.now() - started < durationMs) {
      if (afterWarmUp === undefined && performance.now() - started >= warmUpMs) afterWarmUp = await sample(true);
      const [name, apply] = faults[turn++ % faults.length] as [string, () => Promise<Lift>];
      fault = name;
      log(`soak: ${name} at ${Math.round((performance.now() - started) / 1000)} s`);
      const lift = await apply();
      await sleep(FAULT_MS);
      await lift();
      fault = 'none';
      await sleep(HEALTHY_MS);
    }
    afterWarmUp ??= await sample(true);
    // Still under load, after a calm spell: comparable with the warm-up's figure.
    const atEnd = await sample(true);
    sampling = false;
    await sampler;
    for (const load of loads) load.stop();
    await Promise.all(loads.map((load) => load.settle(DELIVERY_TIMEOUT_MS + 5000)));
    await Promise.all(loads.map((load) => load.close()));
    const window = (2 * faults.length * (FAULT_MS + HEALTHY_MS)) / 1000;
    const meanResources = (kind: Load['kind'], from: number, to: number) => {
      const chosen = samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.clients.find((c) => c.kind === kind) as ClientSample);
      return Math.round((chosen.reduce((sum, c) => sum + c.resources, 0) / Math.max(1, chosen.length)) * 10) / 10;
    };
    const clients = loads.map(({ kind, leaked }, i): SoakClient => {
      const first = afterWarmUp.clients[i] as ClientSample;
      const last = atEnd.clients[i] as ClientSample;
      return {
        kind,
        rssAfterWarmUpMb: first.rssMb,
        rssAtEndMb: last.rssMb,
        ...(first.daemonRssMb === undefined ? {} : { daemonRssAfterWarmUpMb: first.daemonRssMb, daemonRssAtEndMb: last.daemonRssMb }),
        resourcesAfterWarmUp: meanResources(kind, afterWarmUp.at, afterWarmUp.at + window),
        resourcesAtEnd: meanResources(kind, atEnd.at - window, atEnd.at),
        leaked,
      };
    });
    return {
      minutes,
      samples,
      clients,
      verdicts: await Promise.all(
        loads.map(async (load) => ({ client: load.kind, ...(await verdictOf(load, version, cluster.directBootstrap)) })),
      ),
    };
  } finally {
    await Promise.all(loads.map((load) => load.close().catch(() => undefined)));
    direct.close();
    await cluster.stop();
  }
}
