import { LOOPBACK } from './ports.js';
import type { TlsMaterial } from './tls.js';
import { versionFeatures } from './versions.js';

export interface NodePorts {
  plaintext: number;
  saslPlaintext: number;
  ssl: number;
  controller: number;
  /**
   * With StartOptions.proxies: the port of a plaintext listener (PROXIED) whose advertised address
   * is the proxy's (`proxy`), so clients that bootstrap through the proxies reach every broker
   * through them, while brokers talk to each other directly.
   */
  proxied?: { listen: number; proxy: number };
  /**
   * With StartOptions.peerProxies: the port of the listener the other brokers replicate from
   * (REPLICATION), advertised at its proxy's port (`proxy`).
   */
  replication?: { listen: number; proxy: number };
  /** With StartOptions.peerProxies: where this node reaches each other controller (node id → proxy port). */
  controllersVia?: Readonly<Record<number, number>>;
}

/** The SASL user every embedded cluster creates, for PLAIN and both SCRAM mechanisms. */
export const SASL_USER = { username: 'kafkawire', password: 'kafkawire-secret' } as const;
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;

/** In ZooKeeper mode, the cluster's ZooKeeper listens on base + 9, a port no node's range (+0 to +3 from each ten) takes. */
export const ZOOKEEPER_PORT_OFFSET = 9;

/** Consecutive ports per node from a base: node n uses base + 10·(n−1) + {0,1,2,3}. */
export function portsFromBase(base: number, nodeIds: number[]): Map<number, NodePorts> {
  return new Map(
    nodeIds.map((id) => {
      const first = base + 10 * (id - 1);
      return [id, { plaintext: first, saslPlaintext: first + 1, ssl: first + 2, controller: first + 3 }];
    }),
  );
}

export function portsFromList(ports: number[], nodeIds: number[]): Map<number, NodePorts> {
  return new Map(
    nodeIds.map((id, index) => {
      const [plaintext, saslPlaintext, ssl, controller] = ports.slice(index * 4, index * 4 + 4) as [number, number, number, number];
      return [id, { plaintext, saslPlaintext, ssl, controller }];
    }),
  );
}

export interface BrokerConfigInput {
  nodeId: number;
  ports: Map<number, NodePorts>;
  dataDir: string;
  tls: TlsMaterial;
  /** The Kafka version the node runs: it decides the mode (KRaft or ZooKeeper) and which properties the broker knows. */
  kafkaVersion: string;
  /** ZooKeeper mode: the port of the cluster's ZooKeeper on loopback. */
  zookeeperPort?: number;
  /** Extra server.properties entries; they win over the defaults below. */
  overrides?: Readonly<Record<string, string | number>>;
}

function jaas(loginModule: string, options = ''): string {
  return `${loginModule} required${options ? ` ${options}` : ''};`;
}

/** The SASL mechanisms an embedded cluster of this version offers: SCRAM only where its users can be created. */
export function saslMechanisms(kafkaVersion: string): string[] {
  const scram = versionFeatures(kafkaVersion).scram.how !== 'unavailable';
  return SASL_MECHANISMS.filter((mechanism) => scram || !mechanism.startsWith('SCRAM-'));
}

/** KRaft: every node is a combined broker+controller and a static voter (works the same from 3.3 to 4.x). */
function kraftProperties(nodeId: number, ports: Map<number, NodePorts>, own: NodePorts): Record<string, string | number> {
  // Static voters: each node's own list says where it reaches the others (through a proxy, when given).
  const voters = [...ports]
    .map(([id, p]) => `${id}@${LOOPBACK}:${id === nodeId ? p.controller : (own.controllersVia?.[id] ?? p.controller)}`)
    .join(',');
  return {
    'process.roles': 'broker,controller',
    'node.id': nodeId,
    'controller.quorum.voters': voters,
    'controller.listener.names': 'CONTROLLER',
    // Notice a killed node in ~4 s instead of 9 s, so fault tests see elections quickly.
    'broker.heartbeat.interval.ms': 500,
    'broker.session.timeout.ms': 4000,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  };
}

/** ZooKeeper mode (before 3.3): brokers register in the cluster's own ZooKeeper; there is no controller listener. */
function zookeeperModeProperties(nodeId: number, zookeeperPort: number | undefined): Record<string, string | number> {
  if (zookeeperPort === undefined) throw new Error(`node ${nodeId} runs in ZooKeeper mode but no ZooKeeper port was given`);
  return {
    'broker.id': nodeId,
    'zookeeper.connect': `${LOOPBACK}:${zookeeperPort}`,
    // A killed broker's registration expires in 4 s (the least a 2 s tick allows), as a KRaft node's session does.
    'zookeeper.session.timeout.ms': 4000,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
  };
}

/**
 * server.properties for one node: a combined broker+controller in KRaft mode, a broker in
 * ZooKeeper mode. Clients get three listeners, one per security protocol, the same in both
 * modes; brokers talk to each other over PLAINTEXT.
 */
export function brokerProperties({ nodeId, ports, dataDir, tls, kafkaVersion, zookeeperPort, overrides }: BrokerConfigInput): string {
  const own = ports.get(nodeId);
  if (!own) throw new Error(`no ports for node ${nodeId}`);
  const features = versionFeatures(kafkaVersion);
  const kraft = features.mode === 'kraft';
  const nodeCount = ports.size;
  const clientListeners = [
    `PLAINTEXT://${LOOPBACK}:${own.plaintext}`,
    `SASL_PLAINTEXT://${LOOPBACK}:${own.saslPlaintext}`,
    `SSL://${LOOPBACK}:${own.ssl}`,
  ].join(',');
  // Extra plaintext listeners, each advertised at its proxy's port.
  const extra = Object.entries({ PROXIED: own.proxied, REPLICATION: own.replication }).filter(
    (entry): entry is [string, { listen: number; proxy: number }] => entry[1] !== undefined,
  );
  const listeners = [clientListeners, ...extra.map(([name, p]) => `${name}://${LOOPBACK}:${p.listen}`)];
  if (kraft) listeners.push(`CONTROLLER://${LOOPBACK}:${own.controller}`);
  const advertised = [clientListeners, ...extra.map(([name, p]) => `${name}://${LOOPBACK}:${p.proxy}`)].join(',');
  const protocols = [
    'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL',
    ...(kraft ? ['CONTROLLER:PLAINTEXT'] : []),
    ...extra.map(([name]) => `${name}:PLAINTEXT`),
  ].join(',');
  const replication = Math.min(3, nodeCount);
  const mechanisms = saslMechanisms(kafkaVersion);
  const scram = jaas('org.apache.kafka.common.security.scram.ScramLoginModule');
  const properties: Record<string, string | number> = {
    ...(kraft ? kraftProperties(nodeId, ports, own) : zookeeperModeProperties(nodeId, zookeeperPort)),
    listeners: listeners.join(','),
    'advertised.listeners': advertised,
    'listener.security.protocol.map': protocols,
    'inter.broker.listener.name': own.replication ? 'REPLICATION' : 'PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': 1,
    'default.replication.factor': replication,
    'offsets.topic.replication.factor': replication,
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': Math.min(2, nodeCount),
    ...(features.shareCoordinator
      ? {
          'share.coordinator.state.topic.replication.factor': replication,
          'share.coordinator.state.topic.min.isr': Math.min(2, nodeCount),
        }
      : {}),
    'group.initial.rebalance.delay.ms': 0,
    // Tests delete many topics; make that quick.
    'log.segment.delete.delay.ms': 1000,
    'file.delete.delay.ms': 1000,
    // Deleted topics' files otherwise stay until 30 s after start (KAFKA-16552 made that settable,
    // internal, from 3.8; older brokers ignore the key): the bench's first runs would each take new memory.
    'log.initial.task.delay.ms': 1000,
    'sasl.enabled.mechanisms': mechanisms.join(','),
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': jaas(
      'org.apache.kafka.common.security.plain.PlainLoginModule',
      `user_${SASL_USER.username}="${SASL_USER.password}"`,
    ),
    ...(mechanisms.includes('SCRAM-SHA-256')
      ? {
          'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config': scram,
          'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': scram,
        }
      : {}),
    // OAUTHBEARER with Kafka's built-in validator of unsigned tokens: for testing token providers, never for production.
    'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config': jaas(
      'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule',
    ),
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': tls.keystoreFile,
    'ssl.keystore.password': tls.password,
    'ssl.key.password': tls.password,
    'ssl.client.auth': 'none',
    // ACLs are enforced (authorizer.class.name above), so authorization failures can be tested:
    // the SASL user is subject to them, while unauthenticated listeners (PLAINTEXT, SSL,
    // controller) act as a super user, and a resource without ACLs is open to all.
    'super.users': 'User:ANONYMOUS',
    'allow.everyone.if.no.acl.found': 'true',
    ...overrides,
  };
  return `${Object.entries(properties)
    .map(([key, value]) => `${key}=${String(value).replaceAll('\\', '\\\\')}`)
    .join('\n')}\n`;
}

/** Arguments to `StorageTool format` that create the SASL user's SCRAM credentials. */
export function scramFormatArguments(): string[] {
  return SASL_MECHANISMS.filter((mechanism) => mechanism.startsWith('SCRAM-')).flatMap((mechanism) => [
    '--add-scram',
    `${mechanism}=[name=${SASL_USER.username},password=${SASL_USER.password}]`,
  ]);
}

/** log4j2 (Kafka 4) and reload4j (Kafka 3) configs: INFO to stdout, which goes to the node's log file. */
export const LOG4J2_PROPERTIES = `status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.kafka.name = org.apache.kafka
logger.kafka.level = info
`;

export const LOG4J1_PROPERTIES = `log4j.rootLogger=INFO, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
`;
