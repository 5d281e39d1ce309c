import { failsForGood } from '../durable/batch-journal.js';
import { QueueFullError } from '../durable/errors.js';
import { InvalidRecordError, RecordTooLargeError } from '../producer/errors.js';
import type { RecordMetadata } from '../producer/outcomes.js';
import { type DaemonConfig, settingsOf } from './config.js';
import type { DiscardTracker, TopicDiscardReason } from './discards.js';
import { DoryMessageError, decodeDoryMessage } from './dory-message.js';
import type { ProducerGroups } from './producer-groups.js';
import type { TopicRateLimiter } from './rate-limiter.js';

export type InputName = 'dgram' | 'stream' | 'tcp';

/** A topic's messages since the daemon started, from reading to the end of their journey. */
export interface TopicCounts {
  /** Passed every check and given to the durable producer. */
  accepted: number;
  /** In the journal, durable as `sync` says. */
  journaled: number;
  /** Acknowledged by Kafka. */
  delivered: number;
  /** Failed for good (counted as deliveryFailed discards too). */
  failed: number;
  /** Failed for a reason not their own (e.g. the producer id refused): kept in the journal for the next start. */
  held: number;
  /** Discarded for any reason charged to this topic (too large, rate limited, journal full, failed). */
  discarded: number;
  /** Journaled before this start and acknowledged since. */
  replayedDelivered: number;
}

/**
 * Where every message read from an input goes: decoded, checked (format, topic, size, rate
 * limit) and either counted as a discard or journaled by its topic's durable producer, whose
 * outcome is counted too. So at any moment: received = discarded + accepted, and every accepted
 * message ends as delivered, failed (a discard) or held on disk for the next start.
 */
export class Intake {
  readonly received: Record<InputName, number> = { dgram: 0, stream: 0, tcp: 0 };
  readonly topics = new Map<string, TopicCounts>();
  /** Messages accepted and not yet durable: the inputs pause while there are too many. */
  unjournaled = 0;
  /** Accepted messages whose enqueue was refused (counted as discards). */
  refused = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private config: DaemonConfig,
    private readonly groups: ProducerGroups,
    private readonly discards: DiscardTracker,
    private readonly limiter: TopicRateLimiter,
    /** Told when the inputs should stop reading (PAUSE_ABOVE messages wait for the journal) and start again (half as many). */
    private readonly flow: { pause(): void; resume(): void },
  ) {}

  /** A new configuration (SIGHUP): topic settings and the size limit; rate limits are reloaded by their owner. */
  reconfigure(config: DaemonConfig): void {
    this.config = config;
  }

  /** Inputs stop reading above this many unjournaled messages, and start again below half of it. */
  static readonly PAUSE_ABOVE = 20_000;

  get totalReceived(): number {
    return this.received.dgram + this.received.stream + this.received.tcp;
  }

  /** A frame's size field said more than maxMessageBytes: it was skipped unread. */
  tooLarge(input: InputName): void {
    this.received[input]++;
    this.discards.refused('tooLarge');
  }

  /** A stream client left with half a message sent. */
  disconnectedMidMessage(input: 'stream' | 'tcp'): void {
    this.received[input]++;
    this.discards.refused(input === 'tcp' ? 'tcpDisconnect' : 'streamDisconnect');
  }

  /** Unreadable bytes that end a stream connection (a size field smaller than the header). */
  garbage(input: 'stream' | 'tcp', bytes: Uint8Array): void {
    this.received[input]++;
    this.discards.malformed(bytes);
  }

  /** One whole message as read from an input (its bytes may be reused after this returns). */
  receive(frame: Buffer, input: InputName): void {
    this.received[input]++;
    let message: ReturnType<typeof decodeDoryMessage>;
    try {
      message = decodeDoryMessage(frame);
    } catch (error) {
      if (!(error instanceof DoryMessageError)) throw error;
      if (error.reason === 'malformed') this.discards.malformed(frame);
      else if (error.reason === 'badTopic') this.discards.badTopic(error.topic ?? '');
      else this.discards.refused(error.reason);
      return;
    }
    const { topic, timestamp } = message;
    if (frame.length > this.config.maxMessageBytes) {
      this.discardOf(topic, 'tooLarge', timestamp);
      return;
    }
    if (!this.limiter.allow(topic)) {
      this.discardOf(topic, 'rateLimited', timestamp);
      return;
    }
    const counts = this.countsOf(topic);
    counts.accepted++;
    if (++this.unjournaled === Intake.PAUSE_ABOVE) this.flow.pause();
    const producer = this.groups.producerFor(settingsOf(this.config, topic));
    producer
      .enqueue({ topic, key: message.key, value: message.value, timestamp, partitionKey: message.partitionKey }, (result) =>
        this.settled(counts, topic, timestamp, result),
      )
      .then(
        () => {
          counts.journaled++;
          this.journaledOne();
        },
        (error: Error) => {
          this.refused++;
          counts.accepted--;
          if (error instanceof InvalidRecordError) this.discards.malformed(frame);
          else this.discardOf(topic, refusalReason(error), timestamp);
          this.journaledOne();
        },
      );
  }

  /** Resolves once every accepted message is durable (or refused). */
  whenJournaled(): Promise<void> {
    if (this.unjournaled === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** A message journaled before a restart reached its end. */
  replayed(topic: string | undefined, delivered: boolean): void {
    if (delivered && topic !== undefined) this.countsOf(topic).replayedDelivered++;
    else if (!delivered) this.discards.refused('deliveryFailed');
  }

  countsOf(topic: string): TopicCounts {
    let counts = this.topics.get(topic);
    if (!counts) {
      counts = { accepted: 0, journaled: 0, delivered: 0, failed: 0, held: 0, discarded: 0, replayedDelivered: 0 };
      this.topics.set(topic, counts);
    }
    return counts;
  }

  private discardOf(topic: string, reason: TopicDiscardReason, timestamp: number): void {
    this.countsOf(topic).discarded++;
    this.discards.topicDiscard(topic, reason, timestamp);
  }

  private journaledOne(): void {
    this.unjournaled--;
    if (this.unjournaled === Intake.PAUSE_ABOVE / 2) this.flow.resume();
    if (this.unjournaled === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private settled(counts: TopicCounts, topic: string, timestamp: number, result: RecordMetadata | Error): void {
    if (!(result instanceof Error)) counts.delivered++;
    else if (failsForGood(result)) {
      counts.failed++;
      this.discardOf(topic, 'deliveryFailed', timestamp);
    } else counts.held++;
  }
}

function refusalReason(error: Error): 'tooLarge' | 'journalFull' | 'journalFailed' {
  if (error instanceof RecordTooLargeError) return 'tooLarge';
  if (error instanceof QueueFullError) return 'journalFull';
  return 'journalFailed';
}
