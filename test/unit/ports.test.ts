import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { EmbeddedKafkaError } from '../../src/embedded/errors.js';
import { assertPortsFree, describePortHolder, freePorts, portIsFree } from '../../src/embedded/ports.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function hold(): Promise<number> {
  const server = createServer();
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

test('freePorts hands out distinct ports that are free, outside the range outgoing connections take theirs from', async () => {
  const ports = await freePorts(8);
  expect(new Set(ports).size).toBe(8);
  for (const port of ports) expect(await portIsFree(port)).toBe(true);
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];
  for (const port of ports) expect(port < low || port > high).toBe(true);
});

test('freePorts avoids the ports given as taken: ports chosen for the same cluster that nothing listens on yet', async () => {
  // About a fifth of the range taken: a choice that ignored them would pick one of 100 ports in about 1 in 10^11 runs only by luck.
  const taken = new Set(await freePorts(5000));
  const more = await freePorts(100, taken);
  expect(new Set(more).size).toBe(100);
  expect(more.filter((port) => taken.has(port))).toEqual([]);
});

test('a held port is reported with its port number and holder', async () => {
  const port = await hold();
  expect(await portIsFree(port)).toBe(false);
  expect(describePortHolder(port)).toContain(`pid ${process.pid}`);
  const error = await assertPortsFree([port]).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(EmbeddedKafkaError);
  expect((error as EmbeddedKafkaError).reason).toBe('PORT_IN_USE');
  expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  expect((error as Error).message).toContain(`pid ${process.pid}`);
});
