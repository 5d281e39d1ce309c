import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { COMMANDS, main } from '../../src/cli/main.js';
import { EmbeddedKafkaError } from '../../src/embedded/errors.js';
import { clusterDir } from '../../src/embedded/paths.js';

/** main() in this process, with stdout and stderr captured. */
async function run(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void stderr.push(String(line)));
  try {
    const status = await main(argv, (line) => stdout.push(line));
    return { status, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

let stateDir: string;
beforeEach(() => {
  // An empty state directory and no KAFKA_BOOTSTRAP: no cluster to find, and any work a command did would leave files here.
  stateDir = mkdtempSync(join(tmpdir(), 'kafka-wire-cli-'));
  vi.stubEnv('KAFKA_WIRE_STATE_DIR', stateDir);
  vi.stubEnv('KAFKA_BOOTSTRAP', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(stateDir, { recursive: true, force: true });
});

test('--version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(await run('--version')).toEqual({ status: 0, stdout: `kafka-wire ${pkg.version}`, stderr: '' });
});

test('-h, --help and "help" print the overview on stdout', async () => {
  for (const argv of [['-h'], ['--help'], ['help']]) {
    const result = await run(...argv);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^usage: kafka-wire <command>/);
    for (const command of COMMANDS) expect(result.stdout).toContain(`  ${command.name} `);
  }
});

// Every command and subcommand, asked for help three ways, with arguments that would make it work or fail.
const helpCases = COMMANDS.flatMap((command) => {
  const forms = (words: string[]) => [
    [...words, '--help'],
    [...words, 'a-topic', '-h', '--bootstrap', '127.0.0.1:1'],
    ['help', ...words],
  ];
  const subcommands = Object.keys(command.subcommands ?? {});
  return [
    ...forms([command.name]).map((argv) => ({ argv, usage: `usage: kafka-wire ${command.name} ` })),
    ...subcommands.flatMap((sub) =>
      forms([command.name, sub]).map((argv) => ({ argv, usage: `usage: kafka-wire ${command.name} ${sub}` })),
    ),
  ];
});

test.each(helpCases)('kafka-wire $argv prints its usage on stdout, exits 0 and does nothing else', async ({ argv, usage }) => {
  const result = await run(...argv);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout.startsWith(usage)).toBe(true);
  expect(readdirSync(stateDir)).toEqual([]);
});

test('every subcommand has its own usage, and each command lists its subcommands', () => {
  for (const command of COMMANDS) {
    for (const [name, sub] of Object.entries(command.subcommands ?? {})) {
      expect(sub.usage).toMatch(new RegExp(`^usage: kafka-wire ${command.name} ${name}`));
      expect(command.usage).toContain(sub.synopsis);
    }
  }
});

test('a bad cluster name is a typed EmbeddedKafkaError (BAD_ARGUMENT), which the CLI reports as a usage error', () => {
  const error = (() => {
    try {
      clusterDir('bad name');
    } catch (caught) {
      return caught;
    }
  })();
  expect(error).toBeInstanceOf(EmbeddedKafkaError);
  expect((error as EmbeddedKafkaError).reason).toBe('BAD_ARGUMENT');
});

test.each([
  { argv: [], message: /which command\?/ },
  { argv: ['nope'], message: /unknown command "nope"/ },
  { argv: ['help', 'nope'], message: /no command "nope"/ },
  { argv: ['help', 'topics', 'nope'], message: /no command "topics nope"/ },
  { argv: ['topics'], message: /which topics command\?/ },
  { argv: ['topics', 'lst'], message: /unknown topics command "lst"/ },
  { argv: ['topics', 'describe', 't', '--partitions', '3'], message: /unknown option --partitions for "topics describe"/ },
  { argv: ['topics', 'delete', 'a', 'b'], message: /takes one topic/ },
  { argv: ['produce'], message: /"produce" needs a topic name/ },
  { argv: ['produce', 't', '-n', '3'], message: /unknown option -n for "produce"/ },
  { argv: ['produce', 't', '--delivery-timeout-ms', '0'], message: /--delivery-timeout-ms must be an integer ≥ 1/ },
  { argv: ['produce', 't', '--sasl-mechanism', 'PLAIN'], message: /needs --sasl-username and --sasl-password/ },
  { argv: ['produce', 't', '--transaction-records', '10'], message: /--transaction-records needs --transactional-id/ },
  { argv: ['produce', 't', '--transactional-id', 'x', '--count', '5'], message: /--transactional-id is for console mode/ },
  {
    argv: ['consume', 't', '--isolation', 'committed'],
    message: /--isolation must be read_uncommitted or read_committed, not "committed"/,
  },
  { argv: ['consume', 't', '--tls=yes'], message: /--tls takes no value/ },
  { argv: ['broker', 'stop', '--name', 'bad name'], message: /cluster name "bad name" must be 1-64 letters/ },
  { argv: ['broker', 'kill', '--name', 'x'], message: /needs a node id/ },
  { argv: ['topics', 'list', '--name', 'bad name'], message: /cluster name "bad name" must be 1-64 letters/ },
  { argv: ['topics', 'list', '--name', 'absent'], message: /no embedded cluster "absent" is running/ },
  { argv: ['topics', 'list'], message: /no cluster to talk to/ },
  { argv: ['topics', 'list', '--bootstrap', 'foo'], message: /bootstrap entry "foo" is not host:port/ },
  { argv: ['consume', 't', '--bootstrap', '127.0.0.1:1', '--name', 'x'], message: /--bootstrap and --name exclude each other/ },
  { argv: ['produce', 't', '--bootstrap', '127.0.0.1:1', '--tls-ca', '/nonexistent/ca.pem'], message: /--tls-ca \/nonexistent\/ca.pem/ },
  { argv: ['bench', '--quikc'], message: /unknown option --quikc for "bench"/ },
  { argv: ['bench', 'now'], message: /"bench" takes no arguments/ },
])('kafka-wire $argv is a usage error: exit 2, one message on stderr, nothing on stdout', async ({ argv, message }) => {
  const result = await run(...argv);
  expect(result).toMatchObject({ status: 2, stdout: '' });
  expect(result.stderr).toMatch(/^kafka-wire: /);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/^\s+at /m);
});
