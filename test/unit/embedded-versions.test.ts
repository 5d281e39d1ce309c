import { describe, expect, test } from 'vitest';
import { onlyToolsMissing } from '../../src/embedded/artifacts.js';
import { brokerProperties, portsFromBase, SASL_USER, saslMechanisms, ZOOKEEPER_PORT_OFFSET } from '../../src/embedded/config.js';
import {
  clusterMode,
  DEFAULT_KAFKA_VERSION,
  MATRIX_KAFKA_VERSIONS,
  TESTED_KAFKA_VERSIONS,
  validateKafkaVersion,
  versionFeatures,
} from '../../src/embedded/versions.js';
import { scramCredentialArguments, zookeeperProperties, zookeeperState } from '../../src/embedded/zookeeper.js';
import { parseProperties } from '../support/properties.js';

const tls = { caFile: '/s/ca.pem', keystoreFile: '/s/broker.p12', password: 'pw' };

function properties(kafkaVersion: string, nodeIds = [1], zookeeperPort?: number): Map<string, string> {
  const text = brokerProperties({ nodeId: 1, ports: portsFromBase(9092, nodeIds), dataDir: '/d', tls, kafkaVersion, zookeeperPort });
  return parseProperties(text);
}

describe('which Kafka versions run how', () => {
  test('2.8 to 3.2 run in ZooKeeper mode, 3.3 on in KRaft', () => {
    expect(['2.8.0', '2.8.2', '3.0.2', '3.2.3'].map(clusterMode)).toEqual(['zookeeper', 'zookeeper', 'zookeeper', 'zookeeper']);
    expect(['3.3.0', '3.4.1', '3.9.2', '4.3.1', '10.0.0'].map(clusterMode)).toEqual(['kraft', 'kraft', 'kraft', 'kraft', 'kraft']);
  });

  test('2.8.0 is the oldest accepted; 2.7 is refused before anything is fetched', () => {
    expect(validateKafkaVersion('2.8.0')).toBe('2.8.0');
    expect(() => validateKafkaVersion('2.7.2')).toThrow(/older than the embedded broker supports/);
    expect(() => clusterMode('2.7.2')).toThrow(/older/);
  });

  test('SCRAM users: ConfigCommand against ZooKeeper before 3.3, none in KRaft 3.3-3.4, storage format from 3.5', () => {
    expect(versionFeatures('2.8.2').scram).toEqual({ how: 'zookeeper' });
    expect(versionFeatures('3.2.3').scram).toEqual({ how: 'zookeeper' });
    for (const version of ['3.3.2', '3.4.1']) {
      const { scram } = versionFeatures(version);
      expect(scram.how).toBe('unavailable');
      expect(scram.how === 'unavailable' && scram.why).toMatch(new RegExp(`Kafka ${version} in KRaft mode cannot create SCRAM users`));
    }
    expect(versionFeatures('3.5.0').scram).toEqual({ how: 'storage-format' });
    expect(versionFeatures('4.3.1').scram).toEqual({ how: 'storage-format' });
  });

  test('share coordinator settings and log4j2 from 4.0 only', () => {
    expect(versionFeatures('3.9.2')).toMatchObject({ shareCoordinator: false, log4j2: false });
    expect(versionFeatures('4.0.0')).toMatchObject({ shareCoordinator: true, log4j2: true });
  });

  test('the matrix has exactly one release of each line from 2.8 to 4.3, oldest first, and holds the tested ones', () => {
    const lines = MATRIX_KAFKA_VERSIONS.map((version) => version.split('.').slice(0, 2).join('.'));
    expect(lines).toEqual(['2.8', '3.0', '3.1', '3.2', '3.3', '3.4', '3.5', '3.6', '3.7', '3.8', '3.9', '4.0', '4.1', '4.2', '4.3']);
    for (const version of MATRIX_KAFKA_VERSIONS) expect(validateKafkaVersion(version)).toBe(version);
    expect(MATRIX_KAFKA_VERSIONS).toContain('3.9.2');
    expect(TESTED_KAFKA_VERSIONS).toContain(DEFAULT_KAFKA_VERSION);
  });
});

describe('server.properties per version', () => {
  test('ZooKeeper mode: broker.id, zookeeper.connect and AclAuthorizer, no KRaft or controller settings', () => {
    const zk = properties('2.8.2', [1], 9101);
    expect(zk.get('broker.id')).toBe('1');
    expect(zk.get('zookeeper.connect')).toBe('127.0.0.1:9101');
    expect(zk.get('zookeeper.session.timeout.ms')).toBe('4000');
    expect(zk.get('authorizer.class.name')).toBe('kafka.security.authorizer.AclAuthorizer');
    for (const key of [
      'process.roles',
      'node.id',
      'controller.quorum.voters',
      'controller.listener.names',
      'broker.heartbeat.interval.ms',
      'broker.session.timeout.ms',
      'share.coordinator.state.topic.replication.factor',
    ]) {
      expect(zk.has(key), key).toBe(false);
    }
    expect(zk.get('listeners')).toBe('PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093,SSL://127.0.0.1:9094');
    expect(zk.get('listener.security.protocol.map')).toBe('PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL');
    expect(zk.get('sasl.enabled.mechanisms')).toBe('PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER');
    expect(zk.get('listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config')).toContain('ScramLoginModule');
    expect(zk.get('super.users')).toBe('User:ANONYMOUS');
    expect(zk.get('allow.everyone.if.no.acl.found')).toBe('true');
  });

  test('ZooKeeper mode needs the ZooKeeper port', () => {
    expect(() => properties('3.2.3')).toThrow(/no ZooKeeper port/);
  });

  test('the three client listeners are the same in both modes', () => {
    const zk = properties('3.2.3', [1], 9101);
    const kraft = properties('3.9.2');
    expect(zk.get('advertised.listeners')).toBe(kraft.get('advertised.listeners'));
    expect(kraft.get('listeners')).toBe(`${zk.get('listeners')},CONTROLLER://127.0.0.1:9095`);
  });

  test('KRaft 3.3-3.4: StandardAuthorizer and no SCRAM mechanism, since its users cannot be created', () => {
    const kraft = properties('3.4.1');
    expect(kraft.get('process.roles')).toBe('broker,controller');
    expect(kraft.get('controller.quorum.voters')).toBe('1@127.0.0.1:9095');
    expect(kraft.has('zookeeper.connect')).toBe(false);
    expect(kraft.get('authorizer.class.name')).toBe('org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    expect(kraft.get('sasl.enabled.mechanisms')).toBe('PLAIN,OAUTHBEARER');
    expect([...kraft.keys()].filter((key) => key.includes('scram'))).toEqual([]);
    expect(saslMechanisms('3.3.2')).toEqual(['PLAIN', 'OAUTHBEARER']);
  });

  test('share.coordinator.* only where the broker knows them (4.0 on)', () => {
    expect(properties('3.9.2').has('share.coordinator.state.topic.replication.factor')).toBe(false);
    expect(properties('4.3.1').get('share.coordinator.state.topic.replication.factor')).toBe('1');
    expect(properties('3.9.2').get('sasl.enabled.mechanisms')).toBe('PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER');
  });
});

describe('the ZooKeeper of a ZooKeeper-mode cluster', () => {
  test('listens on loopback only, without the AdminServer, with ticks that allow 4 s sessions', () => {
    const state = zookeeperState('/state/old', 9101);
    expect(state).toMatchObject({ configFile: '/state/old/zookeeper/zookeeper.properties', dataDir: '/state/old/zookeeper/data' });
    const config = zookeeperProperties(state);
    expect(config).toContain('clientPort=9101\n');
    expect(config).toContain('clientPortAddress=127.0.0.1\n');
    expect(config).toContain('admin.enableServer=false\n');
    expect(config).toContain('tickTime=2000\n');
    expect(config).toContain('4lw.commands.whitelist=srvr\n');
    expect(config).toContain('dataDir=/state/old/zookeeper/data\n');
  });

  test('its port is base + 9, clear of every node range', () => {
    const taken = [...portsFromBase(9092, [1, 2, 3]).values()].flatMap((p) => [p.plaintext, p.saslPlaintext, p.ssl, p.controller]);
    expect(taken).not.toContain(9092 + ZOOKEEPER_PORT_OFFSET);
  });

  test("the SASL user's SCRAM credentials are created through ConfigCommand against it", () => {
    expect(scramCredentialArguments(9101)).toEqual([
      'kafka.admin.ConfigCommand',
      '--zookeeper',
      '127.0.0.1:9101',
      '--alter',
      '--add-config',
      `SCRAM-SHA-256=[password=${SASL_USER.password}],SCRAM-SHA-512=[password=${SASL_USER.password}]`,
      '--entity-type',
      'users',
      '--entity-name',
      SASL_USER.username,
    ]);
  });
});

describe('a release without kafka-tools on Maven Central', () => {
  // Maven 3.8's words when a dependency is not published (seen with kafka-tools 3.4.7).
  const missing = (artifact: string, version: string) =>
    '[WARNING] The POM for org.apache.kafka:kafka-tools:jar:3.4.7 is missing, no dependency information available\n' +
    '[ERROR] Failed to execute goal on project kafka-3.4.7: Could not resolve dependencies for project ' +
    `kafka-wire.embedded:kafka-3.4.7:pom:1: Could not find artifact org.apache.kafka:${artifact}:jar:${version} in central ` +
    '(https://repo.maven.apache.org/maven2) -> [Help 1]\n';

  test('is fetched again without the tools when they alone are missing', () => {
    expect(onlyToolsMissing('3.4.7', missing('kafka-tools', '3.4.7'))).toBe(true);
    expect(onlyToolsMissing('4.4.0', missing('kafka-tools-api', '4.4.0'))).toBe(true);
  });

  test('fails as before when the broker itself is missing, or Maven failed otherwise', () => {
    expect(onlyToolsMissing('3.4.7', missing('kafka_2.13', '3.4.7'))).toBe(false);
    expect(onlyToolsMissing('3.4.7', missing('kafka-tools', '3.4.7') + missing('kafka_2.13', '3.4.7'))).toBe(false);
    expect(onlyToolsMissing('3.4.7', '[ERROR] Could not transfer artifact: Connection refused')).toBe(false);
  });
});
