import { Cluster } from '../cluster/cluster.js';
import { PartitionReader } from '../consumer/partition-reader.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import { type Command, integerFlag, type ParsedArgs, stringFlag, UsageError } from './args.js';
import { CONNECTION_OPTIONS, CONNECTION_SWITCHES, CONNECTION_USAGE, connectionOptions } from './cluster-options.js';
import { listenForInterrupts } from './interrupt.js';

export const CONSUME_USAGE = `usage: kafka-wire consume TOPIC [options]   print records as  partition<TAB>offset<TAB>key<TAB>value

  --partition P               only partition P (default every partition)
  --from-beginning            start at each partition's earliest offset (default: only new records)
  --offset O                  start at offset O (with one or all partitions)
  --max N                     stop after N records in total
  --until-end                 stop at the end offsets that existed at start (else follow until Ctrl-C;
                              a second Ctrl-C quits at once)
  --isolation LEVEL           read_uncommitted (default: every record written) or read_committed
                              (only committed transactions' records, up to the last stable offset)

${CONNECTION_USAGE}`;

function text(data: Buffer | null): string {
  return data === null ? 'null' : data.toString('utf8');
}

async function consumeCommand(args: ParsedArgs, out: (line: string) => void): Promise<number> {
  const [topic, ...extra] = args.positional;
  if (!topic) throw new UsageError('"consume" needs a topic name');
  if (extra.length > 0) throw new UsageError(`"consume" takes one topic, not also "${extra.join(' ')}"`);
  const only = integerFlag(args, 'partition', 0);
  const offset = integerFlag(args, 'offset', 0);
  const max = integerFlag(args, 'max', 1);
  if (offset !== undefined && args.flags.has('from-beginning')) throw new UsageError('--offset and --from-beginning exclude each other');
  const from: 'earliest' | 'latest' | bigint =
    offset !== undefined ? BigInt(offset) : args.flags.has('from-beginning') ? 'earliest' : 'latest';
  const untilEnd = args.flags.has('until-end');
  const isolation = stringFlag(args, 'isolation') ?? 'read_uncommitted';
  if (isolation !== 'read_uncommitted' && isolation !== 'read_committed')
    throw new UsageError(`--isolation must be read_uncommitted or read_committed, not "${isolation}"`);

  const cluster = await Cluster.connect({ ...connectionOptions(args), partitionCountRefreshMs: 0 });
  const controller = new AbortController();
  const interrupts = listenForInterrupts(() => controller.abort());
  try {
    const info = await cluster.metadata.topic(topic);
    if (!info || info.partitions.length === 0) {
      throw new KafkaProtocolError(cluster.metadata.topicErrors.get(topic) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
        api: 'Metadata',
        subject: `topic ${topic}`,
      });
    }
    if (only !== undefined && only >= info.partitions.length) {
      throw new UsageError(`--partition ${only} does not exist: topic ${topic} has partitions 0-${info.partitions.length - 1}`);
    }
    const partitions = only !== undefined ? [only] : info.partitions.map((partition) => partition.partition);
    let printed = 0;
    await Promise.all(
      partitions.map(async (partition) => {
        const reader = new PartitionReader(cluster, {
          topic,
          partition,
          from,
          until: untilEnd ? 'end' : undefined,
          isolation,
          signal: controller.signal,
        });
        try {
          for await (const record of reader) {
            if (max !== undefined && printed >= max) break;
            out(`${record.partition}\t${record.offset}\t${text(record.key)}\t${text(record.value)}`);
            printed++;
            if (max !== undefined && printed >= max) {
              controller.abort();
              break;
            }
          }
        } catch (error) {
          controller.abort(); // one partition failing ends the others too
          throw error;
        }
      }),
    );
    return 0;
  } finally {
    interrupts.dispose();
    cluster.close();
  }
}

export const CONSUME: Command = {
  name: 'consume',
  summary: 'print the records of a topic',
  usage: CONSUME_USAGE,
  spec: {
    command: 'consume',
    options: [...CONNECTION_OPTIONS, 'partition', 'offset', 'max', 'isolation'],
    switches: [...CONNECTION_SWITCHES, 'from-beginning', 'until-end'],
  },
  run: consumeCommand,
};
