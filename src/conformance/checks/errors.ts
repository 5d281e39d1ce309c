import { Admin } from '../../cluster/admin.js';
import { PartitionReader } from '../../consumer/partition-reader.js';
import { KafkaWireError } from '../../errors.js';
import { Producer } from '../../producer/producer.js';
import { CreateTopics, Fetch, Metadata, Produce } from '../../protocol/generated/index.js';
import { ErrorCode, errorInfo } from '../../protocol/kafka-errors.js';
import { CheckFailure, type ConformanceContext, expectThat } from '../context.js';
import { buildBatch, fetchAt, leaderConnection, produceAt } from '../wire.js';
import { ensureTopics, MAIN_PARTITIONS, SMALL_MAX_MESSAGE_BYTES } from './admin.js';

const FAR_OFFSET = 1_000_000_000n;

/** What the client threw, checked to be a typed kafka-wire error carrying `code`. */
async function expectTypedError(code: number, action: () => Promise<unknown>): Promise<string> {
  const name = errorInfo(code).name;
  try {
    await action();
  } catch (error) {
    if (!(error instanceof KafkaWireError)) throw new CheckFailure(`kafka-wire threw a ${(error as Error).name}, not a KafkaWireError`);
    expectThat(error.code === code, `kafka-wire threw ${error.name} with code ${error.code}, not ${name} (${code}): ${error.message}`);
    return `${error.name}: ${error.message}`;
  }
  throw new CheckFailure(`kafka-wire did not fail; expected ${name}`);
}

const brokerSaid = (code: number) => `broker: ${errorInfo(code).name} (${code})`;

function expectCode(got: number, want: number, what: string): void {
  expectThat(got === want, `${what} answered ${errorInfo(got).name} (${got}), expected ${errorInfo(want).name} (${want})`);
}

/** errors: error paths that can be provoked without harm, each checked at the broker and as kafka-wire surfaces it. */
export async function errorChecks(context: ConformanceContext): Promise<void> {
  const cluster = context.connectedCluster;
  const producerFor = () =>
    new Producer({
      ...context.settings.connection,
      lingerMs: 0,
      maxBlockMs: 10_000,
      deliveryTimeoutMs: 15_000,
      unknownTopicTimeoutMs: 2_000,
    });

  await context.run('errors', 'produce to an unknown partition', [Produce, Metadata], async () => {
    const { main } = await ensureTopics(context);
    const { connection, target } = await leaderConnection(context, main, 0);
    const version = context.common(Produce)[1];
    const answer = await produceAt(
      context,
      connection,
      { ...target, partition: MAIN_PARTITIONS + 96 },
      version,
      buildBatch([{ key: null, value: Buffer.from('nowhere'), timestamp: Date.now() }]),
    );
    expectCode(answer.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Produce v${version} to partition ${MAIN_PARTITIONS + 96}`);
    // The client's side: a topic the cluster does not have (never created: auto-creation is off in our requests).
    const producer = producerFor();
    try {
      context.negotiated(Metadata);
      const typed = await expectTypedError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, () =>
        producer.send({ topic: context.topic('absent'), value: 'nowhere' }),
      );
      return `${brokerSaid(answer.errorCode)}; kafka-wire: ${typed}`;
    } finally {
      await producer.close(5_000);
    }
  });

  await context.run('errors', 'fetch out of range', [Fetch], async () => {
    const { main } = await ensureTopics(context);
    const { connection, target } = await leaderConnection(context, main, 0);
    const version = context.common(Fetch)[1];
    const data = await fetchAt(context, connection, target, version, FAR_OFFSET);
    expectCode(data.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, `Fetch v${version} at offset ${FAR_OFFSET}`);
    const typed = await expectTypedError(ErrorCode.OFFSET_OUT_OF_RANGE, async () => {
      for await (const _ of new PartitionReader(cluster, { topic: main, partition: 0, from: FAR_OFFSET, maxWaitMs: 100 })) break;
    });
    return `${brokerSaid(data.errorCode)}; kafka-wire: ${typed}`;
  });

  await context.run('errors', 'create an existing topic', [CreateTopics], async () => {
    const { main } = await ensureTopics(context);
    context.negotiated(CreateTopics, await cluster.anyConnection());
    const typed = await expectTypedError(ErrorCode.TOPIC_ALREADY_EXISTS, () =>
      new Admin(cluster).createTopics([{ name: main, partitions: 1, replicationFactor: 1 }], { timeoutMs: 10_000 }),
    );
    return `${brokerSaid(ErrorCode.TOPIC_ALREADY_EXISTS)}; kafka-wire: ${typed}`;
  });

  await context.run('errors', 'create a topic with an invalid name', [CreateTopics], async () => {
    context.common(CreateTopics);
    // Spaces and '!' are outside Kafka's topic name characters: the broker refuses it, nothing is created.
    const invalid = context.topic('not valid!');
    context.negotiated(CreateTopics, await cluster.anyConnection());
    const typed = await expectTypedError(ErrorCode.INVALID_TOPIC_EXCEPTION, () =>
      new Admin(cluster).createTopics([{ name: invalid, partitions: 1, replicationFactor: 1 }], { timeoutMs: 10_000 }),
    );
    return `${brokerSaid(ErrorCode.INVALID_TOPIC_EXCEPTION)}; kafka-wire: ${typed}`;
  });

  await context.run('errors', 'record larger than max.message.bytes', [Produce], async () => {
    const { small } = await ensureTopics(context);
    const { connection, target } = await leaderConnection(context, small, 0);
    const version = context.common(Produce)[1];
    const big = Buffer.alloc(SMALL_MAX_MESSAGE_BYTES * 4, 0x61);
    const answer = await produceAt(context, connection, target, version, buildBatch([{ key: null, value: big, timestamp: Date.now() }]));
    expectCode(answer.errorCode, ErrorCode.MESSAGE_TOO_LARGE, `Produce v${version} of a ${big.length}-byte record`);
    const producer = producerFor();
    try {
      context.negotiated(Produce);
      const typed = await expectTypedError(ErrorCode.MESSAGE_TOO_LARGE, () => producer.send({ topic: small, partition: 0, value: big }));
      return `${brokerSaid(answer.errorCode)}; kafka-wire: ${typed}`;
    } finally {
      await producer.close(5_000);
    }
  });
}
