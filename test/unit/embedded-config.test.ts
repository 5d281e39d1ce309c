import { describe, expect, test } from 'vitest';
import { brokerProperties, portsFromBase, portsFromList, SASL_USER, scramFormatArguments } from '../../src/embedded/config.js';
import { EmbeddedKafkaError } from '../../src/embedded/errors.js';
import { parseJavaMajor } from '../../src/embedded/tools.js';
import { DEFAULT_KAFKA_VERSION, TESTED_KAFKA_VERSIONS, validateKafkaVersion } from '../../src/embedded/versions.js';
import { parseProperties } from '../support/properties.js';

const tls = { caFile: '/s/ca.pem', keystoreFile: '/s/broker.p12', password: 'pw' };

describe('broker configuration', () => {
  test('ports from a base give each node four consecutive ports, ten apart', () => {
    expect(portsFromBase(9092, [1, 2, 3]).get(3)).toEqual({ plaintext: 9112, saslPlaintext: 9113, ssl: 9114, controller: 9115 });
  });

  test('a 3-node cluster lists every node as a voter and advertises only client listeners', () => {
    const ports = portsFromList([101, 102, 103, 104, 201, 202, 203, 204, 301, 302, 303, 304], [1, 2, 3]);
    const properties = parseProperties(brokerProperties({ nodeId: 2, ports, dataDir: '/d', tls, kafkaVersion: '4.3.1' }));
    expect(properties.get('node.id')).toBe('2');
    expect(properties.get('process.roles')).toBe('broker,controller');
    expect(properties.get('controller.quorum.voters')).toBe('1@127.0.0.1:104,2@127.0.0.1:204,3@127.0.0.1:304');
    expect(properties.get('listeners')).toBe(
      'PLAINTEXT://127.0.0.1:201,SASL_PLAINTEXT://127.0.0.1:202,SSL://127.0.0.1:203,CONTROLLER://127.0.0.1:204',
    );
    expect(properties.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:201,SASL_PLAINTEXT://127.0.0.1:202,SSL://127.0.0.1:203');
    expect(properties.get('default.replication.factor')).toBe('3');
    expect(properties.get('transaction.state.log.min.isr')).toBe('2');
    expect(properties.get('sasl.enabled.mechanisms')).toBe('PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER');
    expect(properties.get('listener.name.sasl_plaintext.plain.sasl.jaas.config')).toContain(
      `user_${SASL_USER.username}="${SASL_USER.password}"`,
    );
    expect(properties.get('ssl.keystore.location')).toBe('/s/broker.p12');
  });

  test('a node with a proxy gets a PROXIED plaintext listener advertised at the proxy; brokers still talk over PLAINTEXT', () => {
    const ports = portsFromBase(9092, [1]);
    (ports.get(1) as NonNullable<ReturnType<typeof ports.get>>).proxied = { listen: 9500, proxy: 9600 };
    const properties = parseProperties(brokerProperties({ nodeId: 1, ports, dataDir: '/d', tls, kafkaVersion: '4.3.1' }));
    expect(properties.get('listeners')).toBe(
      'PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093,SSL://127.0.0.1:9094,' +
        'PROXIED://127.0.0.1:9500,CONTROLLER://127.0.0.1:9095',
    );
    expect(properties.get('advertised.listeners')).toBe(
      'PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093,SSL://127.0.0.1:9094,PROXIED://127.0.0.1:9600',
    );
    expect(properties.get('listener.security.protocol.map')).toContain(',PROXIED:PLAINTEXT');
    expect(properties.get('inter.broker.listener.name')).toBe('PLAINTEXT');
  });

  test('a single node replicates internal topics once', () => {
    const properties = parseProperties(
      brokerProperties({ nodeId: 1, ports: portsFromBase(9092, [1]), dataDir: '/d', tls, kafkaVersion: '4.3.1' }),
    );
    expect(properties.get('offsets.topic.replication.factor')).toBe('1');
    expect(properties.get('transaction.state.log.min.isr')).toBe('1');
  });

  test('extra properties are added and win over the defaults', () => {
    const overrides = { 'log.retention.check.interval.ms': 250, 'num.partitions': 6 };
    const text = brokerProperties({ nodeId: 1, ports: portsFromBase(9092, [1]), dataDir: '/d', tls, kafkaVersion: '4.3.1', overrides });
    const properties = parseProperties(text);
    expect(properties.get('log.retention.check.interval.ms')).toBe('250');
    expect(properties.get('num.partitions')).toBe('6');
    expect(text.match(/^num\.partitions=/gm)).toHaveLength(1);
  });

  test('SCRAM users are created at format time for both SCRAM mechanisms', () => {
    expect(scramFormatArguments()).toEqual([
      '--add-scram',
      `SCRAM-SHA-256=[name=${SASL_USER.username},password=${SASL_USER.password}]`,
      '--add-scram',
      `SCRAM-SHA-512=[name=${SASL_USER.username},password=${SASL_USER.password}]`,
    ]);
  });
});

describe('Kafka versions', () => {
  test('the default is one of the tested versions and both tested versions validate', () => {
    expect(TESTED_KAFKA_VERSIONS).toContain(DEFAULT_KAFKA_VERSION);
    for (const version of TESTED_KAFKA_VERSIONS) expect(validateKafkaVersion(version)).toBe(version);
  });

  test.each(['latest', '4.3', '4.3.1-rc1', '2.7.2', '1.1.1'])('%j is refused with the valid versions named', (version) => {
    try {
      validateKafkaVersion(version);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EmbeddedKafkaError);
      expect((error as EmbeddedKafkaError).reason).toBe('UNKNOWN_VERSION');
      expect((error as Error).message).toContain(DEFAULT_KAFKA_VERSION);
    }
  });
});

test('java -version output gives the major version, old and new styles', () => {
  expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
  expect(parseJavaMajor('java version "1.8.0_402"')).toBe(8);
  expect(parseJavaMajor('openjdk version "21" 2023-09-19')).toBe(21);
  expect(parseJavaMajor('command not found')).toBeUndefined();
});
