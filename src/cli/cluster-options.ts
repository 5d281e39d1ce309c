import { readFileSync } from 'node:fs';
import type { ClusterOptions } from '../cluster/cluster.js';
import type { SaslOptions } from '../connection/sasl-mechanisms.js';
import { bootstrapFor, type ClusterState, DEFAULT_CLUSTER_NAME, loadClusterState, nodeIsRunning } from '../embedded/cluster.js';
import { type ParsedArgs, stringFlag, UsageError } from './args.js';

/** The flags every command that talks to a cluster takes (see connectionOptions). */
export const CONNECTION_OPTIONS = ['bootstrap', 'name', 'sasl-mechanism', 'sasl-username', 'sasl-password', 'tls-ca'] as const;
/** Of the connection flags, those without a value. */
export const CONNECTION_SWITCHES = ['tls'] as const;

export const CONNECTION_USAGE = `connection (every command that talks to a cluster):
  --bootstrap host:port,…     the cluster to use; default KAFKA_BOOTSTRAP, else the running embedded cluster
  --name NAME                 the running embedded cluster NAME ("kafka-wire broker start --name NAME")
  --sasl-mechanism M          PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with --sasl-username U --sasl-password P
  --tls [--tls-ca FILE]       connect over TLS, trusting the PEM CA certificate(s) in FILE
                              (with an embedded cluster: its SASL_PLAINTEXT or SSL listener, and its CA)`;

export type ConnectionOptions = Pick<ClusterOptions, 'bootstrap' | 'sasl' | 'tls' | 'clientId'>;
type Listener = 'plaintext' | 'saslPlaintext' | 'ssl';

/** Where the connection flags point: an address list, or a running embedded cluster. */
type Target = { bootstrap: string } | { embedded: ClusterState };

/**
 * --bootstrap, else --name (an embedded cluster), else KAFKA_BOOTSTRAP, else the running
 * default embedded cluster; undefined when none of them gives a cluster.
 */
function findTarget(args: ParsedArgs): Target | undefined {
  const bootstrap = stringFlag(args, 'bootstrap');
  const name = stringFlag(args, 'name');
  if (bootstrap !== undefined && name !== undefined) throw new UsageError('--bootstrap and --name exclude each other: pass one');
  if (bootstrap !== undefined) return { bootstrap };
  if (name !== undefined) {
    const state = loadClusterState(name);
    if (!state?.nodes.some(nodeIsRunning)) {
      throw new UsageError(`no embedded cluster "${name}" is running; start it with "kafka-wire broker start --name ${name}"`);
    }
    return { embedded: state };
  }
  if (process.env.KAFKA_BOOTSTRAP) return { bootstrap: process.env.KAFKA_BOOTSTRAP };
  const running = loadClusterState(DEFAULT_CLUSTER_NAME);
  return running?.nodes.some(nodeIsRunning) ? { embedded: running } : undefined;
}

/** True when the connection flags (or KAFKA_BOOTSTRAP, or a running default cluster) name a cluster to talk to. */
export function hasClusterTarget(args: ParsedArgs): boolean {
  return findTarget(args) !== undefined;
}

const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

function saslFrom(args: ParsedArgs): SaslOptions | undefined {
  const mechanism = stringFlag(args, 'sasl-mechanism');
  const username = stringFlag(args, 'sasl-username');
  const password = stringFlag(args, 'sasl-password');
  if (mechanism === undefined) {
    if (username !== undefined || password !== undefined) throw new UsageError('--sasl-username and --sasl-password need --sasl-mechanism');
    return undefined;
  }
  const upper = mechanism.toUpperCase() as (typeof SASL_MECHANISMS)[number];
  if (!SASL_MECHANISMS.includes(upper))
    throw new UsageError(`--sasl-mechanism must be one of ${SASL_MECHANISMS.join(', ')}, not "${mechanism}"`);
  if (username === undefined || password === undefined)
    throw new UsageError(`--sasl-mechanism ${upper} needs --sasl-username and --sasl-password`);
  return { mechanism: upper, username, password };
}

function readCa(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`${flag} ${file}: ${(error as Error).message}`);
  }
}

/**
 * bootstrap, sasl and tls for a Cluster or Producer, from the connection flags. With an embedded
 * cluster, the listener follows the security asked for, and TLS trusts that cluster's own CA
 * unless --tls-ca says otherwise. `started` is the cluster to use when the flags name none
 * (the demo's own); without it, having no cluster is a UsageError.
 */
export function connectionOptions(args: ParsedArgs, started?: ClusterState): ConnectionOptions {
  const sasl = saslFrom(args);
  const caFile = stringFlag(args, 'tls-ca');
  const useTls = args.flags.has('tls') || caFile !== undefined;
  const target = findTarget(args) ?? (started ? { embedded: started } : undefined);
  if (!target) {
    throw new UsageError(
      'no cluster to talk to: pass --bootstrap host:port or --name NAME, set KAFKA_BOOTSTRAP, or start one with "kafka-wire broker start"',
    );
  }
  let bootstrap: string;
  let tls: ClusterOptions['tls'];
  if ('embedded' in target) {
    if (sasl && useTls) throw new UsageError('the embedded cluster has no SASL_SSL listener: use the --sasl-… flags or --tls, not both');
    const listener: Listener = sasl ? 'saslPlaintext' : useTls ? 'ssl' : 'plaintext';
    bootstrap = bootstrapFor(target.embedded, listener);
    if (useTls) tls = { ca: caFile !== undefined ? readCa(caFile, '--tls-ca') : readCa(target.embedded.tls.caFile, 'the embedded CA') };
  } else {
    bootstrap = target.bootstrap;
    if (useTls) tls = caFile !== undefined ? { ca: readCa(caFile, '--tls-ca') } : true;
  }
  return { bootstrap, sasl, tls, clientId: 'kafka-wire-cli' };
}
