import { expect, test } from 'vitest';
import { allowOnly, type FlagSpec, integerFlag, parseArgs, stringFlag, UsageError } from '../../src/cli/args.js';

const spec: FlagSpec = { command: 'broker start', options: ['name', 'version', 'brokers', 'config'], switches: ['json'] };

test('positionals, --flag value, --flag=value and switches', () => {
  const args = parseArgs(['kill', '2', '--name', 'x', '--version=4.3.1', '--json'], spec);
  expect(args.positional).toEqual(['kill', '2']);
  expect(stringFlag(args, 'name')).toBe('x');
  expect(stringFlag(args, 'version')).toBe('4.3.1');
  expect(args.flags.get('json')).toBe(true);
  expect(args.help).toBe(false);
});

test('a repeated flag keeps every value in order; "--" ends the flags', () => {
  const args = parseArgs(['--config', 'a=1', '--config=b=2', '--', '--name', '-x'], spec);
  expect(args.lists.get('config')).toEqual(['a=1', 'b=2']);
  expect(stringFlag(args, 'config')).toBe('b=2');
  expect(args.positional).toEqual(['--name', '-x']);
});

test('a flag without its value, a value given to a switch, and unknown options are usage errors', () => {
  expect(() => parseArgs(['start', '--brokers'], spec)).toThrow(UsageError);
  expect(() => parseArgs(['start', '--brokers', '--json'], spec)).toThrow(/--brokers needs a value/);
  expect(() => parseArgs(['--json=false'], spec)).toThrow(/--json takes no value/);
  expect(() => parseArgs(['start', '--brokr', '3'], spec)).toThrow(
    /unknown option --brokr for "broker start"; "kafka-wire broker start --help"/,
  );
  // Reported as unknown even when last (not as "needs a value"), and short options too.
  expect(() => parseArgs(['start', '--brokr'], spec)).toThrow(/unknown option --brokr/);
  expect(() => parseArgs(['start', '-b', '3'], spec)).toThrow(/unknown option -b for "broker start"/);
});

test('-h and --help anywhere ask for help, even beside other mistakes; as a flag value they are a value', () => {
  expect(parseArgs(['start', '-h'], spec).help).toBe(true);
  expect(parseArgs(['--help', 'start'], spec).help).toBe(true);
  expect(parseArgs(['start', '--bogus', '--help'], spec).help).toBe(true);
  expect(parseArgs(['start', '--brokers', '--help'], spec).help).toBe(true);
  const valued = parseArgs(['start', '--name', '-h'], spec);
  expect(valued.help).toBe(false);
  expect(stringFlag(valued, 'name')).toBe('-h');
});

test('allowOnly refuses flags a subcommand does not take, naming its help', () => {
  const args = parseArgs(['status', '--version', '1'], spec);
  expect(() => allowOnly(args, { command: 'broker status', options: ['name'], switches: ['json'] })).toThrow(
    /unknown option --version for "broker status"; "kafka-wire broker status --help" lists its options/,
  );
  expect(() => allowOnly(args, spec)).not.toThrow();
});

test('integerFlag checks the range and says what it wanted', () => {
  const args = parseArgs(['--brokers', '3', '--version', 'x', '--name', '0'], spec);
  expect(integerFlag(args, 'brokers', 1)).toBe(3);
  expect(integerFlag(args, 'config', 1)).toBeUndefined();
  expect(() => integerFlag(args, 'version', 1)).toThrow(/--version must be an integer ≥ 1, not "x"/);
  expect(() => integerFlag(args, 'name', 1, 5)).toThrow(/--name must be an integer from 1 to 5, not "0"/);
});
