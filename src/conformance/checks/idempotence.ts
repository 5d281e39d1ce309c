import { Producer } from '../../producer/producer.js';
import { DescribeProducers, Fetch, InitProducerId, Produce } from '../../protocol/generated/index.js';
import { ErrorCode, errorInfo } from '../../protocol/kafka-errors.js';
import { CheckFailure, type ConformanceContext, expectThat } from '../context.js';
import { fixtureRecords } from '../fixtures.js';
import { batchesOf, buildBatch, fetchAt, leaderConnection, produceAt } from '../wire.js';
import { ensureTopics } from './admin.js';

/** What InitProducerId gave the raw checks. */
interface ProducerIdentity {
  producerId: bigint;
  producerEpoch: number;
}

const NON_TRANSACTIONAL_TIMEOUT_MS = 2147483647;
const RETRY_WINDOW_MS = 15_000;

/**
 * idempotence: InitProducerId; a batch re-sent raw with the same producer id, epoch and sequence
 * is written once; and the idempotent producer numbers its batches.
 */
export async function idempotenceChecks(context: ConformanceContext): Promise<void> {
  const cluster = context.connectedCluster;
  const identity = () =>
    context.once('producer-id', async (): Promise<ProducerIdentity> => {
      context.common(InitProducerId);
      const connection = await cluster.anyConnection();
      const version = context.negotiated(InitProducerId, connection);
      // A coordinator still loading (a new cluster allocating its first producer ids) answers retriably: ask again, within a bound.
      const deadline = Date.now() + RETRY_WINDOW_MS;
      for (;;) {
        const answer = await connection.request(
          InitProducerId,
          InitProducerId.request.create({
            transactionalId: null,
            transactionTimeoutMs: NON_TRANSACTIONAL_TIMEOUT_MS,
            producerId: -1n,
            producerEpoch: -1,
          }),
          { version },
        );
        if (answer.errorCode === ErrorCode.NONE) return { producerId: answer.producerId, producerEpoch: answer.producerEpoch };
        const error = errorInfo(answer.errorCode);
        if (!error.retriable || Date.now() > deadline)
          throw new CheckFailure(`InitProducerId v${version}: ${error.name} (${answer.errorCode})`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });

  await context.run('idempotence', 'init producer id', [InitProducerId], async () => {
    const { producerId, producerEpoch } = await identity();
    expectThat(producerId >= 0n && producerEpoch >= 0, `InitProducerId gave producer id ${producerId} epoch ${producerEpoch}`);
    return `producer id ${producerId}, epoch ${producerEpoch}`;
  });

  await context.run('idempotence', 'duplicate batch deduplicated', [InitProducerId, Produce, Fetch], async () => {
    const { producerId, producerEpoch } = await identity();
    const { idempotence } = await ensureTopics(context);
    const { connection, target } = await leaderConnection(context, idempotence, 0);
    const version = context.common(Produce)[1];
    const records = fixtureRecords('idempotence');
    const settings = { producerId, producerEpoch, baseSequence: 0 };
    const first = await produceAt(context, connection, target, version, buildBatch(records, settings));
    if (first.errorCode !== 0) throw new CheckFailure(`the first send failed: ${errorInfo(first.errorCode).name}`);
    // The same batch, byte for byte: same producer id, epoch and sequence.
    const again = await produceAt(context, connection, target, version, buildBatch(records, settings));
    const duplicate = errorInfo(again.errorCode).name;
    expectThat(
      (again.errorCode === 0 && again.baseOffset === first.baseOffset) || again.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER,
      `the re-sent batch got ${duplicate} at offset ${again.baseOffset}; expected offset ${first.baseOffset} or DUPLICATE_SEQUENCE_NUMBER`,
    );
    const next = await produceAt(
      context,
      connection,
      target,
      version,
      buildBatch(fixtureRecords('idempotence-next', 2), { ...settings, baseSequence: records.length }),
    );
    if (next.errorCode !== 0) throw new CheckFailure(`the next sequence (${records.length}) failed: ${errorInfo(next.errorCode).name}`);
    const expectedNext = first.baseOffset + BigInt(records.length);
    expectThat(next.baseOffset === expectedNext, `the next sequence landed at ${next.baseOffset}, not ${expectedNext}`);
    const fetchVersion = context.common(Fetch)[1];
    const data = await fetchAt(context, connection, target, fetchVersion, first.baseOffset);
    const mine = batchesOf(data).filter((batch) => batch.producerId === producerId);
    const sequences = mine.map((batch) => batch.baseSequence).join(',');
    expectThat(
      sequences === `0,${records.length}`,
      `the log holds this producer's batches with sequences ${sequences}, not 0,${records.length}`,
    );
    const answered = again.errorCode === 0 ? `its original offset ${again.baseOffset}` : duplicate;
    return `Produce v${version}: a re-sent batch was answered with ${answered}; the log holds one copy (sequences ${sequences})`;
  });

  await context.run('idempotence', 'idempotent producer', [InitProducerId, Produce, Fetch], async () => {
    const { idempotence } = await ensureTopics(context);
    const producer = new Producer({ ...context.settings.connection, idempotent: true, lingerMs: 0, maxBlockMs: 20_000 });
    let written: bigint[];
    try {
      await producer.connect([idempotence]);
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => producer.send({ topic: idempotence, partition: 0, key: `k${i}`, value: `idempotent ${i}` })),
      );
      written = results.map((result) => result.offset);
    } finally {
      await producer.close(10_000);
    }
    context.negotiated(InitProducerId);
    context.negotiated(Produce);
    const { connection, target } = await leaderConnection(context, idempotence, 0);
    const first = written[0] as bigint;
    const data = await fetchAt(context, connection, target, context.common(Fetch)[1], first);
    const batches = batchesOf(data).filter((batch) => batch.baseOffset >= first);
    expectThat(batches.length > 0, `no batch at or after offset ${first}`);
    const producerIds = new Set(batches.map((batch) => batch.producerId));
    expectThat(
      batches.every((batch) => batch.producerId >= 0n && batch.baseSequence >= 0),
      'a batch of the idempotent producer has no producer id or sequence',
    );
    let expected = batches[0]?.baseSequence ?? 0;
    for (const batch of batches) {
      expectThat(batch.baseSequence === expected, `batch at ${batch.baseOffset} has sequence ${batch.baseSequence}, expected ${expected}`);
      expected += batch.recordCount;
    }
    let described = '';
    if (context.brokerRange(DescribeProducers) !== null) {
      const version = context.negotiated(DescribeProducers, connection);
      const answer = await connection.request(
        DescribeProducers,
        DescribeProducers.request.create({ topics: [{ name: idempotence, partitionIndexes: [0] }] }),
        { version },
      );
      const partition = answer.topics[0]?.partitions[0];
      if (partition && partition.errorCode !== 0)
        throw new CheckFailure(`DescribeProducers v${version}: ${errorInfo(partition.errorCode).name}`);
      const known = new Set(partition?.activeProducers.map((state) => state.producerId));
      expectThat(
        [...producerIds].every((id) => known.has(id)),
        `DescribeProducers does not list producer ${[...producerIds].join(',')}`,
      );
      described = `; DescribeProducers v${version} lists it`;
    }
    return (
      `5 records at offsets ${written.join(',')} in ${batches.length} batch(es), ` +
      `producer id ${[...producerIds].join(',')}, sequences contiguous${described}`
    );
  });
}
