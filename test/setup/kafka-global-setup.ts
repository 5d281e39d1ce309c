import type { TestProject } from 'vitest/node';
import { DEFAULT_KAFKA_VERSION } from '../../src/embedded/versions.js';
import { startKafka, stopKafka } from '../../src/testing/index.js';
import type { TestKafka } from '../helpers/kafka.js';

/** The integration suite's own cluster, apart from any cluster a developer runs by hand. */
export const TEST_CLUSTER = 'test';

/**
 * The broker's retention pass runs every 250 ms from its start (Kafka's defaults: 30 s after
 * start, then every 5 minutes), so a test whose records the default 7-day retention would
 * delete (stamped long ago, say) fails every time instead of when a pass happens to fall
 * inside it.
 */
export const TEST_BROKER_PROPERTIES = { 'log.initial.task.delay.ms': 250, 'log.retention.check.interval.ms': 250 };

async function startTestcontainersKafka(version: string): Promise<{ kafka: TestKafka; stop: () => Promise<void> }> {
  // Only where a Docker engine is reachable; this path cannot run on machines without one.
  const { startKafkaContainer } = await import('./testcontainers-kafka.js');
  return startKafkaContainer(version);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const say = (line: string) => console.log(`[kafka-global-setup] ${line}`);
  const external = process.env.KAFKA_BOOTSTRAP;
  if (external) {
    say(`using the cluster at KAFKA_BOOTSTRAP=${external}`);
    project.provide('kafka', { source: 'external', kafkaVersion: null, bootstrap: external });
    return async () => {};
  }

  const version = process.env.KAFKA_WIRE_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  if (process.env.KAFKA_WIRE_BROKER === 'testcontainers') {
    const { kafka, stop } = await startTestcontainersKafka(version);
    say(`started apache/kafka:${version} with testcontainers at ${kafka.bootstrap}`);
    project.provide('kafka', kafka);
    return stop;
  }

  // Started through kafka-wire/testing, as users' own test setups do, so the suite relies on that API.
  await stopKafka(TEST_CLUSTER); // a crashed earlier run may have left its nodes behind
  const embedded = await startKafka({ name: TEST_CLUSTER, version, brokerProperties: TEST_BROKER_PROPERTIES, log: say });
  const kafka: TestKafka = {
    source: 'embedded',
    kafkaVersion: embedded.kafkaVersion,
    bootstrap: embedded.bootstrap,
    security: {
      saslBootstrap: embedded.listeners.saslPlaintext,
      sslBootstrap: embedded.listeners.ssl,
      sasl: { ...embedded.sasl, mechanisms: [...embedded.sasl.mechanisms] },
      caFile: embedded.caFile,
    },
  };
  say(`embedded Apache Kafka ${embedded.kafkaVersion} is ready at ${kafka.bootstrap} (logs under ${embedded.dir})`);
  project.provide('kafka', kafka);
  return async () => {
    const stopped = await stopKafka(TEST_CLUSTER);
    say(`stopped embedded node(s) ${stopped.join(', ')}`);
  };
}
