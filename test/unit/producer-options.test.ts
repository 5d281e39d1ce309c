import { describe, expect, test } from 'vitest';
import { Cluster } from '../../src/cluster/cluster.js';
import { BootstrapParseError } from '../../src/connection/bootstrap.js';
import { ConfigError, KafkaWireError } from '../../src/errors.js';
import { Producer } from '../../src/producer/producer.js';

const bootstrap = '127.0.0.1:9';

/** Each mistake a user can make in the options, and what the ConfigError must name. */
const PRODUCER_MISTAKES: [string, Record<string, unknown>, RegExp][] = [
  ['acks as a word', { acks: 'one' }, /option acks must be one of -1, 0, 1, "all", not the string "one"/],
  ['idempotence with acks=1', { acks: 1, idempotent: true }, /idempotence needs acks=all/],
  ['idempotent as a string', { idempotent: 'yes' }, /option idempotent must be true or false/],
  ['negative linger', { lingerMs: -1 }, /option lingerMs must be an integer ≥ 0, not the number -1/],
  ['NaN batch size', { batchSize: Number.NaN }, /option batchSize must be an integer from 1 to \d+, not NaN/],
  ['batch size as a string', { batchSize: '16k' }, /option batchSize must be .*not the string "16k"/],
  ['too many in flight for idempotence', { maxInFlight: 6 }, /at most 5 requests in flight/],
  ['zero in flight', { maxInFlight: 0, idempotent: false, acks: 1 }, /option maxInFlight must be an integer ≥ 1/],
  [
    'unknown codec',
    { compression: 'brotli' },
    /option compression must be one of "none", "gzip", "snappy", "lz4", "zstd", not the string "brotli"/,
  ],
  [
    'gzip level out of range',
    { compression: 'gzip', compressionLevel: 42 },
    /option compressionLevel must be an integer from -1 to 9, not the number 42/,
  ],
  ['a level for lz4', { compression: 'lz4', compressionLevel: 3 }, /compressionLevel applies to gzip and zstd only, not lz4/],
  [
    'negative compression threads',
    { compressionThreads: -1 },
    /option compressionThreads must be an integer from 0 to 64, not the number -1/,
  ],
  ['fractional compression threads', { compressionThreads: 0.5 }, /option compressionThreads must be an integer from 0 to 64/],
  ['zero delivery timeout', { deliveryTimeoutMs: 0 }, /option deliveryTimeoutMs must be an integer ≥ 1, not the number 0/],
  ['fractional buffer memory', { bufferMemory: 1.5 }, /option bufferMemory must be an integer ≥ 1, not the number 1.5/],
  ['tiny request size', { maxRequestSize: 10 }, /option maxRequestSize must be an integer from 1024/],
  ['negative maxBlockMs', { maxBlockMs: -5 }, /option maxBlockMs must be an integer ≥ 0/],
  ['retry backoff without initialMs', { retryBackoff: { maxMs: 10 } }, /option retryBackoff.initialMs is required/],
  [
    'retry backoff max below initial',
    { retryBackoff: { initialMs: 100, maxMs: 10 } },
    /option retryBackoff.maxMs must be an integer ≥ 100/,
  ],
  ['partitioner not a function', { partitioner: 'murmur2' }, /option partitioner must be a function, not the string "murmur2"/],
  ['serializer not a function', { serializers: { value: JSON } }, /option serializers.value must be a function, not a plain object/],
];

const CLUSTER_MISTAKES: [string, Record<string, unknown>, RegExp][] = [
  ['no bootstrap', { bootstrap: undefined }, /option bootstrap must be "host:port\[,host:port…\]" or a non-empty array/],
  ['bootstrap without a port', { bootstrap: 'localhost' }, /bootstrap entry "localhost" is not host:port/],
  ['bootstrap array with a bad port', { bootstrap: [{ host: 'a', port: 70000 }] }, /option bootstrap\[0\] must be \{ host, port \}/],
  [
    'SASL mechanism in lower case',
    { sasl: { mechanism: 'plain', username: 'u', password: 'p' } },
    /option sasl: unknown SASL mechanism "plain" \(mechanism names are upper case\)/,
  ],
  ['SASL without a password', { sasl: { mechanism: 'PLAIN', username: 'u' } }, /option sasl: .*password/],
  ['tls as a string', { tls: 'yes' }, /option tls must be an object, not the string "yes"/],
  ['clientId as a number', { clientId: 7 }, /option clientId must be a string, not the number 7/],
  ['zero connect timeout', { connectTimeoutMs: 0 }, /option connectTimeoutMs must be an integer ≥ 1/],
  ['auto-creation as a string', { allowAutoTopicCreation: 'true' }, /option allowAutoTopicCreation must be true or false/],
];

describe('options are checked when the producer or cluster is made', () => {
  test.each(PRODUCER_MISTAKES)('producer: %s', (_name, options, message) => {
    const make = () => new Producer({ bootstrap, ...options } as never);
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(message);
  });

  test.each(CLUSTER_MISTAKES)('cluster (and producer): %s', (_name, options, message) => {
    for (const make of [() => new Cluster({ bootstrap, ...options } as never), () => new Producer({ bootstrap, ...options } as never)]) {
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(message);
    }
  });

  test('a malformed bootstrap list is a BootstrapParseError, which is a ConfigError and a KafkaWireError, not retriable', () => {
    let caught: unknown;
    try {
      new Producer({ bootstrap: 'host:port:extra' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BootstrapParseError);
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toBeInstanceOf(KafkaWireError);
    expect((caught as ConfigError).retriable).toBe(false);
  });

  test('good options make a producer that closes at once', async () => {
    const producer = new Producer({
      bootstrap,
      acks: 'all',
      lingerMs: 0,
      compression: 'zstd',
      compressionLevel: 19,
      allowAutoTopicCreation: true,
    });
    await producer.close();
  });
});
