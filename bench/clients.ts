import { createRequire } from 'node:module';
import { READ_TUNING, type Scenario } from './scenarios.js';

/** A client under test: the runner files that drive it, and the scenarios it cannot run as asked. */
export interface BenchClient {
  name: string;
  /** The runner of the produce scenarios, under bench/clients/. */
  runner: string;
  /** How it runs the read scenarios. */
  reader: {
    /** Under bench/clients/. */
    runner: string;
    /** The name in the read scenarios' results, where the client there is not the produce side's tool. */
    name?: string;
    /** How it reads, for the table. */
    path: string;
  };
  /** Why this client sits out a scenario, or undefined when it runs it. */
  cannot?(scenario: Scenario): string | undefined;
}

/** The name of a client's results in a scenario. */
export function resultName(client: BenchClient, scenario: Scenario): string {
  return scenario.read ? (client.reader.name ?? client.name) : client.name;
}

const POLL_RECORDS = READ_TUNING.maxPollRecords.toLocaleString('en-US');

let librdkafka: { features: string[] } | null | undefined;

/** The features of the librdkafka that bench/build-confluent.mjs built (null when it did not build or load). */
function librdkafkaFeatures(): string[] | null {
  if (librdkafka === undefined) {
    try {
      librdkafka = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as { features: string[] };
    } catch {
      librdkafka = null;
    }
  }
  return librdkafka?.features ?? null;
}

export const CLIENTS: BenchClient[] = [
  {
    name: 'kafka-wire',
    runner: 'kafka-wire.ts',
    reader: { runner: 'read/kafka-wire.ts', path: 'a PartitionReader per partition, batches() (no group)' },
  },
  {
    name: '@platformatic/kafka',
    runner: 'platformatic.ts',
    reader: {
      runner: 'read/platformatic.ts',
      path: 'Consumer.fetch() of every partition per request (no group: its consume() always joins one)',
    },
  },
  {
    name: 'kafkajs',
    runner: 'kafkajs.ts',
    reader: { runner: 'read/kafkajs.ts', path: 'a consumer group of one member, eachBatch, no commits (KafkaJS cannot assign)' },
  },
  {
    name: 'confluent-kafka-javascript',
    runner: 'confluent.ts',
    reader: { runner: 'read/confluent.ts', path: `KafkaConsumer.assign(), consume(${POLL_RECORDS}) (no group)` },
    cannot: (scenario) => {
      const features = librdkafkaFeatures();
      if (!features) return 'its native addon did not build or load (npm run bench:confluent says why)';
      if (scenario.compression !== 'none' && !features.includes(scenario.compression)) {
        return (
          `this librdkafka build has no ${scenario.compression} ` +
          '(install libzstd-dev, then KAFKA_WIRE_REBUILD_CONFLUENT=1 npm run bench:confluent)'
        );
      }
      return undefined;
    },
  },
  {
    name: 'java (ProducerPerformance)',
    runner: 'java.ts',
    reader: {
      runner: 'read/java.ts',
      name: 'java (KafkaConsumer)',
      path: `KafkaConsumer.assign(), poll() of up to ${POLL_RECORDS} (no group)`,
    },
    cannot: (scenario) => (scenario.keyed ? "Kafka's perf tool sends keyless records only" : undefined),
  },
];
