import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './args.js';

export const BENCH_USAGE = `kafka-wire bench [--quick] [--rounds N] [--clients a,b] [--scenarios x,y] [--kafka-version V]
  the side-by-side producer benchmark (kafka-wire, @platformatic/kafka, KafkaJS,
  confluent-kafka-javascript, Kafka's ProducerPerformance) against the embedded broker or
  KAFKA_BOOTSTRAP; same as "npm run bench". Needs the source repository (bench/ and its
  devDependencies), not just the published package.`;

/** Runs the repository's benchmark harness (bench/run.ts), which builds on devDependencies. */
export async function benchCommand(args: string[]): Promise<number> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const harness = join(root, 'bench', 'run.ts');
  if (!existsSync(harness) || !existsSync(join(root, 'node_modules', 'tsx'))) {
    throw new UsageError(
      `the benchmark harness is part of the source repository: clone kafka-wire, run "npm ci", then "npm run bench" (looked for ${harness})`,
    );
  }
  const child = spawn('npm', ['run', 'bench', '--', ...args], { cwd: root, stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}
