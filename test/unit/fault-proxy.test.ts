import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { FaultProxy } from '../../faults/proxy.js';
import { ProxyHost } from '../../faults/proxy-host.js';

/** The fault layer of issue 15 (faults/proxy.ts) against a loopback echo server. */

let echo: Server | undefined;
let proxy: FaultProxy | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await proxy?.close();
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
  echo = undefined;
  proxy = undefined;
});

/** An echo server, a proxy in front of it, and what the server received. */
async function setUp(): Promise<{ received: () => string }> {
  let received = '';
  echo = createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      socket.write(chunk);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => echo?.listen(0, '127.0.0.1', resolve));
  const address = echo.address();
  proxy = await FaultProxy.listen(0, typeof address === 'object' && address ? address.port : 0);
  return { received: () => received };
}

interface Client {
  socket: Socket;
  chunks: Buffer[];
  text: () => string;
  closed: Promise<string>;
}

async function client(): Promise<Client> {
  const socket = connect((proxy as FaultProxy).port, '127.0.0.1');
  sockets.push(socket);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('close', () => resolve('closed'));
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, chunks, text: () => Buffer.concat(chunks).toString(), closed };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('not within the bound');
    await sleep(5);
  }
}

describe('FaultProxy', () => {
  test('no rules: bytes pass both ways unchanged', async () => {
    const { received } = await setUp();
    const c = await client();
    c.socket.write('hello');
    await until(() => c.text() === 'hello');
    expect(received()).toBe('hello');
  });

  test('latency: a response comes no sooner than the delay added each way', async () => {
    await setUp();
    proxy?.set({ latencyMs: 100 });
    const c = await client();
    const sent = performance.now();
    c.socket.write('x');
    await until(() => c.text() === 'x');
    expect(performance.now() - sent).toBeGreaterThanOrEqual(195);
  });

  // The kernel may coalesce bytes the proxy wrote apart when this process is slow to read, so the test
  // checks what the schedule guarantees: the tenth byte leaves no sooner than nine trickle gaps after the first.
  test('trickle: a response arrives one byte at a time, in order', async () => {
    await setUp();
    proxy?.set({ trickleMs: 20 });
    const c = await client();
    const sent = performance.now();
    c.socket.write('abcdefghij');
    await until(() => c.text() === 'abcdefghij');
    expect(performance.now() - sent).toBeGreaterThanOrEqual(9 * 20 - 2);
  });

  test('resetResponses 1: the client sees its connection reset; resetAll() cuts the rest', async () => {
    await setUp();
    const c = await client();
    proxy?.set({ resetResponses: 1 });
    c.socket.write('x');
    expect(await c.closed).toBe('ECONNRESET');
    proxy?.set({});
    const d = await client();
    proxy?.resetAll();
    expect(await d.closed).toBe('ECONNRESET');
    expect(proxy?.counters.resets).toBe(2);
  });

  test('black hole: nothing passes and nothing closes; lifting it resets what it swallowed', async () => {
    const { received } = await setUp();
    const c = await client();
    proxy?.set({ blackHole: true });
    c.socket.write('lost');
    const late = await client(); // accepted, then ignored
    late.socket.write('also lost');
    await sleep(300);
    expect(received()).toBe('');
    expect(c.chunks).toEqual([]);
    expect(c.socket.destroyed || late.socket.destroyed).toBe(false);
    proxy?.set({});
    expect(await c.closed).toBe('ECONNRESET');
    const fresh = await client();
    fresh.socket.write('ok');
    await until(() => fresh.text() === 'ok');
  });

  test('stallRequests: the broker side reads nothing until it ends, then everything, in order', async () => {
    const { received } = await setUp();
    proxy?.set({ stallRequests: true });
    const c = await client();
    c.socket.write('a'.repeat(100_000));
    await sleep(200);
    expect(received()).toBe('');
    proxy?.set({});
    await until(() => received().length === 100_000);
  });

  test('refuse: new connections are cut at once, open ones reset', async () => {
    await setUp();
    const open = await client();
    proxy?.set({ refuse: true });
    expect(await open.closed).toBe('ECONNRESET');
    const socket = connect((proxy as FaultProxy).port, '127.0.0.1');
    sockets.push(socket);
    const outcome = await new Promise<string>((resolve) => {
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      socket.on('close', () => resolve('closed'));
    });
    expect(['ECONNRESET', 'closed']).toContain(outcome);
  });

  test('bytesPerSecond: 20 KB at 100 KB/s takes about 0.2 s', async () => {
    await setUp();
    proxy?.set({ bytesPerSecond: 100_000 });
    const c = await client();
    const sent = performance.now();
    c.socket.write(Buffer.alloc(20_000, 1));
    await until(() => Buffer.concat(c.chunks).length === 20_000);
    // Each way is capped: at least 0.2 s for the request and as long again for the echo, less the first chunk's share.
    expect(performance.now() - sent).toBeGreaterThanOrEqual(190);
  });
});

describe('ProxyHost: the proxies in a process of their own', () => {
  test('a proxy there passes bytes to its target, takes new rules, and goes with the host', async () => {
    await setUp();
    const target = ((echo as Server).address() as { port: number }).port;
    const host = await ProxyHost.start();
    try {
      const remote = await host.listen();
      // No target yet: refused.
      const early = connect(remote.port, '127.0.0.1');
      sockets.push(early);
      expect(
        await new Promise((resolve) =>
          early.on('error', (error: NodeJS.ErrnoException) => resolve(error.code)).on('close', () => resolve('closed')),
        ),
      ).toMatch(/ECONNRESET|closed/);
      await remote.forwardTo(target);
      const socket = connect(remote.port, '127.0.0.1');
      sockets.push(socket);
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', () => undefined);
      socket.write('hello');
      await until(() => Buffer.concat(chunks).toString() === 'hello');
      await remote.set({ refuse: true });
      await until(() => socket.destroyed);
      expect(host.pid).not.toBe(process.pid);
    } finally {
      await host.stop();
    }
    const pid = host.pid as number;
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(host.listen()).rejects.toThrow(/exited/);
  });
});
