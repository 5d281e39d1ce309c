import { EmbeddedKafkaError } from './errors.js';

/**
 * Kafka versions the project is tested against. The default is the newest 4.x whose
 * artifacts are all on Maven Central (4.4.0's kafka_2.13 is there, but its kafka-tools and
 * kafka-tools-api were not as of 2026-11-21, so it cannot be resolved yet).
 */
export const DEFAULT_KAFKA_VERSION = '4.3.1';
export const TESTED_KAFKA_VERSIONS = ['4.3.1', '3.9.2'] as const;

/**
 * The compatibility matrix: the latest patch of every release line from 2.8 to 4.3, as
 * org.apache.kafka:kafka_2.13 on Maven Central lists them (checked 2026-12-02).
 */
export const MATRIX_KAFKA_VERSIONS = [
  '2.8.2',
  '3.0.2',
  '3.1.2',
  '3.2.3',
  '3.3.2',
  '3.4.1',
  '3.5.2',
  '3.6.2',
  '3.7.2',
  '3.8.1',
  '3.9.2',
  '4.0.2',
  '4.1.2',
  '4.2.2',
  '4.3.2',
] as const;

/** The compatibility matrix starts at 2.8; older lines are neither tested nor offered. */
const OLDEST_SUPPORTED = [2, 8] as const;
/** KRaft is production-ready from 3.3 (KIP-833); older lines run with ZooKeeper. */
const FIRST_KRAFT = [3, 3] as const;
/** `kafka-storage format --add-scram` (KIP-900) arrived in 3.5. */
const FIRST_KRAFT_SCRAM = [3, 5] as const;

const RELEASES_PAGE = 'https://kafka.apache.org/community/downloads/';

export type ClusterMode = 'kraft' | 'zookeeper';

/** How the SASL user's SCRAM credentials come to exist, or why they cannot. */
export type ScramSetup =
  | { how: 'storage-format' } // `StorageTool format --add-scram`, before the first start
  | { how: 'zookeeper' } // ConfigCommand against ZooKeeper, before the brokers start
  | { how: 'unavailable'; why: string };

/** What an embedded cluster of one Kafka version runs and offers. */
export interface VersionFeatures {
  mode: ClusterMode;
  scram: ScramSetup;
  /** share.coordinator.* (share groups, KIP-932) are known from 4.0; older brokers would only warn. */
  shareCoordinator: boolean;
  /** Kafka 4 logs through log4j2; older lines through log4j 1 (reload4j from 3.4). */
  log4j2: boolean;
}

export function describeValidVersions(): string {
  return (
    `tested: ${TESTED_KAFKA_VERSIONS.join(', ')} (default ${DEFAULT_KAFKA_VERSION}); ` +
    `any Apache Kafka release from ${OLDEST_SUPPORTED.join('.')}.0 on that is published on Maven Central as org.apache.kafka:kafka_2.13 ` +
    `should work (ZooKeeper mode before ${FIRST_KRAFT.join('.')}, KRaft from it); releases are listed at ${RELEASES_PAGE}`
  );
}

function parse(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** True when version's major.minor is at least line's. */
function atLeast([major, minor]: [number, number, number], line: readonly [number, number]): boolean {
  return major > line[0] || (major === line[0] && minor >= line[1]);
}

/** Checks the shape of a requested version before anything is downloaded. */
export function validateKafkaVersion(version: string): string {
  const parsed = parse(version);
  if (!parsed) {
    throw new EmbeddedKafkaError(
      'UNKNOWN_VERSION',
      `"${version}" is not a Kafka release version like ${DEFAULT_KAFKA_VERSION}; ${describeValidVersions()}`,
    );
  }
  if (!atLeast(parsed, OLDEST_SUPPORTED)) {
    throw new EmbeddedKafkaError(
      'UNKNOWN_VERSION',
      `Kafka ${version} is older than the embedded broker supports; ${describeValidVersions()}`,
    );
  }
  return version;
}

export function clusterMode(version: string): ClusterMode {
  const parsed = parse(validateKafkaVersion(version)) as [number, number, number];
  return atLeast(parsed, FIRST_KRAFT) ? 'kraft' : 'zookeeper';
}

export function versionFeatures(version: string): VersionFeatures {
  const parsed = parse(validateKafkaVersion(version)) as [number, number, number];
  const mode = clusterMode(version);
  let scram: ScramSetup;
  if (mode === 'zookeeper') scram = { how: 'zookeeper' };
  else if (atLeast(parsed, FIRST_KRAFT_SCRAM)) scram = { how: 'storage-format' };
  else {
    scram = {
      how: 'unavailable',
      why:
        `Kafka ${version} in KRaft mode cannot create SCRAM users: KRaft stores them from 3.5 on ` +
        '(KIP-900), and this line has no ZooKeeper in the embedded cluster',
    };
  }
  return { mode, scram, shareCoordinator: parsed[0] >= 4, log4j2: parsed[0] >= 4 };
}
