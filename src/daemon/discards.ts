/**
 * What the daemon counts of messages that will never reach Kafka, as Dory reports discards
 * (doc/status_monitoring.md): counters by reason, per topic the count and the earliest and
 * latest client timestamps, the rate-limited share, recent bad topics and base64 prefixes of
 * recent malformed messages, in reporting periods (the current one and the latest finished),
 * plus totals since start for monitoring. Nothing is dropped without passing through here.
 */

/** Messages refused as they arrive: no topic to charge them to. */
export type InputDiscardReason =
  | 'malformed'
  | 'unsupportedApiKey'
  | 'unsupportedVersion'
  | 'badTopic'
  | 'streamDisconnect'
  | 'tcpDisconnect';

/** Messages of a valid topic dropped later (tooLarge and deliveryFailed also without a topic: see refused()). */
export type TopicDiscardReason = 'tooLarge' | 'rateLimited' | 'journalFull' | 'journalFailed' | 'deliveryFailed';

export type DiscardReason = InputDiscardReason | TopicDiscardReason;

export interface TopicDiscards {
  count: number;
  /** Of count, those over the topic's rate limit. */
  rateLimited: number;
  /** Earliest and latest client timestamps (ms) of the discarded messages. */
  begin: number;
  end: number;
}

export interface DiscardPeriod {
  id: number;
  /** When it began, ms since the epoch. */
  start: number;
  counts: Record<DiscardReason, number>;
  /** Most recent first. */
  recentBadTopics: string[];
  /** Base64 of the first bytes of recent malformed messages, most recent first. */
  recentMalformed: string[];
  topics: Record<string, TopicDiscards>;
}

export interface DiscardReport {
  since: number;
  now: number;
  intervalMs: number;
  current: DiscardPeriod;
  /** The latest finished period; undefined during the first. */
  latest: DiscardPeriod | undefined;
  /** Since start, by reason. */
  totals: Record<DiscardReason, number>;
}

export interface DiscardOptions {
  intervalMs: number;
  /** How many recent bad topics and malformed prefixes a period keeps. Default 10. */
  recent?: number;
  /** Bytes of a malformed message kept (as base64). Default 64. */
  prefixBytes?: number;
  now?: () => number;
}

const REASONS: readonly DiscardReason[] = [
  'malformed',
  'unsupportedApiKey',
  'unsupportedVersion',
  'badTopic',
  'streamDisconnect',
  'tcpDisconnect',
  'tooLarge',
  'rateLimited',
  'journalFull',
  'journalFailed',
  'deliveryFailed',
];

const zeroCounts = () => Object.fromEntries(REASONS.map((reason) => [reason, 0])) as Record<DiscardReason, number>;

export class DiscardTracker {
  private readonly intervalMs: number;
  private readonly recent: number;
  private readonly prefixBytes: number;
  private readonly now: () => number;
  private readonly since: number;
  private current: DiscardPeriod;
  private latest: DiscardPeriod | undefined;
  private readonly totals = zeroCounts();

  constructor(options: DiscardOptions) {
    this.intervalMs = options.intervalMs;
    this.recent = options.recent ?? 10;
    this.prefixBytes = options.prefixBytes ?? 64;
    this.now = options.now ?? Date.now;
    this.since = this.now();
    this.current = this.newPeriod(0, this.since);
  }

  /** A message that does not parse: counted, and the start of its bytes kept. */
  malformed(bytes: Uint8Array): void {
    const period = this.count('malformed');
    keepRecent(period.recentMalformed, Buffer.from(bytes.subarray(0, this.prefixBytes)).toString('base64'), this.recent);
  }

  /** A message naming a topic Kafka cannot have (or none). */
  badTopic(topic: string): void {
    keepRecent(this.count('badTopic').recentBadTopics, topic, this.recent);
  }

  /**
   * Dropped without a topic to charge: an api key or version this format does not have, a stream client gone mid-message, a
   * message too large to read its topic from, or one replayed from the journal that failed for good.
   */
  refused(reason: 'unsupportedApiKey' | 'unsupportedVersion' | 'streamDisconnect' | 'tcpDisconnect' | 'tooLarge' | 'deliveryFailed'): void {
    this.count(reason);
  }

  /** `messages` of `topic` dropped for `reason`, with the client timestamp (ms) of one of them. */
  topicDiscard(topic: string, reason: TopicDiscardReason, timestamp: number, messages = 1): void {
    const period = this.count(reason, messages);
    let entry = period.topics[topic];
    if (!entry) {
      entry = { count: 0, rateLimited: 0, begin: timestamp, end: timestamp };
      period.topics[topic] = entry;
    }
    entry.count += messages;
    if (reason === 'rateLimited') entry.rateLimited += messages;
    entry.begin = Math.min(entry.begin, timestamp);
    entry.end = Math.max(entry.end, timestamp);
  }

  /** All discards since start. */
  get total(): number {
    return REASONS.reduce((sum, reason) => sum + this.totals[reason], 0);
  }

  report(): DiscardReport {
    const now = this.now();
    this.roll(now);
    return {
      since: this.since,
      now,
      intervalMs: this.intervalMs,
      current: structuredClone(this.current),
      latest: this.latest && structuredClone(this.latest),
      totals: { ...this.totals },
    };
  }

  private count(reason: DiscardReason, messages = 1): DiscardPeriod {
    this.roll(this.now());
    this.current.counts[reason] += messages;
    this.totals[reason] += messages;
    return this.current;
  }

  /** Starts the periods that have begun since: a period with nothing in it between is skipped. */
  private roll(now: number): void {
    const elapsed = Math.floor((now - this.current.start) / this.intervalMs);
    if (elapsed < 1) return;
    this.latest = this.current;
    this.current = this.newPeriod(this.current.id + elapsed, this.current.start + elapsed * this.intervalMs);
    if (elapsed > 1) this.latest = this.newPeriod(this.current.id - 1, this.current.start - this.intervalMs);
  }

  private newPeriod(id: number, start: number): DiscardPeriod {
    return { id, start, counts: zeroCounts(), recentBadTopics: [], recentMalformed: [], topics: {} };
  }
}

function keepRecent(list: string[], item: string, keep: number): void {
  list.unshift(item);
  if (list.length > keep) list.length = keep;
}
