import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchKafka } from '../../src/embedded/artifacts.js';
import { findJavaTools } from '../../src/embedded/tools.js';

/** The reference implementation in one JVM: Kafka's own JsonConverter, serialiser and parser (see java/KafkaOracle.java). */

const SOURCE = fileURLToPath(new URL('./java/KafkaOracle.java', import.meta.url));
const ANSWER_TIMEOUT_MS = 120_000;

export interface OracleAnswer {
  bytes?: string;
  json?: unknown;
  error?: string;
}

/** Compiles KafkaOracle.java against the kafka-clients of `kafkaVersion` (once per source change). */
function compile(kafkaVersion: string, classpath: string, libDir: string): string {
  const source = readFileSync(SOURCE);
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const out = join(dirname(libDir), 'oracle', digest);
  if (existsSync(join(out, 'KafkaOracle.class'))) return out;
  mkdirSync(out, { recursive: true });
  // javac sits beside the real java binary, which PATH usually reaches through symlinks.
  const javac = join(dirname(realpathSync(findJavaTools().java)), 'javac');
  const javacPath = existsSync(javac) ? javac : 'javac';
  const result = spawnSync(javacPath, ['-cp', classpath, '-d', out, SOURCE], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) {
    throw new Error(
      `javac could not compile the reference oracle against Kafka ${kafkaVersion} (a JDK with javac is needed): ` +
        (result.error?.message ?? result.stderr),
    );
  }
  writeFileSync(join(out, 'source.sha256'), `${digest}\n`);
  return out;
}

export class ReferenceOracle {
  private nextId = 1;
  private readonly pending = new Map<number, (answer: OracleAnswer) => void>();
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    // Split on \n alone: answers may hold U+2028 and friends, which readline would also treat as line ends.
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) this.answer(line);
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('exit', (code) => {
      this.exited = `the reference oracle exited (code ${code}): ${stderr.trim()}`;
      for (const resolve of this.pending.values()) resolve({ error: this.exited });
      this.pending.clear();
    });
  }

  private answer(line: string): void {
    const answer = JSON.parse(line) as OracleAnswer & { id: string };
    const id = Number(answer.id);
    const resolve = this.pending.get(id);
    this.pending.delete(id);
    resolve?.(answer);
  }

  static async start(kafkaVersion: string): Promise<ReferenceOracle> {
    const artifacts = await fetchKafka(kafkaVersion);
    const classes = compile(kafkaVersion, artifacts.classpath, artifacts.libDir);
    const { java } = findJavaTools();
    const child = spawn(java, ['-Xmx512m', '-cp', `${classes}:${artifacts.classpath}`, 'KafkaOracle'], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new ReferenceOracle(child);
  }

  /** Builds `json` as `message` at `version` with the reference, serialises it and parses it back. */
  ask(message: string, version: number, jsonText: string): Promise<OracleAnswer> {
    if (this.exited) return Promise.resolve({ error: this.exited });
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ error: `no answer from the reference oracle within ${ANSWER_TIMEOUT_MS / 1000} s` });
      }, ANSWER_TIMEOUT_MS);
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.child.stdin.write(`{"id":${id},"message":${JSON.stringify(message)},"version":${version},"json":${jsonText}}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
