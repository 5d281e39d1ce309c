import { describe, expect, test } from 'vitest';
import { InvalidRecordError } from '../../src/producer/errors.js';
import type { RecordOutcome } from '../../src/producer/outcomes.js';
import { checkRecordObject, checkTopicName, type Serializers, toPendingRecord } from '../../src/producer/record-input.js';

const outcome: RecordOutcome = { resolved: () => undefined, rejected: () => undefined };
const pending = (record: unknown, serializers?: Serializers<unknown, unknown>) => {
  checkRecordObject(record);
  return toPendingRecord(record, serializers, 1_000, 2_000, outcome, 0);
};

/** Records that must be refused at send(), with what the message must say. */
const BAD: [string, unknown, RegExp][] = [
  [
    'a number as the value',
    { topic: 't', value: 42 },
    /record\.value must be a string, a Buffer\/Uint8Array or null, not the number 42 \(or give serializers\.value/,
  ],
  ['a plain object as the value', { topic: 't', value: { id: 1 } }, /record\.value must be .* not a plain object/],
  ['a missing value', { topic: 't' }, /record\.value is missing \(undefined\); give null to send a tombstone/],
  ['NaN as the value', { topic: 't', value: Number.NaN }, /record\.value must be .* not NaN/],
  ['a bigint key', { topic: 't', key: 5n, value: 'v' }, /record\.key must be .* not the bigint 5n/],
  ['a Uint16Array key', { topic: 't', key: new Uint16Array(2), value: 'v' }, /record\.key must be .* not a Uint16Array/],
  ['an ArrayBuffer value', { topic: 't', value: new ArrayBuffer(4) }, /record\.value must be .* not an ArrayBuffer/],
  [
    'a Date timestamp',
    { topic: 't', value: 'v', timestamp: new Date() },
    /record\.timestamp must be milliseconds since the epoch .* \(use date\.getTime\(\)\)/,
  ],
  ['NaN timestamp', { topic: 't', value: 'v', timestamp: Number.NaN }, /record\.timestamp must be .* not NaN/],
  ['negative timestamp', { topic: 't', value: 'v', timestamp: -1 }, /record\.timestamp must be .* not the number -1/],
  ['fractional timestamp', { topic: 't', value: 'v', timestamp: 1.5 }, /record\.timestamp must be .* not the number 1.5/],
  ['string partition', { topic: 't', value: 'v', partition: '0' }, /record\.partition must be a partition number .* not the string "0"/],
  ['negative partition', { topic: 't', value: 'v', partition: -1 }, /record\.partition must be .* not the number -1/],
  [
    'partition key past 32 bits',
    { topic: 't', value: 'v', partitionKey: 2 ** 32 },
    /record\.partitionKey must be an unsigned 32-bit integer/,
  ],
  ['fractional partition key', { topic: 't', value: 'v', partitionKey: 1.5 }, /record\.partitionKey must be an unsigned 32-bit/],
  ['partition and partition key', { topic: 't', value: 'v', partition: 0, partitionKey: 1 }, /both given; give one/],
  ['headers as a string', { topic: 't', value: 'v', headers: 'a=b' }, /record\.headers must be a plain object .* not the string "a=b"/],
  ['headers as a Map', { topic: 't', value: 'v', headers: new Map() }, /record\.headers must be a plain object .* not a Map/],
  ['a header value that is a number', { topic: 't', value: 'v', headers: { a: 1 } }, /record\.headers\["a"\] must be .* not the number 1/],
  ['an undefined header value', { topic: 't', value: 'v', headers: { a: undefined } }, /record\.headers\["a"\] must be .* not undefined/],
  [
    'a header entry without a key',
    { topic: 't', value: 'v', headers: [{ value: 'x' }] },
    /record\.headers\[0\] must be an object \{ key: string, value \}/,
  ],
];

describe('records are checked at send()', () => {
  test.each(BAD)('%s is an InvalidRecordError naming the field', (_name, record, message) => {
    expect(() => pending(record)).toThrow(InvalidRecordError);
    expect(() => pending(record)).toThrow(message);
  });

  test.each([null, undefined, 42, 'text', [1, 2]])('%j is not a record at all', (record) => {
    expect(() => checkRecordObject(record)).toThrow(/a record must be an object \{ topic, value/);
  });

  test.each([42, '', 'bad name', 'a'.repeat(250), '.', '..', 'ü'])('topic %j is refused', (topic) => {
    expect(() => checkTopicName(topic)).toThrow(InvalidRecordError);
    expect(() => checkTopicName(topic)).toThrow(/record\.topic/);
  });

  test('good records are kept as given (strings too, written as UTF-8 into their batch), with now as the default timestamp', () => {
    const record = pending({ topic: 't', key: 'k', value: Buffer.from('v'), headers: { a: 'x', b: null }, timestamp: 5, partition: 3 });
    expect(record.key).toBe('k');
    expect(record.value).toEqual(Buffer.from('v'));
    expect(record.headers).toEqual([
      { key: 'a', value: Buffer.from('x') },
      { key: 'b', value: null },
    ]);
    expect(record.timestamp).toBe(5);
    expect(record.deadline).toBe(2_000);
    const tombstone = pending({
      topic: 't',
      key: null,
      value: null,
      timestamp: null,
      partition: null,
      headers: [{ key: 'h', value: new Uint8Array([1]) }],
    });
    expect(tombstone).toMatchObject({ key: null, value: null, timestamp: 1_000 });
  });

  test('serializers turn typed keys and values into bytes; what they throw or return wrong is named', () => {
    const json: Serializers<unknown, unknown> = { key: (key) => String(key), value: (value) => JSON.stringify(value) };
    const record = pending({ topic: 't', key: 7, value: { id: 1 } }, json);
    expect(record.key).toBe('7');
    expect(record.value).toBe('{"id":1}');
    const throwing: Serializers<unknown, unknown> = {
      value: () => {
        throw new Error('no schema for this');
      },
    };
    expect(() => pending({ topic: 't', value: 1 }, throwing)).toThrow(/serializers\.value threw for record\.value: no schema for this/);
    expect(() => pending({ topic: 't', value: 1 }, { value: () => 5 as never })).toThrow(
      /serializers\.value must return a string, a Buffer\/Uint8Array or null; it returned the number 5/,
    );
  });
});
