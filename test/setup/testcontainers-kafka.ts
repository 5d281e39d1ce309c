import { GenericContainer, Wait } from 'testcontainers';
import type { TestKafka } from '../helpers/kafka.js';

/**
 * The official apache/kafka image as a single KRaft node with a PLAINTEXT listener, for
 * machines with a Docker engine (KAFKA_WIRE_BROKER=testcontainers). SASL and SSL listeners
 * are only on the embedded JVM broker. The host port is fixed so the advertised listener
 * can name it before the container starts.
 */
export async function startKafkaContainer(version: string): Promise<{ kafka: TestKafka; stop: () => Promise<void> }> {
  const hostPort = Number(process.env.KAFKA_WIRE_CONTAINER_PORT ?? 39092);
  const container = await new GenericContainer(`apache/kafka:${version}`)
    .withExposedPorts({ container: 9092, host: hostPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${hostPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  return {
    kafka: { source: 'testcontainers', kafkaVersion: version, bootstrap: `127.0.0.1:${hostPort}` },
    stop: async () => {
      await container.stop();
    },
  };
}
