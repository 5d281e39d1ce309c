import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { readPartition } from '../../src/consumer/partition-reader.js';
import { testKafka } from '../helpers/kafka.js';
import { CliProcess, waitUntil } from '../support/cli.js';
import { uniqueTopic } from '../support/topics.js';

/** Ctrl-C on kafka-wire produce, as a child process: the first stops input and flushes what was read. */

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;
const running: CliProcess[] = [];

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  admin = new Admin(cluster);
});
afterAll(() => cluster?.close());
afterEach(() => {
  for (const cli of running.splice(0)) cli.kill();
});

function produce(...args: string[]): CliProcess {
  const cli = new CliProcess(['produce', ...args, '--bootstrap', kafka.bootstrap]);
  running.push(cli);
  return cli;
}

async function endOffsets(topic: string): Promise<bigint[]> {
  return (await admin.listOffsets(topic, 'latest')).sort((a, b) => a.partition - b.partition).map((partition) => partition.offset);
}

test('console mode: Ctrl-C stops reading stdin, delivers the lines read, prints the summary and exits 0', async () => {
  const topic = uniqueTopic('cli-int');
  await admin.createTopics([{ name: topic, partitions: 1 }]);
  // lingerMs is an upper bound: to a broker with nothing in flight each batch goes at once, 10 minutes of linger or not.
  const cli = produce(topic, '--partition', '0', '--linger-ms', '600000');
  const small = Array.from({ length: 50 }, (_, i) => `small-${i}`);
  const big = `big-${'x'.repeat(20_000)}`; // more than a batch: it closes the batch of small lines
  const after = Array.from({ length: 5 }, (_, i) => `after-${i}`); // closes the big one, in a batch of their own
  // One write, well under a pipe's 64 KiB: the child reads all of it at once, so every line is read
  // before it can see the Ctrl-C; stdin stays open.
  cli.write(`${[...small, big, ...after].join('\n')}\n`);
  await waitUntil('the 56 records delivered, none held for the linger', async () => (await endOffsets(topic))[0] === 56n, 60_000);

  cli.child.kill('SIGINT');
  const { status } = await cli.exited(60_000);
  expect(cli.stderr).toMatch(/interrupted: reading no more input/);
  expect(cli.stderr).toMatch(/produced 56 records to \S+, 0 failed \(interrupted after 56 lines\)/);
  expect(status).toBe(0);
  const records = await readPartition(cluster, topic, 0);
  expect(records.map((record) => record.value?.toString())).toEqual([...small, big, ...after]);
});

test('load mode: Ctrl-C stops sending; every record sent is delivered and counted in the summary', async () => {
  const topic = uniqueTopic('cli-int-load');
  await admin.createTopics([{ name: topic, partitions: 2 }]);
  const count = 100_000_000; // far more than the test lets it send
  const cli = produce(topic, '--count', String(count), '--size', '10');
  await cli.waitForStderr(/producing to /, 60_000); // the first progress line: sending is under way
  cli.child.kill('SIGINT');
  const { status } = await cli.exited(60_000);
  expect(status, cli.stderr).toBe(0);
  expect(cli.stderr).toMatch(/interrupted: sending no more records/);
  const summary = cli.stdout.match(/^([\d,]+) records \([\d.]+ MB\) in [\d.]+ s: .*; interrupted after sending ([\d,]+)$/m);
  expect(summary, cli.stdout).not.toBeNull();
  const acknowledged = Number(summary![1]!.replaceAll(',', ''));
  const sent = Number(summary![2]!.replaceAll(',', ''));
  expect(acknowledged).toBeGreaterThan(0);
  expect(acknowledged).toBe(sent);
  expect(sent).toBeLessThan(count);
  const written = (await endOffsets(topic)).reduce((sum, offset) => sum + offset, 0n);
  expect(written).toBe(BigInt(acknowledged));
});
