import { EmbeddedKafkaError } from './errors.js';

/**
 * Kafka versions the project is tested against. The default is the newest 4.x whose
 * artifacts are all on Maven Central (4.4.0's kafka_2.13 is there, but its kafka-tools and
 * kafka-tools-api were not as of 2026-11-21, so it cannot be resolved yet).
 */
export const DEFAULT_KAFKA_VERSION = '4.3.1';
export const TESTED_KAFKA_VERSIONS = ['4.3.1', '3.9.2'] as const;

/** `--add-scram` at format time, which creates our SCRAM users, arrived in 3.5. */
const OLDEST_SUPPORTED = [3, 5] as const;

const RELEASES_PAGE = 'https://kafka.apache.org/community/downloads/';

export function describeValidVersions(): string {
  return (
    `tested: ${TESTED_KAFKA_VERSIONS.join(', ')} (default ${DEFAULT_KAFKA_VERSION}); ` +
    `any Apache Kafka release from ${OLDEST_SUPPORTED.join('.')}.0 on that is published on Maven Central as org.apache.kafka:kafka_2.13 ` +
    `should work; releases are listed at ${RELEASES_PAGE}`
  );
}

/** Checks the shape of a requested version before anything is downloaded. */
export function validateKafkaVersion(version: string): string {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) {
    throw new EmbeddedKafkaError(
      'UNKNOWN_VERSION',
      `"${version}" is not a Kafka release version like ${DEFAULT_KAFKA_VERSION}; ${describeValidVersions()}`,
    );
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major < OLDEST_SUPPORTED[0] || (major === OLDEST_SUPPORTED[0] && minor < OLDEST_SUPPORTED[1])) {
    throw new EmbeddedKafkaError(
      'UNKNOWN_VERSION',
      `Kafka ${version} is older than the embedded broker supports (KRaft with SCRAM users at format time); ${describeValidVersions()}`,
    );
  }
  return version;
}

export function kafkaMajor(version: string): number {
  return Number(version.split('.')[0]);
}
