import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FaultProxy } from '../../faults/proxy.js';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { UnknownTopicOrPartitionError } from '../../src/cluster/errors.js';
import { PartitionReader } from '../../src/consumer/partition-reader.js';
import { DurableProducer } from '../../src/durable/durable-producer.js';
import { QueueFullError, RecordLostError } from '../../src/durable/errors.js';
import type { Journal } from '../../src/durable/journal.js';
import { InvalidRecordError, RecordTooLargeError } from '../../src/producer/errors.js';
import { testKafka } from '../helpers/kafka.js';
import { JournalDirs, runChild as runScript, until } from '../support/durable.js';
import { Random } from '../support/random.js';
import { uniqueTopic } from '../support/topics.js';

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;
const dirs = new JournalDirs('kw-durable-');

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  admin = new Admin(cluster);
});
afterAll(() => {
  cluster?.close();
  dirs.removeAll();
});

const journalDir = () => dirs.make();

/** Every record of the topic, partition by partition, as "<value>" with its key. */
async function readAll(topic: string, partitions: number): Promise<{ key: string; value: string }[][]> {
  const all: { key: string; value: string }[][] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const list: { key: string; value: string }[] = [];
    for await (const record of new PartitionReader(cluster, { topic, partition, until: 'end' })) {
      list.push({ key: record.key?.toString() ?? '', value: record.value?.toString() ?? '' });
    }
    all.push(list);
  }
  return all;
}

const CHILD = fileURLToPath(new URL('../support/durable-child.ts', import.meta.url));
const runChild = (args: string[]) => runScript(CHILD, args);

describe('the durable producer against a real broker', () => {
  test('enqueue() then send(): every record delivered once, in order; the journal is emptied', async () => {
    const topic = uniqueTopic('durable-basic');
    await admin.createTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
    const dir = journalDir();
    const producer = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir, sync: 'interval' } });
    expect(producer.recovery.replaying).toBe(0);
    const accepted = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => producer.enqueue({ topic, key: `k${i % 7}`, value: `v${i}` })),
    );
    expect(accepted.map(({ id }) => id)).toEqual([...accepted.map(({ id }) => id)].sort((a, b) => a - b));
    // A record that can never be delivered fails for good (and is not replayed): here, a topic that does not exist.
    await expect(producer.send({ topic: `${topic}-missing`, value: 'x' })).rejects.toThrow(UnknownTopicOrPartitionError);
    const last = await producer.send({ topic, key: 'k0', value: 'last' });
    expect(last.offset).toBeGreaterThanOrEqual(0n);
    await producer.flush();
    expect(producer.pending).toBe(0);
    await producer.close();
    const all = (await readAll(topic, 3)).flat();
    expect(all).toHaveLength(1001);
    for (let key = 0; key < 7; key++) {
      const values = all
        .filter((record) => record.key === `k${key}` && record.value !== 'last')
        .map((record) => Number(record.value.slice(1)));
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    // Nothing left to replay.
    const again = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir } });
    expect(again.recovery.replaying).toBe(0);
    await again.close();
  });

  test('enqueueMany(): all or none accepted, in order; bad records refused at once, naming their place', async () => {
    const topic = uniqueTopic('durable-many');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const dir = journalDir();
    const producer = await DurableProducer.open({ bootstrap: kafka.bootstrap, maxRequestSize: 64 * 1024, durable: { dir } });
    const first = await producer.enqueueMany(Array.from({ length: 500 }, (_, i) => ({ topic, value: `a${i}` })));
    expect(first.ids).toHaveLength(500);
    expect(first.ids).toEqual([...first.ids].sort((a, b) => a - b));
    // One bad record (here the 3rd: a value that is not bytes): nothing of the call is journaled.
    const bad = [
      { topic, value: 'b0' },
      { topic, value: 'b1' },
      { topic, value: 42 as unknown as string },
    ];
    await expect(producer.enqueueMany(bad)).rejects.toThrow(InvalidRecordError);
    await expect(producer.enqueueMany(bad)).rejects.toThrow(/^records\[2\]: /);
    // Too large for any Produce request: refused at acceptance, not failed after it.
    await expect(producer.enqueue({ topic, value: Buffer.alloc(80 * 1024) })).rejects.toThrow(RecordTooLargeError);
    await expect(
      producer.enqueueMany([
        { topic, value: 'c' },
        { topic, value: Buffer.alloc(80 * 1024) },
      ]),
    ).rejects.toThrow(/^records\[1\]: a record of \d+ bytes cannot fit/);
    await expect(producer.enqueueMany('nope' as never)).rejects.toThrow(InvalidRecordError);
    const second = await producer.enqueueMany([{ topic, value: 'z' }]);
    expect(second.ids[0]).toBeGreaterThan(first.ids[499] as number);
    await producer.flush();
    await producer.close();
    const values = (await readAll(topic, 1)).flat().map((record) => record.value);
    expect(values).toEqual([...Array.from({ length: 500 }, (_, i) => `a${i}`), 'z']);
  });

  test('a topic declared in a segment since deleted: its later records still replay (each segment declares its topics)', async () => {
    const topic = uniqueTopic('durable-declared');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const dir = journalDir();
    const segments = () => readdirSync(dir).filter((file) => file.endsWith('.seg')).length;
    // Small segments: the one holding the topic's TOPIC entry is deleted once its records are acknowledged.
    const first = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir, segmentBytes: 4096 } });
    await Promise.all(Array.from({ length: 200 }, (_, i) => first.send({ topic, value: `a${i}` })));
    await first.close();
    expect(segments()).toBe(1);
    // Records of the same topic (no new declaration) that no broker takes, left in the journal.
    const offline = await DurableProducer.open({ bootstrap: '127.0.0.1:9', durable: { dir, segmentBytes: 4096 } });
    for (let i = 0; i < 50; i++) await offline.enqueue({ topic, value: `b${i}` });
    await offline.close(200);
    const last = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir, segmentBytes: 4096 } });
    expect(last.recovery).toMatchObject({ replaying: 50, skipped: [] });
    await last.flush();
    await last.close();
    const values = (await readAll(topic, 1)).flat().map((record) => record.value);
    expect(values).toEqual([...Array.from({ length: 200 }, (_, i) => `a${i}`), ...Array.from({ length: 50 }, (_, i) => `b${i}`)]);
  });

  test('records the producer gives up for a reason not their own stay in the journal, and flush() stops waiting for them', async () => {
    const topic = uniqueTopic('durable-held');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const dir = journalDir();
    // No broker on port 9: nothing is delivered, so the outcome below is the only one the records get.
    const offline = await DurableProducer.open({ bootstrap: '127.0.0.1:9', durable: { dir } });
    const ids = (
      await offline.enqueueMany([
        { topic, value: 'h0' },
        { topic, value: 'h1' },
      ])
    ).ids;
    // What the sender does when the producer id cannot be had for good (CLUSTER_AUTHORIZATION_FAILED from InitProducerId),
    // which a test broker cannot be made to answer: each record's outcome an error that is not the record's own.
    const settle = (offline as unknown as { settled(id: number, error: Error): void }).settled.bind(offline);
    for (const id of ids) settle(id, new Error('InitProducerId refused: CLUSTER_AUTHORIZATION_FAILED'));
    const flushed = await Promise.race([
      offline.flush().then(() => 'flushed'),
      new Promise((resolve) => setTimeout(resolve, 5000, 'waiting')),
    ]);
    expect(flushed).toBe('flushed');
    expect(offline.pending).toBe(2);
    await offline.close(200);
    const online = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir } });
    expect(online.recovery.replaying).toBe(2);
    await online.flush();
    await online.close();
    expect((await readAll(topic, 1)).flat().map((record) => record.value)).toEqual(['h0', 'h1']);
  });

  test('maxDiskBytes reached: enqueue() rejects with QueueFullError, and every record accepted before it is delivered', async () => {
    const topic = uniqueTopic('durable-full');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const dir = journalDir();
    // No broker answers on port 9: records pile up in the journal until it is full.
    const offline = await DurableProducer.open({ bootstrap: '127.0.0.1:9', durable: { dir, maxDiskBytes: 8192, sync: 'always' } });
    const accepted: string[] = [];
    let refusal: unknown;
    for (let i = 0; i < 1000 && refusal === undefined; i++) {
      await offline.enqueue({ topic, value: `r${i}` }).then(
        () => accepted.push(`r${i}`),
        (error: unknown) => {
          refusal = error;
        },
      );
    }
    expect(refusal).toBeInstanceOf(QueueFullError);
    expect(String(refusal)).toMatch(/maxDiskBytes \(8192\)/);
    expect(accepted.length).toBeGreaterThan(50);
    await offline.close(200);

    const online = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir, maxDiskBytes: 8192 } });
    expect(online.recovery.replaying).toBe(accepted.length);
    await online.flush();
    await online.close();
    expect((await readAll(topic, 1))[0]?.map((record) => record.value)).toEqual(accepted);
  });

  test('power loss (sync interval): a journal cut to what was fsynced delivers every record whose acceptance resolved', async () => {
    const topic = uniqueTopic('durable-power');
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    const dir = journalDir();
    const producer = await DurableProducer.open({ bootstrap: '127.0.0.1:9', durable: { dir, sync: 'interval', syncIntervalMs: 10 } });
    const journal = (producer as unknown as { journal: Journal }).journal;
    const resolved: string[] = [];
    const copies: { dir: string; resolved: string[] }[] = [];
    for (let i = 0; i < 3000; i++) {
      producer.enqueue({ topic, key: `k${i % 5}`, value: `p${i}` }).then(() => resolved.push(`p${i}`));
      if (i % 500 === 499) {
        // Until an fsync has covered some of what was enqueued since the last cut (and so resolved it), at most 10 s: each
        // cut then holds records to deliver, however the scheduler ran.
        const had = resolved.length;
        await until(
          'an fsync',
          () => resolved.length > had,
          10_000,
          () => `${resolved.length} resolved`,
        );
        // The power goes: only what an fsync covered survives; everything resolved so far was covered.
        const snapshot = [...resolved];
        const copy = journalDir();
        for (const { path, bytes } of journal.fsyncedLengths()) {
          writeFileSync(join(copy, basename(path)), readFileSync(path).subarray(0, bytes));
        }
        copies.push({ dir: copy, resolved: snapshot });
      }
    }
    await producer.close(200);
    for (const [n, copy] of copies.entries()) {
      // Each copy delivers to the same topic (the copies overlap, so values repeat across copies): check by presence.
      const before = (await readAll(topic, 2)).flat().length;
      const restarted = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir: copy.dir } });
      expect(restarted.recovery.replaying).toBeGreaterThanOrEqual(copy.resolved.length);
      await restarted.flush();
      await restarted.close();
      const values = new Set((await readAll(topic, 2)).flat().map((record) => record.value));
      expect(
        copy.resolved.filter((value) => !values.has(value)),
        `copy ${n}`,
      ).toEqual([]);
      expect((await readAll(topic, 2)).flat().length).toBeGreaterThan(before);
    }
  });

  test('a garbled tail and a garbled entry in the middle: recovery reports what it skipped and delivers the rest', async () => {
    const topic = uniqueTopic('durable-damage');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const dir = journalDir();
    const offline = await DurableProducer.open({ bootstrap: '127.0.0.1:9', durable: { dir, sync: 'always' } });
    for (let i = 0; i < 100; i++) await offline.enqueue({ topic, value: `d${String(i).padStart(3, '0')}` });
    await offline.close(200);
    const segment = readdirSync(dir).find((name) => name.endsWith('.seg')) as string;
    const bytes = readFileSync(join(dir, segment));
    // Entry 50's value and the last entry's value, garbled in place (their checksums no longer hold).
    const middle = bytes.indexOf('d050');
    const last = bytes.lastIndexOf('d099');
    bytes.write('XXXX', middle);
    bytes.write('XXXX', last);
    writeFileSync(join(dir, segment), bytes);

    const online = await DurableProducer.open({ bootstrap: kafka.bootstrap, durable: { dir } });
    expect(online.recovery.journal.droppedEntries).toBe(2);
    expect(online.recovery.journal.issues.map((issue) => issue.kind).sort()).toEqual(['corrupt-entry', 'corrupt-tail'].sort());
    expect(online.recovery.replaying).toBe(98);
    await online.flush();
    await online.close();
    const expected = Array.from({ length: 100 }, (_, i) => `d${String(i).padStart(3, '0')}`).filter((v) => v !== 'd050' && v !== 'd099');
    expect((await readAll(topic, 1))[0]?.map((record) => record.value)).toEqual(expected);
  });

  test('accepted, then damaged on disk before it is read back: lost (RecordLostError), the rest delivered, flush() ends', async () => {
    const topic = uniqueTopic('durable-spill-damage');
    await admin.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    const dir = journalDir();
    // The bootstrap goes through a proxy that refuses connections until it is pointed at the broker: records pile up,
    // and beyond the producer's line (1,024 records) and its memory (bufferMemory) they wait on disk only.
    const proxy = await FaultProxy.listen(0);
    const brokerPort = Number(kafka.bootstrap.split(',')[0]?.split(':')[1]);
    const producer = await DurableProducer.open({
      bootstrap: `127.0.0.1:${proxy.port}`,
      bufferMemory: 64 * 1024,
      durable: { dir, sync: 'none' },
    });
    try {
      const outcomes = new Map<number, unknown>();
      producer.on('settled', (id, result) => outcomes.set(id, result));
      const values = Array.from({ length: 3000 }, (_, i) => `s${String(i).padStart(4, '0')}${'.'.repeat(95)}`);
      const { ids } = await producer.enqueueMany(values.map((value) => ({ topic, value })));
      // Record 2,500's value garbled in the segment file, in place: it fails its checksum when read back.
      const segment = join(dir, readdirSync(dir).find((name) => name.endsWith('.seg')) as string);
      const at = readFileSync(segment).indexOf('s2500');
      expect(at).toBeGreaterThan(0);
      const fd = openSync(segment, 'r+');
      writeSync(fd, 'XXXXX', at);
      closeSync(fd);

      proxy.forwardTo(brokerPort);
      await producer.flush();
      const lostId = ids[2500] as number;
      expect(outcomes.get(lostId)).toBeInstanceOf(RecordLostError);
      expect(String(outcomes.get(lostId))).toMatch(/damaged when read back/);
      expect(producer.recovery.skipped.map((skip) => skip.reason)).toEqual([
        expect.stringMatching(/fails its checksum/),
        expect.stringMatching(/damaged when read back/),
      ]);
      expect(producer.pending).toBe(0);
      const delivered = (await readAll(topic, 1))[0]?.map((record) => record.value);
      expect(delivered).toEqual(values.filter((_, i) => i !== 2500));
    } finally {
      await producer.close();
      await proxy.close();
    }
  });

  test('SIGKILLed at random moments (in replay too), restarted: every accepted record once, per-key order kept', async () => {
    const seed = Number(process.env.KAFKA_WIRE_DURABLE_SEED ?? Date.now() % 100_000);
    const rng = new Random(seed);
    const random = () => rng.next();
    console.log(`[durable] crash loop seed ${seed} (KAFKA_WIRE_DURABLE_SEED=${seed} replays it)`);
    const topic = uniqueTopic('durable-crash');
    const partitions = 6;
    await admin.createTopics([{ name: topic, partitions, replicationFactor: 1 }]);
    const dir = journalDir();
    const total = 20_000;
    const kills = 6;
    let acceptedUpTo = -1;
    const accepted = new Set<string>();
    const notes: string[] = [];
    for (let run = 0; run <= kills; run++) {
      const child = runChild([kafka.bootstrap, topic, dir, String(acceptedUpTo + 1), String(total), String(run)]);
      const lastAccepted = () => {
        const all = [...child.output().matchAll(/^accepted (\d+)$/gm)];
        return all.length > 0 ? Number(all.at(-1)?.[1]) : acceptedUpTo;
      };
      if (run < kills) {
        // Every other kill lands during the replay of what the last run left; the others once more records were accepted.
        if (run % 2 === 1) {
          await until('recovery', () => /^recovered /m.test(child.output()), 60_000, child.output);
          await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 150)));
        } else {
          // Some time into the run: records are being accepted, replayed and delivered at once.
          // (Once every record is accepted, a run only replays and delivers: it is killed some time after its start.)
          const started = () => lastAccepted() > acceptedUpTo || (acceptedUpTo >= total - 1 && /^recovered /m.test(child.output()));
          await until('a first acceptance', started, 60_000, child.output);
          await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(random() * 1800)));
        }
        child.child.kill('SIGKILL');
        await child.exited;
      } else {
        await until('delivered', () => /^delivered$/m.test(child.output()), 180_000, child.output);
        expect(await child.exited).toBe(0);
      }
      const upTo = lastAccepted();
      for (let i = acceptedUpTo + 1; i <= upTo; i++) accepted.add(`${i}:${run}`);
      acceptedUpTo = upTo;
      notes.push(`run ${run}: ${child.output().match(/^recovered .*$/m)?.[0] ?? 'no recovery line'}, accepted up to ${upTo}`);
      for (const line of child.output().match(/^may-duplicate .*$/gm) ?? []) notes.push(`run ${run}: ${line}`);
    }
    console.log(`[durable] ${notes.join('\n[durable] ')}`);
    expect(acceptedUpTo).toBe(total - 1);

    const all = await readAll(topic, partitions);
    const seen = new Map<string, number>();
    for (const record of all.flat()) seen.set(record.value, (seen.get(record.value) ?? 0) + 1);
    const lost = [...accepted].filter((value) => !seen.has(value));
    const duplicated = [...seen].filter(([, count]) => count > 1);
    expect(lost, `lost (first 20): ${lost.slice(0, 20).join(', ')}`).toEqual([]);
    expect(duplicated, `duplicated (first 20): ${duplicated.slice(0, 20).join(', ')}`).toEqual([]);
    // Per key, records keep the order in which they were accepted: run by run (a run starts after the last one's
    // journal), and by index within a run. (A record a run journaled but did not report accepted before its kill is
    // delivered too, and the next run enqueues that index again: both are in the topic, each once.)
    for (const list of all) {
      const lastByKey = new Map<string, number>();
      for (const { key, value } of list) {
        const [index, run] = value.split(':').map(Number) as [number, number];
        const order = run * total + index;
        expect(order, `${key} went back to ${value}`).toBeGreaterThan(lastByKey.get(key) ?? -1);
        lastByKey.set(key, order);
      }
    }
    console.log(`[durable] ${accepted.size} accepted, ${seen.size} distinct in the topic, 0 lost, 0 duplicated`);
  });
});
