import type { MetadataResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/kafka-errors.js';
import { ZERO_UUID } from '../protocol/primitives/elements.js';

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  /** Node id of the leader, or −1 while there is none. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: number[];
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  /** Kafka's URL-safe base64 uuid (zero when the broker predates topic ids). */
  topicId: string;
  isInternal: boolean;
  /** Indexed by partition number. */
  partitions: PartitionInfo[];
}

export interface PartitionCountChange {
  topic: string;
  previous: number;
  current: number;
}

export interface LeaderChange {
  topic: string;
  partition: number;
  /** Node id of the leader before, −1 for none. */
  previous: number;
  current: number;
}

/** What one metadata refresh changed: only refreshes that changed something are announced. */
export interface MetadataChange {
  brokersAdded: number[];
  brokersRemoved: number[];
  /** Leaders that moved, of partitions known before this refresh. */
  leaders: LeaderChange[];
  partitionCounts: PartitionCountChange[];
  /** Watched topics the cluster no longer reports (deleted, or never existed). */
  topicsGone: string[];
}

export interface MetadataOptions {
  /** Refresh the watched topics at least this often (Java's metadata.max.age.ms). */
  maxAgeMs?: number;
  /** Never start refreshes closer together than this, so a storm of errors costs one request. */
  minRefreshIntervalMs?: number;
  /** How often to look for partitions added to watched topics; 0 turns it off. */
  partitionCountRefreshMs?: number;
}

/** Fetches metadata for the given topics (all topics for null); the cluster supplies it. */
export type MetadataFetcher = (topics: string[] | null) => Promise<MetadataResponse>;

export const DEFAULT_METADATA_MAX_AGE_MS = 5 * 60_000;
export const DEFAULT_MIN_REFRESH_INTERVAL_MS = 100;
export const DEFAULT_PARTITION_COUNT_REFRESH_MS = 60_000;

/**
 * Errors after which the cached leaders may be wrong or stale. REQUEST_TIMED_OUT and the two
 * NOT_ENOUGH_REPLICAS are what a leader cut off from the rest of the cluster answers: the
 * controller has fenced it and moved its partitions, but it does not know, and its followers
 * no longer fetch from it. Asking again (any broker but it tells the new leader) is cheap.
 */
const LEADERSHIP_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.UNKNOWN_TOPIC_ID,
  ErrorCode.INCONSISTENT_TOPIC_ID,
  ErrorCode.NOT_CONTROLLER,
]);

export function isLeadershipError(code: number): boolean {
  return LEADERSHIP_ERRORS.has(code);
}

/**
 * The client's view of the cluster: brokers, and for each watched topic its partitions with
 * leader, leader epoch, replicas and ISR. It refreshes on a maximum age, on demand, soon after
 * leadership errors (coalesced, at most one request per minimum interval), and periodically
 * to discover partitions added to a topic, telling subscribers when a count changes.
 */
export class MetadataCache {
  readonly brokers = new Map<number, BrokerInfo>();
  readonly topics = new Map<string, TopicInfo>();
  /** Topics the broker reported an error for on the last refresh that asked for them. */
  readonly topicErrors = new Map<string, number>();
  clusterId: string | null = null;
  controllerId = -1;
  /** When the last successful refresh finished (0 before the first). */
  updatedAt = 0;
  /** Metadata requests made so far; each refresh is numbered by it. */
  refreshCount = 0;
  /** The number of the latest refresh that answered (0 before any). */
  answeredRefresh = 0;

  private readonly watched = new Set<string>();
  private readonly listeners = new Set<(change: MetadataChange) => void>();
  private readonly answerListeners = new Set<() => void>();
  /** A refresh is waiting out minRefreshIntervalMs: its request is not made yet. */
  private startPending = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private lastStartedAt = 0;
  private closed = false;
  private readonly minIntervalMs: number;

  constructor(
    private readonly fetch: MetadataFetcher,
    options: MetadataOptions = {},
  ) {
    this.minIntervalMs = options.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS;
    const every = (ms: number) => {
      if (ms <= 0) return;
      const timer = setInterval(() => this.requestRefresh(), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(options.maxAgeMs ?? DEFAULT_METADATA_MAX_AGE_MS);
    every(options.partitionCountRefreshMs ?? DEFAULT_PARTITION_COUNT_REFRESH_MS);
  }

  /** Adds topics to the watched set (refreshed from now on) without fetching. */
  watch(topics: Iterable<string>): void {
    for (const topic of topics) this.watched.add(topic);
  }

  get watchedTopics(): ReadonlySet<string> {
    return this.watched;
  }

  /**
   * Refreshes brokers and the watched topics (plus `topics`, which become watched). Calls made
   * while a refresh runs share one follow-up refresh; refreshes start at least
   * minRefreshIntervalMs apart.
   */
  refresh(topics: Iterable<string> = []): Promise<void> {
    this.watch(topics);
    if (!this.running) {
      this.running = this.run().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.refresh();
      });
    return this.queued;
  }

  /**
   * Asks for a refresh soon without waiting for it. A refresh already under way absorbs the
   * request (as the Java client's metadata update does), so a burst of errors costs one request.
   */
  requestRefresh(): void {
    if (!this.running) this.refreshInBackground();
  }

  /**
   * Asks for a refresh whose request is made from now on (one made earlier may carry what a
   * broker said before the error that prompts this), without waiting for it. Returns its number:
   * answeredRefresh reaches it once that refresh, or a later one, has answered.
   */
  requestFreshRefresh(): number {
    const number = this.refreshCount + 1;
    // One still waiting out the minimum interval will make its request later: it serves.
    if (!(this.running && this.startPending)) this.refreshInBackground();
    return number;
  }

  /** Call with every error code a broker returns: leadership errors schedule a refresh. */
  noteError(code: number): void {
    if (isLeadershipError(code)) this.requestRefresh();
  }

  /** Metadata for a topic, fetched when it is not cached yet. Undefined when the broker does not know it. */
  async topic(name: string): Promise<TopicInfo | undefined> {
    if (!this.topics.has(name) || !this.watched.has(name)) await this.refresh([name]);
    return this.topics.get(name);
  }

  leaderFor(topic: string, partition: number): number {
    return this.topics.get(topic)?.partitions[partition]?.leader ?? -1;
  }

  /** Told after every refresh that changed brokers, leaders, partition counts or the topics present. */
  onChange(listener: (change: MetadataChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Told after every refresh that answered, changed or not. */
  onAnswer(listener: () => void): () => void {
    this.answerListeners.add(listener);
    return () => this.answerListeners.delete(listener);
  }

  onPartitionCountChange(listener: (change: PartitionCountChange) => void): () => void {
    return this.onChange((change) => {
      for (const count of change.partitionCounts) listener(count);
    });
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.listeners.clear();
    this.answerListeners.clear();
  }

  private refreshInBackground(): void {
    if (this.closed) return;
    this.refresh().catch(() => undefined);
  }

  private async run(): Promise<void> {
    const wait = this.lastStartedAt + this.minIntervalMs - Date.now();
    if (wait > 0) {
      this.startPending = true;
      await new Promise((resolve) => setTimeout(resolve, wait)).finally(() => {
        this.startPending = false;
      });
    }
    if (this.closed) return;
    this.lastStartedAt = Date.now();
    const number = ++this.refreshCount;
    const asked = [...this.watched];
    const response = await this.fetch(asked);
    this.apply(response, asked);
    this.answeredRefresh = Math.max(this.answeredRefresh, number);
    for (const listener of this.answerListeners) listener();
  }

  private apply(response: MetadataResponse, asked: string[]): void {
    const brokersBefore = new Set(this.brokers.keys());
    const change: MetadataChange = { brokersAdded: [], brokersRemoved: [], leaders: [], partitionCounts: [], topicsGone: [] };
    this.brokers.clear();
    for (const broker of response.brokers) {
      this.brokers.set(broker.nodeId, { nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack });
      if (!brokersBefore.delete(broker.nodeId) && this.updatedAt > 0) change.brokersAdded.push(broker.nodeId);
    }
    change.brokersRemoved.push(...brokersBefore);
    this.clusterId = response.clusterId;
    this.controllerId = response.controllerId;
    const reported = new Set<string>();
    for (const topic of response.topics) {
      if (topic.name === null) continue;
      reported.add(topic.name);
      const before = this.topics.get(topic.name);
      if (topic.errorCode !== ErrorCode.NONE && topic.partitions.length === 0) {
        this.topicErrors.set(topic.name, topic.errorCode);
        if (before) change.topicsGone.push(topic.name);
        this.topics.delete(topic.name);
        continue;
      }
      this.topicErrors.delete(topic.name);
      const partitions: PartitionInfo[] = [];
      for (const partition of topic.partitions) {
        const index = partition.partitionIndex;
        const known = before?.topicId === topic.topicId && topic.topicId !== ZERO_UUID ? before.partitions[index] : undefined;
        if (known && partition.leaderEpoch >= 0 && known.leaderEpoch > partition.leaderEpoch) {
          // An answer from a broker behind the cluster (cut off from the controller, it still thinks it leads): the newer
          // leader already known is kept (KIP-320).
          partitions[index] = known;
          continue;
        }
        partitions[index] = {
          partition: index,
          leader: partition.leaderId,
          leaderEpoch: partition.leaderEpoch,
          replicas: partition.replicaNodes,
          isr: partition.isrNodes,
          offline: partition.offlineReplicas,
          errorCode: partition.errorCode,
        };
        const previousLeader = before?.partitions[index]?.leader;
        if (previousLeader !== undefined && previousLeader !== partition.leaderId) {
          change.leaders.push({ topic: topic.name, partition: index, previous: previousLeader, current: partition.leaderId });
        }
      }
      this.topics.set(topic.name, { name: topic.name, topicId: topic.topicId, isInternal: topic.isInternal, partitions });
      if (before && before.partitions.length !== partitions.length) {
        change.partitionCounts.push({ topic: topic.name, previous: before.partitions.length, current: partitions.length });
      }
    }
    for (const name of asked) {
      if (reported.has(name) || !this.topics.delete(name)) continue;
      change.topicsGone.push(name);
    }
    this.updatedAt = Date.now();
    const changed = Object.values(change).some((list: unknown[]) => list.length > 0);
    if (changed) for (const listener of this.listeners) listener(change);
  }
}
