/**
 * UTF-8 of the strings records carry (keys, values) without a Buffer per string. Keys are
 * usually short and ASCII: for those a loop in JavaScript is cheaper than a native call.
 */

const SHORT = 64;

/** Bytes of `text` in UTF-8. */
export function utf8Length(text: string): number {
  const length = text.length;
  if (length > SHORT) return Buffer.byteLength(text, 'utf8');
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  return length;
}

/** Writes `text` as UTF-8 at `at`; `length` is utf8Length(text). */
export function writeUtf8(buffer: Buffer, at: number, text: string, length: number): void {
  // Only an all-ASCII string has as many bytes as UTF-16 units.
  if (length === text.length && length <= SHORT) for (let i = 0; i < length; i++) buffer[at + i] = text.charCodeAt(i);
  else buffer.write(text, at, length, 'utf8');
}
