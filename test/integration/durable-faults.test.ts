import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { PartitionReader } from '../../src/consumer/partition-reader.js';
import { bootstrapFor, killNode, restartNode, startCluster, stopCluster } from '../../src/embedded/cluster.js';
import { clusterDir } from '../../src/embedded/paths.js';
import { testKafka } from '../helpers/kafka.js';
import { JournalDirs, runChild, until } from '../support/durable.js';
import { runKafkaTool } from '../support/java-tools.js';
import { Random } from '../support/random.js';
import { uniqueTopic } from '../support/topics.js';

/**
 * The durable producer (issue 13) on a 3-node KRaft cluster of its own: a child process SIGKILLed
 * again and again, and the whole cluster stopped while records keep being enqueued. Apache Kafka's
 * own console consumer checks what reached the topic.
 */

const kafka = testKafka();
const name = `durable-faults-${process.pid}`;
const NODES = [1, 2, 3];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.log(`[durable-faults] ${line}`);

const CRASH_CHILD = fileURLToPath(new URL('../support/durable-child.ts', import.meta.url));
const OUTAGE_CHILD = fileURLToPath(new URL('../support/durable-outage-child.ts', import.meta.url));

/** The last "accepted <i>" a child printed, or `otherwise`. */
function lastAccepted(output: string, otherwise: number): number {
  const match = /^accepted (\d+)$/gm;
  let last = otherwise;
  for (const [, index] of output.matchAll(match)) last = Number(index);
  return last;
}

describe.skipIf(kafka.source !== 'embedded' || !kafka.kafkaVersion)('durable producer on a 3-node cluster', () => {
  let cluster: Cluster;
  let admin: Admin;
  let bootstrap: string;
  const dirs = new JournalDirs('kw-durable-faults-');

  beforeAll(async () => {
    const state = await startCluster({ name, brokers: 3, portBase: 'auto', version: kafka.kafkaVersion ?? undefined });
    bootstrap = bootstrapFor(state, 'plaintext');
    cluster = await Cluster.connect({ bootstrap, reconnectBackoff: { initialMs: 100, maxMs: 1000 } });
    admin = new Admin(cluster);
  });

  afterAll(async () => {
    cluster?.close();
    await stopCluster(name);
    rmSync(clusterDir(name), { recursive: true, force: true });
    dirs.removeAll();
  });

  const journalDir = () => dirs.make();

  async function createTopic(prefix: string): Promise<string> {
    const topic = uniqueTopic(prefix);
    await admin.createTopics([{ name: topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
    return topic;
  }

  /** How many records the topic holds, by our own reader (to tell the console consumer how many to wait for). */
  async function countRecords(topic: string): Promise<number> {
    let count = 0;
    for (let partition = 0; partition < 6; partition++) {
      for await (const _ of new PartitionReader(cluster, { topic, partition, until: 'end' })) count++;
    }
    return count;
  }

  /** Every record of the topic as Apache Kafka's console consumer prints it: key and value, partition by partition. */
  async function consumeWithJava(topic: string): Promise<{ key: string; value: string }[][]> {
    const count = await countRecords(topic);
    const result = runKafkaTool(
      kafka.kafkaVersion as string,
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      [
        '--bootstrap-server',
        bootstrap,
        '--topic',
        topic,
        '--from-beginning',
        '--max-messages',
        String(count),
        '--timeout-ms',
        '60000',
        '--property',
        'print.partition=true',
        '--property',
        'print.key=true',
      ],
      300_000,
    );
    const byPartition: { key: string; value: string }[][] = Array.from({ length: 6 }, () => []);
    for (const line of result.output.split('\n')) {
      const match = /^Partition:(\d+)\t(k\d+)\t(\S+)$/.exec(line);
      if (match) byPartition[Number(match[1])]?.push({ key: match[2] as string, value: match[3] as string });
    }
    expect(byPartition.flat().length, `our reader counts ${count}; the console consumer:\n${result.output.slice(-2000)}`).toBe(count);
    return byPartition;
  }

  /** Duplicated values (value → copies), and values in `expected` that are missing. */
  function tally(all: { value: string }[], expected: Iterable<string>): { lost: string[]; duplicated: [string, number][] } {
    const seen = new Map<string, number>();
    for (const { value } of all) seen.set(value, (seen.get(value) ?? 0) + 1);
    return { lost: [...expected].filter((value) => !seen.has(value)), duplicated: [...seen].filter(([, count]) => count > 1) };
  }

  test('SIGKILLed 20 times at seeded moments: Java finds each accepted record once', { timeout: 900_000 }, async () => {
    const seed = Number(process.env.KAFKA_WIRE_DURABLE_FAULTS_SEED ?? Date.now() % 100_000);
    const random = new Random(seed);
    log(`crash loop seed ${seed} (KAFKA_WIRE_DURABLE_FAULTS_SEED=${seed} replays it)`);
    const topic = await createTopic('durable-crash3');
    const dir = journalDir();
    const total = 200_000;
    const kills = 20;
    let acceptedUpTo = -1;
    const accepted = new Set<string>();
    const notes: string[] = [];
    let mayDuplicate = 0;
    const startedAt = Date.now();
    for (let run = 0; run <= kills; run++) {
      const child = runChild(CRASH_CHILD, [bootstrap, topic, dir, String(acceptedUpTo + 1), String(total), String(run), '500', '50']);
      const upToNow = () => lastAccepted(child.output(), acceptedUpTo);
      if (run < kills) {
        if (run % 2 === 1) {
          // During the replay of what the runs before left: right after the journal was recovered.
          await until('recovery', () => /^recovered /m.test(child.output()), 120_000, child.output);
          await sleep(random.int(0, 150));
        } else {
          // Some time into the run, while records are accepted, replayed and delivered at once (once every record is
          // accepted, a run only replays and delivers: it is killed some time after its recovery).
          const started = () => upToNow() > acceptedUpTo || (acceptedUpTo >= total - 1 && /^recovered /m.test(child.output()));
          await until('a first acceptance', started, 120_000, child.output);
          await sleep(random.int(200, 2000));
        }
        child.child.kill('SIGKILL');
        await child.exited;
      } else {
        await until('delivered', () => /^delivered$/m.test(child.output()), 600_000, child.output);
        expect(await child.exited).toBe(0);
      }
      const upTo = upToNow();
      for (let i = acceptedUpTo + 1; i <= upTo; i++) accepted.add(`${i}:${run}`);
      acceptedUpTo = upTo;
      const recovered = child.output().match(/^recovered (.*)$/m)?.[1];
      // recovery.mayDuplicate (its event may be emitted before the child can listen), and the events of any other kind.
      if (recovered) mayDuplicate += (JSON.parse(recovered) as { mayDuplicate: number }).mayDuplicate;
      notes.push(`run ${run}: recovered ${recovered ?? '(killed before recovery)'}, accepted up to ${upTo}`);
      for (const [line, records, reason] of child.output().matchAll(/^may-duplicate (\d+) (.*)$/gm)) {
        if (!reason?.includes('epoch since bumped')) mayDuplicate += Number(records);
        notes.push(`run ${run}: ${line}`);
      }
    }
    log(notes.join('\n[durable-faults] '));
    log(`crash loop: ${kills} kills, every record accepted after ${Math.round((Date.now() - startedAt) / 1000)} s`);
    expect(acceptedUpTo).toBe(total - 1);

    const all = await consumeWithJava(topic);
    const { lost, duplicated } = tally(all.flat(), accepted);
    log(
      `crash loop: ${accepted.size} acceptances resolved, ${all.flat().length} records in the topic (the rest: journaled by a run ` +
        `killed before it reported them), ${lost.length} lost, ${duplicated.length} duplicated, ${mayDuplicate} reported as may-duplicate`,
    );
    expect(lost.slice(0, 20), `${lost.length} lost`).toEqual([]);
    // Every copy would have to be one the producer owned up to (recovery.mayDuplicate, the mayDuplicate event): none is expected,
    // as no broker failed and no producer id expired; a kill alone never makes the producer send records under new numbers.
    expect(mayDuplicate).toBe(0);
    expect(duplicated.slice(0, 20), `${duplicated.length} duplicated`).toEqual([]);
    // Per key, in the order of acceptance: run by run (a run starts after the last one's journal), by index within a run.
    // (A record a run journaled but did not report before its kill is delivered too, and the next run enqueues that
    // index again: both are in the topic, each once.)
    for (const list of all) {
      const lastByKey = new Map<string, number>();
      for (const { key, value } of list) {
        const [index, run] = value.split(':').map(Number) as [number, number];
        const order = run * total + index;
        expect(order, `${key} went back to ${value}`).toBeGreaterThan(lastByKey.get(key) ?? -1);
        lastByKey.set(key, order);
      }
    }
  });

  test('every broker stopped for 60 s: enqueue() goes on, RSS bounded, all drains', { timeout: 900_000 }, async () => {
    const topic = await createTopic('durable-outage');
    const dir = journalDir();
    // A small bufferMemory (the feeder keeps as much again in memory): beyond it, records wait on disk only.
    const bufferMemory = 1 << 20;
    const padBytes = 1024;
    const perTick = 40;
    const tickMs = 20;
    const child = runChild(OUTAGE_CHILD, [bootstrap, topic, dir, String(bufferMemory), String(padBytes), String(perTick), String(tickMs)]);
    const accepted = () => lastAccepted(child.output(), -1);
    const rssSamples = () => [...child.output().matchAll(/^rss (\d+)$/gm)].map(([, rss]) => Number(rss));
    try {
      // Running steadily, and delivering, before the outage.
      await until('20,000 accepted records', () => accepted() >= 20_000, 300_000, child.output);
      const before = { accepted: accepted(), samples: rssSamples().length };
      const rssBefore = Math.max(...rssSamples());
      for (const node of NODES) await killNode(node, name);
      const stoppedAt = Date.now();
      log(`outage: every broker killed after ${before.accepted + 1} records accepted (RSS so far at most ${mb(rssBefore)})`);
      // enqueue() keeps resolving while no broker answers: checked every 10 s of the 60.
      let last = accepted();
      while (Date.now() - stoppedAt < 60_000) {
        await sleep(Math.min(10_000, 60_000 - (Date.now() - stoppedAt)));
        const now = accepted();
        expect(now, 'enqueue() stopped resolving while the cluster was down').toBeGreaterThan(last);
        last = now;
      }
      const duringOutage = last - before.accepted;
      const outageRss = rssSamples().slice(before.samples);
      const peak = Math.max(...outageRss);
      await Promise.all(NODES.map((node) => restartNode(node, name)));
      log(
        `outage: ${duringOutage} records (${mb(duringOutage * (padBytes + 16))} and more) accepted in the 60 s without brokers; ` +
          `RSS at most ${mb(rssBefore)} before, peak ${mb(peak)} during (${outageRss.length} samples); ` +
          `cluster back ${Math.round((Date.now() - stoppedAt) / 1000)} s after the kill`,
      );
      // Records waiting in memory would have grown the process by at least their bytes (48 MiB and more); waiting on
      // disk, the process grows by what the heap and the page cache's mapped pages take, a fixed amount. 16.7 MiB measured.
      expect(duringOutage * padBytes, 'too few records accepted in the outage to tell memory from disk').toBeGreaterThan(48 << 20);
      expect(peak - rssBefore).toBeLessThan(40 << 20);

      // A while more with the cluster back, then stop enqueuing: everything drains.
      const back = accepted();
      await until('5,000 more accepted records', () => accepted() >= back + 5000, 120_000, child.output);
      child.child.stdin?.end('stop\n');
      await until('delivered', () => /^delivered \d+$/m.test(child.output()), 400_000, child.output);
      expect(await child.exited).toBe(0);
    } finally {
      child.child.kill('SIGKILL');
    }
    const total = Number(/^delivered (\d+)$/m.exec(child.output())?.[1]);
    for (const line of child.output().match(/^(may-duplicate|delivery-failed) .*$/gm) ?? []) log(`outage: ${line}`);
    const all = await consumeWithJava(topic);
    const { lost, duplicated } = tally(
      all.flat(),
      Array.from({ length: total }, (_, i) => String(i)),
    );
    log(`outage: ${total} records enqueued, ${all.flat().length} in the topic, ${lost.length} lost, ${duplicated.length} duplicated`);
    expect(lost.slice(0, 20), `${lost.length} lost`).toEqual([]);
    expect(duplicated.slice(0, 20), `${duplicated.length} duplicated`).toEqual([]);
    expect(all.flat().length).toBe(total);
    for (const list of all) {
      const lastByKey = new Map<string, number>();
      for (const { key, value } of list) {
        expect(Number(value), `${key} went back to ${value}`).toBeGreaterThan(lastByKey.get(key) ?? -1);
        lastByKey.set(key, Number(value));
      }
    }
  });
});

const mb = (bytes: number) => `${(bytes / (1 << 20)).toFixed(1)} MiB`;
