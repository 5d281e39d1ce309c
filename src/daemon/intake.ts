import { failsForGood } from '../durable/batch-journal.js';
import type { DurableProducer } from '../durable/durable-producer.js';
import { QueueFullError } from '../durable/errors.js';
import { InvalidRecordError, RecordTooLargeError } from '../producer/errors.js';
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
  /** Acknowledged by Kafka (replayedDelivered of them journaled before this start). */
  delivered: number;
  replayedDelivered: number;
  /** Failed for good (counted as deliveryFailed discards too). */
  failed: number;
  /** Failed for a reason not their own (e.g. the producer id refused): kept in the journal for the next start. */
  held: number;
  /** Discarded for any reason charged to this topic (too large, rate limited, journal full, failed). */
  discarded: number;
}

/** Where a topic's messages go: its producer (by its settings) and its counters. */
interface Route {
  topic: string;
  producer: DurableProducer;
  counts: TopicCounts;
}

/** Messages accepted in one turn of the event loop by one producer: they become durable together. */
interface TickGroup {
  durable: Promise<void>;
  /** Runs of consecutive messages of one topic: [route, messages]. */
  runs: [Route, number][];
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
  private readonly routes = new Map<string, Route>();
  private group: TickGroup | undefined;
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
    this.routes.clear();
  }

  /** Inputs stop reading above this many unjournaled messages, and start again below half of it. */
  static readonly PAUSE_ABOVE = 20_000;

  get totalReceived(): number {
    return this.received.dgram + this.received.stream + this.received.tcp;
  }

  /** Counts what a producer (of any group, replaying or not) reports about its records. */
  watch(producer: DurableProducer): void {
    producer.on('settled', (_, result) => {
      if (!(result instanceof Error)) this.countsOf(result.topic).delivered++;
    });
    producer.on('replayed', (event) => {
      if ('topic' in event) this.countsOf(event.topic).replayedDelivered++;
    });
    producer.on('deliveryFailed', ({ topic, records, error }) => {
      const counts = this.countsOf(topic);
      if (!failsForGood(error)) {
        counts.held += records;
        return;
      }
      counts.failed += records;
      counts.discarded += records;
      this.discards.topicDiscard(topic, 'deliveryFailed', Date.now(), records);
    });
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
    const route = this.routeOf(topic);
    let durable: Promise<void>;
    try {
      ({ durable } = route.producer.accept({
        topic,
        key: message.key,
        value: message.value,
        timestamp,
        partitionKey: message.partitionKey,
      }));
    } catch (error) {
      if (error instanceof InvalidRecordError) this.discards.malformed(frame);
      else this.discardOf(topic, refusalReason(error as Error), timestamp);
      return;
    }
    route.counts.accepted++;
    if (++this.unjournaled === Intake.PAUSE_ABOVE) this.flow.pause();
    let group = this.group;
    if (group === undefined || group.durable !== durable) {
      group = { durable, runs: [] };
      this.group = group;
      const settled = group;
      durable.then(
        () => this.groupDone(settled, undefined),
        (error: Error) => this.groupDone(settled, error),
      );
    }
    const last = group.runs[group.runs.length - 1];
    if (last !== undefined && last[0] === route) last[1]++;
    else group.runs.push([route, 1]);
  }

  /** Resolves once every accepted message is durable (or refused). */
  whenJournaled(): Promise<void> {
    if (this.unjournaled === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  countsOf(topic: string): TopicCounts {
    let counts = this.topics.get(topic);
    if (!counts) {
      counts = { accepted: 0, journaled: 0, delivered: 0, replayedDelivered: 0, failed: 0, held: 0, discarded: 0 };
      this.topics.set(topic, counts);
    }
    return counts;
  }

  private routeOf(topic: string): Route {
    let route = this.routes.get(topic);
    if (!route) {
      route = { topic, producer: this.groups.producerFor(settingsOf(this.config, topic)), counts: this.countsOf(topic) };
      this.routes.set(topic, route);
    }
    return route;
  }

  private discardOf(topic: string, reason: TopicDiscardReason, timestamp: number): void {
    this.countsOf(topic).discarded++;
    this.discards.topicDiscard(topic, reason, timestamp);
  }

  /** A turn's messages are durable (or the journal failed them: then they are discards). */
  private groupDone(group: TickGroup, error: Error | undefined): void {
    if (this.group === group) this.group = undefined;
    let messages = 0;
    for (const [{ topic, counts }, n] of group.runs) {
      messages += n;
      if (error === undefined) {
        counts.journaled += n;
      } else {
        counts.accepted -= n;
        counts.discarded += n;
        this.discards.topicDiscard(topic, 'journalFailed', Date.now(), n);
      }
    }
    const before = this.unjournaled;
    this.unjournaled -= messages;
    if (before >= Intake.PAUSE_ABOVE / 2 && this.unjournaled < Intake.PAUSE_ABOVE / 2) this.flow.resume();
    if (this.unjournaled === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

function refusalReason(error: Error): 'tooLarge' | 'journalFull' | 'journalFailed' {
  if (error instanceof RecordTooLargeError) return 'tooLarge';
  if (error instanceof QueueFullError) return 'journalFull';
  return 'journalFailed';
}
