import { describe, expect, test } from 'vitest';
import { DoryApiKey, DoryMessageError, decodeDoryMessage, encodeDoryMessage } from '../../src/daemon/dory-message.js';
import { DoryStreamReader } from '../../src/daemon/dory-stream.js';
import { Random } from '../support/random.js';

/** A PartitionKey message written field by field from Dory's doc/sending_messages.md, not by our encoder. */
function handWritten(): Buffer {
  const topic = Buffer.from('clicks');
  const key = Buffer.from('k1');
  const value = Buffer.from('hello');
  const parts = [
    [0x01, 0x01], // ApiKey 257: PartitionKey
    [0x00, 0x00], // ApiVersion 0
    [0x00, 0x00], // Flags
    [0xff, 0xff, 0xff, 0xfe], // PartitionKey 4294967294
    [0x00, topic.length],
    [...topic],
    [0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00], // Timestamp 1700000000000
    [0x00, 0x00, 0x00, key.length],
    [...key],
    [0x00, 0x00, 0x00, value.length],
    [...value],
  ].flat();
  const size = 4 + parts.length;
  return Buffer.from([size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff, ...parts]);
}

describe("Dory's message format", () => {
  test('a message written from the documented layout decodes, and our encoder writes the same bytes', () => {
    const frame = handWritten();
    const message = decodeDoryMessage(frame);
    expect(message).toEqual({
      topic: 'clicks',
      partitionKey: 4294967294,
      timestamp: 1_700_000_000_000,
      key: Buffer.from('k1'),
      value: Buffer.from('hello'),
    });
    expect(encodeDoryMessage({ ...message, partitionKey: -2 })).toEqual(frame);
  });

  test('AnyPartition round trip; an empty key or value is null, as Dory sends it', () => {
    const frame = encodeDoryMessage({ topic: 'a.b_c-1', timestamp: 5, key: null, value: '' });
    expect(frame.readInt16BE(4)).toBe(DoryApiKey.ANY_PARTITION);
    expect(decodeDoryMessage(frame)).toEqual({ topic: 'a.b_c-1', partitionKey: undefined, timestamp: 5, key: null, value: null });
  });

  test.each([
    ['shorter than the header', Buffer.from([0, 0, 0, 6, 1, 0]), 'malformed', /shorter than the 8-byte header/],
    [
      'a size field that disagrees',
      (() => {
        const frame = encodeDoryMessage({ topic: 't', value: 'v' });
        frame.writeInt32BE(frame.length + 1, 0);
        return frame;
      })(),
      'malformed',
      /size field says/,
    ],
    [
      'an unknown api key',
      (() => {
        const frame = encodeDoryMessage({ topic: 't', value: 'v' });
        frame.writeInt16BE(258, 4);
        return frame;
      })(),
      'unsupportedApiKey',
      /api key 258/,
    ],
    [
      'api version 1',
      (() => {
        const frame = encodeDoryMessage({ topic: 't', value: 'v' });
        frame.writeInt16BE(1, 6);
        return frame;
      })(),
      'unsupportedVersion',
      /api version 1/,
    ],
    [
      'non-zero flags',
      (() => {
        const frame = encodeDoryMessage({ topic: 't', value: 'v' });
        frame.writeInt16BE(4, 8);
        return frame;
      })(),
      'malformed',
      /flags are 4/,
    ],
    [
      'an empty topic',
      (() => {
        const frame = Buffer.alloc(8 + 2 + 2 + 8 + 4 + 4);
        frame.writeInt32BE(frame.length, 0);
        frame.writeInt16BE(256, 4);
        return frame;
      })(),
      'badTopic',
      /must not be empty/,
    ],
    ['a topic Kafka does not allow', encodeDoryMessage({ topic: 'no spaces', value: 'v' }), 'badTopic', /not a valid topic name/],
    [
      'a value running past the end',
      (() => {
        const frame = encodeDoryMessage({ topic: 't', value: 'value' });
        return (() => {
          const cut = frame.subarray(0, frame.length - 2);
          cut.writeInt32BE(cut.length, 0);
          return cut;
        })();
      })(),
      'malformed',
      /ends inside its value/,
    ],
    [
      'bytes after the value',
      (() => {
        const frame = Buffer.concat([encodeDoryMessage({ topic: 't', value: 'v' }), Buffer.from([0])]);
        frame.writeInt32BE(frame.length, 0);
        return frame;
      })(),
      'malformed',
      /1 bytes follow its value/,
    ],
  ] as const)('%s: DoryMessageError (%s)', (_name, frame, reason, message) => {
    let error: unknown;
    try {
      decodeDoryMessage(frame);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(DoryMessageError);
    expect((error as DoryMessageError).reason).toBe(reason);
    expect((error as DoryMessageError).message).toMatch(message);
  });

  test('100,000 random and mutated messages: each decodes or is a DoryMessageError, nothing else', () => {
    const random = new Random(20261130);
    const counts = { decoded: 0, malformed: 0, unsupportedApiKey: 0, unsupportedVersion: 0, badTopic: 0 };
    const valid = [
      encodeDoryMessage({ topic: 'events', value: 'x'.repeat(40) }),
      encodeDoryMessage({ topic: 'events', partitionKey: 7, key: 'k', value: 'y' }),
      encodeDoryMessage({ topic: 'e', timestamp: 0, value: null }),
    ];
    for (let i = 0; i < 100_000; i++) {
      let frame: Buffer;
      if (i % 4 === 0) {
        frame = Buffer.alloc(random.int(0, 80));
        for (let b = 0; b < frame.length; b++) frame[b] = random.int(0, 255);
        if (frame.length >= 4 && random.chance(0.5)) frame.writeInt32BE(frame.length, 0);
      } else {
        frame = Buffer.from(valid[i % valid.length] as Buffer);
        for (let flips = random.int(1, 4); flips > 0; flips--) frame[random.int(0, frame.length - 1)] = random.int(0, 255);
        if (random.chance(0.3)) frame = frame.subarray(0, random.int(0, frame.length));
        if (random.chance(0.7) && frame.length >= 4) frame.writeInt32BE(frame.length, 0);
      }
      try {
        decodeDoryMessage(frame);
        counts.decoded++;
      } catch (error) {
        if (!(error instanceof DoryMessageError)) throw new Error(`input ${frame.toString('hex')} threw ${String(error)}`);
        counts[error.reason]++;
      }
    }
    console.log(`[dory fuzz] ${JSON.stringify(counts)}`);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(100_000);
    expect(counts.decoded).toBeGreaterThan(1000);
    for (const reason of ['malformed', 'unsupportedApiKey', 'unsupportedVersion', 'badTopic'] as const) {
      expect(counts[reason]).toBeGreaterThan(100);
    }
  });
});

describe('the stream reader', () => {
  const messages = [
    encodeDoryMessage({ topic: 'a', value: 'one' }),
    encodeDoryMessage({ topic: 'b', partitionKey: 3, value: 'x'.repeat(3000) }),
    encodeDoryMessage({ topic: 'c', value: null }),
  ];
  const stream = Buffer.concat(messages);

  function read(chunks: Buffer[], maxMessageBytes = 1 << 20) {
    const reader = new DoryStreamReader(maxMessageBytes);
    const frames: Buffer[] = [];
    const tooLarge: number[] = [];
    for (const chunk of chunks)
      reader.push(chunk, { frame: (frame) => frames.push(Buffer.from(frame)), tooLarge: (size) => tooLarge.push(size) });
    return { frames, tooLarge, partial: reader.partialBytes };
  }

  test('the same messages however the stream is cut, at every byte', () => {
    for (let cut = 1; cut < stream.length; cut += 7) {
      const chunks = [stream.subarray(0, cut), stream.subarray(cut)];
      expect(read(chunks).frames, `cut at ${cut}`).toEqual(messages);
    }
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    expect(read(bytes)).toEqual({ frames: messages, tooLarge: [], partial: 0 });
  });

  test('a message over maxMessageBytes is skipped by its size and the next is read; a half message is counted as partial', () => {
    const chunks = [stream.subarray(0, 2000), stream.subarray(2000), messages[0]!.subarray(0, 5)];
    const result = read(chunks, 1000);
    expect(result.frames).toEqual([messages[0], messages[2]]);
    expect(result.tooLarge).toEqual([messages[1]!.length]);
    expect(result.partial).toBe(5);
  });

  test('a size field below the header cannot be skipped: malformed, and the connection is to be closed', () => {
    const reader = new DoryStreamReader(1 << 20);
    const bad = Buffer.from([0, 0, 0, 3, 1, 2, 3]);
    expect(() => reader.push(Buffer.concat([messages[0]!, bad]), { frame: () => {}, tooLarge: () => {} })).toThrow(DoryMessageError);
  });
});
