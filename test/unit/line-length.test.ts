import { expect, test } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { filesToCheck, longLines, MAX_COLUMNS } from '../../scripts/check-line-length.mjs';

test('a line over 140 characters is reported with its number and width; 140 is allowed', () => {
  const text = ['short', 'x'.repeat(MAX_COLUMNS), 'y'.repeat(MAX_COLUMNS + 1), ''].join('\n');
  expect(MAX_COLUMNS).toBe(140);
  expect(longLines(text)).toEqual([{ line: 3, columns: 141 }]);
});

test('width counts characters, not bytes or UTF-16 units', () => {
  expect(longLines('é'.repeat(140))).toEqual([]); // 280 bytes
  expect(longLines('😀'.repeat(140))).toEqual([]); // 280 UTF-16 units
  expect(longLines('😀'.repeat(141))).toEqual([{ line: 1, columns: 141 }]);
});

test('every .ts/.js/.mjs file of the repository is checked, generated code too', () => {
  const files: string[] = filesToCheck();
  expect(files).toContain('src/protocol/generated/produce.ts');
  expect(files).toContain('scripts/check-line-length.mjs');
  expect(files).toContain('bench/build-confluent.mjs');
  expect(files).toContain('src/producer/producer.ts');
});
