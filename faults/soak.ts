import { Cluster } from '../src/cluster/cluster.js';
import { residentMb } from '../test/support/proc.js';
import { type Verdict, verdictOf } from './checker.js';
import { FaultCluster } from './cluster.js';
import { createLoadTopics, DaemonLoad, LOAD_KINDS, type Load, openLoads } from './load.js';

export interface SoakSample {
  /** Seconds since the loads started. */
  at: number;
  /** This process (the producer and the durable producer) and the daemon child. */
  rssMb: number;
  heapMb: number;
  /** The V8 heap's reserved size (used or not): with heapMb, whether growth is V8's or malloc's. */
  heapTotalMb: number;
  /** Memory outside the V8 heap that V8 knows of: Buffers and other ArrayBuffers. */
  externalMb: number;
  daemonRssMb: number;
  /** Active handles and requests of this process (sockets, timers, files). */
  resources: number;
  fault: string;
}

export interface SoakResult {
  minutes: number;
  samples: SoakSample[];
  /** After warm-up and at the end (garbage collected first). */
  rssAfterWarmUpMb: number;
  rssAtEndMb: number;
  daemonRssAfterWarmUpMb: number;
  daemonRssAtEndMb: number;
  /** Mean active handles under load over the first two fault cycles after warm-up, and over the last two. */
  resourcesAfterWarmUp: number;
  resourcesAtEnd: number;
  /** Active handles before the loads opened and after they closed: what is left over leaked (its kinds in `leaked`). */
  resourcesBefore: number;
  resourcesAfterClose: number;
  leaked: string[];
  verdicts: ({ client: Load['kind'] } & Verdict)[];
}

const RATE = 1000;
const DELIVERY_TIMEOUT_MS = 60_000;
/** The rolling faults, one after another, each for FAULT_MS with HEALTHY_MS of calm after it. */
const FAULT_MS = 10_000;
const HEALTHY_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The resources in `now` beyond those in `before` (by kind, e.g. TCPSocketWrap, Timeout). */
function extra(now: string[], before: string[]): string[] {
  const left = [...before];
  return now.filter((kind) => {
    const at = left.indexOf(kind);
    if (at < 0) return true;
    left.splice(at, 1);
    return false;
  });
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Mixed load (the four clients at RATE records/s each) for `minutes` through rolling faults:
 * latency, resets, a leader cut from the client, a paused leader, each in turn with calm between.
 * Memory and handles are sampled every 10 s; after a warm-up (a tenth of the run, at least two
 * full cycles of the faults: 160 s) and at the end, after a garbage collection (node --expose-gc).
 */
export async function soak(
  minutes: number,
  version: string,
  log: (line: string) => void,
  kinds: readonly Load['kind'][] = LOAD_KINDS,
): Promise<SoakResult> {
  const cluster = await FaultCluster.start(`faults-soak-${process.pid}`, { version });
  const direct = await Cluster.connect({ bootstrap: cluster.directBootstrap, clientId: 'faults-admin' });
  const loads: Load[] = [];
  try {
    const durationMs = minutes * 60_000;
    const capacity = Math.ceil((RATE * durationMs) / 1000) + 10_000;
    const topics = await createLoadTopics(direct, 'faults-soak');
    // After the admin's own connections and timers: what the loads leave behind is theirs.
    const before = process.getActiveResourcesInfo();
    loads.push(...(await openLoads(cluster.bootstrap, topics, capacity, DELIVERY_TIMEOUT_MS, kinds)));
    const daemonPid = loads.find((load): load is DaemonLoad => load instanceof DaemonLoad)?.daemon.pid;
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
    const sample = () => {
      const memory = process.memoryUsage();
      samples.push({
        at: Math.round((performance.now() - started) / 1000),
        rssMb: Math.round(memory.rss / 2 ** 20),
        heapMb: Math.round(memory.heapUsed / 2 ** 20),
        heapTotalMb: Math.round(memory.heapTotal / 2 ** 20),
        externalMb: Math.round(memory.external / 2 ** 20),
        daemonRssMb: daemonPid === undefined ? 0 : residentMb(daemonPid),
        resources: process.getActiveResourcesInfo().length,
        fault,
      });
    };
    const sampler = setInterval(sample, 10_000);
    // Past two full cycles of the faults, so the queues each fault builds have been seen once before.
    const warmUpMs = Math.max(2 * faults.length * (FAULT_MS + HEALTHY_MS), durationMs / 10);
    let afterWarmUp: SoakSample | undefined;
    const measure = async () => {
      gc();
      await sleep(200);
      sample();
      return samples[samples.length - 1] as SoakSample;
    };
    let turn = 0;
    while (performance.now() - started < durationMs) {
      if (afterWarmUp === undefined && performance.now() - started >= warmUpMs) afterWarmUp = await measure();
      const [name, apply] = faults[turn++ % faults.length] as [string, () => Promise<Lift>];
      fault = name;
      log(`soak: ${name} at ${Math.round((performance.now() - started) / 1000)} s`);
      const lift = await apply();
      await sleep(FAULT_MS);
      await lift();
      fault = 'none';
      await sleep(HEALTHY_MS);
    }
    afterWarmUp ??= await measure();
    // Still under load, after a calm spell: comparable with the warm-up's figure.
    const atEnd = await measure();
    clearInterval(sampler);
    for (const load of loads) load.stop();
    await Promise.all(loads.map((load) => load.settle(DELIVERY_TIMEOUT_MS + 5000)));
    const finished = loads.splice(0);
    await Promise.all(finished.map((load) => load.close()));
    // Sockets close a moment after close() resolves: give them up to 10 s to be gone.
    let leaked = extra(process.getActiveResourcesInfo(), before);
    for (let waited = 0; waited < 10_000 && leaked.length > 0; waited += 250) {
      await sleep(250);
      leaked = extra(process.getActiveResourcesInfo(), before);
    }
    const window = (2 * faults.length * (FAULT_MS + HEALTHY_MS)) / 1000;
    const warmUpAt = afterWarmUp.at;
    const meanResources = (from: number, to: number) => {
      const chosen = samples.filter((s) => s.at >= from && s.at <= to);
      return Math.round((chosen.reduce((sum, s) => sum + s.resources, 0) / Math.max(1, chosen.length)) * 10) / 10;
    };
    return {
      minutes,
      samples,
      rssAfterWarmUpMb: afterWarmUp.rssMb,
      rssAtEndMb: atEnd.rssMb,
      daemonRssAfterWarmUpMb: afterWarmUp.daemonRssMb,
      daemonRssAtEndMb: atEnd.daemonRssMb,
      resourcesAfterWarmUp: meanResources(warmUpAt, warmUpAt + window),
      resourcesAtEnd: meanResources(atEnd.at - window, atEnd.at),
      resourcesBefore: before.length,
      resourcesAfterClose: before.length + leaked.length,
      leaked,
      verdicts: await Promise.all(
        finished.map(async (load) => ({ client: load.kind, ...(await verdictOf(load, version, cluster.directBootstrap)) })),
      ),
    };
  } finally {
    await Promise.all(loads.map((load) => load.close().catch(() => undefined)));
    direct.close();
    await cluster.stop();
  }
}
