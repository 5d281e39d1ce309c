import { isRetriable } from '../errors.js';
import {
  CreatePartitions,
  CreateTopics,
  createCreateTopicsRequestCreatableReplicaAssignment,
  createCreateTopicsRequestCreatableTopic,
  createCreateTopicsRequestCreatableTopicConfig,
  DeleteTopics,
  DescribeCluster,
  ListOffsets,
  Metadata,
  OffsetFetch,
} from '../protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import { ZERO_UUID } from '../protocol/primitives/elements.js';
import type { Cluster } from './cluster.js';
import { Coordinators, coordinatorMoved } from './coordinators.js';
import type { BrokerInfo, TopicInfo } from './metadata.js';

export interface NewTopic {
  name: string;
  /** −1 (the default) takes the broker's num.partitions. */
  partitions?: number;
  /** −1 (the default) takes the broker's default.replication.factor. */
  replicationFactor?: number;
  /** Instead of partitions and replicationFactor: each partition's replicas (broker ids), the first its preferred leader. */
  replicaAssignment?: number[][];
  configs?: Record<string, string>;
}

export interface AdminOptions {
  /** How long the controller may take to apply a change. */
  timeoutMs?: number;
}

export type OffsetSpec = 'earliest' | 'latest' | { timestamp: bigint };

export interface ListOffsetsOptions {
  /** read_committed: 'latest' is the last stable offset (below any open transaction), not the high watermark. */
  isolation?: 'read_uncommitted' | 'read_committed';
}

/** A consumer group's committed offset of one partition (the next record to read). */
export interface GroupOffset {
  topic: string;
  partition: number;
  offset: bigint;
  metadata: string | null;
}

export interface PartitionOffset {
  partition: number;
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
}

const LATEST = -1n;
const EARLIEST = -2n;
const DEFAULT_ADMIN_TIMEOUT_MS = 30_000;
/** OffsetFetch v8+ asks for many groups at once; one group needs no more than v7 (which has requireStable). */
const OFFSET_FETCH_SINGLE_GROUP_MAX = 7;
const RETRY_WAIT_MS = 100;

/**
 * The administrative calls tests, benchmarks, the CLI and users need: topics, partitions,
 * the cluster's description and partition offsets. Every broker-side error becomes a
 * KafkaProtocolError naming the API, broker and topic.
 */
export class Admin {
  private readonly coordinators: Coordinators;

  constructor(private readonly cluster: Cluster) {
    this.coordinators = new Coordinators(cluster);
  }

  /** Creates topics; resolves when the controller has accepted all of them, else throws the first error. */
  async createTopics(topics: NewTopic[], options: AdminOptions = {}): Promise<void> {
    const connection = await this.cluster.anyConnection();
    const response = await connection.request(
      CreateTopics,
      CreateTopics.request.create({
        topics: topics.map((topic) =>
          createCreateTopicsRequestCreatableTopic({
            name: topic.name,
            numPartitions: topic.replicaAssignment ? -1 : (topic.partitions ?? -1),
            replicationFactor: topic.replicaAssignment ? -1 : (topic.replicationFactor ?? -1),
            assignments: (topic.replicaAssignment ?? []).map((brokerIds, partitionIndex) =>
              createCreateTopicsRequestCreatableReplicaAssignment({ partitionIndex, brokerIds }),
            ),
            configs: Object.entries(topic.configs ?? {}).map(([name, value]) =>
              createCreateTopicsRequestCreatableTopicConfig({ name, value }),
            ),
          }),
        ),
        timeoutMs: options.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS,
      }),
    );
    for (const result of response.topics) {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaProtocolError(result.errorCode, {
          api: 'CreateTopics',
          broker: connection.label,
          detail: result.errorMessage,
          subject: `topic ${result.name}`,
        });
      }
    }
    await this.waitUntilLed(
      topics.map((topic) => ({ name: topic.name, partitions: topic.partitions })),
      'CreateTopics',
      options,
    );
  }

  /**
   * Waits until every topic is in the metadata with the expected number of partitions, each
   * with a leader: the controller accepts a change before every broker knows it.
   */
  private async waitUntilLed(topics: { name: string; partitions?: number }[], api: string, options: AdminOptions): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS);
    const metadata = this.cluster.metadata;
    const ready = () =>
      topics.every(({ name, partitions }) => {
        const info = metadata.topics.get(name);
        if (!info || (partitions !== undefined && partitions > 0 && info.partitions.length < partitions)) return false;
        return info.partitions.length > 0 && info.partitions.every((partition) => partition !== undefined && partition.leader >= 0);
      });
    for (;;) {
      await metadata.refresh(topics.map((topic) => topic.name));
      if (ready()) return;
      if (Date.now() >= deadline) {
        throw new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, {
          api,
          subject: `topics ${topics.map((topic) => topic.name).join(', ')} (no leader for every partition yet)`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async deleteTopics(names: string[], options: AdminOptions = {}): Promise<void> {
    const connection = await this.cluster.anyConnection();
    const version = connection.version(DeleteTopics);
    const response = await connection.request(
      DeleteTopics,
      DeleteTopics.request.create({
        topicNames: version < 6 ? names : [],
        topics: version >= 6 ? names.map((name) => ({ name, topicId: ZERO_UUID })) : [],
        timeoutMs: options.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS,
      }),
      { version },
    );
    for (const result of response.responses) {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaProtocolError(result.errorCode, {
          api: 'DeleteTopics',
          broker: connection.label,
          detail: result.errorMessage,
          subject: `topic ${result.name}`,
        });
      }
    }
    for (const name of names) this.cluster.metadata.topics.delete(name);
  }

  /** Grows a topic to `totalPartitions` partitions. */
  async createPartitions(topic: string, totalPartitions: number, options: AdminOptions = {}): Promise<void> {
    const connection = await this.cluster.anyConnection();
    const response = await connection.request(
      CreatePartitions,
      CreatePartitions.request.create({
        topics: [{ name: topic, count: totalPartitions, assignments: null }],
        timeoutMs: options.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS,
      }),
    );
    for (const result of response.results) {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaProtocolError(result.errorCode, {
          api: 'CreatePartitions',
          broker: connection.label,
          detail: result.errorMessage,
          subject: `topic ${result.name}`,
        });
      }
    }
    await this.waitUntilLed([{ name: topic, partitions: totalPartitions }], 'CreatePartitions', options);
  }

  async describeCluster(): Promise<{ clusterId: string; controllerId: number; brokers: BrokerInfo[] }> {
    const connection = await this.cluster.anyConnection();
    const response = await connection.request(DescribeCluster, DescribeCluster.request.create());
    if (response.errorCode !== ErrorCode.NONE) {
      throw new KafkaProtocolError(response.errorCode, { api: 'DescribeCluster', broker: connection.label, detail: response.errorMessage });
    }
    return {
      clusterId: response.clusterId,
      controllerId: response.controllerId,
      brokers: response.brokers.map((broker) => ({ nodeId: broker.brokerId, host: broker.host, port: broker.port, rack: broker.rack })),
    };
  }

  /** The topic's metadata, refreshed now; throws UNKNOWN_TOPIC_OR_PARTITION if the cluster does not have it. */
  async describeTopic(name: string): Promise<TopicInfo> {
    await this.cluster.metadata.refresh([name]);
    const topic = this.cluster.metadata.topics.get(name);
    if (!topic) {
      throw new KafkaProtocolError(this.cluster.metadata.topicErrors.get(name) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
        api: 'Metadata',
        subject: `topic ${name}`,
      });
    }
    return topic;
  }

  /** Every topic name in the cluster, internal ones excluded unless asked for. */
  async listTopics(options: { internal?: boolean } = {}): Promise<string[]> {
    const connection = await this.cluster.anyConnection();
    const version = connection.version(Metadata);
    const response = await connection.request(
      Metadata,
      Metadata.request.create({ topics: version === 0 ? [] : null, allowAutoTopicCreation: false }),
      { version },
    );
    return response.topics
      .filter((topic) => topic.name !== null && (options.internal || !topic.isInternal))
      .map((topic) => topic.name as string)
      .sort();
  }

  /** The earliest, latest or first-at-timestamp offset of each partition of a topic, asked of each partition's leader. */
  async listOffsets(topic: string, spec: OffsetSpec = 'latest', options: ListOffsetsOptions = {}): Promise<PartitionOffset[]> {
    const info = await this.describeTopic(topic);
    const timestamp = spec === 'latest' ? LATEST : spec === 'earliest' ? EARLIEST : spec.timestamp;
    const byLeader = new Map<number, number[]>();
    for (const partition of info.partitions) {
      if (partition.leader < 0)
        throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, {
          api: 'ListOffsets',
          subject: `topic ${topic} partition ${partition.partition}`,
        });
      byLeader.set(partition.leader, [...(byLeader.get(partition.leader) ?? []), partition.partition]);
    }
    const results = await Promise.all(
      [...byLeader].map(async ([leader, partitions]) => {
        const response = await this.cluster.request(
          leader,
          ListOffsets,
          ListOffsets.request.create({
            replicaId: -1,
            isolationLevel: options.isolation === 'read_committed' ? 1 : 0,
            topics: [
              {
                name: topic,
                partitions: partitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
              },
            ],
          }),
        );
        return response.topics.flatMap((result) =>
          result.partitions.map((partition) => {
            if (partition.errorCode !== ErrorCode.NONE) {
              this.cluster.noteError(partition.errorCode, leader);
              throw new KafkaProtocolError(partition.errorCode, {
                api: 'ListOffsets',
                broker: this.cluster.brokerLabel(leader),
                subject: `topic ${topic} partition ${partition.partitionIndex}`,
              });
            }
            return {
              partition: partition.partitionIndex,
              offset: partition.offset,
              timestamp: partition.timestamp,
              leaderEpoch: partition.leaderEpoch,
            };
          }),
        );
      }),
    );
    return results.flat().sort((a, b) => a.partition - b.partition);
  }

  /**
   * A consumer group's committed offsets (OffsetFetch to the group's coordinator), all of its
   * partitions or those of `topics`. Offsets of a transaction still open are waited for
   * (requireStable), and a coordinator that is moving or loading is asked again, within timeoutMs.
   */
  async listGroupOffsets(groupId: string, topics: string[] | null = null, options: AdminOptions = {}): Promise<GroupOffset[]> {
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS);
    for (;;) {
      try {
        return await this.fetchGroupOffsets(groupId, topics);
      } catch (error) {
        if (!isRetriable(error) || Date.now() >= deadline) throw error;
        if (coordinatorMoved((error as KafkaProtocolError).code ?? -1)) this.coordinators.forget('group', groupId);
        await new Promise((resolve) => setTimeout(resolve, RETRY_WAIT_MS));
      }
    }
  }

  private async fetchGroupOffsets(groupId: string, topics: string[] | null): Promise<GroupOffset[]> {
    const connection = await this.coordinators.connection('group', groupId);
    const version = Math.min(connection.version(OffsetFetch), OFFSET_FETCH_SINGLE_GROUP_MAX);
    const request = OffsetFetch.request.create({
      groupId,
      topics: topics === null ? null : await Promise.all(topics.map(async (name) => this.topicPartitions(name))),
      ...(version >= 7 ? { requireStable: true } : {}),
    });
    const response = await connection.request(OffsetFetch, request, { version });
    const fail = (code: number, subject: string) => new KafkaProtocolError(code, { api: 'OffsetFetch', broker: connection.label, subject });
    if (response.errorCode !== ErrorCode.NONE) throw fail(response.errorCode, `group ${groupId}`);
    const offsets: GroupOffset[] = [];
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        const subject = `group ${groupId} topic ${topic.name} partition ${partition.partitionIndex}`;
        if (partition.errorCode !== ErrorCode.NONE) throw fail(partition.errorCode, subject);
        // −1: nothing committed for this partition.
        if (partition.committedOffset < 0n) continue;
        offsets.push({
          topic: topic.name,
          partition: partition.partitionIndex,
          offset: partition.committedOffset,
          metadata: partition.metadata,
        });
      }
    }
    return offsets.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  private async topicPartitions(name: string): Promise<{ name: string; partitionIndexes: number[] }> {
    const info = await this.describeTopic(name);
    return { name, partitionIndexes: info.partitions.map((partition) => partition.partition) };
  }
}
