/**
 * Unit tests of the hand-written protocol primitives (src/protocol/primitives/), on their own:
 * no generated codec is involved. Byte fixtures are written out in hex and commented field by
 * field; every encode goes through the same two passes the generated code uses (SizeCache sizes,
 * then Writer writes into a buffer of exactly that size), and every decode through Reader.
 */
import { describe, expect, test } from 'vitest';
import {
  boolElement,
  compactStringElement,
  DecodeError,
  type Element,
  EncodeError,
  float64Element,
  guardDecode,
  int8Element,
  int16Element,
  int32Element,
  int64Element,
  MessageCodec,
  ProtocolError,
  Reader,
  SizeCache,
  type TaggedField,
  UnsupportedVersionError,
  uint16Element,
  uint32Element,
  unzigzag32,
  uuidElement,
  uvarintSize,
  varintSize,
  type WithUnknownTags,
  Writer,
  zigzag32,
} from '../../src/protocol/primitives/index.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const MESSAGE = 'Test';

/** Bytes from a hex fixture; whitespace and `# comments` to the end of a line are ignored, anything else is a typo. */
function hex(text: string): Buffer {
  const digits = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex fixture: ${text}`);
  return Buffer.from(digits, 'hex');
}

/** Runs the size pass, then the write pass into a buffer of exactly that size, and checks they agree. */
function encodeWith(size: (cache: SizeCache) => number, write: (writer: Writer) => void, cache = new SizeCache(MESSAGE, 0)): Buffer {
  const total = size(cache);
  const writer = new Writer(Buffer.alloc(total), cache);
  write(writer);
  expect(writer.offset, 'bytes written must equal the size pass').toBe(total);
  return writer.buffer;
}

/** Reads one value and checks it consumed every byte. */
function decodeWith<T>(bytes: Buffer, read: (reader: Reader) => T): T {
  const reader = new Reader(bytes, MESSAGE, 0);
  const value = read(reader);
  expect(reader.remaining, 'every byte must be consumed').toBe(0);
  return value;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** Asserts a DecodeError at `offset` whose reason contains `reason`; the message names the offset. */
function expectDecodeError(fn: () => unknown, offset: number, reason: string): DecodeError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(DecodeError);
  expect(error).not.toBeInstanceOf(RangeError);
  const decodeError = error as DecodeError;
  expect(decodeError.offset).toBe(offset);
  expect(decodeError.message).toContain(`at byte ${offset}: `);
  expect(decodeError.reason).toContain(reason);
  return decodeError;
}

/** Asserts an EncodeError for `field` whose message contains `reason`. */
function expectEncodeError(fn: () => unknown, field: string, reason: string): EncodeError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(EncodeError);
  const encodeError = error as EncodeError;
  expect(encodeError.field).toBe(field);
  expect(encodeError.message).toContain(`cannot encode ${MESSAGE} v0: ${field} `);
  expect(encodeError.message).toContain(reason);
  return encodeError;
}

// ---------------------------------------------------------------------------------------------
// Varints
// ---------------------------------------------------------------------------------------------

describe('unsigned varints', () => {
  // value, bytes it takes, its LEB128 encoding (low 7 bits first, 0x80 = "more bytes follow")
  const boundaries: [number, number, string][] = [
    [0, 1, '00'],
    [127, 1, '7f'],
    [128, 2, '80 01'],
    [16383, 2, 'ff 7f'], // 2^14 - 1
    [16384, 3, '80 80 01'], // 2^14
    [2 ** 21 - 1, 3, 'ff ff 7f'],
    [2 ** 21, 4, '80 80 80 01'],
    [2 ** 28 - 1, 4, 'ff ff ff 7f'],
    [2 ** 28, 5, '80 80 80 80 01'],
    [2 ** 32 - 1, 5, 'ff ff ff ff 0f'], // the largest a 32-bit varint holds
  ];

  test.each(boundaries)('%i takes %i byte(s): %s', (value, size, bytes) => {
    expect(uvarintSize(value)).toBe(size);
    const encoded = encodeWith(
      () => uvarintSize(value),
      (w) => w.uvarint(value),
    );
    expect(encoded).toHaveLength(size);
    expect(encoded).toEqual(hex(bytes));
    expect(decodeWith(encoded, (r) => r.uvarint())).toBe(value);
  });

  test('several varints back to back leave the reader at each boundary', () => {
    const values = boundaries.map(([value]) => value);
    const encoded = encodeWith(
      () => values.reduce((n, v) => n + uvarintSize(v), 0),
      (w) => {
        for (const v of values) w.uvarint(v);
      },
    );
    const reader = new Reader(encoded, MESSAGE, 0);
    for (const [value, size] of boundaries) {
      const before = reader.offset;
      expect(reader.uvarint()).toBe(value);
      expect(reader.offset - before).toBe(size);
    }
    expect(reader.remaining).toBe(0);
  });

  test('a varint with a 6th byte is rejected, naming where it started', () => {
    // aa bb: two bytes of something else; the varint starts at byte 2 and never ends in 5 bytes
    const reader = new Reader(hex('aa bb  ff ff ff ff ff 01'), MESSAGE, 0, 2);
    expectDecodeError(() => reader.uvarint(), 2, 'varint is longer than 5 bytes');
  });

  test('a 5-byte varint above 2^32 - 1 is rejected', () => {
    // ff ff ff ff 0f is 2^32 - 1; a 5th byte of 0x10 makes it 2^32 + ...
    expectDecodeError(() => new Reader(hex('ff ff ff ff 10'), MESSAGE, 0).uvarint(), 0, 'varint exceeds 32 bits');
    // exactly 2^32: 80 80 80 80 10
    const error = expectDecodeError(() => new Reader(hex('00  80 80 80 80 10'), MESSAGE, 0, 1).uvarint(), 1, 'varint exceeds 32 bits');
    expect(error.message).toBe('cannot decode Test v0 at byte 1: varint exceeds 32 bits');
  });

  test('a varint running past the end is rejected, with the offset where it started', () => {
    // 07: one other byte; ff ff: continuation bits set, then the input ends
    const reader = new Reader(hex('07  ff ff'), MESSAGE, 3, 1);
    const error = expectDecodeError(() => reader.uvarint(), 1, 'varint runs past the end');
    expect(error.version).toBe(3);
    expect(error.message).toBe('cannot decode Test v3 at byte 1: varint runs past the end');
    // an empty input, and an input whose `end` stops before the buffer does
    expectDecodeError(() => new Reader(Buffer.alloc(0), MESSAGE, 0).uvarint(), 0, 'varint runs past the end');
    expectDecodeError(() => new Reader(hex('80 01'), MESSAGE, 0, 0, 1).uvarint(), 0, 'varint runs past the end');
  });
});

describe('zigzag and signed varints', () => {
  // signed value → zigzag (unsigned) value
  const zigzag: [number, number][] = [
    [0, 0],
    [-1, 1],
    [1, 2],
    [-2, 3],
    [2 ** 31 - 1, 0xfffffffe],
    [-(2 ** 31), 0xffffffff],
  ];

  test.each(zigzag)('zigzag32(%i) = %i and back', (signed, unsigned) => {
    expect(zigzag32(signed)).toBe(unsigned);
    expect(unzigzag32(unsigned)).toBe(signed);
    expect(varintSize(signed)).toBe(uvarintSize(unsigned));
  });

  // value, its zigzag varint bytes
  const varints: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [63, '7e'],
    [-64, '7f'], // the last one-byte value
    [64, '80 01'],
    [-65, '81 01'],
    [300, 'd8 04'], // zigzag 600 = 0b100_1011000
    [2 ** 31 - 1, 'fe ff ff ff 0f'],
    [-(2 ** 31), 'ff ff ff ff 0f'],
  ];

  test.each(varints)('varint %i is %s', (value, bytes) => {
    const encoded = encodeWith(
      () => varintSize(value),
      (w) => w.varint(value),
    );
    expect(encoded).toEqual(hex(bytes));
    expect(decodeWith(encoded, (r) => r.varint())).toBe(value);
  });
});

// ---------------------------------------------------------------------------------------------
// Fixed-width values
// ---------------------------------------------------------------------------------------------

/** Round trip of one fixed-width value through the element helpers (SizeCache → Writer → Reader). */
function expectFixed<T>(element: Element<T>, value: T, bytes: string): void {
  const encoded = encodeWith(
    (c) => element.size(c, value, 0),
    (w) => element.write(w, value, 0),
  );
  expect(encoded).toEqual(hex(bytes));
  expect(decodeWith(encoded, (r) => element.read(r, 0))).toBe(value); // toBe: Object.is, so -0 and NaN count
}

describe('fixed-width values (big-endian)', () => {
  test('int8', () => {
    expectFixed(int8Element, 0, '00');
    expectFixed(int8Element, -1, 'ff');
    expectFixed(int8Element, 127, '7f');
    expectFixed(int8Element, -128, '80');
  });

  test('int16', () => {
    expectFixed(int16Element, 0, '00 00');
    expectFixed(int16Element, -1, 'ff ff');
    expectFixed(int16Element, 32767, '7f ff');
    expectFixed(int16Element, -32768, '80 00');
    expectFixed(int16Element, 0x1234, '12 34');
  });

  test('uint16', () => {
    expectFixed(uint16Element, 0, '00 00');
    expectFixed(uint16Element, 65535, 'ff ff');
    expectFixed(uint16Element, 32768, '80 00');
  });

  test('int32', () => {
    expectFixed(int32Element, 0, '00 00 00 00');
    expectFixed(int32Element, -1, 'ff ff ff ff');
    expectFixed(int32Element, 2 ** 31 - 1, '7f ff ff ff');
    expectFixed(int32Element, -(2 ** 31), '80 00 00 00');
  });

  test('uint32', () => {
    expectFixed(uint32Element, 0, '00 00 00 00');
    expectFixed(uint32Element, 2 ** 32 - 1, 'ff ff ff ff');
    expectFixed(uint32Element, 2 ** 31, '80 00 00 00');
  });

  test('int64 as bigint', () => {
    expectFixed(int64Element, 0n, '00 00 00 00 00 00 00 00');
    expectFixed(int64Element, -1n, 'ff ff ff ff ff ff ff ff');
    expectFixed(int64Element, 2n ** 63n - 1n, '7f ff ff ff ff ff ff ff');
    expectFixed(int64Element, -(2n ** 63n), '80 00 00 00 00 00 00 00');
    expectFixed(int64Element, 2n ** 53n + 1n, '00 20 00 00 00 00 00 01'); // beyond a double's precision
  });

  test('float64', () => {
    expectFixed(float64Element, 0, '00 00 00 00 00 00 00 00');
    expectFixed(float64Element, -0, '80 00 00 00 00 00 00 00');
    expectFixed(float64Element, 1.5, '3f f8 00 00 00 00 00 00');
    expectFixed(float64Element, Number.MAX_VALUE, '7f ef ff ff ff ff ff ff');
    expectFixed(float64Element, Number.MIN_VALUE, '00 00 00 00 00 00 00 01');
    expectFixed(float64Element, -Infinity, 'ff f0 00 00 00 00 00 00');
    expectFixed(float64Element, NaN, '7f f8 00 00 00 00 00 00');
  });

  test('bool: written as 00/01, any non-zero byte reads as true', () => {
    expectFixed(boolElement, false, '00');
    expectFixed(boolElement, true, '01');
    expect(decodeWith(hex('02'), (r) => r.bool())).toBe(true);
    expect(decodeWith(hex('ff'), (r) => r.bool())).toBe(true);
  });

  test('a record of mixed fixed-width fields', () => {
    const encoded = encodeWith(
      () => 1 + 2 + 4 + 8 + 1,
      (w) => {
        w.int8(-2);
        w.uint16(0xbeef);
        w.int32(-559038737);
        w.int64(0x0102030405060708n);
        w.bool(true);
      },
    );
    expect(encoded).toEqual(
      hex(`
        fe                        # int8   -2
        be ef                     # uint16 0xbeef
        de ad be ef               # int32  -559038737
        01 02 03 04 05 06 07 08   # int64  0x0102030405060708
        01                        # bool   true
      `),
    );
    const reader = new Reader(encoded, MESSAGE, 0);
    expect([reader.int8(), reader.uint16(), reader.int32(), reader.int64(), reader.bool()]).toEqual([
      -2,
      0xbeef,
      -559038737,
      0x0102030405060708n,
      true,
    ]);
    expect(reader.remaining).toBe(0);
  });

  // reader method, bytes it needs
  const widths: [string, number, (r: Reader) => unknown][] = [
    ['bool', 1, (r) => r.bool()],
    ['int8', 1, (r) => r.int8()],
    ['int16', 2, (r) => r.int16()],
    ['uint16', 2, (r) => r.uint16()],
    ['int32', 4, (r) => r.int32()],
    ['uint32', 4, (r) => r.uint32()],
    ['int64', 8, (r) => r.int64()],
    ['float64', 8, (r) => r.float64()],
    ['uuid', 16, (r) => r.uuid()],
  ];

  test.each(widths)('%s one byte short of its %i is a DecodeError, not a RangeError', (name, width, read) => {
    // one unrelated byte first, so the failing read starts at byte 1 and has width - 1 bytes left
    const reader = new Reader(Buffer.alloc(width), MESSAGE, 0, 1);
    expectDecodeError(() => read(reader), 1, `${name} needs ${width} bytes, only ${width - 1} left`);
    expect(reader.offset, 'a failed read does not move the reader').toBe(1);
    // the same when `end` cuts the buffer short, even though the buffer itself has room
    const cut = new Reader(Buffer.alloc(width + 4), MESSAGE, 0, 0, width - 1);
    expectDecodeError(() => read(cut), 0, `${name} needs ${width} bytes, only ${width - 1} left`);
  });
});

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

describe('strings', () => {
  // value, non-flexible encoding (int16 length, -1 = null), flexible encoding (uvarint length + 1, 0 = null)
  const cases: [string, string | null, string, string][] = [
    ['ascii', 'kafka', '00 05  6b 61 66 6b 61', '06  6b 61 66 6b 61'],
    ['empty', '', '00 00', '01'],
    ['null', null, 'ff ff', '00'],
    // é is 2 UTF-8 bytes: 6 bytes for 5 characters
    ['two-byte UTF-8', 'héllo', '00 06  68 c3a9 6c 6c 6f', '07  68 c3a9 6c 6c 6f'],
    // a (1 byte) € (3 bytes) 🚀 (4 bytes, 2 UTF-16 units): length 4 in JS, 8 on the wire
    ['3- and 4-byte UTF-8', 'a€🚀', '00 08  61 e282ac f09f9a80', '09  61 e282ac f09f9a80'],
  ];

  describe.each(cases)('%s', (_label, value, classic, compact) => {
    test.each([
      ['non-flexible', classic, false],
      ['flexible', compact, true],
    ] as const)('%s: %s', (_kind, bytes, flexible) => {
      const encoded = encodeWith(
        (c) => c.string(value, flexible, true, 'name'),
        (w) => w.string(value, flexible),
      );
      expect(encoded).toEqual(hex(bytes));
      expect(decodeWith(encoded, (r) => r.string(flexible, true, 'name'))).toBe(value);
    });
  });

  test('the compact length prefix grows with the byte length: 127 bytes need 2 prefix bytes', () => {
    const value = `${'é'.repeat(63)}x`; // 127 UTF-8 bytes, length + 1 = 128 → 80 01
    const cache = new SizeCache(MESSAGE, 0);
    expect(cache.string(value, true, false, 'name')).toBe(2 + 127);
    const encoded = encodeWith(
      (c) => c.string(value, true, false, 'name'),
      (w) => w.string(value, true),
    );
    expect(encoded.subarray(0, 3)).toEqual(hex('80 01  c3'));
    expect(decodeWith(encoded, (r) => r.string(true, false, 'name'))).toBe(value);
  });

  test('null where the field is not nullable: EncodeError naming the field', () => {
    const cache = new SizeCache(MESSAGE, 0);
    for (const flexible of [false, true]) {
      const error = expectEncodeError(() => cache.string(null, flexible, false, 'topicName'), 'topicName', 'is null, but is not nullable');
      expect(error.messageName).toBe(MESSAGE);
    }
    expect(cache.entries).toHaveLength(0);
  });

  test('null where the field is not nullable: DecodeError at the length prefix', () => {
    // 00 01: something else; ff ff: int16 length -1
    const classic = new Reader(hex('00 01  ff ff'), MESSAGE, 0, 2);
    expectDecodeError(() => classic.string(false, false, 'topicName'), 2, 'non-nullable field topicName was serialized as null');
    // 00: compact length 0 = null
    const compact = new Reader(hex('00'), MESSAGE, 0);
    expectDecodeError(() => compact.string(true, false, 'topicName'), 0, 'non-nullable field topicName was serialized as null');
  });

  test('a length below -1 is rejected', () => {
    // ff fe: int16 length -2
    expectDecodeError(() => new Reader(hex('ff fe 61 62'), MESSAGE, 0).string(false, true, 'name'), 0, 'negative length -2');
  });

  test('a length beyond the bytes left is rejected', () => {
    // 00 05: length 5, then only "ab"
    expectDecodeError(
      () => new Reader(hex('00 05  61 62'), MESSAGE, 0).string(false, false, 'name'),
      2,
      'string name of length 5 needs 5 bytes, only 2 left',
    );
    // 0b: compact length 10, then only "ab"
    expectDecodeError(
      () => new Reader(hex('0b  61 62'), MESSAGE, 0).string(true, false, 'name'),
      1,
      'string name of length 10 needs 10 bytes, only 2 left',
    );
  });

  test('a string holds at most 32767 UTF-8 bytes, compact or not (as in the reference)', () => {
    const cache = new SizeCache(MESSAGE, 0);
    expect(cache.string('x'.repeat(0x7fff), false, false, 'name')).toBe(2 + 0x7fff);
    expectEncodeError(
      () => cache.string('x'.repeat(0x8000), false, false, 'name'),
      'name',
      'is 32768 UTF-8 bytes; a Kafka string holds at most 32767',
    );
    // it is the UTF-8 byte count that matters, not the JS length (16384 × 'é' = 32768 bytes)
    expectEncodeError(() => cache.string('é'.repeat(0x4000), false, true, 'name'), 'name', 'is 32768 UTF-8 bytes');
    expectEncodeError(() => cache.string('x'.repeat(0x8000), true, false, 'name'), 'name', 'is 32768 UTF-8 bytes');
    expect(cache.entries, 'only the string that fits was cached').toHaveLength(1);
    expect(cache.string('x'.repeat(0x7fff), true, false, 'name')).toBe(3 + 0x7fff);
    // and a reader refuses a longer one before reading it: uvarint(32769) = 81 80 02
    const reader = new Reader(Buffer.from('818002', 'hex'), MESSAGE, 1);
    expect(() => reader.string(true, false, 'name')).toThrow(/has length 32768; a Kafka string holds at most 32767 bytes/);
  });

  test('a uuid must be canonical URL-safe base64: standard-alphabet or non-zero trailing bits are refused', () => {
    const cache = new SizeCache(MESSAGE, 0);
    for (const bad of ['++++++++++++++++++++++', 'ABEiM0RVZneImaq7zN3u/w', 'AAAAAAAAAAAAAAAAAAAAAB']) {
      expectEncodeError(() => cache.uuid(bad, 'topicId'), 'topicId', 'must be a uuid');
    }
    expect(cache.uuid('ABEiM0RVZneImaq7zN3u_w', 'topicId')).toBe(16);
  });

  test('a non-string value is an EncodeError, not a crash', () => {
    const cache = new SizeCache(MESSAGE, 0);
    expectEncodeError(() => cache.string(42 as unknown as string, false, false, 'name'), 'name', 'must be a string, not number');
  });

  test('the size pass caches UTF-8 bytes (none for null) and the write pass consumes them in order', () => {
    const cache = new SizeCache(MESSAGE, 0);
    const values = ['first', null, 'zwölf'] as const;
    const size = values.reduce((n, value, i) => n + cache.string(value, i === 2, true, `s${i}`), 0);
    expect(cache.entries).toEqual([Buffer.from('first'), Buffer.from('zwölf')]);
    const encoded = encodeWith(
      () => size,
      (w) => {
        values.forEach((value, i) => {
          w.string(value, i === 2);
        });
      },
      cache,
    );
    expect(encoded).toEqual(
      hex(`
        0005 6669727374   # "first", int16 length 5
        ffff              # null, int16 length -1
        07 7a77c3b66c66   # "zwölf", compact: 6 bytes + 1
      `),
    );
    // The writer takes the bytes from the cache, not from its argument: what it writes was fixed by the size pass.
    const again = new Writer(Buffer.alloc(size), cache);
    again.string('ignored', false);
    again.string(null, false);
    again.string('also ignored', true);
    expect(again.buffer).toEqual(encoded);
    const reader = new Reader(encoded, MESSAGE, 0);
    expect([reader.string(false, true, 's0'), reader.string(false, true, 's1'), reader.string(true, true, 's2')]).toEqual([
      'first',
      null,
      'zwölf',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------------------------

describe('bytes', () => {
  // value, non-flexible encoding (int32 length, -1 = null), flexible encoding (uvarint length + 1, 0 = null)
  const cases: [string, Buffer | null, string, string][] = [
    ['three bytes', hex('01 02 03'), '00000003  01 02 03', '04  01 02 03'],
    ['empty', Buffer.alloc(0), '00000000', '01'],
    ['null', null, 'ffffffff', '00'],
  ];

  describe.each(cases)('%s', (_label, value, classic, compact) => {
    test.each([
      ['non-flexible', classic, false],
      ['flexible', compact, true],
    ] as const)('%s: %s', (_kind, bytes, flexible) => {
      const encoded = encodeWith(
        (c) => c.bytes(value, flexible, true, 'payload'),
        (w) => w.bytes(value, flexible),
      );
      expect(encoded).toEqual(hex(bytes));
      expect(decodeWith(encoded, (r) => r.bytes(flexible, true, 'payload'))).toEqual(value);
    });
  });

  test('a plain Uint8Array is accepted as well as a Buffer', () => {
    const value = new Uint8Array([0xca, 0xfe]);
    const encoded = encodeWith(
      (c) => c.bytes(value, true, false, 'payload'),
      (w) => w.bytes(value, true),
    );
    expect(encoded).toEqual(hex('03  ca fe'));
  });

  test('null where not nullable: EncodeError on write, DecodeError on read', () => {
    const cache = new SizeCache(MESSAGE, 0);
    expectEncodeError(() => cache.bytes(null, false, false, 'payload'), 'payload', 'is null, but is not nullable');
    expectEncodeError(() => cache.bytes(null, true, false, 'payload'), 'payload', 'is null, but is not nullable');
    expectEncodeError(
      () => cache.bytes('abc' as unknown as Uint8Array, true, false, 'payload'),
      'payload',
      'must be a Buffer or Uint8Array',
    );
    expectDecodeError(
      () => new Reader(hex('ffffffff'), MESSAGE, 0).bytes(false, false, 'payload'),
      0,
      'non-nullable field payload was serialized as null',
    );
    expectDecodeError(
      () => new Reader(hex('00'), MESSAGE, 0).bytes(true, false, 'payload'),
      0,
      'non-nullable field payload was serialized as null',
    );
  });

  test('malformed lengths are DecodeErrors', () => {
    // ff ff ff fe: int32 length -2
    expectDecodeError(() => new Reader(hex('fffffffe 00'), MESSAGE, 0).bytes(false, true, 'payload'), 0, 'negative length -2');
    // 7f ff ff ff: length 2^31 - 1 with 1 byte left
    expectDecodeError(
      () => new Reader(hex('7fffffff 00'), MESSAGE, 0).bytes(false, true, 'payload'),
      4,
      'bytes payload of length 2147483647 needs 2147483647 bytes, only 1 left',
    );
  });

  test('Reader.bytes returns a view of the input, not a copy', () => {
    // 00 00 00 02: length 2; ab cd: payload; ef: whatever follows
    const input = hex('00000002  ab cd  ef');
    const view = new Reader(input, MESSAGE, 0).bytes(false, false, 'payload');
    expect(view).toEqual(hex('ab cd'));
    expect(view.buffer).toBe(input.buffer);
    expect(view.byteOffset).toBe(input.byteOffset + 4);
    input[4] = 0x11;
    expect(view[0]).toBe(0x11);
  });
});

// ---------------------------------------------------------------------------------------------
// UUIDs
// ---------------------------------------------------------------------------------------------

describe('uuid (Kafka: URL-safe base64, no padding, 22 characters)', () => {
  test('the zero uuid is 22 As and 16 zero bytes', () => {
    const zero = 'AAAAAAAAAAAAAAAAAAAAAA';
    expect(zero).toHaveLength(22);
    const encoded = encodeWith(
      (c) => c.uuid(zero, 'topicId'),
      (w) => w.uuid(zero),
    );
    expect(encoded).toEqual(Buffer.alloc(16));
    expect(decodeWith(encoded, (r) => r.uuid())).toBe(zero);
  });

  test('a uuid using the URL-safe alphabet round trips', () => {
    // 00112233-4455-6677-8899-aabbccddeeff; the last 6 bits of 0xff give '_' (would be '/' in plain base64)
    const id = 'ABEiM0RVZneImaq7zN3u_w';
    const encoded = encodeWith(
      (c) => c.uuid(id, 'topicId'),
      (w) => w.uuid(id),
    );
    expect(encoded).toEqual(hex('00112233 4455 6677 8899 aabbccddeeff'));
    const read = decodeWith(encoded, (r) => r.uuid());
    expect(read).toBe(id);
    expect(read).not.toMatch(/[=+/]/);
    // and one whose first character is '-' (0xf8 >> 2 = 62)
    expect(decodeWith(hex(`f8${'00'.repeat(15)}`), (r) => r.uuid())).toBe('-AAAAAAAAAAAAAAAAAAAAA');
  });

  test.each([
    ['too short', 'AAAA'],
    ['23 characters', 'AAAAAAAAAAAAAAAAAAAAAAA'],
    ['padded', 'AAAAAAAAAAAAAAAAAAAAAA=='],
    ['dashed hex form', '00112233-4455-6677-8899-aabbccddeeff'],
    ['22 characters, one not base64', 'AAAAAAAAAAAAAAAAAAAAA!'],
    ['22 characters ending in padding', 'AAAAAAAAAAAAAAAAAAAAA='],
    ['empty', ''],
  ])('%s (%j) is an EncodeError', (_label, value) => {
    const error = expectEncodeError(
      () => new SizeCache(MESSAGE, 0).uuid(value, 'topicId'),
      'topicId',
      'must be a uuid as 22 characters of URL-safe base64',
    );
    expect(error.message).toContain(JSON.stringify(value));
  });

  test('a uuid array element goes through the same check', () => {
    const ids = ['AAAAAAAAAAAAAAAAAAAAAA', 'ABEiM0RVZneImaq7zN3u_w'];
    const encoded = encodeWith(
      (c) => c.array(ids, true, false, 'ids', 0, uuidElement.size),
      (w) => w.array(ids, true, 0, uuidElement.write),
    );
    expect(encoded).toHaveLength(1 + 32);
    expect(decodeWith(encoded, (r) => r.array(true, false, 'ids', 0, uuidElement.read))).toEqual(ids);
    expectEncodeError(
      () => new SizeCache(MESSAGE, 0).array(['nope'], true, false, 'ids', 0, uuidElement.size),
      'array element',
      'must be a uuid',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Arrays
// ---------------------------------------------------------------------------------------------

describe('arrays', () => {
  test('non-flexible: int32 count, then the elements', () => {
    const value = [1, -1];
    const encoded = encodeWith(
      (c) => c.array(value, false, false, 'ids', 0, int32Element.size),
      (w) => w.array(value, false, 0, int32Element.write),
    );
    expect(encoded).toEqual(
      hex(`
        00000002   # count 2
        00000001   # 1
        ffffffff   # -1
      `),
    );
    expect(decodeWith(encoded, (r) => r.array(false, false, 'ids', 0, int32Element.read))).toEqual(value);
  });

  test('flexible: uvarint count + 1, then the elements (compact strings here)', () => {
    const value = ['a', 'bc'];
    const encoded = encodeWith(
      (c) => c.array(value, true, false, 'names', 0, compactStringElement.size),
      (w) => w.array(value, true, 0, compactStringElement.write),
    );
    expect(encoded).toEqual(
      hex(`
        03         # count 2 + 1
        02 61      # "a"
        03 62 63   # "bc"
      `),
    );
    expect(decodeWith(encoded, (r) => r.array(true, false, 'names', 0, compactStringElement.read))).toEqual(value);
  });

  test.each([
    // label, bytes, flexible, value
    ['non-flexible empty', '00000000', false, [] as number[]],
    ['non-flexible null', 'ffffffff', false, null],
    ['flexible empty', '01', true, [] as number[]],
    ['flexible null', '00', true, null],
  ] as const)('%s: %s', (_label, bytes, flexible, value) => {
    const encoded = encodeWith(
      (c) => c.array(value, flexible, true, 'ids', 0, int16Element.size),
      (w) => w.array(value, flexible, 0, int16Element.write),
    );
    expect(encoded).toEqual(hex(bytes));
    expect(decodeWith(encoded, (r) => r.array(flexible, true, 'ids', 0, int16Element.read))).toEqual(value);
    expect(new Reader(hex(bytes), MESSAGE, 0).arrayLength(flexible, true, 'ids')).toBe(value === null ? -1 : 0);
  });

  test('arrayHeader on its own, for callers that write the elements themselves', () => {
    const value = new Array<number>(200).fill(7);
    const cache = new SizeCache(MESSAGE, 0);
    expect(cache.arrayHeader(value, true, false, 'ids')).toBe(2); // uvarint(201) = c9 01
    expect(cache.arrayHeader(value, false, false, 'ids')).toBe(4);
    expect(cache.arrayHeader(null, true, true, 'ids')).toBe(1);
    expect(cache.arrayHeader(null, false, true, 'ids')).toBe(4);
    expect(
      encodeWith(
        () => 2,
        (w) => w.arrayHeader(value, true),
      ),
    ).toEqual(hex('c9 01'));
    expect(
      encodeWith(
        () => 4,
        (w) => w.arrayHeader(value, false),
      ),
    ).toEqual(hex('000000c8'));
    expect(
      encodeWith(
        () => 1,
        (w) => w.arrayHeader(null, true),
      ),
    ).toEqual(hex('00'));
    expect(
      encodeWith(
        () => 4,
        (w) => w.arrayHeader(null, false),
      ),
    ).toEqual(hex('ffffffff'));
    expectEncodeError(() => cache.arrayHeader({ length: 1 } as unknown as unknown[], true, false, 'ids'), 'ids', 'must be an array');
  });

  test('null where not nullable: EncodeError on write, DecodeError on read', () => {
    const cache = new SizeCache(MESSAGE, 0);
    expectEncodeError(() => cache.array(null, true, false, 'topics', 0, int32Element.size), 'topics', 'is null, but is not nullable');
    expectEncodeError(() => cache.arrayHeader(null, false, false, 'topics'), 'topics', 'is null, but is not nullable');
    expectDecodeError(
      () => new Reader(hex('ffffffff'), MESSAGE, 0).array(false, false, 'topics', 0, int32Element.read),
      0,
      'non-nullable field topics was serialized as null',
    );
    expectDecodeError(
      () => new Reader(hex('00'), MESSAGE, 0).arrayLength(true, false, 'topics'),
      0,
      'non-nullable field topics was serialized as null',
    );
  });

  test('a count larger than the bytes left is rejected before anything is read or allocated', () => {
    let elementsRead = 0;
    const element = (r: Reader): number => {
      elementsRead++;
      return r.int8();
    };
    // 7f ff ff ff: count 2^31 - 1; then only 3 bytes
    const classic = new Reader(hex('7fffffff  01 02 03'), MESSAGE, 0);
    expectDecodeError(
      () => classic.array(false, false, 'topics', 0, element),
      0,
      'array topics claims 2147483647 elements, but only 3 bytes are left',
    );
    // ff ff ff ff 07: compact count 2^31 - 1, i.e. 2^31 - 2 elements; then 3 bytes
    const compact = new Reader(hex('ffffffff07  01 02 03'), MESSAGE, 0);
    expectDecodeError(
      () => compact.array(true, false, 'topics', 0, element),
      0,
      'array topics claims 2147483646 elements, but only 3 bytes are left',
    );
    expect(elementsRead).toBe(0);
    // the bound is inclusive: 3 one-byte elements in 3 bytes are fine
    expect(decodeWith(hex('00000003  01 02 03'), (r) => r.array(false, false, 'topics', 0, element))).toEqual([1, 2, 3]);
  });

  test('a count below -1, and elements that overrun despite a plausible count, are DecodeErrors', () => {
    expectDecodeError(() => new Reader(hex('fffffffe'), MESSAGE, 0).arrayLength(false, true, 'ids'), 0, 'negative length -2');
    // count 2 with 2 bytes left passes the count check, but each int32 element needs 4
    expectDecodeError(
      () => new Reader(hex('00000002  00 01'), MESSAGE, 0).array(false, false, 'ids', 0, int32Element.read),
      4,
      'int32 needs 4 bytes, only 2 left',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Tagged fields
// ---------------------------------------------------------------------------------------------

describe('tagged-field sections', () => {
  test('unknown tagged fields round trip through a whole section', () => {
    const fields: TaggedField[] = [
      { tag: 1, data: Buffer.from('ab') },
      { tag: 300, data: Buffer.alloc(0) },
    ];
    const encoded = encodeWith(
      (c) => c.taggedSection(fields),
      (w) => w.taggedSection(fields),
    );
    expect(encoded).toEqual(
      hex(`
        02               # 2 fields
        01  02  61 62    # tag 1, size 2, "ab"
        ac02  00         # tag 300 (uvarint ac 02), size 0
      `),
    );
    const target: WithUnknownTags = {};
    decodeWith(encoded, (r) => r.taggedSection(target));
    expect(target._unknownTaggedFields).toEqual(fields);
    // the kept data is a view of the input
    expect(target._unknownTaggedFields?.[0]?.data.buffer).toBe(encoded.buffer);
  });

  test('an empty section is one zero byte and adds nothing to the target', () => {
    for (const fields of [undefined, []]) {
      expect(new SizeCache(MESSAGE, 0).taggedSection(fields)).toBe(1);
      expect(
        encodeWith(
          (c) => c.taggedSection(fields),
          (w) => w.taggedSection(fields),
        ),
      ).toEqual(hex('00'));
    }
    const target: WithUnknownTags = {};
    decodeWith(hex('00'), (r) => r.taggedSection(target));
    expect(target).toEqual({});
  });

  test('unknown tags are interleaved with known ones in ascending tag order', () => {
    // A struct with a known tagged field 3 (a compact string) carrying unknown tags 1 and 5;
    // the two passes are written the way the generated code writes them.
    const unknown: TaggedField[] = [
      { tag: 1, data: hex('aa') },
      { tag: 5, data: hex('bb cc') },
    ];
    const greeting = 'hi';
    const cache = new SizeCache(MESSAGE, 0);
    const countSlot = cache.reserve();
    let size = cache.tagged(3, cache.reserve(), cache.string(greeting, true, false, 'greeting'));
    size += cache.tagCount(countSlot, 1, unknown) + cache.unknownTags(unknown);
    // entries: the count, the known field's payload size, then the string's bytes
    expect(cache.entries).toEqual([3, 3, Buffer.from(greeting)]);

    const writer = new Writer(Buffer.alloc(size), cache);
    writer.uvarint(writer.next());
    const next = writer.unknownTagsBelow(unknown, 0, 3);
    expect(next).toBe(1); // tag 1 went out, tag 5 waits
    writer.tagHeader(3);
    writer.string(greeting, true);
    expect(writer.unknownTagsBelow(unknown, next, Infinity)).toBe(2);
    expect(writer.offset).toBe(size);
    expect(writer.buffer).toEqual(
      hex(`
        03                 # 3 tagged fields
        01  01  aa         # unknown tag 1, size 1
        03  03  03 68 69   # known tag 3, size 3: compact string "hi"
        05  02  bb cc      # unknown tag 5, size 2
      `),
    );

    // Read it back the way generated code does: known tags by number, the rest kept.
    const target: WithUnknownTags & { greeting?: string } = {};
    const reader = new Reader(writer.buffer, MESSAGE, 0);
    const tags: number[] = [];
    for (let count = reader.tagCount(); count > 0; count--) {
      const tag = reader.uvarint();
      tags.push(tag);
      const end = reader.tagEnd(tag);
      if (tag === 3) {
        target.greeting = reader.string(true, false, 'greeting');
        reader.endTag(end, 'greeting');
        continue;
      }
      reader.unknownTag(target, tag, end);
    }
    expect(reader.remaining).toBe(0);
    expect(tags).toEqual([1, 3, 5]);
    expect(target).toEqual({ greeting, _unknownTaggedFields: unknown });
  });

  test('unknownTagsBelow with no fields writes nothing and returns its start index', () => {
    const writer = new Writer(Buffer.alloc(0), new SizeCache(MESSAGE, 0));
    expect(writer.unknownTagsBelow(undefined, 0, Infinity)).toBe(0);
    expect(writer.unknownTagsBelow([{ tag: 9, data: hex('01') }], 0, 9)).toBe(0);
    expect(writer.offset).toBe(0);
  });

  test('a field count that cannot fit in the bytes left is rejected', () => {
    // 05: five fields need at least 10 bytes (tag + size each); only 2 follow
    const reader = new Reader(hex('05  00 00'), MESSAGE, 0);
    expectDecodeError(() => reader.tagCount(), 0, 'tagged-field section claims 5 fields, but only 2 bytes are left');
    expectDecodeError(() => new Reader(hex('05  00 00'), MESSAGE, 0).taggedSection({}), 0, 'claims 5 fields');
    // one field in exactly two bytes is fine
    expect(new Reader(hex('01  07 00'), MESSAGE, 0).tagCount()).toBe(1);
  });

  test('a field size beyond the bytes left is rejected at the size', () => {
    // 01: one field; 02: tag 2; 09: size 9; aa: the only byte left
    const target: WithUnknownTags = {};
    expectDecodeError(
      () => new Reader(hex('01  02  09  aa'), MESSAGE, 0).taggedSection(target),
      2,
      'tagged field 2 claims 9 bytes, but only 1 are left',
    );
    expect(target._unknownTaggedFields).toBeUndefined();
  });

  test('a known tagged field whose payload does not use its declared size is rejected', () => {
    // tag 3, declared size 3, but the payload is an int16 (2 bytes)
    const reader = new Reader(hex('03 03  00 07  ff'), MESSAGE, 0);
    const end = reader.tagEnd(reader.uvarint());
    expect(end).toBe(5);
    expect(reader.int16()).toBe(7);
    expectDecodeError(() => reader.endTag(end, 'epoch'), 4, 'tagged field epoch used 1 bytes less than its declared size');
  });
});

// ---------------------------------------------------------------------------------------------
// Struct fields
// ---------------------------------------------------------------------------------------------

describe('struct fields', () => {
  interface Leader {
    id: number;
    host: string;
  }
  const sizeLeader = (c: SizeCache, leader: Leader): number => 4 + c.string(leader.host, true, false, 'host');
  const writeLeader = (w: Writer, leader: Leader): void => {
    w.int32(leader.id);
    w.string(leader.host, true);
  };
  const readLeader = (r: Reader): Leader => ({ id: r.int32(), host: r.string(true, false, 'host') });
  const leader: Leader = { id: 2, host: 'b1' };

  test.each([
    // label, value, nullable, bytes
    ['inline (not nullable): no marker', leader, false, '00000002  03 6231'],
    ['nullable, present: marker 01', leader, true, '01  00000002  03 6231'],
    ['nullable, null: marker ff', null, true, 'ff'],
  ] as const)('%s', (_label, value, nullable, bytes) => {
    const encoded = encodeWith(
      (c) => c.struct(value, nullable, 'leader', 0, sizeLeader),
      (w) => w.struct(value, nullable, 0, writeLeader),
    );
    expect(encoded).toEqual(hex(bytes));
    expect(decodeWith(encoded, (r) => r.struct(nullable, 'leader', 0, readLeader))).toEqual(value);
  });

  test('null where not nullable is an EncodeError', () => {
    expectEncodeError(
      () => new SizeCache(MESSAGE, 0).struct(null, false, 'leader', 0, sizeLeader),
      'leader',
      'is null, but is not nullable',
    );
  });

  test('a presence marker other than -1 or 1 is a DecodeError at the marker', () => {
    // 00 00: some other field; 05: a bad marker
    const reader = new Reader(hex('0000  05  00000002 03 6231'), MESSAGE, 0, 2);
    expectDecodeError(() => reader.struct(true, 'leader', 0, readLeader), 2, 'struct leader has presence marker 5, expected -1 or 1');
    expectDecodeError(() => new Reader(hex('00'), MESSAGE, 0).struct(true, 'leader', 0, readLeader), 0, 'presence marker 0');
  });
});

// ---------------------------------------------------------------------------------------------
// MessageCodec
// ---------------------------------------------------------------------------------------------

describe('MessageCodec', () => {
  /** v0: id int32, name nullable string. v1+ (flexible): compact name, scores int16[], tagged fields. */
  interface Tiny extends WithUnknownTags {
    id: number;
    name: string | null;
    scores: number[];
  }

  const tiny = new MessageCodec<Tiny>({
    name: 'Tiny',
    minVersion: 0,
    maxVersion: 2,
    flexibleMin: 1,
    size(c, m, v) {
      const f = v >= 1;
      let n = 4;
      n += c.string(m.name, f, true, 'name');
      if (v >= 1) n += c.array(m.scores, f, false, 'scores', v, int16Element.size);
      if (f) n += c.taggedSection(m._unknownTaggedFields);
      return n;
    },
    write(w, m, v) {
      const f = v >= 1;
      w.int32(m.id);
      w.string(m.name, f);
      if (v >= 1) w.array(m.scores, f, v, int16Element.write);
      if (f) w.taggedSection(m._unknownTaggedFields);
    },
    read(r, v) {
      const f = v >= 1;
      const m: Tiny = {
        id: r.int32(),
        name: r.string(f, true, 'name'),
        scores: v >= 1 ? r.array(f, false, 'scores', v, int16Element.read) : [],
      };
      if (f) r.taggedSection(m);
      return m;
    },
    create: (fields) => ({ id: 0, name: null, scores: [], ...fields }),
  });

  test('create fills defaults; isFlexible follows flexibleMin', () => {
    expect(tiny.create()).toEqual({ id: 0, name: null, scores: [] });
    expect(tiny.create({ id: 9 })).toEqual({ id: 9, name: null, scores: [] });
    expect([0, 1, 2].map((v) => tiny.isFlexible(v))).toEqual([false, true, true]);
  });

  test('v0 (non-flexible) encode and decode', () => {
    const message = tiny.create({ id: 7, name: 'ab' });
    const bytes = tiny.encode(message, 0);
    expect(bytes).toEqual(
      hex(`
        00000007   # id 7
        0002 6162  # name "ab", int16 length
      `),
    );
    expect(tiny.decode(bytes, 0)).toEqual(message);
    expect(tiny.decode(hex('00000007 ffff'), 0)).toEqual(tiny.create({ id: 7 }));
  });

  test('v1 (flexible) encode and decode', () => {
    const message = tiny.create({ id: 7, name: 'ab', scores: [1, -2] });
    const bytes = tiny.encode(message, 1);
    expect(bytes).toEqual(
      hex(`
        00000007         # id 7
        03 6162          # name "ab", compact
        03 0001 fffe     # scores [1, -2], compact count 2 + 1
        00               # no tagged fields
      `),
    );
    expect(tiny.size(new SizeCache('Tiny', 1), message, 1)).toBe(bytes.length);
    expect(tiny.decode(bytes, 1)).toEqual(message);
  });

  test('v2 keeps unknown tagged fields through decode → encode', () => {
    const bytes = hex(`
      ffffffff      # id -1
      00            # name null
      01            # scores []
      01  09 01 ff  # one tagged field: tag 9, size 1, ff
    `);
    const decoded = tiny.decode(bytes, 2);
    expect(decoded).toEqual({ id: -1, name: null, scores: [], _unknownTaggedFields: [{ tag: 9, data: hex('ff') }] });
    expect(tiny.encode(decoded, 2)).toEqual(bytes);
  });

  test('decode takes a plain Uint8Array that is a window into a larger buffer', () => {
    const framed = hex('eeee  00000007 0002 6162  eeee');
    const window = new Uint8Array(framed.buffer, framed.byteOffset + 2, 8);
    expect(tiny.decode(window, 0)).toEqual(tiny.create({ id: 7, name: 'ab' }));
  });

  test.each([3, -1, 1.5])('version %d is an UnsupportedVersionError for encode and decode', (version) => {
    const message = tiny.create();
    for (const call of [() => tiny.encode(message, version), () => tiny.decode(hex('00000000 ffff'), version)]) {
      const error = thrown(call);
      expect(error).toBeInstanceOf(UnsupportedVersionError);
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error).toMatchObject({ messageName: 'Tiny', version, minVersion: 0, maxVersion: 2 });
      expect((error as Error).message).toBe(`Tiny has no version ${version}; supported versions are 0-2`);
    }
  });

  test('trailing bytes after the message are a DecodeError', () => {
    const bytes = Buffer.concat([tiny.encode(tiny.create({ id: 7, name: 'ab' }), 1), hex('de ad')]);
    const error = expectDecodeError(() => tiny.decode(bytes, 1), 9, '2 unexpected bytes after the message');
    expect(error.message).toBe('cannot decode Tiny v1 at byte 9: 2 unexpected bytes after the message');
  });

  test('truncated input is a DecodeError naming the message and version', () => {
    const bytes = tiny.encode(tiny.create({ id: 7, name: 'ab', scores: [1] }), 2);
    for (let length = 0; length < bytes.length; length++) {
      const error = thrown(() => tiny.decode(bytes.subarray(0, length), 2));
      expect(error, `prefix of ${length} bytes`).toBeInstanceOf(DecodeError);
      expect((error as DecodeError).messageName).toBe('Tiny');
      expect((error as DecodeError).version).toBe(2);
    }
  });

  test('guardDecode turns a stray non-protocol error into a DecodeError at the reader position', () => {
    const reader = new Reader(hex('00 00 00'), 'Tiny', 1, 2);
    expectDecodeError(
      () =>
        guardDecode(reader, () => {
          throw new RangeError('boom');
        }),
      2,
      'malformed input (boom)',
    );
    // a ProtocolError passes through unchanged
    const original = new DecodeError('Tiny', 1, 0, 'original');
    expect(
      thrown(() =>
        guardDecode(reader, () => {
          throw original;
        }),
      ),
    ).toBe(original);
  });
});
