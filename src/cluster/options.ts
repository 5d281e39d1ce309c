import { type BrokerAddress, parseBootstrap } from '../connection/bootstrap.js';
import type { TlsOptions } from '../connection/connection.js';
import type { PoolOptions } from '../connection/pool.js';
import { type SaslOptions, validateSaslOptions } from '../connection/sasl-mechanisms.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { booleanOption, describeValue, integerOption, objectOption, stringOption } from '../option-checks.js';
import type { MetadataOptions } from './metadata.js';

export interface ClusterOptions extends MetadataOptions {
  /** "host:port,host:port" or parsed addresses; every entry is tried until one answers. */
  bootstrap: string | BrokerAddress[];
  clientId?: string;
  tls?: TlsOptions | boolean;
  sasl?: SaslOptions;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  reconnectBackoff?: PoolOptions['reconnectBackoff'];
  idleTimeoutMs?: number;
  /** Let Metadata requests create missing topics (off by default). */
  allowAutoTopicCreation?: boolean;
  /** Where connection, metadata and retry events are logged; pino's or console's shape (see Logger). */
  logger?: Logger;
}

/** The bootstrap addresses, parsed and checked. */
function bootstrapAddresses(value: unknown): BrokerAddress[] {
  if (typeof value === 'string') return parseBootstrap(value);
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(
      `option bootstrap must be "host:port[,host:port…]" or a non-empty array of { host, port }, not ${describeValue(value)}`,
    );
  }
  return value.map((entry: unknown, index) => {
    const { host, port } = (entry ?? {}) as Partial<BrokerAddress>;
    if (typeof host !== 'string' || host === '' || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`option bootstrap[${index}] must be { host, port } with a port from 1 to 65535, not ${describeValue(entry)}`);
    }
    return { host, port };
  });
}

/** Checks every cluster option a caller can get wrong; returns the bootstrap addresses. A mistake is a ConfigError naming the option. */
export function checkClusterOptions(options: ClusterOptions): BrokerAddress[] {
  if (options === null || typeof options !== 'object')
    throw new ConfigError(`options must be an object with at least bootstrap, not ${describeValue(options)}`);
  const bootstrap = bootstrapAddresses(options.bootstrap);
  stringOption('clientId', options.clientId, '');
  if (options.tls !== undefined && typeof options.tls !== 'boolean') objectOption('tls', options.tls);
  if (options.sasl !== undefined) {
    try {
      validateSaslOptions(options.sasl);
    } catch (error) {
      throw new ConfigError(`option sasl: ${(error as Error).message}`, { cause: error });
    }
  }
  integerOption('connectTimeoutMs', options.connectTimeoutMs, 0, 1);
  integerOption('requestTimeoutMs', options.requestTimeoutMs, 0, 1);
  integerOption('idleTimeoutMs', options.idleTimeoutMs, 0, 0);
  integerOption('maxAgeMs', options.maxAgeMs, 0, 0);
  integerOption('minRefreshIntervalMs', options.minRefreshIntervalMs, 0, 0);
  integerOption('partitionCountRefreshMs', options.partitionCountRefreshMs, 0, 0);
  booleanOption('allowAutoTopicCreation', options.allowAutoTopicCreation, false);
  const backoff = objectOption<NonNullable<PoolOptions['reconnectBackoff']>>('reconnectBackoff', options.reconnectBackoff);
  if (backoff) {
    const initialMs = integerOption('reconnectBackoff.initialMs', backoff.initialMs, 'required', 0);
    integerOption('reconnectBackoff.maxMs', backoff.maxMs, 'required', initialMs);
  }
  objectOption('logger', options.logger);
  return bootstrap;
}
