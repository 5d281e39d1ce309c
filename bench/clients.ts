import { createRequire } from 'node:module';
import type { Scenario } from './scenarios.js';

/** A client under test: the runner file that drives it, and the scenarios it cannot run as asked. */
export interface BenchClient {
  name: string;
  runner: string;
  /** Why this client sits out a scenario, or undefined when it runs it. */
  cannot?(scenario: Scenario): string | undefined;
}

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
  { name: 'kafka-wire', runner: 'kafka-wire.ts' },
  { name: '@platformatic/kafka', runner: 'platformatic.ts' },
  { name: 'kafkajs', runner: 'kafkajs.ts' },
  {
    name: 'confluent-kafka-javascript',
    runner: 'confluent.ts',
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
    cannot: (scenario) => (scenario.keyed ? "Kafka's perf tool sends keyless records only" : undefined),
  },
];
