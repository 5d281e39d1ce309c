/**
 * The Java client: AssignedPartitionsReader.java (Kafka's KafkaConsumer with assign(), no
 * consumer group), compiled with the JDK's javac against the broker's jars into a temporary
 * directory, then run on the JVM flags of Kafka's scripts. Kafka's own consumer perf tool
 * (kafka-consumer-perf-test) always subscribes with a group and checks nothing but a count,
 * so the bench has a reader of its own. The reader writes the runners' JSON lines itself (CPU
 * and peak RSS are the JVM's own); this runner passes them on and anything else to stderr.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { JVM_FLAGS } from '../jvm.js';
import { readConfig, runClient } from '../kit.js';
import { readPlan } from './tally.js';

const SOURCE = fileURLToPath(new URL('./AssignedPartitionsReader.java', import.meta.url));

runClient(async () => {
  const config = readConfig();
  const plan = readPlan(config);
  const classes = mkdtempSync(join(tmpdir(), 'bench-java-reader-'));
  try {
    const classPath = `${classes}:${config.kafkaLibDir}/*`;
    execFileSync('javac', ['-nowarn', '-cp', `${config.kafkaLibDir}/*`, '-d', classes, SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
    const args = [
      config.bootstrap,
      config.topic,
      plan.partitionEnds.join(','),
      plan.maxBytesPerPartition,
      plan.maxBytes,
      plan.maxWaitMs,
      plan.maxPollRecords,
    ].map(String);
    const java = spawn('java', [...JVM_FLAGS, '-cp', classPath, 'AssignedPartitionsReader', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve, reject) => java.once('error', reject).once('close', resolve));
    let finished = false;
    createInterface({ input: java.stdout }).on('line', (text) => {
      if (text.startsWith('{"')) {
        finished ||= text.startsWith('{"done"');
        process.stdout.write(`${text}\n`);
      } else process.stderr.write(`java: ${text}\n`);
    });
    const code = await exited;
    if (!finished) throw new Error(`AssignedPartitionsReader exited with ${code} without its done line`);
  } finally {
    rmSync(classes, { recursive: true, force: true });
  }
});
