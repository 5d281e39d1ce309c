import { Admin } from '../cluster/admin.js';
import { Cluster } from '../cluster/cluster.js';
import {
  type Command,
  type FlagSpec,
  type ParsedArgs,
  type Subcommand,
  stringFlag,
  subcommand,
  subcommandList,
  UsageError,
  unionSpec,
} from './args.js';
import { CONNECTION_OPTIONS, CONNECTION_SWITCHES, CONNECTION_USAGE, connectionOptions } from './cluster-options.js';

const topicsSubcommand = (synopsis: string, about: string, flags: Omit<FlagSpec, 'command'>, details: string[] = []) =>
  subcommand(
    'topics',
    synopsis,
    about,
    { options: [...CONNECTION_OPTIONS, ...flags.options], switches: [...CONNECTION_SWITCHES, ...flags.switches] },
    details,
    [CONNECTION_USAGE],
  );

const SUBCOMMANDS: Record<string, Subcommand> = {
  list: topicsSubcommand('list [--internal]', 'every topic, one per line', { options: [], switches: ['internal'] }, [
    '  --internal                  include internal topics (__consumer_offsets, …)',
  ]),
  describe: topicsSubcommand('describe NAME', 'partitions with leader, epoch, replicas and ISR', { options: [], switches: [] }),
  create: topicsSubcommand(
    'create NAME [--partitions N] [--replication-factor R] [--config key=value …]',
    'create a topic and wait until every partition has a leader',
    { options: ['partitions', 'replication-factor', 'config'], switches: [] },
    [
      "  --partitions N              default: the broker's num.partitions",
      "  --replication-factor R      default: the broker's default.replication.factor",
      '  --config key=value          a topic config (retention.ms=86400000, …); repeat for more',
    ],
  ),
  delete: topicsSubcommand('delete NAME', 'delete a topic', { options: [], switches: [] }),
  grow: topicsSubcommand('grow NAME --partitions N', 'add partitions up to N in total', { options: ['partitions'], switches: [] }),
};

export const TOPICS_USAGE = `usage: kafka-wire topics <command> [options]   manage the topics of a cluster

${subcommandList(SUBCOMMANDS)}

  "kafka-wire topics <command> --help" describes one command

${CONNECTION_USAGE}`;

function positiveInteger(args: ParsedArgs, flag: string): number | undefined {
  const raw = stringFlag(args, flag);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${flag} must be a positive integer, not "${raw}"`);
  return value;
}

function topicName(args: ParsedArgs, command: string): string {
  const [, name, ...extra] = args.positional;
  if (!name) throw new UsageError(`"topics ${command}" needs a topic name`);
  if (extra.length > 0) throw new UsageError(`"topics ${command}" takes one topic, not also "${extra.join(' ')}"`);
  return name;
}

/** Every --config key=value given. */
function configs(args: ParsedArgs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of args.lists.get('config') ?? []) {
    const [key, ...rest] = value.split('=');
    if (!key || rest.length === 0) throw new UsageError(`--config takes key=value, not "${value}"`);
    out[key] = rest.join('=');
  }
  return out;
}

async function topicsCommand(args: ParsedArgs, out: (line: string) => void): Promise<number> {
  const command = args.positional[0] as keyof typeof SUBCOMMANDS;
  if (command === 'list' && args.positional.length > 1) throw new UsageError(`"topics list" takes no topic name`);
  // Checked before connecting, so a usage mistake is reported as one.
  const name = command === 'list' ? '' : topicName(args, command);
  const partitions = positiveInteger(args, 'partitions');
  const replicationFactor = positiveInteger(args, 'replication-factor');
  const topicConfigs = configs(args);
  if (command === 'grow' && partitions === undefined) throw new UsageError('"topics grow" needs --partitions N');

  const cluster = await Cluster.connect({ ...connectionOptions(args), partitionCountRefreshMs: 0 });
  const admin = new Admin(cluster);
  try {
    switch (command) {
      case 'list':
        for (const topic of await admin.listTopics({ internal: args.flags.has('internal') })) out(topic);
        return 0;
      case 'describe': {
        const topic = await admin.describeTopic(name);
        out(`topic ${topic.name}  id ${topic.topicId}  partitions ${topic.partitions.length}${topic.isInternal ? '  internal' : ''}`);
        for (const partition of topic.partitions) {
          out(
            `  partition ${partition.partition}  leader ${partition.leader}  epoch ${partition.leaderEpoch}  ` +
              `replicas ${partition.replicas.join(',')}  isr ${partition.isr.join(',')}` +
              (partition.offline.length ? `  offline ${partition.offline.join(',')}` : ''),
          );
        }
        return 0;
      }
      case 'create':
        await admin.createTopics([{ name, partitions, replicationFactor, configs: topicConfigs }]);
        out(`created topic ${name}`);
        return 0;
      case 'delete':
        await admin.deleteTopics([name]);
        out(`deleted topic ${name}`);
        return 0;
      default:
        await admin.createPartitions(name, partitions as number);
        out(`topic ${name} now has ${partitions} partitions`);
        return 0;
    }
  } finally {
    cluster.close();
  }
}

export const TOPICS: Command = {
  name: 'topics',
  summary: 'list, describe, create, grow and delete the topics of a cluster',
  usage: TOPICS_USAGE,
  spec: unionSpec('topics', SUBCOMMANDS),
  subcommands: SUBCOMMANDS,
  run: topicsCommand,
};
