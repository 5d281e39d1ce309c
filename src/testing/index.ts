/**
 * kafka-wire/testing: a real Apache Kafka on loopback for your own integration tests, started
 * and stopped from code (the same embedded broker as `kafka-wire broker`).
 */

export { EmbeddedKafkaError, type EmbeddedKafkaErrorCode } from '../embedded/errors.js';
export {
  DEFAULT_TESTING_CLUSTER,
  type EmbeddedKafka,
  type EmbeddedKafkaListeners,
  type EmbeddedKafkaNode,
  type EmbeddedKafkaOptions,
  startKafka,
  stopKafka,
} from './embedded-kafka.js';
