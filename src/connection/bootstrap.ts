import { ConfigError } from '../errors.js';

/** One broker address from a bootstrap list. */
export interface BrokerAddress {
  host: string;
  port: number;
}

export class BootstrapParseError extends ConfigError {
  override readonly name = 'BootstrapParseError';
}

/** Parses "host:port,host:port" (IPv6 as "[::1]:9092"); every entry must name a port. */
export function parseBootstrap(list: string): BrokerAddress[] {
  const entries = list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new BootstrapParseError(`bootstrap list "${list}" names no broker; expected host:port[,host:port…]`);
  return entries.map((entry) => {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry);
    const host = match?.[1] ?? match?.[2];
    const port = Number(match?.[3]);
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new BootstrapParseError(`bootstrap entry "${entry}" is not host:port (IPv6 as [::1]:9092) with a port from 1 to 65535`);
    }
    return { host, port };
  });
}

export function formatAddress({ host, port }: BrokerAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
