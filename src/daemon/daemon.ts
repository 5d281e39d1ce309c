import type { DurableProducer } from '../durable/durable-producer.js';
import { type DaemonConfig, settingsOf } from './config.js';
import { DatagramInput } from './dgram-input.js';
import { type DiscardReport, DiscardTracker } from './discards.js';
import { Intake } from './intake.js';
import { type DaemonConnection, ProducerGroups } from './producer-groups.js';
import { TopicRateLimiter } from './rate-limiter.js';
import { type DaemonStatus, StatusServer } from './status.js';
import { StreamInput } from './stream-input.js';

export interface DaemonLog {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * `kafka-wire daemon`: Dory-compatible inputs in front of durable producers. Every message read
 * is journaled before anything else happens to it, so a kill loses only what was still in a
 * socket; status pages count every message from input to acknowledgement or discard.
 */
export class Daemon {
  private readonly startedAt = Date.now();
  private metadataChangedAt = 0;
  private replayingLeft = 0;
  private inputs: { dgram?: DatagramInput; stream?: StreamInput; tcp?: StreamInput } = {};
  private http: StatusServer | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    private config: DaemonConfig,
    private readonly groups: ProducerGroups,
    private readonly discardTracker: DiscardTracker,
    private readonly limiter: TopicRateLimiter,
    readonly intake: Intake,
  ) {}

  /** Opens the journals (replaying what they hold), then the inputs and the status port. */
  static async start(config: DaemonConfig, connection: DaemonConnection, log: DaemonLog): Promise<Daemon> {
    const discards = new DiscardTracker({ intervalMs: config.discardReportIntervalMs });
    const limiter = new TopicRateLimiter(config.rateLimits);
    let daemon: Daemon | undefined;
    const flow = { pause: () => daemon?.pauseInputs(), resume: () => daemon?.resumeInputs() };
    const opened: [string, DurableProducer][] = [];
    const groups = await ProducerGroups.open({
      dir: config.journal,
      connection,
      sync: config.sync,
      wanted: wantedSettings(config),
      onOpen: (name, producer) => {
        opened.push([name, producer]);
        daemon?.watch(name, producer, log);
      },
    });
    const intake = new Intake(config, groups, discards, limiter, flow);
    daemon = new Daemon(config, groups, discards, limiter, intake);
    for (const [name, producer] of opened) daemon.watch(name, producer, log);
    try {
      await daemon.listen(log);
    } catch (error) {
      await daemon.stop(0);
      throw error;
    }
    return daemon;
  }

  /** SIGHUP: new rate limits, topic settings and size limit (inputs, journal and port stay as they are). */
  async reload(config: DaemonConfig): Promise<void> {
    await this.groups.ensure(wantedSettings(config));
    this.config = config;
    this.limiter.reload(config.rateLimits);
    this.intake.reconfigure(config);
  }

  /** The status port actually bound (0 in the config picks a free one). */
  get httpPort(): number | undefined {
    return this.http?.port;
  }

  /**
   * Stops reading (clients get a bounded grace to finish what they send), waits until everything
   * read is journaled, and delivers what it can within `timeoutMs`; what is left stays on disk.
   */
  stop(timeoutMs: number): Promise<void> {
    this.stopping ??= (async () => {
      const { dgram, stream, tcp } = this.inputs;
      await Promise.all([dgram?.close(), stream?.close(Math.min(timeoutMs, 1000)), tcp?.close(Math.min(timeoutMs, 1000))]);
      await this.intake.whenJournaled();
      await this.http?.close();
      await this.groups.close(timeoutMs);
    })();
    return this.stopping;
  }

  status(): DaemonStatus {
    const queued = new Map<string, { batching: number; waitingToSend: number; waitingForAcks: number }>();
    let unacknowledged = 0;
    let mayDuplicate = 0;
    let fetchedAt = 0;
    for (const producer of this.groups.all.values()) {
      unacknowledged += producer.pending;
      mayDuplicate += producer.mayDuplicate;
      fetchedAt = Math.max(fetchedAt, producer.metadataFetchedAt);
      for (const [topic, q] of producer.queuedByTopic()) {
        const sum = queued.get(topic) ?? { batching: 0, waitingToSend: 0, waitingForAcks: 0 };
        sum.batching += q.batching;
        sum.waitingToSend += q.waitingToSend;
        sum.waitingForAcks += q.waitingForAcks;
        queued.set(topic, sum);
      }
    }
    const intake = this.intake;
    const topics = [...new Set([...intake.topics.keys(), ...queued.keys()])].sort().map((topic) => {
      const counts = intake.countsOf(topic);
      const q = queued.get(topic) ?? { batching: 0, waitingToSend: 0, waitingForAcks: 0 };
      const deliveredOfThisRun = counts.delivered - counts.replayedDelivered;
      return { topic, ...counts, ...q, onDisk: Math.max(0, counts.journaled - deliveredOfThisRun - counts.failed) };
    });
    const { dgram, stream, tcp } = this.inputs;
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      now: Date.now(),
      inputs: {
        ...(dgram && { dgram: { path: dgram.path, receiveBufferBytes: dgram.receiveBufferBytes } }),
        ...(stream && { stream: { path: stream.where, clients: stream.clients } }),
        ...(tcp && { tcp: { address: tcp.where, clients: tcp.clients } }),
      },
      received: { ...intake.received, total: intake.totalReceived },
      accepted: topics.reduce((sum, t) => sum + t.accepted, 0),
      delivered: topics.reduce((sum, t) => sum + t.delivered, 0),
      discarded: this.discardTracker.total,
      unjournaled: intake.unjournaled,
      replaying: this.replayingLeft,
      unacknowledged,
      mayDuplicate,
      metadata: { fetchedAt, changedAt: this.metadataChangedAt },
      topics,
    };
  }

  discards(): DiscardReport {
    return this.discardTracker.report();
  }

  async refreshMetadata(): Promise<void> {
    await Promise.all([...this.groups.all.values()].map((producer) => producer.refreshMetadata()));
  }

  private watch(name: string, producer: DurableProducer, log: DaemonLog): void {
    const { replaying, inDoubtBatches, mayDuplicate } = producer.recovery;
    this.replayingLeft += replaying;
    if (replaying > 0) {
      log.info(
        `journal ${name}: replaying ${replaying} message(s) from an earlier run ` +
          `(${inDoubtBatches} batch(es) in doubt, ${mayDuplicate} may duplicate)`,
      );
    }
    this.intake.watch(producer);
    // A replayed message that fails for good is counted by its batch's deliveryFailed event (Intake.watch()).
    producer.on('replayed', () => {
      this.replayingLeft--;
    });
    producer.on('metadataChange', () => {
      this.metadataChangedAt = Date.now();
    });
    producer.on('deliveryFailed', ({ topic, partition, records, error }) =>
      log.warn(`${records} message(s) for ${topic}-${partition} failed: ${error.message}`),
    );
  }

  private async listen(log: DaemonLog): Promise<void> {
    const { inputs, maxMessageBytes } = this.config;
    if (inputs.stream !== undefined) {
      this.inputs.stream = await StreamInput.listen({ path: inputs.stream }, this.intake, maxMessageBytes);
      log.info(`listening on UNIX stream socket ${inputs.stream}`);
    }
    if (inputs.tcp !== undefined) {
      this.inputs.tcp = await StreamInput.listen({ port: inputs.tcp }, this.intake, maxMessageBytes);
      log.info(`listening on TCP ${this.inputs.tcp.where}`);
    }
    if (inputs.dgram !== undefined) {
      this.inputs.dgram = await DatagramInput.listen(inputs.dgram, this.intake, maxMessageBytes, (reason) => log.warn(reason));
      log.info(`listening on UNIX datagram socket ${inputs.dgram} (receive buffer ${this.inputs.dgram.receiveBufferBytes} bytes)`);
    }
    if (this.config.http !== undefined) {
      this.http = await StatusServer.listen(this.config.http, this);
      log.info(`status pages on http://127.0.0.1:${this.http.port}/`);
    }
  }

  private pauseInputs(): void {
    this.inputs.dgram?.pause();
    this.inputs.stream?.pause();
    this.inputs.tcp?.pause();
  }

  private resumeInputs(): void {
    this.inputs.dgram?.resume();
    this.inputs.stream?.resume();
    this.inputs.tcp?.resume();
  }
}

/** The settings of every topic group the configuration names (the defaults and each listed topic's). */
function wantedSettings(config: DaemonConfig) {
  return [config.topicDefaults, ...Object.keys(config.topics).map((topic) => settingsOf(config, topic))];
}
