import { describe, expect, test } from 'vitest';
import { utf8Length, writeUtf8 } from '../../src/records/utf8.js';

describe('UTF-8 of record strings', () => {
  // Short and long (either side of the JavaScript loop's limit), ASCII and not, a lone surrogate (written as U+FFFD).
  const TEXTS = ['', 'k', 'key-1234', 'x'.repeat(64), 'x'.repeat(65), 'ünïcödé', '日本語', '🔑', 'a\uD800b', `${'y'.repeat(63)}é`];

  test.each(TEXTS.map((text) => [text.slice(0, 12), text]))('%s: the length and bytes Buffer.from gives', (_, text) => {
    const expected = Buffer.from(text, 'utf8');
    expect(utf8Length(text)).toBe(expected.length);
    const buffer = Buffer.alloc(expected.length + 4, 0xee);
    writeUtf8(buffer, 2, text, utf8Length(text));
    expect(buffer.subarray(2, 2 + expected.length)).toEqual(expected);
    expect([buffer[0], buffer[1], buffer[expected.length + 2], buffer[expected.length + 3]]).toEqual([0xee, 0xee, 0xee, 0xee]);
  });
});
