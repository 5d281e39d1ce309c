import { readFileSync } from 'node:fs';
import type { ClusterOptions } from '../cluster/cluster.js';
import type { SaslOptions } from '../connection/sasl-mechanisms.js';
import { bootstrapFor, loadClusterState, nodeIsRunning } from '../embedded/cluster.js';
import { allowOnly, type ParsedArgs, parseArgs, stringFlag, UsageError } from './args.js';

/** The flags every command that talks to a cluster takes (see connectionOptions). */
export const CONNECTION_FLAGS = ['bootstrap', 'sasl-mechanism', 'sasl-username', 'sasl-password', 'tls', 'tls-ca'] as const;
/** Of CONNECTION_FLAGS, those without a value. */
export const CONNECTION_BOOLEAN_FLAGS = ['tls'] as const;

export const CONNECTION_USAGE = `  --bootstrap host:port,…     default KAFKA_BOOTSTRAP, else the running embedded cluster
  --sasl-mechanism M          PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with --sasl-username U --sasl-password P
  --tls [--tls-ca FILE]       connect over TLS, trusting the PEM CA certificate(s) in FILE`;

type Listener = 'plaintext' | 'saslPlaintext' | 'ssl';

/**
 * Where to connect: --bootstrap, else KAFKA_BOOTSTRAP, else the running embedded cluster's
 * listener for the given security (PLAINTEXT unless told otherwise).
 */
export function bootstrapFrom(args: ParsedArgs, listener: Listener = 'plaintext'): string {
  const given = stringFlag(args, 'bootstrap') ?? process.env.KAFKA_BOOTSTRAP;
  if (given) return given;
  const embedded = loadClusterState();
  if (embedded?.nodes.some(nodeIsRunning)) return bootstrapFor(embedded, listener);
  throw new UsageError(
    'no cluster to talk to: pass --bootstrap host:port, set KAFKA_BOOTSTRAP, or start one with "kafka-wire broker start"',
  );
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

/** bootstrap, sasl and tls for a Cluster or Producer, from the CONNECTION_FLAGS. */
export function connectionOptions(args: ParsedArgs): Pick<ClusterOptions, 'bootstrap' | 'sasl' | 'tls' | 'clientId'> {
  const sasl = saslFrom(args);
  const caFile = stringFlag(args, 'tls-ca');
  const useTls = args.flags.has('tls') || caFile !== undefined;
  let tls: ClusterOptions['tls'];
  if (useTls) {
    if (caFile !== undefined) {
      try {
        tls = { ca: readFileSync(caFile) };
      } catch (error) {
        throw new UsageError(`--tls-ca ${caFile}: ${(error as Error).message}`);
      }
    } else {
      tls = true;
    }
  }
  // The embedded cluster has a SASL_PLAINTEXT and an SSL listener (no SASL_SSL).
  const listener: Listener = sasl ? 'saslPlaintext' : useTls ? 'ssl' : 'plaintext';
  return { bootstrap: bootstrapFrom(args, listener), sasl, tls, clientId: 'kafka-wire-cli' };
}

/** A flag's value as an integer within [min, max], or undefined when not given. */
export function integerFlag(args: ParsedArgs, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = stringFlag(args, flag);
  if (raw === undefined) {
    if (args.flags.has(flag)) throw new UsageError(`--${flag} needs a value`);
    return undefined;
  }
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${flag} must be an integer${max === Number.MAX_SAFE_INTEGER ? ` ≥ ${min}` : ` from ${min} to ${max}`}, not "${raw}"`,
    );
  }
  return value;
}

/**
 * parseArgs + allowOnly, but an unknown option is reported as unknown even when it is last or
 * followed by another option (parseArgs alone would first complain that it "needs a value").
 */
export function parseKnown(argv: string[], known: readonly string[], booleans: readonly string[], command: string): ParsedArgs {
  const names = argv.filter((arg) => arg.startsWith('--')).map((arg) => arg.slice(2).split('=', 1)[0] as string);
  allowOnly({ positional: [], flags: new Map(names.map((name) => [name, true])) }, known, command);
  return parseArgs(argv, new Set(booleans));
}
