import { ConfigError } from '../errors.js';

/** A mistake on the command line: reported on stderr with exit code 2, never with a stack trace. */
export class UsageError extends ConfigError {
  override readonly name = 'UsageError';
}

export interface ParsedArgs {
  positional: string[];
  /** The last value of each flag (true for a flag without a value). */
  flags: Map<string, string | true>;
  /** Every value of each flag with a value, in order (for flags that may repeat, such as --config). */
  lists: Map<string, string[]>;
  /** -h or --help was given (outside a flag's value). */
  help: boolean;
}

/** What a command takes: flags with a value and flags without one. -h/--help are always accepted. */
export interface FlagSpec {
  /** The command as the user typed it, for messages: "produce", "topics create". */
  command: string;
  options: readonly string[];
  switches: readonly string[];
}

/**
 * Splits argv into positionals and flags ("--flag value", "--flag=value", a bare --switch; "--"
 * ends the flags). -h or --help anywhere wins over every other mistake, so help is always
 * reachable; otherwise an unknown flag, a missing value or a value given to a switch is a
 * UsageError naming it.
 */
export function parseArgs(argv: string[], spec: FlagSpec): ParsedArgs {
  const args: ParsedArgs = { positional: [], flags: new Map(), lists: new Map(), help: false };
  let firstError: UsageError | undefined;
  const fail = (message: string) => {
    firstError ??= new UsageError(message);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      args.positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      args.help = true;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      args.positional.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) {
      fail(unknownOption(arg, spec));
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (spec.switches.includes(name)) {
      if (inline !== undefined) fail(`--${name} takes no value`);
      args.flags.set(name, true);
      continue;
    }
    if (!spec.options.includes(name)) {
      fail(unknownOption(`--${name}`, spec));
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        fail(`--${name} needs a value`);
        continue;
      }
      value = next;
      i++;
    }
    args.flags.set(name, value);
    args.lists.set(name, [...(args.lists.get(name) ?? []), value]);
  }
  if (firstError && !args.help) throw firstError;
  return args;
}

function unknownOption(option: string, spec: FlagSpec): string {
  return `unknown option ${option} for "${spec.command}"; "kafka-wire ${spec.command} --help" lists its options`;
}

/** Rejects flags a subcommand does not take (after parsing with the flags of all its siblings). */
export function allowOnly(args: ParsedArgs, spec: FlagSpec): void {
  const known = [...spec.options, ...spec.switches];
  for (const name of args.flags.keys()) {
    if (!known.includes(name)) throw new UsageError(unknownOption(`--${name}`, spec));
  }
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  return value === true ? undefined : value;
}

/** A flag's value as an integer within [min, max], or undefined when not given. */
export function integerFlag(args: ParsedArgs, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = stringFlag(args, flag);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${flag} must be an integer${max === Number.MAX_SAFE_INTEGER ? ` ≥ ${min}` : ` from ${min} to ${max}`}, not "${raw}"`,
    );
  }
  return value;
}

/** A subcommand ("broker start", "topics create"): its help and the flags it takes. */
export interface Subcommand {
  /** "start [--version V] …", without the parent command. */
  synopsis: string;
  /** What it does, in a line or two. */
  about: string;
  usage: string;
  spec: FlagSpec;
}

/**
 * A subcommand of `parent`: its usage is the synopsis, what it does, then `details` (lines
 * describing its options) and `footer` (options shared with its siblings).
 */
export function subcommand(
  parent: string,
  synopsis: string,
  about: string,
  flags: Omit<FlagSpec, 'command'>,
  details: string[] = [],
  footer: string[] = [],
): Subcommand {
  const name = synopsis.split(' ', 1)[0] as string;
  const usage = [
    `usage: kafka-wire ${parent} ${synopsis}`,
    '',
    `  ${about}`,
    ...(details.length ? ['', ...details] : []),
    ...(footer.length ? ['', ...footer] : []),
  ];
  return { synopsis, about, usage: usage.join('\n'), spec: { command: `${parent} ${name}`, ...flags } };
}

/** One line per subcommand (synopsis, then what it does), for the parent command's help. */
export function subcommandList(subcommands: Record<string, Subcommand>): string {
  const width = 46;
  return Object.values(subcommands)
    .map(({ synopsis, about }) =>
      synopsis.length < width ? `  ${synopsis.padEnd(width)} ${about}` : `  ${synopsis}\n  ${' '.repeat(width)} ${about}`,
    )
    .join('\n');
}

/** One kafka-wire command, as main() dispatches it. */
export interface Command {
  name: string;
  /** One line for "kafka-wire --help". */
  summary: string;
  /** What "kafka-wire help NAME" and "kafka-wire NAME --help" print. */
  usage: string;
  /** The flags it takes; for a command with subcommands, those of all of them (each checks its own). */
  spec: FlagSpec;
  /** By name; the first positional picks one. */
  subcommands?: Record<string, Subcommand>;
  run(args: ParsedArgs, out: (line: string) => void): Promise<number>;
}

/** The flags of every subcommand together, for parsing before the subcommand is known. */
export function unionSpec(command: string, subcommands: Record<string, Subcommand>): FlagSpec {
  const all = Object.values(subcommands);
  return {
    command,
    options: [...new Set(all.flatMap((sub) => sub.spec.options))],
    switches: [...new Set(all.flatMap((sub) => sub.spec.switches))],
  };
}
