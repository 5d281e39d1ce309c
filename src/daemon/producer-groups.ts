import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterOptions } from '../cluster/options.js';
import { DurableProducer } from '../durable/durable-producer.js';
import type { JournalSync } from '../durable/journal-options.js';
import { StickyPartitioner } from '../producer/partitioner.js';
import type { CompressionName } from '../records/compression.js';
import type { TopicSettings } from './config.js';

/**
 * The daemon's producers: one durable producer per distinct topic settings (batching and
 * compression are producer-wide settings), each with its own journal in a subdirectory named
 * after the settings, e.g. `linger-5_batch-262144_none`. At start every such subdirectory found
 * is opened too, so what an earlier configuration journaled is still delivered with the settings
 * it was accepted under.
 */
export class ProducerGroups {
  private readonly groups = new Map<string, DurableProducer>();

  private constructor(
    private readonly dir: string,
    private readonly connection: DaemonConnection,
    private readonly sync: JournalSync,
    private readonly onOpen: (name: string, producer: DurableProducer) => void,
  ) {}

  /** Opens the groups for `wanted` and every group journal already in `dir`. */
  static async open(options: {
    dir: string;
    connection: DaemonConnection;
    sync: JournalSync;
    wanted: TopicSettings[];
    onOpen: (name: string, producer: DurableProducer) => void;
  }): Promise<ProducerGroups> {
    await mkdir(options.dir, { recursive: true });
    const groups = new ProducerGroups(options.dir, options.connection, options.sync, options.onOpen);
    const found = (await readdir(options.dir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => settingsFromName(entry.name))
      .filter((settings) => settings !== undefined);
    try {
      await groups.ensure([...found, ...options.wanted]);
    } catch (error) {
      await groups.close(0);
      throw error;
    }
    return groups;
  }

  /** Opens a producer for each settings not open yet (a reload may bring new ones). */
  async ensure(settings: TopicSettings[]): Promise<void> {
    for (const one of settings) {
      const name = groupName(one);
      if (this.groups.has(name)) continue;
      const sticky = new StickyPartitioner(one.batchSize);
      const producer = await DurableProducer.open({
        ...this.connection,
        clientId: this.connection.clientId ?? 'kafka-wire-daemon',
        lingerMs: one.lingerMs,
        batchSize: one.batchSize,
        compression: one.compression,
        // AnyPartition messages go to any available partition (Dory ignores their key for routing): sticky, batch by batch.
        partitioner: (choice) =>
          sticky.partition(choice.topic, choice.partitionCount, choice.available, (choice.key?.length ?? 0) + (choice.value?.length ?? 0)),
        durable: { dir: join(this.dir, name), sync: this.sync },
      });
      this.groups.set(name, producer);
      this.onOpen(name, producer);
    }
  }

  /** The producer for messages of these settings (ensure() opened it). */
  producerFor(settings: TopicSettings): DurableProducer {
    const producer = this.groups.get(groupName(settings));
    if (!producer) throw new Error(`no producer open for ${groupName(settings)}`);
    return producer;
  }

  get all(): ReadonlyMap<string, DurableProducer> {
    return this.groups;
  }

  /** Flushes and closes every producer within `timeoutMs` (what is left stays in the journals). */
  async close(timeoutMs: number): Promise<void> {
    await Promise.all([...this.groups.values()].map((producer) => producer.close(timeoutMs)));
  }
}

/** Where the daemon's producers connect. */
export type DaemonConnection = Pick<ClusterOptions, 'bootstrap' | 'sasl' | 'tls' | 'clientId'>;

const COMPRESSIONS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export function groupName(settings: TopicSettings): string {
  return `linger-${settings.lingerMs}_batch-${settings.batchSize}_${settings.compression}`;
}

function settingsFromName(name: string): TopicSettings | undefined {
  const match = /^linger-(\d+)_batch-(\d+)_([a-z]+)$/.exec(name);
  if (!match || !COMPRESSIONS.includes(match[3] as CompressionName)) return undefined;
  return { lingerMs: Number(match[1]), batchSize: Number(match[2]), compression: match[3] as CompressionName };
}
