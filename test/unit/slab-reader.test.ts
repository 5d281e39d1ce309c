import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { FrameDecoder } from '../../src/connection/frame-decoder.js';
import { SlabReader } from '../../src/connection/slab-reader.js';
import { Random } from '../support/random.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

describe('SlabReader', () => {
  test('each read lands after the last one in the slab, and a short tail starts a new slab', () => {
    const reader = new SlabReader(100, 30);
    const { buffer, callback } = reader.onread;
    const chunks: Buffer[] = [];
    reader.attach((chunk) => chunks.push(chunk));
    const first = buffer() as Buffer;
    first.fill(1, 0, 40);
    callback(40, first);
    const second = buffer() as Buffer;
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset + 40);
    second.fill(2, 0, 40);
    callback(40, second);
    // 20 bytes left, below the 30-byte minimum: a new slab, so the first two chunks stay as they were.
    const third = buffer() as Buffer;
    expect(third.buffer).not.toBe(first.buffer);
    expect(third.length).toBe(100);
    third.fill(3);
    callback(10, third);
    expect(chunks.map((chunk) => [chunk.length, chunk[0], chunk.at(-1)])).toEqual([
      [40, 1, 1],
      [40, 2, 2],
      [10, 3, 3],
    ]);
  });

  test('chunks read before a consumer is attached are delivered first, in order', () => {
    const reader = new SlabReader(64, 16);
    const { buffer, callback } = reader.onread;
    for (const byte of [5, 6]) {
      const target = buffer() as Buffer;
      target[0] = byte;
      callback(1, target);
    }
    const seen: number[] = [];
    reader.attach((chunk) => seen.push(chunk[0] as number));
    const target = buffer() as Buffer;
    target[0] = 7;
    callback(1, target);
    expect(seen).toEqual([5, 6, 7]);
  });

  test('over a real socket, frames kept as views are never overwritten by later reads', async () => {
    const random = new Random(7);
    const bodies = Array.from({ length: 400 }, () => random.bytes(random.int(0, 3000)));
    const stream = Buffer.concat(bodies.map(frame));
    const server = createServer((socket) => {
      // Many writes of random sizes, so frames are cut across reads and slabs.
      let offset = 0;
      while (offset < stream.length) {
        const next = Math.min(stream.length, offset + random.int(1, 5000));
        socket.write(stream.subarray(offset, next));
        offset = next;
      }
      socket.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      // Small slabs, so a run uses many and frames straddle slab ends.
      const reader = new SlabReader(4096, 1024);
      const decoder = new FrameDecoder(1 << 20);
      const received: Buffer[] = [];
      reader.attach((chunk) => received.push(...decoder.push(chunk)));
      const socket: Socket = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', onread: reader.onread });
      await once(socket, 'end');
      socket.destroy();
      expect(received.length).toBe(bodies.length);
      // Compared only now, after every read: a reused slab would have changed earlier frames.
      for (let i = 0; i < bodies.length; i++) expect(received[i]?.equals(bodies[i] as Buffer), `frame ${i}`).toBe(true);
      expect(new Set(received.map((body) => body.buffer)).size).toBeGreaterThan(10);
    } finally {
      server.close();
    }
  });
});
