import { describe, expect, test } from 'vitest';
import { FrameDecoder, FrameSizeError } from '../../src/connection/frame-decoder.js';
import { Random } from '../support/random.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

describe('FrameDecoder', () => {
  test('many frames in one chunk', () => {
    const bodies = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(1000, 7)];
    const frames = new FrameDecoder(1 << 20).push(Buffer.concat(bodies.map(frame)));
    expect(frames).toEqual(bodies);
  });

  test('frames split at every possible byte, including inside the size prefix', () => {
    const stream = Buffer.concat([frame(Buffer.from('first')), frame(Buffer.from('second!'))]);
    for (let cut = 1; cut < stream.length; cut++) {
      const decoder = new FrameDecoder(1 << 20);
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(out.map(String)).toEqual(['first', 'second!']);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  test('one byte at a time, and random chunkings, give the same frames', () => {
    const random = new Random(11);
    const bodies = Array.from({ length: 50 }, () => random.bytes(random.int(0, 300)));
    const stream = Buffer.concat(bodies.map(frame));
    const byteByByte = new FrameDecoder(1 << 20);
    const single: Buffer[] = [];
    for (const byte of stream) single.push(...byteByByte.push(Buffer.from([byte])));
    expect(single).toEqual(bodies);
    const chunked = new FrameDecoder(1 << 20);
    const out: Buffer[] = [];
    for (let at = 0; at < stream.length; ) {
      const next = Math.min(stream.length, at + random.int(1, 97));
      out.push(...chunked.push(stream.subarray(at, next)));
      at = next;
    }
    expect(out).toEqual(bodies);
  });

  test('a large frame arriving in 64 KiB chunks is assembled once', () => {
    const body = new Random(3).bytes(5 * 1024 * 1024);
    const stream = frame(body);
    const decoder = new FrameDecoder(16 * 1024 * 1024);
    const out: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 65536) out.push(...decoder.push(stream.subarray(at, at + 65536)));
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(body)).toBe(true);
  });

  test('a frame in a single chunk is a view, not a copy', () => {
    const chunk = frame(Buffer.from('view'));
    const [out] = new FrameDecoder(100).push(chunk);
    expect(out!.buffer).toBe(chunk.buffer);
  });

  test('negative and oversized sizes are refused', () => {
    expect(() => new FrameDecoder(100).push(Buffer.from('ffffffff', 'hex'))).toThrow(FrameSizeError);
    expect(() => new FrameDecoder(100).push(Buffer.from('00000065', 'hex'))).toThrow(/frame size 101 is over the 100-byte limit/);
    // "HTTP" read as a size, as when a client talks to the wrong kind of server
    expect(() => new FrameDecoder(1 << 20).push(Buffer.from('HTTP/1.1 400'))).toThrow(FrameSizeError);
  });
});
