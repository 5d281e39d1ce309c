import { expect, test } from 'vitest';
import { allowOnly, parseArgs, stringFlag, UsageError } from '../../src/cli/args.js';

test('positionals, --flag value, --flag=value and boolean flags', () => {
  const args = parseArgs(['kill', '2', '--name', 'x', '--version=4.3.1', '--json'], new Set(['json']));
  expect(args.positional).toEqual(['kill', '2']);
  expect(stringFlag(args, 'name')).toBe('x');
  expect(stringFlag(args, 'version')).toBe('4.3.1');
  expect(args.flags.get('json')).toBe(true);
});

test('a flag without its value is a usage error', () => {
  expect(() => parseArgs(['start', '--brokers'], new Set())).toThrow(UsageError);
  expect(() => parseArgs(['start', '--brokers', '--json'], new Set(['json']))).toThrow(/--brokers needs a value/);
});

test('unknown flags are refused, naming the ones the command takes', () => {
  const args = parseArgs(['start', '--brokr', '3'], new Set());
  expect(() => allowOnly(args, ['brokers', 'version'], 'broker start')).toThrow(/unknown option --brokr .*--brokers, --version/);
});
