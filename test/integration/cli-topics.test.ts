import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { testKafka } from '../helpers/kafka.js';
import { uniqueTopic } from '../support/topics.js';

const CLI = fileURLToPath(new URL('../../bin/kafka-wire.js', import.meta.url));
const kafka = testKafka();

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, 'topics', ...args, '--bootstrap', kafka.bootstrap], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('kafka-wire topics: create, describe, grow, list, delete, and errors on stderr', () => {
  const topic = uniqueTopic('cli');
  expect(cli('create', topic, '--partitions', '2', '--config', 'retention.ms=60000')).toMatchObject({
    status: 0,
    stdout: `created topic ${topic}\n`,
  });
  const described = cli('describe', topic);
  expect(described.status, described.stderr).toBe(0);
  expect(described.stdout).toMatch(new RegExp(`^topic ${topic}  id \\S{22}  partitions 2\\n  partition 0  leader \\d+`));
  expect(cli('grow', topic, '--partitions', '3').status).toBe(0);
  expect(cli('describe', topic).stdout).toContain('partitions 3');
  expect(cli('list').stdout.split('\n')).toContain(topic);

  const duplicate = cli('create', topic);
  expect(duplicate.status).toBe(1);
  expect(duplicate.stderr).toContain('TOPIC_ALREADY_EXISTS');

  expect(cli('delete', topic).status).toBe(0);
  const gone = cli('describe', topic);
  expect(gone.status).toBe(1);
  expect(gone.stderr).toContain('UNKNOWN_TOPIC_OR_PARTITION');

  const usage = cli('create', topic, '--partitions', 'many');
  expect(usage.status).toBe(2);
  expect(usage.stderr).toContain('--partitions must be a positive integer');
});
