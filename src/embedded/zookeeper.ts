import { connect } from 'node:net';
import { join } from 'node:path';
import { SASL_USER } from './config.js';
import { LOOPBACK } from './ports.js';

/** The cluster's own ZooKeeper, in ZooKeeper mode (Kafka before 3.3): one standalone server on loopback. */
export interface ZooKeeperState {
  port: number;
  dataDir: string;
  configFile: string;
  logFile: string;
  pidFile: string;
  /** Read from pidFile, like a node's. */
  pid: number | null;
}

/** ZooKeeper's server, on the classpath through Kafka's own dependency on org.apache.zookeeper:zookeeper. */
export const ZOOKEEPER_MAIN_CLASS = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';

/** ZooKeeper needs far less than a broker. */
export const ZOOKEEPER_HEAP = ['-Xms32m', '-Xmx256m'];

export function zookeeperState(clusterDir: string, port: number): ZooKeeperState {
  const dir = join(clusterDir, 'zookeeper');
  return {
    port,
    dataDir: join(dir, 'data'),
    configFile: join(dir, 'zookeeper.properties'),
    logFile: join(dir, 'zookeeper.log'),
    pidFile: join(dir, 'zookeeper.pid'),
    pid: null,
  };
}

/** zoo.cfg for a standalone server that only loopback reaches. */
export function zookeeperProperties({ port, dataDir }: Pick<ZooKeeperState, 'port' | 'dataDir'>): string {
  const properties: Record<string, string | number> = {
    dataDir,
    clientPort: port,
    clientPortAddress: LOOPBACK,
    // 2 s ticks let sessions be as short as 4 s (2 ticks), the brokers' zookeeper.session.timeout.ms.
    tickTime: 2000,
    maxClientCnxns: 0,
    // The AdminServer (3.5+) would take port 8080, which other clusters and programs want too.
    'admin.enableServer': 'false',
    // `srvr` is how we tell that it serves.
    '4lw.commands.whitelist': 'srvr',
  };
  return `${Object.entries(properties)
    .map(([key, value]) => `${key}=${String(value).replaceAll('\\', '\\\\')}`)
    .join('\n')}\n`;
}

/**
 * Arguments to java that create the SASL user's SCRAM credentials in ZooKeeper, where
 * ZooKeeper-mode brokers read them from; run before the brokers start, as Kafka's docs do.
 */
export function scramCredentialArguments(port: number): string[] {
  const password = SASL_USER.password;
  return [
    'kafka.admin.ConfigCommand',
    '--zookeeper',
    `${LOOPBACK}:${port}`,
    '--alter',
    '--add-config',
    `SCRAM-SHA-256=[password=${password}],SCRAM-SHA-512=[password=${password}]`,
    '--entity-type',
    'users',
    '--entity-name',
    SASL_USER.username,
  ];
}

/**
 * True when the server at port answers the `srvr` four-letter word as a serving server
 * (one that is still starting says "not currently serving requests").
 */
export function zookeeperServes(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    let answer = '';
    const socket = connect({ host: LOOPBACK, port });
    const done = (serves: boolean) => {
      socket.destroy();
      resolvePromise(serves);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('connect', () => socket.end('srvr'));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => done(false));
    socket.on('close', () => done(/^Mode: /m.test(answer)));
  });
}
