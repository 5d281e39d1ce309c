import { describe, expect, test } from 'vitest';
import { testKafka } from '../helpers/kafka.js';
import { TEST_CLUSTER } from '../setup/kafka-global-setup.js';
import { runCli } from '../support/cli.js';
import { uniqueTopic } from '../support/topics.js';

/** The connection flags (SASL, TLS, --name) on every command that talks to a cluster, against the embedded broker's listeners. */

const kafka = testKafka();
const security = kafka.security;
const noStackTrace = /^\s+at /m;

// The SASL and SSL listeners, and the named cluster, exist on the embedded broker only.
describe.skipIf(!security)('kafka-wire over SASL and TLS, and by cluster name', () => {
  const { username, password } = security!.sasl;
  const variants = [
    {
      label: 'SASL SCRAM-SHA-512',
      flags: [
        '--bootstrap',
        security!.saslBootstrap,
        '--sasl-mechanism',
        'SCRAM-SHA-512',
        '--sasl-username',
        username,
        '--sasl-password',
        password,
      ],
    },
    { label: 'TLS', flags: ['--bootstrap', security!.sslBootstrap, '--tls', '--tls-ca', security!.caFile] },
    { label: 'TLS by cluster name (its own CA)', flags: ['--name', TEST_CLUSTER, '--tls'] },
    {
      label: 'SASL PLAIN by cluster name',
      flags: ['--name', TEST_CLUSTER, '--sasl-mechanism', 'PLAIN', '--sasl-username', username, '--sasl-password', password],
    },
  ];

  test.each(variants)('topics create, describe, grow, list and delete over $label', { timeout: 180_000 }, ({ flags }) => {
    const topic = uniqueTopic('cli-sec');
    const topics = (...args: string[]) => {
      const result = runCli(['topics', ...args, ...flags]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      return result.stdout;
    };
    expect(topics('create', topic, '--partitions', '2')).toBe(`created topic ${topic}\n`);
    expect(topics('describe', topic)).toMatch(new RegExp(`^topic ${topic}  id \\S{22}  partitions 2\\n`));
    expect(topics('grow', topic, '--partitions', '3')).toBe(`topic ${topic} now has 3 partitions\n`);
    expect(topics('list').split('\n')).toContain(topic);
    expect(topics('delete', topic)).toBe(`deleted topic ${topic}\n`);
    // Through the PLAINTEXT listener: the topic really was made and removed on this cluster.
    expect(runCli(['topics', 'list', '--bootstrap', kafka.bootstrap]).stdout.split('\n')).not.toContain(topic);
  });

  test.each(variants)('produce and consume over $label', { timeout: 180_000 }, ({ flags }) => {
    const topic = uniqueTopic('cli-sec-pc');
    expect(runCli(['topics', 'create', topic, '--partitions', '1', '--bootstrap', kafka.bootstrap]).status).toBe(0);
    const produced = runCli(['produce', topic, '--key-separator', ':', ...flags], { input: 'k1:one\nk2:two\n' });
    expect(produced.status, produced.stderr).toBe(0);
    expect(produced.stderr).toContain('produced 2 records');
    const consumed = runCli(['consume', topic, '--from-beginning', '--until-end', ...flags]);
    expect(consumed.status, consumed.stderr).toBe(0);
    expect(consumed.stdout).toBe('0\t0\tk1\tone\n0\t1\tk2\ttwo\n');
  });

  test('--name finds the named embedded cluster without --bootstrap', () => {
    const topic = uniqueTopic('cli-name');
    expect(runCli(['topics', 'create', topic, '--bootstrap', kafka.bootstrap]).status).toBe(0);
    const listed = runCli(['topics', 'list', '--name', TEST_CLUSTER]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')).toContain(topic);
    expect(runCli(['topics', 'delete', topic, '--name', TEST_CLUSTER]).status).toBe(0);
  });

  test('demo against a named cluster over TLS', { timeout: 180_000 }, () => {
    const demo = runCli(['demo', '--count', '2000', '--name', TEST_CLUSTER, '--tls']);
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toContain(`using the cluster at ${security!.sslBootstrap}`);
    expect(demo.stdout).toMatch(/verification OK: 2,000 records/);
  });

  test('wrong credentials and an untrusted certificate fail fast with the cause, exit code 1, no stack trace', () => {
    const startedAt = Date.now();
    const wrong = runCli([
      'topics',
      'list',
      '--bootstrap',
      security!.saslBootstrap,
      '--sasl-mechanism',
      'SCRAM-SHA-256',
      '--sasl-username',
      username,
      '--sasl-password',
      'wrong',
    ]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^kafka-wire: .*SASL SCRAM-SHA-256 authentication failed/);
    expect(wrong.stderr).not.toMatch(noStackTrace);

    // --tls without the embedded CA: the system's CAs do not trust it.
    const untrusted = runCli(['topics', 'list', '--bootstrap', security!.sslBootstrap, '--tls']);
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toMatch(/^kafka-wire: .*(certificate|self.signed)/is);
    expect(untrusted.stderr).not.toMatch(noStackTrace);
    expect(Date.now() - startedAt).toBeLessThan(60_000);
  });

  test('the embedded cluster has no SASL_SSL listener: asking for both is a usage error', () => {
    const both = runCli([
      'topics',
      'list',
      '--name',
      TEST_CLUSTER,
      '--tls',
      '--sasl-mechanism',
      'PLAIN',
      '--sasl-username',
      'u',
      '--sasl-password',
      'p',
    ]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('no SASL_SSL listener');
  });
});
