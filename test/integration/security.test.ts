import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { Cluster } from '../../src/cluster/cluster.js';
import { parseBootstrap } from '../../src/connection/bootstrap.js';
import { Connection } from '../../src/connection/connection.js';
import { AuthenticationError, ConnectionError, PeerProtocolError } from '../../src/connection/errors.js';
import type { SaslOptions } from '../../src/connection/sasl-mechanisms.js';
import { Metadata } from '../../src/protocol/generated/index.js';
import { testKafka } from '../helpers/kafka.js';

const kafka = testKafka();
const security = kafka.security;
const clusters: Cluster[] = [];
afterEach(() => {
  for (const cluster of clusters.splice(0)) cluster.close();
});

async function connect(options: Parameters<typeof Cluster.connect>[0]): Promise<Cluster> {
  const cluster = await Cluster.connect(options);
  clusters.push(cluster);
  return cluster;
}

/** An unsigned JWT, which the embedded broker's OAUTHBEARER validator for testing accepts. */
function unsignedToken(subject: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none' })}.${part({ sub: subject, iat: now, exp: now + 600 })}.`;
}

// The SASL and SSL listeners, users and CA exist on the embedded broker only.
describe.skipIf(!security)('security: SASL and TLS against the embedded broker', () => {
  const user = security!.sasl;
  const mechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

  test.each(mechanisms)('SASL %s: a cluster connects, reads metadata and its brokers over the SASL listener', async (mechanism) => {
    const cluster = await connect({
      bootstrap: security!.saslBootstrap,
      sasl: { mechanism, username: user.username, password: user.password },
    });
    const [first] = parseBootstrap(security!.saslBootstrap);
    expect(cluster.metadata.brokers.size).toBeGreaterThan(0);
    expect([...cluster.metadata.brokers.values()].some((broker) => broker.port === first!.port)).toBe(true);
    const nodeId = [...cluster.metadata.brokers.keys()][0]!;
    expect((await cluster.connectionTo(nodeId)).isOpen).toBe(true);
  });

  test('SASL OAUTHBEARER with a token provider', async () => {
    let calls = 0;
    const sasl: SaslOptions = {
      mechanism: 'OAUTHBEARER',
      token: async () => {
        calls++;
        return unsignedToken('kafka-wire-test');
      },
    };
    const cluster = await connect({ bootstrap: security!.saslBootstrap, sasl });
    expect(cluster.metadata.brokers.size).toBeGreaterThan(0);
    expect(calls).toBeGreaterThanOrEqual(1);
  });

  test.each(mechanisms)('SASL %s with a wrong password fails at once with an AuthenticationError, trying once', async (mechanism) => {
    const started = Date.now();
    const error = await Cluster.connect({
      bootstrap: security!.saslBootstrap,
      sasl: { mechanism, username: user.username, password: 'wrong' },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(String(error)).toMatch(new RegExp(`SASL ${mechanism} authentication failed`));
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('an unknown user is refused the same way', async () => {
    await expect(
      Connection.connect({
        ...parseBootstrap(security!.saslBootstrap)[0]!,
        sasl: { mechanism: 'SCRAM-SHA-512', username: 'nobody', password: 'x' },
      }),
    ).rejects.toThrow(AuthenticationError);
  });

  test('TLS with the cluster CA: connects and reads metadata', async () => {
    const cluster = await connect({ bootstrap: security!.sslBootstrap, tls: { ca: readFileSync(security!.caFile) } });
    expect(cluster.metadata.brokers.size).toBeGreaterThan(0);
  });

  test('TLS without trusting the CA is refused with the certificate problem named', async () => {
    await expect(Connection.connect({ ...parseBootstrap(security!.sslBootstrap)[0]!, tls: true })).rejects.toThrow(
      /SELF_SIGNED_CERT_IN_CHAIN|self-signed/,
    );
  });

  test('TLS against the plaintext listener is a clear error', async () => {
    const error = await Connection.connect({ ...parseBootstrap(kafka.bootstrap)[0]!, tls: { ca: readFileSync(security!.caFile) } }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String(error)).toMatch(/could not open a TLS connection.*plaintext listener rather than TLS/);
  });

  test('plaintext against the TLS listener is a clear error', async () => {
    const error = await Connection.connect({ ...parseBootstrap(security!.sslBootstrap)[0]!, connectTimeoutMs: 5000 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String(error)).toMatch(/TLS/);
    if (error instanceof PeerProtocolError) expect(String(error)).toMatch(/not a Kafka answer/);
  });

  test('no SASL against the SASL listener says SASL may be needed', async () => {
    const connection = await Connection.connect(parseBootstrap(security!.saslBootstrap)[0]!);
    await expect(connection.request(Metadata, Metadata.request.create({ topics: [] }))).rejects.toThrow(/configure sasl/);
  });
});
