import { Admin } from '../src/cluster/admin.js';
import { Cluster } from '../src/cluster/cluster.js';
import { residentMb } from '../test/support/proc.js';
import { type Verdict, verdictOf } from './checker.js';
import { FaultCluster } from './cluster.js';
import { DaemonLoad, DurableLoad, type Load, ProducerLoad } from './load.js';

export interface SoakSample {
  /** Seconds since the loads started. */
  at: number;
  /** This process (the producer and the durable producer) and the daemon child. */
  rssMb: number;
  heapMb: number;
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
  resourcesAfterWarmUp: number;
  resourcesAtEnd: number;
  verdicts: ({ client: Load['kind'] } & Verdict)[];
}

const RATE = 1000;
const DELIVERY_TIMEOUT_MS = 60_000;
/** The rolling faults, one after another, each for FAULT_MS with HEALTHY_MS of calm after it. */
const FAULT_MS = 10_000;
const HEALTHY_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Mixed load (the three clients at RATE records/s each) for `minutes` through rolling faults:
 * latency, resets, a leader cut from the client, a paused leader, each in turn with calm between.
 * Memory and handles are sampled every 10 s; after a warm-up (a tenth of the run, at least two
 * full cycles of the faults: 160 s) and at the end, after a garbage collection (node --expose-gc).
 */
export async function soak(minutes: number, version: string, log: (line: string) => void): Promise<SoakResult> {
  const cluster = await FaultCluster.start(`faults-soak-${process.pid}`, version);
  const direct = await Cluster.connect({ bootstrap: cluster.directBootstrap, clientId: 'faults-admin' });
  const loads: Load[] = [];
  try {
    const stamp = Date.now().toString(36);
    const assignment = Array.from({ length: 6 }, (_, partition) => [1, 2, 3].map((_, i) => ((partition + i) % 3) + 1));
    const topics = (['producer', 'durable', 'daemon'] as const).map((kind) => `faults-soak-${kind}-${stamp}`);
    await new Admin(direct).createTopics(
      topics.map((name) => ({ name, replicaAssignment: assignment, configs: { 'min.insync.replicas': '2' } })),
    );
    const durationMs = minutes * 60_000;
    const capacity = Math.ceil((RATE * durationMs) / 1000) + 10_000;
    const [producerTopic, durableTopic, daemonTopic] = topics as [string, string, string];
    loads.push(new ProducerLoad(cluster.bootstrap, producerTopic, capacity, DELIVERY_TIMEOUT_MS));
    loads.push(await DurableLoad.open(cluster.bootstrap, durableTopic, capacity));
    const daemonLoad = await DaemonLoad.open(cluster.bootstrap, daemonTopic, capacity);
    loads.push(daemonLoad);
    const daemonPid = daemonLoad.daemon.pid;
    const started = performance.now();
    for (const load of loads) load.start(RATE);

    const faults: [string, () => () => void][] = [
      [
        'latency',
        () => {
          for (const proxy of cluster.proxies.values()) proxy.set({ latencyMs: 100, jitterMs: 80 });
          return () => cluster.heal();
        },
      ],
      [
        'resets',
        () => {
          for (const proxy of cluster.proxies.values()) proxy.set({ resetResponses: 0.05 });
          return () => cluster.heal();
        },
      ],
      [
        'leader-cut',
        () => {
          cluster.proxy(1).set({ blackHole: true });
          return () => cluster.heal();
        },
      ],
      [
        'leader-paused',
        () => {
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
      const [name, apply] = faults[turn++ % faults.length] as [string, () => () => void];
      fault = name;
      log(`soak: ${name} at ${Math.round((performance.now() - started) / 1000)} s`);
      const lift = apply();
      await sleep(FAULT_MS);
      lift();
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
    return {
      minutes,
      samples,
      rssAfterWarmUpMb: afterWarmUp.rssMb,
      rssAtEndMb: atEnd.rssMb,
      daemonRssAfterWarmUpMb: afterWarmUp.daemonRssMb,
      daemonRssAtEndMb: atEnd.daemonRssMb,
      resourcesAfterWarmUp: afterWarmUp.resources,
      resourcesAtEnd: atEnd.resources,
      verdicts: finished.map((load) => ({
        client: load.kind,
        ...verdictOf(load, version, cluster.directBootstrap, DELIVERY_TIMEOUT_MS),
      })),
    };
  } finally {
    await Promise.all(loads.map((load) => load.close().catch(() => undefined)));
    direct.close();
    await cluster.stop();
  }
}
