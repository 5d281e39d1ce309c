import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { testKafka } from '../helpers/kafka.js';
import { CliProcess, runCli, waitUntil } from '../support/cli.js';
import { uniqueTopic } from '../support/topics.js';

/** kafka-wire produce --transactional-id as a child process, read back with kafka-wire consume --isolation. */

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

const cli = (args: string[], input?: string) => runCli([...args, '--bootstrap', kafka.bootstrap], { input });

/** partition/offset/key/value rows of `kafka-wire consume --from-beginning --until-end`. */
function consume(topic: string, ...args: string[]): string[][] {
  const result = cli(['consume', topic, '--from-beginning', '--until-end', ...args]);
  expect(result.status, result.stderr).toBe(0);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t'));
}

test('every N records commit; read_committed sees them all, with a commit marker after each transaction', async () => {
  const topic = uniqueTopic('cli-txn');
  await admin.createTopics([{ name: topic, partitions: 1 }]);
  const lines = Array.from({ length: 100 }, (_, i) => `k${i}|v${i}`);
  const produced = cli(
    ['produce', topic, '--key-separator', '|', '--transactional-id', `${topic}-loader`, '--transaction-records', '30'],
    `${lines.join('\n')}\n`,
  );
  expect(produced.status, produced.stderr).toBe(0);
  expect(produced.stderr).toContain(`produced 100 records to ${topic}, 0 failed`);
  expect(produced.stderr).toContain('committed 100 records in 4 transaction(s)');

  // EndTxn is answered before the markers are written: wait for the last one (the last stable offset at the end).
  const stable = async () => (await admin.listOffsets(topic, 'latest', { isolation: 'read_committed' }))[0]?.offset;
  await waitUntil('the last commit marker', async () => (await stable()) === 104n, 30_000);
  const rows = consume(topic, '--isolation', 'read_committed');
  expect(rows.map(([, , key, value]) => `${key}|${value}`)).toEqual(lines);
  // Offsets 30, 61, 92 and 103 hold the commit markers of the four transactions (30 + 30 + 30 + 10 records).
  const offsets = rows.map(([, offset]) => Number(offset));
  const expected = [0, 31, 62, 93].flatMap((start, t) => Array.from({ length: t < 3 ? 30 : 10 }, (_, i) => start + i));
  expect(offsets).toEqual(expected);
  const [end] = await admin.listOffsets(topic, 'latest');
  expect(end?.offset).toBe(104n);
});

test('Ctrl-C aborts the open transaction: read_committed sees only what was committed, read_uncommitted sees all', async () => {
  const topic = uniqueTopic('cli-txn-int');
  await admin.createTopics([{ name: topic, partitions: 1 }]);
  const producer = new CliProcess([
    'produce',
    topic,
    '--transactional-id',
    `${topic}-loader`,
    '--transaction-records',
    '3',
    '--bootstrap',
    kafka.bootstrap,
  ]);
  running.push(producer);
  producer.write('c1\nc2\nc3\no1\no2\n');
  // Three records and a commit marker, then the two of the open transaction: written, not yet committed.
  await waitUntil('the open transaction written', async () => (await admin.listOffsets(topic, 'latest'))[0]?.offset === 6n, 60_000);

  producer.child.kill('SIGINT');
  const { status } = await producer.exited(60_000);
  expect(status, producer.stderr).toBe(0);
  expect(producer.stderr).toMatch(/interrupted: reading no more input, waiting for those already sent, then aborting the open transaction/);
  expect(producer.stderr).toMatch(/produced 5 records to \S+, 0 failed \(interrupted after 5 lines\)/);
  expect(producer.stderr).toContain('committed 3 records in 1 transaction(s); aborted the transaction of the last 2');

  const stable = async () => (await admin.listOffsets(topic, 'latest', { isolation: 'read_committed' }))[0]?.offset;
  await waitUntil('the abort marker', async () => (await stable()) === 7n, 30_000);
  expect(consume(topic, '--isolation', 'read_committed').map(([, , , value]) => value)).toEqual(['c1', 'c2', 'c3']);
  expect(consume(topic).map(([, , , value]) => value)).toEqual(['c1', 'c2', 'c3', 'o1', 'o2']);
  expect((await admin.listOffsets(topic, 'latest'))[0]?.offset).toBe(7n); // the abort marker
});
