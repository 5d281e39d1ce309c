import type { Cluster } from '../cluster/cluster.js';
import { Coordinators, type CoordinatorType } from '../cluster/coordinators.js';
import {
  EndTxn,
  InitProducerId,
  Produce,
  type ProduceResponsePartitionProduceResponse,
  TxnOffsetCommit,
} from '../protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import { ZERO_UUID } from '../protocol/primitives/elements.js';
import type { ApiDefinition } from '../protocol/primitives/message-codec.js';
import { encodeProduceFrame, type ProducePartition } from '../records/produce-frame.js';
import type { TransactionTransport } from './transaction-manager.js';

/** One Produce request as the sender builds it: batches by topic and partition. */
export interface ProduceRequest {
  acks: -1 | 0 | 1;
  timeoutMs: number;
  transactionalId: string | null;
  /** The highest Produce version allowed (transaction protocol version 1 stops at v11); undefined: the newest both sides speak. */
  maxVersion?: number;
  topics: { name: string; partitions: ProducePartition[] }[];
}

/** A Produce answer, with topic names filled in (brokers answering by topic id leave them out). */
export type ProduceAnswer = { topic: string; partitions: ProduceResponsePartitionProduceResponse[] }[];

/** A connection to one broker that Produce requests go out on. */
export interface ProduceConnection {
  /** Sends the request (once this is called, it may reach the broker); undefined for acks=0, which has no answer. */
  produce(request: ProduceRequest): Promise<ProduceAnswer | undefined>;
}

/**
 * What the sender needs of the cluster, and nothing more: leaders, connections, producer ids.
 * The real one is ClusterTransport; tests script one (test/support/scripted-transport.ts).
 */
export interface ProducerTransport {
  /** Node id of the partition's leader, or −1 while there is none. */
  leaderFor(topic: string, partition: number): number;
  brokerLabel(nodeId: number): string;
  /** Told every error code a broker answers for a partition (leadership errors refresh the metadata, asking another broker). */
  noteError(code: number, nodeId: number): void;
  /**
   * Asks for a metadata refresh made from now on; returns its number, which metadataAnswered()
   * reaches once it (or a later one) has answered.
   */
  refreshMetadata(): number;
  metadataAnswered(): number;
  /** Calls `listener` after each metadata refresh that answered; returns the unsubscribe. */
  onMetadataAnswer(listener: () => void): () => void;
  /** One of a broker's produce connections (0 to connectionsPerBroker − 1); when this fails, nothing was sent. */
  connect(nodeId: number, connection: number): Promise<ProduceConnection>;
  /** A new idempotent producer id and epoch (InitProducerId without a transactional id). */
  initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }>;
}

/** The transport over a real cluster: its metadata, its connection pool and the Produce codec. */
export class ClusterTransport implements ProducerTransport, TransactionTransport {
  private readonly coordinators: Coordinators;

  constructor(private readonly cluster: Cluster) {
    this.coordinators = new Coordinators(cluster);
  }

  leaderFor(topic: string, partition: number): number {
    return this.cluster.metadata.leaderFor(topic, partition);
  }

  brokerLabel(nodeId: number): string {
    return this.cluster.brokerLabel(nodeId);
  }

  noteError(code: number, nodeId: number): void {
    this.cluster.noteError(code, nodeId);
  }

  refreshMetadata(): number {
    return this.cluster.metadata.requestFreshRefresh();
  }

  metadataAnswered(): number {
    return this.cluster.metadata.answeredRefresh;
  }

  onMetadataAnswer(listener: () => void): () => void {
    return this.cluster.metadata.onAnswer(listener);
  }

  async connect(nodeId: number, index: number): Promise<ProduceConnection> {
    // The first is the broker's shared connection (metadata and the rest use it too); others are the producer's own.
    const connection = await this.cluster.connectionTo(nodeId, index === 0 ? {} : { lane: `produce-${index}` });
    const metadata = this.cluster.metadata;
    return {
      produce: async (request) => {
        const version = Math.min(connection.version(Produce), request.maxVersion ?? Produce.request.maxVersion);
        const parts = {
          ...request,
          topics: request.topics.map(({ name, partitions }) => ({
            name,
            topicId: metadata.topics.get(name)?.topicId ?? ZERO_UUID,
            partitions,
          })),
        };
        let frame: ReturnType<typeof encodeProduceFrame> | undefined;
        const encode = (correlationId: number) => (frame = encodeProduceFrame(version, correlationId, connection.clientId, parts)).pieces;
        try {
          if (request.acks === 0) {
            await connection.sendEncoded(encode);
            return undefined;
          }
          const response = await connection.requestEncoded(Produce, version, encode);
          return response.responses.map((topic) => ({
            topic: topic.name || (parts.topics.find((sent) => sent.topicId === topic.topicId)?.name ?? ''),
            partitions: topic.partitionResponses,
          }));
        } finally {
          frame?.release();
        }
      },
    };
  }

  async initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    // Without a transactional id the broker always hands out a fresh producer id (epoch 0).
    const connection = await this.cluster.anyConnection();
    const response = await connection.request(
      InitProducerId,
      InitProducerId.request.create({ transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
    );
    if (response.errorCode !== ErrorCode.NONE)
      throw new KafkaProtocolError(response.errorCode, { api: 'InitProducerId', broker: connection.label });
    return { producerId: response.producerId, producerEpoch: response.producerEpoch };
  }

  async coordinatorRequest<Request, Response>(
    type: CoordinatorType,
    key: string,
    api: ApiDefinition<Request, Response>,
    body: Request,
    maxVersion?: number,
  ): Promise<{ response: Response; version: number; broker: string }> {
    const connection = await this.coordinators.connection(type, key);
    const version = Math.min(connection.version(api), maxVersion ?? api.request.maxVersion);
    try {
      return { response: await connection.request(api, body, { version }), version, broker: connection.label };
    } catch (error) {
      // The coordinator's broker went away: it may be elsewhere when we ask again.
      this.coordinators.forget(type, key);
      throw error;
    }
  }

  forgetCoordinator(type: CoordinatorType, key: string): void {
    this.coordinators.forget(type, key);
  }

  async transactionVersion(transactionalId: string): Promise<1 | 2> {
    const connection = await this.coordinators.connection('transaction', transactionalId);
    const speaks = (api: ApiDefinition, version: number) => (connection.brokerRange(api.apiKey)?.maxVersion ?? -1) >= version;
    const v2 =
      connection.featureLevel('transaction.version') >= 2 && speaks(Produce, 12) && speaks(EndTxn, 5) && speaks(TxnOffsetCommit, 5);
    return v2 ? 2 : 1;
  }
}
