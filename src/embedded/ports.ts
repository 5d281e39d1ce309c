import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { EmbeddedKafkaError } from './errors.js';

export const LOOPBACK = '127.0.0.1';

/** Resolves true when nothing is listening on 127.0.0.1:port (we could bind it). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
}

/** Linux's default ip_local_port_range, where it finds none to read. */
const DEFAULT_EPHEMERAL: [number, number] = [32768, 60999];
/** Ports below this are left to services. */
const LOWEST_CHOSEN = 10_000;

/** The range the kernel takes the source ports of outgoing connections (and port 0 binds) from. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low as number, high as number];
  } catch {
    // Not Linux, or no /proc: the default range.
  }
  return DEFAULT_EPHEMERAL;
}

/** Ports [from, to) below the ephemeral range, or above it when there is more room there. */
function rangeOutsideEphemeral(): [number, number] {
  const [low, high] = ephemeralRange();
  const below = low - LOWEST_CHOSEN;
  const above = 65_536 - (high + 1);
  if (below >= above) return [LOWEST_CHOSEN, low];
  return [high + 1, 65_536];
}

/**
 * `count` distinct ports nothing listens on now, chosen at random outside the kernel's ephemeral
 * range: a port from inside it (what a bind to port 0 gives) can be taken as the source port of
 * any outgoing connection in the seconds before Kafka binds it, and on a busy machine it was
 * (a faults run's broker failed to start: "Address already in use"). A port outside the range is
 * taken only by another explicit bind. Where the range leaves no room, the OS's ports.
 *
 * `taken` are ports already chosen for the same cluster but not bound yet: nothing listens on
 * them, so only this list keeps a second choice from picking one again (two listeners of a node
 * on one port, which Kafka refuses to start with).
 */
export async function freePorts(count: number, taken: ReadonlySet<number> = new Set()): Promise<number[]> {
  const [from, to] = rangeOutsideEphemeral();
  if (to - from < 1000) return osAssignedPorts(count, taken);
  const chosen = new Set<number>();
  for (let tries = 0; chosen.size < count; tries++) {
    if (tries >= count * 100) {
      throw new EmbeddedKafkaError('PORT_IN_USE', `found only ${chosen.size} of ${count} free ports in ${from}-${to - 1}`);
    }
    const port = from + Math.floor(Math.random() * (to - from));
    if (!chosen.has(port) && !taken.has(port) && (await portIsFree(port))) chosen.add(port);
  }
  return [...chosen];
}

/** Ports the OS hands out now for port 0 binds (from the ephemeral range), none of them in `taken`. */
async function osAssignedPorts(count: number, taken: ReadonlySet<number>): Promise<number[]> {
  const ports: number[] = [];
  // The OS may hand out a port of `taken` again, as nothing listens there yet: such ones are asked for again.
  for (let round = 0; ports.length < count; round++) {
    if (round >= 10) throw new EmbeddedKafkaError('PORT_IN_USE', `found only ${ports.length} of ${count} free ports`);
    const given = await boundAndReleased(count - ports.length);
    ports.push(...given.filter((port) => !taken.has(port) && !ports.includes(port)));
  }
  return ports;
}

/** Binds `count` listeners to port 0 at once (so the OS gives distinct ports), closes them, and returns their ports. */
async function boundAndReleased(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer();
      return new Promise<ReturnType<typeof createServer>>((resolvePromise, reject) => {
        server.once('error', reject);
        server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => resolvePromise(server));
      });
    }),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('listening socket has no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
  return ports;
}

/**
 * Best-effort answer to "who holds this port?" on Linux: find the listening socket's inode in
 * /proc/net/tcp{,6}, then the process with a file descriptor on that inode. Other processes'
 * descriptors are only visible to their owner or root, so this may find nothing.
 */
export function describePortHolder(port: number): string | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      const localAddress = columns[1];
      const state = columns[3];
      const inode = columns[9];
      if (!localAddress || state !== '0A' || !inode) continue; // 0A = LISTEN
      if (Number.parseInt(localAddress.split(':')[1] ?? '', 16) === port) inodes.add(inode);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1] && inodes.has(match[1])) {
        const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        return `pid ${pid} (${commandLine.length > 160 ? `${commandLine.slice(0, 160)}…` : commandLine})`;
      }
    }
  }
  return undefined;
}

/** Fails with PORT_IN_USE naming the first taken port and, if it can be found, its holder. */
export async function assertPortsFree(ports: number[]): Promise<void> {
  for (const port of ports) {
    if (await portIsFree(port)) continue;
    const holder = describePortHolder(port);
    throw new EmbeddedKafkaError(
      'PORT_IN_USE',
      `port ${LOOPBACK}:${port} is already in use${holder ? ` by ${holder}` : ' (its holder could not be identified)'}; ` +
        'stop it or choose other ports with --port-base',
    );
  }
}
