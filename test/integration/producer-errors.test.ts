import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { UnknownTopicOrPartitionError } from '../../src/cluster/errors.js';
import { AuthenticationError, ConnectionError, TlsError } from '../../src/connection/errors.js';
import { isRetriable } from '../../src/errors.js';
import type { ProducerOptions } from '../../src/producer/options.js';
import { Producer } from '../../src/producer/producer.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueTopic } from '../support/topics.js';

/**
 * What a user sees when something is set up wrong: each case through send() and through
 * connect(['topic']), with the error's type, its message and how long it took. Settings that
 * retrying cannot fix fail at once; a broker refusing connections is retried until maxBlockMs
 * and then named.
 */
const kafka = testKafka();
const security = kafka.security;
const MAX_BLOCK_MS = 2000;
let cluster: Cluster;
let topic: string;

/** A loopback port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap, partitionCountRefreshMs: 0 });
  topic = uniqueTopic('errors');
  await new Admin(cluster).createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
});
afterAll(() => cluster?.close());

interface Outcome {
  error: unknown;
  ms: number;
}

/** The same mistake through send() and through connect([topic]). */
async function bothWays(options: ProducerOptions, target = topic): Promise<{ send: Outcome; connect: Outcome }> {
  const attempt = async (call: (producer: Producer) => Promise<unknown>): Promise<Outcome> => {
    const producer = new Producer({ maxBlockMs: MAX_BLOCK_MS, ...options });
    const started = Date.now();
    try {
      const error = await call(producer).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      return { error, ms: Date.now() - started };
    } finally {
      await producer.close(1000);
    }
  };
  return {
    send: await attempt((producer) => producer.send({ topic: target, value: 'x' })),
    connect: await attempt((producer) => producer.connect([target])),
  };
}

describe('errors that name the real cause', () => {
  test('a refused bootstrap address is retried until maxBlockMs, then named with the refusal', async () => {
    const port = await closedPort();
    const { send, connect } = await bothWays({ bootstrap: `127.0.0.1:${port}` });
    for (const { error, ms } of [send, connect]) {
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).not.toBeInstanceOf(TlsError);
      expect(String(error)).toContain(`127.0.0.1:${port}`);
      expect(String(error)).toContain('ECONNREFUSED');
      expect(String(error)).toContain(`maxBlockMs ${MAX_BLOCK_MS}`);
      expect(String(error)).not.toMatch(/UNKNOWN_TOPIC|not in the metadata/);
      expect(isRetriable(error)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(MAX_BLOCK_MS - 50);
      expect(ms).toBeLessThan(MAX_BLOCK_MS + 3000);
    }
  });

  test('a host name that does not resolve fails at once, naming the host', async () => {
    const { send, connect } = await bothWays({ bootstrap: 'kafka-wire-no-such-host.invalid:9092' });
    for (const { error, ms } of [send, connect]) {
      expect(error).toBeInstanceOf(ConnectionError);
      expect(String(error)).toContain('kafka-wire-no-such-host.invalid does not resolve');
      expect(isRetriable(error)).toBe(false);
      expect(ms).toBeLessThan(MAX_BLOCK_MS);
    }
  });

  test('one good bootstrap address among dead ones is enough', async () => {
    const port = await closedPort();
    const producer = new Producer({ bootstrap: `127.0.0.1:${port},kafka-wire-no-such-host.invalid:9092,${kafka.bootstrap}` });
    try {
      await producer.connect([topic]);
      const written = await producer.send({ topic, value: 'through the third address' });
      expect(written.offset).toBeGreaterThanOrEqual(0n);
    } finally {
      await producer.close();
    }
  });

  test('a topic that does not exist (auto-creation off) fails with UnknownTopicOrPartitionError after unknownTopicTimeoutMs', async () => {
    const missing = uniqueTopic('missing');
    const { send, connect } = await bothWays({ bootstrap: kafka.bootstrap, unknownTopicTimeoutMs: 1000 }, missing);
    for (const { error, ms } of [send, connect]) {
      expect(error).toBeInstanceOf(UnknownTopicOrPartitionError);
      expect(String(error)).toContain(`topic "${missing}" does not exist`);
      expect(String(error)).toContain('allowAutoTopicCreation is off');
      expect(isRetriable(error)).toBe(false);
      expect(ms).toBeGreaterThanOrEqual(1000);
      expect(ms).toBeLessThan(MAX_BLOCK_MS);
    }
  });

  test('with allowAutoTopicCreation the first send creates the topic', async () => {
    const created = uniqueTopic('auto');
    const producer = new Producer({ bootstrap: kafka.bootstrap, allowAutoTopicCreation: true });
    try {
      const written = await producer.send({ topic: created, value: 'first' });
      expect(written.topic).toBe(created);
    } finally {
      await producer.close();
    }
  });
});

describe.skipIf(!security)('errors that name the real cause: SASL and TLS', () => {
  const user = () => security!.sasl;

  test('a wrong SASL password fails at once with an AuthenticationError', async () => {
    const { send, connect } = await bothWays({
      bootstrap: security!.saslBootstrap,
      sasl: { mechanism: 'SCRAM-SHA-256', username: user().username, password: 'not-the-password' },
    });
    for (const { error, ms } of [send, connect]) {
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(String(error)).toContain('SASL SCRAM-SHA-256 authentication failed');
      expect(isRetriable(error)).toBe(false);
      expect(ms).toBeLessThan(MAX_BLOCK_MS);
    }
  });

  test('no SASL settings against a SASL listener fail at once, saying to configure sasl', async () => {
    const { send, connect } = await bothWays({ bootstrap: security!.saslBootstrap });
    for (const { error, ms } of [send, connect]) {
      expect(error).toBeInstanceOf(ConnectionError);
      expect(String(error)).toContain('configure sasl');
      expect(isRetriable(error)).toBe(false);
      expect(ms).toBeLessThan(MAX_BLOCK_MS);
    }
  });

  test('TLS against a plaintext listener fails at once with a TlsError that says so', async () => {
    const { send, connect } = await bothWays({ bootstrap: kafka.bootstrap, tls: true });
    for (const { error, ms } of [send, connect]) {
      expect(error).toBeInstanceOf(TlsError);
      expect(String(error)).toContain('is it a plaintext listener rather than TLS?');
      expect(isRetriable(error)).toBe(false);
      expect(ms).toBeLessThan(MAX_BLOCK_MS);
    }
  });

  test('plaintext against a TLS listener fails at once, saying it is one', async () => {
    const { send, connect } = await bothWays({ bootstrap: security!.sslBootstrap });
    for (const { error, ms } of [send, connect]) {
      expect(error).toBeInstanceOf(ConnectionError);
      expect(String(error)).toContain('this is a TLS listener; connect with tls');
      expect(isRetriable(error)).toBe(false);
      expect(ms).toBeLessThan(MAX_BLOCK_MS);
    }
  });

  test('a broker certificate from an untrusted CA fails at once with a TlsError naming the problem', async () => {
    const { send, connect } = await bothWays({ bootstrap: security!.sslBootstrap, tls: true });
    for (const { error, ms } of [send, connect]) {
      expect(error).toBeInstanceOf(TlsError);
      expect(String(error)).toMatch(
        /certificate is not accepted: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
      );
      expect(String(error)).toContain('tls.ca');
      expect(isRetriable(error)).toBe(false);
      expect(ms).toBeLessThan(MAX_BLOCK_MS);
    }
  });
});
