import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { testKafka } from '../helpers/kafka.js';
import { CliProcess, runCli } from '../support/cli.js';
import { uniqueTopic } from '../support/topics.js';

/** kafka-wire produce --durable: records accepted with no broker stay in the journal, and the next run delivers them first. */

const kafka = testKafka();
let cluster: Cluster;
let admin: Admin;
const running: CliProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'kw-cli-durable-'));

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  admin = new Admin(cluster);
});
afterAll(() => {
  cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  for (const cli of running.splice(0)) cli.kill();
});

test('accepted with no broker, Ctrl-C: the records stay in the journal; the next run delivers them first, each once', async () => {
  const topic = uniqueTopic('cli-durable');
  await admin.createTopics([{ name: topic, partitions: 1 }]);
  const journal = join(dir, 'queue');
  // Port 9 on loopback refuses connections: nothing can be delivered.
  const offline = new CliProcess(['produce', topic, '--durable', journal, '--bootstrap', '127.0.0.1:9']);
  running.push(offline);
  offline.write('x\ny\n');
  const status = () => runCli(['queue', 'status', journal]).stdout;
  const deadline = Date.now() + 30_000;
  while (!/unacknowledged: 2 record\(s\)/.test(status())) {
    if (Date.now() > deadline) throw new Error(`the two records never reached the journal: ${status()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  offline.child.kill('SIGINT');
  const { status: code } = await offline.exited(30_000);
  expect(code, offline.stderr).toBe(0);
  expect(offline.stderr).toContain(`2 records not yet acknowledged stay in ${journal} for the next run`);

  const online = runCli(['produce', topic, '--durable', journal, '--bootstrap', kafka.bootstrap], { input: 'z\n' });
  expect(online.status, online.stderr).toBe(0);
  expect(online.stderr).toContain(`delivering first the 2 records the journal ${journal} held`);
  expect(status()).toMatch(/unacknowledged: 0 record\(s\)/);
  const consumed = runCli(['consume', topic, '--from-beginning', '--until-end', '--bootstrap', kafka.bootstrap]);
  expect(
    consumed.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t')[3]),
  ).toEqual(['x', 'y', 'z']);
});

test('--sync without --durable, and --durable with --count, are usage errors', () => {
  expect(runCli(['produce', 't', '--sync', 'always', '--bootstrap', kafka.bootstrap]).status).toBe(2);
  expect(runCli(['produce', 't', '--durable', dir, '--count', '5', '--bootstrap', kafka.bootstrap]).status).toBe(2);
});
