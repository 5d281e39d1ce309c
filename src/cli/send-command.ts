import { createInterface } from 'node:readline';
import { DaemonClient, type DaemonMessage } from '../daemon/client.js';
import { type Command, type FlagSpec, integerFlag, type ParsedArgs, stringFlag, UsageError } from './args.js';

export const SEND_USAGE = `usage: kafka-wire send (--socket PATH | --dgram PATH | --port N) --topic T [options] (--value V | --stdin)
send messages to a running "kafka-wire daemon" (or Dory) in Dory's format, fire and forget

  --socket PATH               the daemon's UNIX stream socket
  --dgram PATH                the daemon's UNIX datagram socket (a message per datagram)
  --port N                    the daemon's TCP port on 127.0.0.1
  --topic T                   the topic
  --key K                     the message key (UTF-8); default none
  --partition-key N           route by Dory's rule: partition at index N mod n of the sorted partitions
                              (an unsigned 32-bit number); default any partition
  --value V                   send one message with value V
  --stdin                     send one message per line of standard input

  It exits once the daemon has the bytes; whether they reached Kafka, its status pages tell.`;

const SEND_SPEC: FlagSpec = {
  command: 'send',
  options: ['socket', 'dgram', 'port', 'topic', 'key', 'partition-key', 'value'],
  switches: ['stdin'],
};

async function sendCommand(args: ParsedArgs, out: (line: string) => void): Promise<number> {
  if (args.positional.length > 0) throw new UsageError(`"send" takes no arguments, not "${args.positional.join(' ')}"`);
  const socket = stringFlag(args, 'socket');
  const dgram = stringFlag(args, 'dgram');
  const port = integerFlag(args, 'port', 1, 65_535);
  if ([socket, dgram, port].filter((given) => given !== undefined).length !== 1) {
    throw new UsageError('give the daemon as --socket PATH, --dgram PATH or --port N (one of them)');
  }
  const topic = stringFlag(args, 'topic');
  if (topic === undefined) throw new UsageError('--topic is required');
  const value = stringFlag(args, 'value');
  const fromStdin = args.flags.has('stdin');
  if ((value === undefined) === !fromStdin) throw new UsageError('give the message as --value V or --stdin (one of them)');
  const partitionKey = integerFlag(args, 'partition-key', 0, 0xffffffff);
  const base: Omit<DaemonMessage, 'value'> = {
    topic,
    key: stringFlag(args, 'key') ?? null,
    ...(partitionKey !== undefined && { partitionKey }),
  };
  const client = await DaemonClient.connect(
    socket !== undefined ? { path: socket } : dgram !== undefined ? { dgram } : { port: port as number },
  );
  let sent = 0;
  try {
    if (value !== undefined) {
      client.send({ ...base, value });
      sent++;
    } else {
      for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (!client.send({ ...base, value: line })) await client.drained();
        sent++;
      }
    }
  } finally {
    await client.close();
  }
  out(`sent ${sent} message(s) to ${socket ?? dgram ?? `127.0.0.1:${port}`}`);
  return 0;
}

export const SEND: Command = {
  name: 'send',
  summary: 'send messages to a running daemon (UNIX stream or datagram socket, or TCP)',
  usage: SEND_USAGE,
  spec: SEND_SPEC,
  run: sendCommand,
};
