import { Admin } from '../cluster/admin.js';
import { Cluster } from '../cluster/cluster.js';
import { allowOnly, type ParsedArgs, parseArgs, stringFlag, UsageError } from './args.js';
import { bootstrapFrom } from './cluster-options.js';

export const TOPICS_USAGE = `kafka-wire topics <command> [--bootstrap host:port,…]   manage topics of a cluster

  list                                             every topic (--internal to include internal ones)
  describe NAME                                    partitions with leader, epoch, replicas and ISR
  create NAME [--partitions N] [--replication-factor R] [--config key=value …]
  delete NAME
  grow NAME --partitions N                         add partitions up to N in total

  --bootstrap defaults to KAFKA_BOOTSTRAP, else the running embedded cluster's PLAINTEXT listener`;

function positiveInteger(args: ParsedArgs, flag: string): number | undefined {
  const raw = stringFlag(args, flag);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${flag} must be a positive integer, not "${raw}"`);
  return value;
}

function topicName(args: ParsedArgs, command: string): string {
  const name = args.positional[1];
  if (!name) throw new UsageError(`"topics ${command}" needs a topic name`);
  return name;
}

/** Collects repeated --config key=value flags (the parser keeps the last, so they are read from argv). */
function configs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  argv.forEach((arg, index) => {
    const value = arg === '--config' ? argv[index + 1] : arg.startsWith('--config=') ? arg.slice('--config='.length) : undefined;
    if (value === undefined) return;
    const [key, ...rest] = value.split('=');
    if (!key || rest.length === 0) throw new UsageError(`--config takes key=value, not "${value}"`);
    out[key] = rest.join('=');
  });
  return out;
}

export async function topicsCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = parseArgs(argv, new Set(['internal']));
  const command = args.positional[0];
  const known = {
    list: ['bootstrap', 'internal'],
    describe: ['bootstrap'],
    create: ['bootstrap', 'partitions', 'replication-factor', 'config'],
    delete: ['bootstrap'],
    grow: ['bootstrap', 'partitions'],
  };
  if (!command || !(command in known))
    throw new UsageError(command ? `unknown topics command "${command}"\n\n${TOPICS_USAGE}` : TOPICS_USAGE);
  allowOnly(args, known[command as keyof typeof known], `topics ${command}`);

  const cluster = await Cluster.connect({ bootstrap: bootstrapFrom(args), partitionCountRefreshMs: 0 });
  const admin = new Admin(cluster);
  try {
    switch (command) {
      case 'list':
        for (const name of await admin.listTopics({ internal: args.flags.has('internal') })) out(name);
        return 0;
      case 'describe': {
        const topic = await admin.describeTopic(topicName(args, command));
        out(`topic ${topic.name}  id ${topic.topicId}  partitions ${topic.partitions.length}${topic.isInternal ? '  internal' : ''}`);
        for (const partition of topic.partitions) {
          out(
            `  partition ${partition.partition}  leader ${partition.leader}  epoch ${partition.leaderEpoch}  replicas ${partition.replicas.join(',')}  isr ${partition.isr.join(',')}${partition.offline.length ? `  offline ${partition.offline.join(',')}` : ''}`,
          );
        }
        return 0;
      }
      case 'create': {
        const name = topicName(args, command);
        await admin.createTopics([
          {
            name,
            partitions: positiveInteger(args, 'partitions'),
            replicationFactor: positiveInteger(args, 'replication-factor'),
            configs: configs(argv),
          },
        ]);
        out(`created topic ${name}`);
        return 0;
      }
      case 'delete': {
        const name = topicName(args, command);
        await admin.deleteTopics([name]);
        out(`deleted topic ${name}`);
        return 0;
      }
      default: {
        const name = topicName(args, command);
        const partitions = positiveInteger(args, 'partitions');
        if (partitions === undefined) throw new UsageError('"topics grow" needs --partitions N');
        await admin.createPartitions(name, partitions);
        out(`topic ${name} now has ${partitions} partitions`);
        return 0;
      }
    }
  } finally {
    cluster.close();
  }
}
