import { Admin } from '../../cluster/admin.js';
import { CreatePartitions, CreateTopics, DeleteTopics, DescribeConfigs, Metadata } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../../protocol/kafka-errors.js';
import { CheckFailure, type ConformanceContext, expectThat } from '../context.js';

/** The topics a run works on; every name starts with the run's prefix. */
export interface RunTopics {
  /** 3 partitions: 0 for produce, 1 for fetch, 2 for codecs. */
  main: string;
  idempotence: string;
  transactions: string;
  /** max.message.bytes = SMALL_MAX_MESSAGE_BYTES, for MESSAGE_TOO_LARGE. */
  small: string;
}

export const MAIN_PARTITIONS = 3;
export const SMALL_MAX_MESSAGE_BYTES = 1024;
const RESOURCE_TOPIC = 2;

/**
 * Creates the run's topics once, whichever group needs them first. Each name is recorded
 * before CreateTopics goes out, so the clean-up deletes whatever got created even when the call fails.
 */
export function ensureTopics(context: ConformanceContext): Promise<RunTopics> {
  return context.once('topics', () => createTopics(context));
}

async function createTopics(context: ConformanceContext): Promise<RunTopics> {
  const cluster = context.connectedCluster;
  const topics: RunTopics = {
    main: context.topic('main'),
    idempotence: context.topic('idempotence'),
    transactions: context.topic('transactions'),
    small: context.topic('small'),
  };
  for (const name of Object.values(topics)) context.createdTopics.add(name);
  const brokers = cluster.metadata.brokers.size;
  const replicationFactor = Math.max(1, Math.min(3, brokers));
  context.negotiated(CreateTopics, await cluster.anyConnection());
  context.negotiated(Metadata, await cluster.anyConnection());
  await new Admin(cluster).createTopics([
    { name: topics.main, partitions: MAIN_PARTITIONS, replicationFactor },
    { name: topics.idempotence, partitions: 1, replicationFactor },
    { name: topics.transactions, partitions: 1, replicationFactor },
    { name: topics.small, partitions: 1, replicationFactor, configs: { 'max.message.bytes': String(SMALL_MAX_MESSAGE_BYTES) } },
  ]);
  return topics;
}

/** admin: CreateTopics (prefixed, 3 partitions), CreatePartitions and DescribeConfigs where offered. */
export async function adminChecks(context: ConformanceContext): Promise<void> {
  const cluster = context.connectedCluster;
  await context.run('admin', 'create topics', [CreateTopics, Metadata], async () => {
    const topics = await ensureTopics(context);
    const main = cluster.metadata.topics.get(topics.main);
    expectThat(main?.partitions.length === MAIN_PARTITIONS, `${topics.main} has ${main?.partitions.length} partitions, not 3`);
    return `created ${Object.values(topics).join(', ')}; every partition has a leader`;
  });
  await context.run('admin', 'create partitions', [CreatePartitions, Metadata], async () => {
    context.common(CreatePartitions);
    const { idempotence } = await ensureTopics(context);
    const version = context.negotiated(CreatePartitions, await cluster.anyConnection());
    await new Admin(cluster).createPartitions(idempotence, 2);
    const grown = cluster.metadata.topics.get(idempotence)?.partitions.length;
    expectThat(grown === 2, `${idempotence} has ${grown} partitions after growing to 2`);
    return `v${version}: ${idempotence} grown from 1 to 2 partitions`;
  });
  await context.run('admin', 'describe configs', [DescribeConfigs], async () => {
    context.common(DescribeConfigs);
    const { small } = await ensureTopics(context);
    const connection = await cluster.anyConnection();
    const version = context.negotiated(DescribeConfigs, connection);
    const answer = await connection.request(
      DescribeConfigs,
      DescribeConfigs.request.create({
        resources: [{ resourceType: RESOURCE_TOPIC, resourceName: small, configurationKeys: ['max.message.bytes'] }],
      }),
      { version },
    );
    const result = answer.results[0];
    if (!result) throw new CheckFailure(`DescribeConfigs v${version} answered no resource`);
    if (result.errorCode !== ErrorCode.NONE)
      throw new KafkaProtocolError(result.errorCode, { api: 'DescribeConfigs', broker: connection.label, detail: result.errorMessage });
    const value = result.configs.find((config) => config.name === 'max.message.bytes')?.value;
    expectThat(value === String(SMALL_MAX_MESSAGE_BYTES), `max.message.bytes of ${small} is ${value}, not ${SMALL_MAX_MESSAGE_BYTES}`);
    return `v${version}: ${small} max.message.bytes=${value}`;
  });
}

/**
 * Deletes every topic the run created (one at a time, so one failure does not keep the rest),
 * then checks none is left. A topic that was never created is not an error.
 */
export async function deleteRunTopics(context: ConformanceContext): Promise<string> {
  const cluster = context.connectedCluster;
  const names = [...context.createdTopics];
  if (names.length === 0) return 'no topic to delete';
  const admin = new Admin(cluster);
  context.negotiated(DeleteTopics, await cluster.anyConnection());
  const failures: string[] = [];
  for (const name of names) {
    try {
      await admin.deleteTopics([name]);
    } catch (error) {
      if (error instanceof KafkaProtocolError && error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  if (failures.length) throw new CheckFailure(`could not delete ${failures.join('; ')}`);
  // Deletion completes in the background; the topics must be gone from the metadata within the bound.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const left = (await admin.listTopics()).filter((topic) => context.createdTopics.has(topic));
    if (left.length === 0) return `deleted ${names.join(', ')}`;
    if (Date.now() > deadline) throw new CheckFailure(`still listed 20 s after DeleteTopics: ${left.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
