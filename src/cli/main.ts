import { pathToFileURL } from 'node:url';
import { EmbeddedKafkaError } from '../embedded/errors.js';
import { ConfigError, KafkaWireError } from '../errors.js';
import { KAFKA_WIRE_VERSION } from '../version.js';
import { allowOnly, type Command, parseArgs, UsageError } from './args.js';
import { BENCH } from './bench-command.js';
import { BROKER } from './broker-command.js';
import { CONFORMANCE } from './conformance-command.js';
import { CONSUME } from './consume-command.js';
import { DAEMON } from './daemon-command.js';
import { DEMO } from './demo.js';
import { PRODUCE } from './produce-command.js';
import { QUEUE } from './queue-command.js';
import { SEND } from './send-command.js';
import { TOPICS } from './topics-command.js';

export const COMMANDS: readonly Command[] = [DEMO, BROKER, TOPICS, PRODUCE, CONSUME, QUEUE, DAEMON, SEND, BENCH, CONFORMANCE];

const USAGE = `usage: kafka-wire <command> [options]

${COMMANDS.map((command) => `  ${command.name.padEnd(11)} ${command.summary}`).join('\n')}
  help        this text; "kafka-wire help <command>" (or "<command> --help") describes a command

  --version   print kafka-wire's version`;

/** The help text for "help WORDS…": a command's, a subcommand's, or the overview. */
function helpFor(words: string[]): string {
  const [name, sub] = words;
  if (name === undefined) return USAGE;
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`no command "${name}"; the commands are ${COMMANDS.map((known) => known.name).join(', ')}`);
  if (sub === undefined || !command.subcommands) return command.usage;
  const subcommand = command.subcommands[sub];
  if (!subcommand) throw new UsageError(`no command "${name} ${sub}"; "${name}" has ${Object.keys(command.subcommands).join(', ')}`);
  return subcommand.usage;
}

async function dispatch(argv: string[], out: (line: string) => void): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError(`which command?\n\n${USAGE}`);
  if (name === '--help' || name === '-h' || name === 'help') {
    out(helpFor(name === 'help' ? rest : []));
    return 0;
  }
  if (name === '--version') {
    out(`kafka-wire ${KAFKA_WIRE_VERSION}`);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"\n\n${USAGE}`);
  const args = parseArgs(rest, command.spec);
  if (command.subcommands) {
    const sub = args.positional[0];
    const subcommand = sub === undefined ? undefined : command.subcommands[sub];
    if (args.help) {
      out(subcommand?.usage ?? command.usage);
      return 0;
    }
    if (!subcommand)
      throw new UsageError(
        sub === undefined ? `which ${name} command?\n\n${command.usage}` : `unknown ${name} command "${sub}"\n\n${command.usage}`,
      );
    allowOnly(args, subcommand.spec);
  } else if (args.help) {
    out(command.usage);
    return 0;
  }
  return command.run(args, out);
}

/** Exit code for an error the user can act on (no stack trace), or undefined for a bug. */
function exitCodeFor(error: unknown): number | undefined {
  // A usage mistake or a bad option (UsageError, a malformed --bootstrap, a bad cluster name) is 2.
  if (error instanceof ConfigError || (error instanceof EmbeddedKafkaError && error.reason === 'BAD_ARGUMENT')) return 2;
  // Anything else kafka-wire reports (a broker down, refused credentials, a missing topic) is 1.
  if (error instanceof KafkaWireError) return 1;
  return undefined;
}

/**
 * Runs one command line; returns the exit code: 0 done, 1 failed (message on stderr), 2 a
 * usage mistake (message on stderr). Help goes to stdout. Only a bug escapes as an exception.
 */
export async function main(argv: string[], out: (line: string) => void = (line) => console.log(line)): Promise<number> {
  try {
    return await dispatch(argv, out);
  } catch (error) {
    const code = exitCodeFor(error);
    if (code === undefined) throw error;
    console.error(`kafka-wire: ${(error as Error).message}`);
    return code;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
