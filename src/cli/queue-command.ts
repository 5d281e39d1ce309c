import { queueStatus } from '../durable/queue-status.js';
import { type Command, type ParsedArgs, type Subcommand, subcommand, subcommandList, UsageError, unionSpec } from './args.js';

const SUBCOMMANDS: Record<string, Subcommand> = {
  status: subcommand(
    'queue',
    'status DIR [--json]',
    "a durable producer's journal: entries, bytes, unacknowledged records by partition, the oldest one's age, producer id and epoch",
    { options: [], switches: ['json'] },
    ['  --json              as JSON', '', '  Reads without taking the lock: the producer may be running.'],
  ),
};

export const QUEUE_USAGE = `usage: kafka-wire queue <command> [options]   inspect a durable producer's journal

${subcommandList(SUBCOMMANDS)}`;

function age(timestamp: number | undefined): string {
  if (timestamp === undefined) return 'none';
  const seconds = Math.max(0, Math.round((Date.now() - timestamp) / 1000));
  return seconds < 120 ? `${seconds} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`;
}

async function queueCommand(args: ParsedArgs, out: (line: string) => void): Promise<number> {
  const [, dir, ...extra] = args.positional;
  if (!dir) throw new UsageError('"queue status" needs the journal directory');
  if (extra.length > 0) throw new UsageError(`"queue status" takes one directory, not also "${extra.join(' ')}"`);
  const status = await queueStatus(dir);
  if (args.flags.has('json')) {
    out(JSON.stringify(status, (_, value) => (typeof value === 'bigint' ? value.toString() : value), 2));
    return 0;
  }
  const holder = status.holder ? `pid ${status.holder.pid ?? '?'} (${status.holder.running ? 'running' : 'not running'})` : 'none';
  out(`journal ${status.dir}: ${status.entries} entries, ${status.bytes} bytes in ${status.segments} segment(s); held by ${holder}`);
  out(
    `producer: ${status.producer ? `id ${status.producer.producerId}, epoch ${status.producer.epoch}` : 'none yet'}; ` +
      `unacknowledged: ${status.unacknowledged} record(s) (${status.inDoubtBatches} batch(es) that may be on the broker); ` +
      `oldest: ${age(status.oldestRecordTimestamp)}`,
  );
  for (const { topic, partition, records } of status.byPartition) {
    out(`  ${topic} ${partition < 0 ? '(partition not chosen yet)' : `partition ${partition}`}: ${records}`);
  }
  for (const issue of status.issues) out(`  damaged: ${issue.message}`);
  return 0;
}

export const QUEUE: Command = {
  name: 'queue',
  summary: "inspect a durable producer's on-disk journal",
  usage: QUEUE_USAGE,
  spec: unionSpec('queue', SUBCOMMANDS),
  subcommands: SUBCOMMANDS,
  run: queueCommand,
};
