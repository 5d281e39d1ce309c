import { describe, expect, test } from 'vitest';
import { FRAME_HEADER_BYTES, frameIntact, readFrameHeader, writeFrame } from '../../src/durable/frame.js';
import { parseSegmentFileName, segmentFileName } from '../../src/durable/segment-files.js';
import { crc32c } from '../../src/records/crc32c.js';
import { xxhash32 } from '../../src/records/xxhash32.js';

describe('frames', () => {
  test('length, xxHash32 of id + type + payload, id, type, payload: in that order, big-endian', () => {
    const payload = Buffer.from('hello journal');
    const target = Buffer.alloc(64);
    const end = writeFrame(target, 3, 2 ** 40 + 7, 200, payload);
    expect(end).toBe(3 + FRAME_HEADER_BYTES + payload.length);
    const frame = target.subarray(3, end);
    expect(frame.readUInt32BE(0)).toBe(payload.length);
    expect(frame.readUInt32BE(8)).toBe(2 ** 8);
    expect(frame.readUInt32BE(12)).toBe(7);
    expect(frame[16]).toBe(200);
    expect(frame.subarray(17).equals(payload)).toBe(true);
    expect(frame.readUInt32BE(4)).toBe(xxhash32(frame, 0, 8, frame.length));
    expect(readFrameHeader(frame, 0)).toEqual({
      payloadBytes: payload.length,
      checksum: frame.readUInt32BE(4),
      id: 2 ** 40 + 7,
      type: 200,
    });
    expect(frameIntact(frame, readFrameHeader(frame, 0))).toBe(true);
  });

  test('the checksum catches a change to the id, the type or the payload', () => {
    for (const at of [8, 15, 16, 17, 29]) {
      const frame = Buffer.alloc(FRAME_HEADER_BYTES + 13);
      writeFrame(frame, 0, 42, 1, Buffer.from('hello journal'));
      frame[at]! ^= 0x10;
      expect(frameIntact(frame, readFrameHeader(frame, 0)), `byte ${at}`).toBe(false);
    }
  });

  test('a frame of a journal written before the checksum was xxHash32 (CRC-32C) is still intact, and still checked', () => {
    const payload = Buffer.alloc(4000, 0x5a);
    const frame = Buffer.alloc(FRAME_HEADER_BYTES + payload.length);
    writeFrame(frame, 0, Number.MAX_SAFE_INTEGER, 255, payload);
    frame.writeUInt32BE(crc32c(frame.subarray(8)), 4);
    expect(frameIntact(frame, readFrameHeader(frame, 0))).toBe(true);
    expect(readFrameHeader(frame, 0).id).toBe(Number.MAX_SAFE_INTEGER);
    frame[2000]! ^= 1;
    expect(frameIntact(frame, readFrameHeader(frame, 0))).toBe(false);
  });
});

describe('xxHash32', () => {
  // Reference values from the xxhash Python package (the C library's xxh32, seed 0).
  test.each([
    ['', 0x02cc5d05],
    ['a', 0x550d7456],
    ['abc', 0x32d153ff],
    ['Nobody inspects the spammish repetition', 0xe2293b2f],
    ['0123456789abcdef0123456789abcdef!', 0x0c66a739],
  ])('%j', (text, expected) => {
    const bytes = Buffer.from(text);
    expect(xxhash32(bytes)).toBe(expected);
    // Of a range inside a larger buffer: the same.
    const padded = Buffer.concat([Buffer.from('xyz'), bytes, Buffer.from('!!')]);
    expect(xxhash32(padded, 0, 3, 3 + bytes.length)).toBe(expected);
  });
});

describe('segment file names', () => {
  test('20 zero-padded digits of the first id, so name order is id order', () => {
    expect(segmentFileName(1)).toBe('00000000000000000001.seg');
    expect(segmentFileName(Number.MAX_SAFE_INTEGER)).toBe('00009007199254740991.seg');
    expect(parseSegmentFileName('00000000000000004097.seg')).toBe(4097);
  });

  test.each(['1.seg', '00000000000000000001.log', '0000000000000000000a.seg', '99999999999999999999.seg', 'LOCK'])(
    '%s is not a segment',
    (name) => {
      expect(parseSegmentFileName(name)).toBeUndefined();
    },
  );
});
