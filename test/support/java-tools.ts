import { execFile, spawnSync } from 'node:child_process';
import { cachedKafka } from '../../src/embedded/artifacts.js';
import { findJavaTools } from '../../src/embedded/tools.js';

/** Runs one of Kafka's own command-line tools (e.g. org.apache.kafka.tools.TopicCommand) from the cached download. */
export function runKafkaTool(
  kafkaVersion: string,
  mainClass: string,
  args: string[],
  timeoutMs = 120_000,
  input?: string,
): { status: number | null; output: string } {
  const artifacts = cachedKafka(kafkaVersion);
  if (!artifacts) throw new Error(`Kafka ${kafkaVersion} is not in the cache; run "kafka-wire broker fetch --version ${kafkaVersion}"`);
  const result = spawnSync(findJavaTools().java, ['-Xmx256m', '-cp', artifacts.classpath, mainClass, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    input,
    // A console consumer's output can run to megabytes (spawnSync keeps only 1 MiB by default).
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * runKafkaTool without blocking the event loop: for callers whose process must keep working
 * meanwhile (the fault suite, whose loads must keep their pace).
 */
export function runKafkaToolAsync(
  kafkaVersion: string,
  mainClass: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ status: number | null; output: string }> {
  const artifacts = cachedKafka(kafkaVersion);
  if (!artifacts) throw new Error(`Kafka ${kafkaVersion} is not in the cache; run "kafka-wire broker fetch --version ${kafkaVersion}"`);
  return new Promise((resolve) => {
    execFile(
      findJavaTools().java,
      ['-Xmx256m', '-cp', artifacts.classpath, mainClass, ...args],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ status, output: `${stdout}${stderr}` });
      },
    );
  });
}
