import { describe, expect, test } from 'vitest';
import { BootstrapParseError, formatAddress, parseBootstrap } from '../../src/connection/bootstrap.js';

describe('parseBootstrap', () => {
  test('reads host:port lists, trimming spaces and empty entries', () => {
    expect(parseBootstrap(' 127.0.0.1:9092, localhost:19092,')).toEqual([
      { host: '127.0.0.1', port: 9092 },
      { host: 'localhost', port: 19092 },
    ]);
  });

  test('reads bracketed IPv6 and formats it back', () => {
    const [address] = parseBootstrap('[::1]:9093');
    expect(address).toEqual({ host: '::1', port: 9093 });
    expect(formatAddress(address!)).toBe('[::1]:9093');
  });

  test.each(['', 'localhost', '127.0.0.1:0', '127.0.0.1:70000', 'host:port', '::1:9092'])(
    'rejects %j with a message naming the entry',
    (input) => {
      expect(() => parseBootstrap(input)).toThrow(BootstrapParseError);
    },
  );

  test('names the bad entry', () => {
    expect(() => parseBootstrap('127.0.0.1:9092,broken')).toThrow(/"broken"/);
  });
});
