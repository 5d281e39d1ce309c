import { describe, expect, test } from 'vitest';
import { FRAME_HEADER_BYTES, frameIntact, readFrameHeader, writeFrame } from '../../src/durable/frame.js';
import { parseSegmentFileName, segmentFileName } from '../../src/durable/segment-files.js';
import { crc32cJavaScript } from '../../src/records/crc32c.js';

describe('frames', () => {
  test('length, CRC-32C of id + type + payload, id, type, payload: in that order, big-endian', () => {
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
    expect(frame.readUInt32BE(4)).toBe(crc32cJavaScript(frame.subarray(8)));
    expect(readFrameHeader(frame, 0)).toEqual({ payloadBytes: payload.length, crc: frame.readUInt32BE(4), id: 2 ** 40 + 7, type: 200 });
    expect(frameIntact(frame, readFrameHeader(frame, 0))).toBe(true);
  });

  test('the CRC catches a change to the id, the type or the payload', () => {
    for (const at of [8, 15, 16, 17, 29]) {
      const frame = Buffer.alloc(FRAME_HEADER_BYTES + 13);
      writeFrame(frame, 0, 42, 1, Buffer.from('hello journal'));
      frame[at]! ^= 0x10;
      expect(frameIntact(frame, readFrameHeader(frame, 0)), `byte ${at}`).toBe(false);
    }
  });

  test('payloads past the native CRC threshold give the same CRC as the JavaScript one', () => {
    const payload = Buffer.alloc(4000, 0x5a);
    const frame = Buffer.alloc(FRAME_HEADER_BYTES + payload.length);
    writeFrame(frame, 0, Number.MAX_SAFE_INTEGER, 255, payload);
    expect(frame.readUInt32BE(4)).toBe(crc32cJavaScript(frame.subarray(8)));
    expect(readFrameHeader(frame, 0).id).toBe(Number.MAX_SAFE_INTEGER);
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
