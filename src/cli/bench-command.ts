import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, type ParsedArgs, UsageError } from './args.js';

export const BENCH_USAGE = `usage: kafka-wire bench [--quick] [--rounds N] [--clients a,b] [--scenarios x,y] [--kafka-version V] [--profile]

  the side-by-side producer benchmark (kafka-wire, @platformatic/kafka, KafkaJS,
  confluent-kafka-javascript, Kafka's ProducerPerformance) against the embedded broker or
  KAFKA_BOOTSTRAP; same as "npm run bench". Needs the source repository (bench/ and its
  devDependencies), not just the published package.

  --quick             every scenario with a quarter of the records, 1 round (results in bench/results/quick/)
  --rounds N          rounds of every scenario (default 3)
  --clients a,b       only these clients (names or prefixes)
  --scenarios x,y     only these scenarios (names or prefixes)
  --kafka-version V   the embedded broker's Kafka version
  --profile           write CPU profiles of the kafka-wire runs`;

/** Runs the repository's benchmark harness (bench/run.ts), which builds on devDependencies. */
async function benchCommand(args: ParsedArgs): Promise<number> {
  if (args.positional.length > 0) throw new UsageError(`"bench" takes no arguments, not "${args.positional.join(' ')}"`);
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const harness = join(root, 'bench', 'run.ts');
  if (!existsSync(harness) || !existsSync(join(root, 'node_modules', 'tsx'))) {
    throw new UsageError(
      'the benchmark harness is part of the source repository: clone kafka-wire, run "npm ci", then "npm run bench" ' +
        `(looked for ${harness})`,
    );
  }
  // The harness reads the same flags; they were checked here, so a typo never starts a ten-minute run.
  const passed = [...args.flags].flatMap(([name, value]) => (value === true ? [`--${name}`] : [`--${name}`, value]));
  const child = spawn('npm', ['run', 'bench', '--', ...passed], { cwd: root, stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export const BENCH: Command = {
  name: 'bench',
  summary: 'the side-by-side producer benchmark (source repository only)',
  usage: BENCH_USAGE,
  spec: { command: 'bench', options: ['rounds', 'clients', 'scenarios', 'kafka-version'], switches: ['quick', 'profile'] },
  run: benchCommand,
};
