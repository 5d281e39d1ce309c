import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedKafkaError } from './errors.js';

/** Where downloaded Kafka jars live: outside the repository, shared by every checkout. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KAFKA_WIRE_CACHE_DIR) return resolve(env.KAFKA_WIRE_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'kafka-wire');
}

/** Where a named cluster keeps its configs, data, logs and pid files. */
export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KAFKA_WIRE_STATE_DIR) return resolve(env.KAFKA_WIRE_STATE_DIR);
  const xdg = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(xdg, 'kafka-wire');
}

export function clusterDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new EmbeddedKafkaError('BAD_ARGUMENT', `cluster name "${name}" must be 1-64 letters, digits, '-' or '_'`);
  }
  return join(stateRoot(env), name);
}
