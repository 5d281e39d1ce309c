import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { DaemonClient, DaemonConnectionError } from '../../src/daemon/client.js';
import { decodeDoryMessage } from '../../src/daemon/dory-message.js';
import { nativeHelper } from '../../src/daemon/native-helper.js';
import { ConfigError } from '../../src/errors.js';
import { InvalidRecordError } from '../../src/producer/errors.js';

/**
 * DaemonClient on the UNIX datagram input, against the daemon's own datagram relay
 * (native/dgram-relay.c) as the receiver: what the relay passes on is what the daemon reads.
 * The daemon end to end is in test/integration/daemon.test.ts.
 */

let dir: string;
const relays: ChildProcess[] = [];

afterEach(() => {
  for (const relay of relays.splice(0)) relay.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A relay bound at a fresh path, and the datagrams it has passed on so far. */
async function receiver(): Promise<{ path: string; relay: ChildProcess; datagrams: () => Buffer[] }> {
  dir = mkdtempSync(join(tmpdir(), 'kw-daemon-client-'));
  const path = join(dir, 'dgram.sock');
  const relay = spawn(await nativeHelper('dgram-relay'), [path, String(1 << 20), String(1 << 20)], { stdio: ['ignore', 'pipe', 'pipe'] });
  relays.push(relay);
  await new Promise<void>((resolve) => relay.stderr?.once('data', () => resolve()));
  let bytes = Buffer.alloc(0);
  relay.stdout?.on('data', (chunk: Buffer) => (bytes = Buffer.concat([bytes, chunk])));
  const datagrams = () => {
    const out: Buffer[] = [];
    for (let at = 0; at + 4 <= bytes.length; ) {
      const length = bytes.readUInt32BE(at);
      out.push(bytes.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    return out;
  };
  return { path, relay, datagrams };
}

async function until(check: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !check(); ) {
    if (Date.now() > deadline) throw new Error('not within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('DaemonClient over UNIX datagrams', () => {
  test('20,000 messages arrive one per datagram, in order, each as sent', async () => {
    const { path, datagrams } = await receiver();
    const client = await DaemonClient.connect({ dgram: path });
    for (let i = 0; i < 20_000; i++) {
      const keyed = i % 2 === 0;
      if (!client.send({ topic: 't', key: keyed ? `k${i}` : null, value: `v${i}`, timestamp: i, ...(keyed && { partitionKey: i }) })) {
        await client.drained();
      }
    }
    await client.close();
    await until(() => datagrams().length === 20_000);
    datagrams().forEach((datagram, i) => {
      const message = decodeDoryMessage(datagram);
      expect(message.topic).toBe('t');
      expect(message.timestamp).toBe(i);
      expect(Buffer.from(message.value ?? []).toString()).toBe(`v${i}`);
      expect(message.partitionKey).toBe(i % 2 === 0 ? i : undefined);
    });
  });

  test('nothing listening: a DaemonConnectionError that says so, at once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-daemon-client-'));
    await expect(DaemonClient.connect({ dgram: join(dir, 'none.sock') })).rejects.toThrow(
      expect.objectContaining({ name: 'DaemonConnectionError', message: expect.stringMatching(/nothing listens there/) }),
    );
  });

  test('a message larger than a datagram can carry is refused before anything is sent', async () => {
    const { path, datagrams } = await receiver();
    const client = await DaemonClient.connect({ dgram: path });
    expect(() => client.send({ topic: 't', value: Buffer.alloc(16 << 20) })).toThrow(InvalidRecordError);
    expect(() => client.send({ topic: 't', value: Buffer.alloc(16 << 20) })).toThrow(/a datagram to the daemon carries at most \d+/);
    client.send({ topic: 't', value: 'after' });
    await client.close();
    await until(() => datagrams().length === 1);
  });

  test('the receiver gone: send() and close() fail with a DaemonConnectionError naming the cause', async () => {
    const { path, relay } = await receiver();
    const client = await DaemonClient.connect({ dgram: path });
    relay.kill('SIGKILL');
    await new Promise((resolve) => relay.once('close', resolve));
    client.send({ topic: 't', value: 'into the void' });
    const closed = client.close();
    await expect(closed).rejects.toThrow(DaemonConnectionError);
    await expect(closed).rejects.toThrow(/sending datagrams to the daemon on .* failed: send: Connection refused/);
    expect(() => client.send({ topic: 't', value: 'more' })).toThrow(DaemonConnectionError);
  });

  test('a bad address or message is a typed error naming it', async () => {
    await expect(DaemonClient.connect({ dgram: 7 } as unknown as { dgram: string })).rejects.toThrow(ConfigError);
    const { path } = await receiver();
    const client = await DaemonClient.connect({ dgram: path });
    expect(() => client.send({ topic: 'bad topic!', value: 'x' })).toThrow(/message.topic must be a valid topic name/);
    await client.close();
  });
});
