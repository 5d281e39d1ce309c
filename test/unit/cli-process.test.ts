import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { BENCH } from '../../src/cli/bench-command.js';

/** The real executable, as a user runs it: exit codes, and what reaches stdout and stderr. No broker needed. */

const CLI = fileURLToPath(new URL('../../bin/kafka-wire.js', import.meta.url));
const stateDir = mkdtempSync(join(tmpdir(), 'kafka-wire-cli-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_WIRE_STATE_DIR: stateDir };
  delete env.KAFKA_BOOTSTRAP;
  const startedAt = Date.now();
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - startedAt };
}

test('--version prints the version from package.json', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(cli('--version')).toMatchObject({ status: 0, stdout: `kafka-wire ${version}\n`, stderr: '' });
});

test('a bad cluster name is one line on stderr and exit code 2, not a stack trace', () => {
  expect(cli('broker', 'stop', '--name', 'bad name')).toMatchObject({
    status: 2,
    stdout: '',
    stderr: `kafka-wire: cluster name "bad name" must be 1-64 letters, digits, '-' or '_'\n`,
  });
});

test('a malformed --bootstrap is a usage error, not a stack trace', () => {
  const result = cli('topics', 'list', '--bootstrap', '127.0.0.1:99999');
  expect(result).toMatchObject({ status: 2, stdout: '' });
  expect(result.stderr).toMatch(/^kafka-wire: bootstrap entry "127.0.0.1:99999" is not host:port[^\n]*\n$/);
});

test('bench --help prints the help and starts nothing', () => {
  const result = cli('bench', '--help');
  expect(result).toMatchObject({ status: 0, stdout: `${BENCH.usage}\n`, stderr: '' });
  // Starting the harness would have run "npm run bench" (a build, a broker, minutes).
  expect(result.ms).toBeLessThan(30_000);
});

test('no command: the overview on stderr, exit code 2', () => {
  const result = cli();
  expect(result).toMatchObject({ status: 2, stdout: '' });
  expect(result.stderr).toMatch(/^kafka-wire: which command\?\n\nusage: kafka-wire <command>/);
});
