import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { Producer } from '../../src/producer/producer.js';
import { CompressionError } from '../../src/records/compression.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueTopic } from '../support/topics.js';

// Compression that fails (a codec missing from this Node, a native codec's error) is injected
// for gzip only: the records of a batch that cannot be built must fail with that reason, at once.
vi.mock('../../src/records/compression.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/records/compression.js')>();
  return {
    ...real,
    compress: (codec: string, ...rest: unknown[]) => {
      if (codec === 'gzip') throw new real.CompressionError('gzip', 'injected failure: the codec is broken');
      return (real.compress as (...args: unknown[]) => Buffer)(codec, ...rest);
    },
  };
});

const kafka = testKafka();
let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.connect({ bootstrap: kafka.bootstrap, partitionCountRefreshMs: 0 });
});
afterAll(() => cluster?.close());

test('a batch that fails to build fails its records with the reason instead of hanging, and gives its memory back', async () => {
  const topic = uniqueTopic('build-failure');
  await new Admin(cluster).createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
  const producer = new Producer({ bootstrap: kafka.bootstrap, compression: 'gzip', deliveryTimeoutMs: 30_000 });
  try {
    const started = Date.now();
    const error = await producer.send({ topic, value: 'x' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CompressionError);
    expect(String(error)).toContain('injected failure');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(producer.metrics.bufferUsed).toBe(0);
    expect(producer.metrics.recordsFailed).toBe(1);
  } finally {
    await producer.close();
  }
});
