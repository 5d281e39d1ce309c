/**
 * The topics of the read scenarios: each filled once, by kafka-wire's producer, before any run
 * of its scenario is timed, then read by every client in every round, and deleted at the end.
 */
import type { Admin } from '../src/cluster/admin.js';
import type { Cluster } from '../src/cluster/cluster.js';
import { PartitionReader } from '../src/consumer/partition-reader.js';
import { Producer } from '../src/producer/producer.js';
import { recordValues, valueAt } from './clients/kit.js';
import { addChecksum } from './clients/read/tally.js';
import { PARTITIONS, type Scenario, TUNING } from './scenarios.js';

/** Records handed to the producer per sendMany() while filling. */
const CHUNK = 10_000;

/** A filled topic: what a client must read from it, and what it must find. */
export interface ReadTopic {
  topic: string;
  /** The end offset of each partition, by partition number. */
  partitionEnds: number[];
  /** The sum, modulo 2^32, of the CRC-32C of every value produced (as the readers compute it). */
  checksum: number;
}

export class ReadTopics {
  private readonly filled = new Map<string, ReadTopic>();

  constructor(
    private readonly cluster: Cluster,
    private readonly admin: Admin,
    private readonly bootstrap: string,
  ) {}

  /** The scenario's topic, filled with its workload the first time it is asked for. */
  async of(scenario: Scenario, progress: (line: string) => void): Promise<ReadTopic> {
    const known = this.filled.get(scenario.name);
    if (known) return known;
    const topic = `bench-${scenario.name}-${Date.now().toString(36)}`;
    await this.admin.createTopics([{ name: topic, partitions: PARTITIONS, replicationFactor: 1 }]);
    const checksum = await this.fill(topic, scenario, progress);
    const ends = await this.admin.listOffsets(topic);
    const partitionEnds = ends.sort((a, b) => a.partition - b.partition).map((entry) => Number(entry.offset));
    const written = partitionEnds.reduce((sum, end) => sum + end, 0);
    if (written !== scenario.count) throw new Error(`filling ${topic} left ${written} records, not ${scenario.count}`);
    const filled = { topic, partitionEnds, checksum };
    this.filled.set(scenario.name, filled);
    return filled;
  }

  /**
   * Reads the whole topic once, untimed, so the run that follows finds its log in the page cache.
   * Minutes pass between one round's read of a topic and the next, and a machine that reclaims
   * idle pages (as this VM's DAMON pageout does after about a minute) would otherwise make the
   * first client of each round read from disk while the others read from memory.
   */
  async warm(filled: ReadTopic, signal: AbortSignal): Promise<void> {
    const counts = await Promise.all(
      filled.partitionEnds.map(async (end, partition) => {
        const reader = new PartitionReader(this.cluster, { topic: filled.topic, partition, until: BigInt(end), signal });
        let records = 0;
        for await (const batch of reader.batches()) records += batch.recordCount;
        return records;
      }),
    );
    const read = counts.reduce((sum, records) => sum + records, 0);
    const written = filled.partitionEnds.reduce((sum, end) => sum + end, 0);
    if (read !== written) throw new Error(`warming ${filled.topic} read ${read} records, not ${written}`);
  }

  async deleteAll(): Promise<void> {
    await this.admin.deleteTopics([...this.filled.values()].map((entry) => entry.topic)).catch(() => {});
    this.filled.clear();
  }

  /** Produces the scenario's records (keyless, with its acks, idempotence and compression); returns their checksum. */
  private async fill(topic: string, scenario: Scenario, progress: (line: string) => void): Promise<number> {
    const producer = new Producer({
      bootstrap: this.bootstrap,
      clientId: 'bench-read-fill',
      acks: scenario.acks,
      idempotent: scenario.idempotent,
      compression: scenario.compression,
      lingerMs: TUNING.lingerMs,
      batchSize: TUNING.batchSize,
    });
    const values = recordValues(scenario.size);
    let checksum = 0;
    try {
      for (let from = 0; from < scenario.count; from += CHUNK) {
        const records = [];
        for (let i = from; i < Math.min(scenario.count, from + CHUNK); i++) {
          const value = valueAt(values, i);
          checksum = addChecksum(checksum, value);
          records.push({ topic, value });
        }
        const failed = (await producer.sendMany(records)).find((result) => result.status === 'rejected');
        if (failed) throw new Error(`filling ${topic} failed: ${String(failed.reason)}`);
        progress(`filling ${topic}: ${(from + records.length).toLocaleString('en-US')} records`);
      }
    } finally {
      await producer.close();
    }
    return checksum;
  }
}
