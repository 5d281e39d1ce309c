import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedKafkaError } from './errors.js';
import { cacheRoot } from './paths.js';
import { findMaven } from './tools.js';
import { describeValidVersions, validateKafkaVersion } from './versions.js';

/** The jars of one Kafka version, resolved from Maven Central and cached. */
export interface KafkaArtifacts {
  version: string;
  libDir: string;
  /** A java -cp value covering the broker, its dependencies and (where published) the reference tools. */
  classpath: string;
}

const MAVEN_TIMEOUT_MS = 15 * 60_000;
const COMPLETE_MARKER = '.complete';

/**
 * The artifacts to resolve. kafka-tools (the reference console and perf tools) is left out
 * for a release whose kafka-tools is not (yet) published, as 4.4.0's was not for weeks; the broker runs without it.
 */
function pom(version: string, withTools: boolean, extra: string[] = []): string {
  const dependency = (coordinates: string) => {
    const [groupId, artifactId, v] = coordinates.split(':');
    return `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${v}</version></dependency>`;
  };
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kafka-wire.embedded</groupId>
  <artifactId>kafka-${version}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${[`org.apache.kafka:kafka_2.13:${version}`, ...(withTools ? [`org.apache.kafka:kafka-tools:${version}`] : []), ...extra]
  .map(dependency)
  .join('\n')}
  </dependencies>
</project>
`;
}

function runMaven(dir: string, logFile: string): Promise<{ ok: boolean; output: string }> {
  const mvn = findMaven();
  return new Promise((resolvePromise) => {
    const child = spawn(
      mvn,
      ['-B', '-f', join(dir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${join(dir, 'lib')}`, '-DincludeScope=runtime'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), MAVEN_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ ok: false, output: `${output}\n${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      writeFileSync(logFile, output);
      resolvePromise({ ok: code === 0, output });
    });
  });
}

/** The log4j2 that Kafka 4.0's own distribution ships. */
const KAFKA_4_0_LOG4J = '2.24.3';

/**
 * What to add so the broker logs at all. Kafka 4.1+ brings log4j2 but not its slf4j binding;
 * 4.0's Maven artifacts bring no logging backend (only its distribution does); older lines
 * bring reload4j's or log4j 1's binding.
 */
function missingLogging(libDir: string): string[] {
  const jars = readdirSync(libDir);
  const bindings = ['slf4j-reload4j-', 'slf4j-log4j12-', 'log4j-slf4j'];
  if (jars.some((jar) => bindings.some((binding) => jar.startsWith(binding)))) return [];
  const log4jApi = jars.find((jar) => /^log4j-api-[\d.]+\.jar$/.test(jar));
  if (!log4jApi)
    return [`org.apache.logging.log4j:log4j-core:${KAFKA_4_0_LOG4J}`, `org.apache.logging.log4j:log4j-slf4j-impl:${KAFKA_4_0_LOG4J}`];
  const log4jVersion = log4jApi.slice('log4j-api-'.length, -'.jar'.length);
  return [`org.apache.logging.log4j:log4j-slf4j-impl:${log4jVersion}`];
}

function explainMavenFailure(version: string, output: string, logFile: string): EmbeddedKafkaError {
  if (/Could not (find|resolve) artifact|Could not resolve dependencies|was not found in/.test(output)) {
    return new EmbeddedKafkaError(
      'UNKNOWN_VERSION',
      `Apache Kafka ${version} could not be resolved from Maven Central ` +
        `(org.apache.kafka:kafka_2.13:${version} and its dependencies must be published); ` +
        `${describeValidVersions()}. Maven's output: ${logFile}`,
    );
  }
  const tail = output.trim().split('\n').slice(-15).join('\n');
  return new EmbeddedKafkaError('FETCH_FAILED', `mvn failed to fetch Apache Kafka ${version} (full output: ${logFile}):\n${tail}`);
}

/**
 * True when Maven failed only for want of kafka-tools of this version (or of kafka-tools-api,
 * which it needs); when the broker needs one of them too, the retry without says so.
 */
export function onlyToolsMissing(version: string, output: string): boolean {
  const missing = [...output.matchAll(/Could not find artifact org\.apache\.kafka:([\w.-]+):jar:([\w.-]+)/g)];
  const tools = ['kafka-tools', 'kafka-tools-api'];
  return missing.length > 0 && missing.every(([, artifact, v]) => tools.includes(artifact as string) && v === version);
}

function artifactsIn(version: string, dir: string): KafkaArtifacts {
  const libDir = join(dir, 'lib');
  return { version, libDir, classpath: `${libDir}/*` };
}

export function cachedKafka(version: string): KafkaArtifacts | undefined {
  const dir = join(cacheRoot(), 'kafka', version);
  return existsSync(join(dir, COMPLETE_MARKER)) ? artifactsIn(version, dir) : undefined;
}

/**
 * Resolves Kafka's server and tools jars with Maven into the cache, once per version.
 * Work happens in a scratch directory renamed into place, so an interrupted or concurrent
 * fetch never leaves a half-filled version directory behind.
 */
export async function fetchKafka(requestedVersion: string, log: (line: string) => void = () => {}): Promise<KafkaArtifacts> {
  const version = validateKafkaVersion(requestedVersion);
  const cached = cachedKafka(version);
  if (cached) return cached;

  const versionsDir = join(cacheRoot(), 'kafka');
  mkdirSync(versionsDir, { recursive: true });
  const scratch = join(versionsDir, `.fetch-${version}-${process.pid}-${Date.now()}`);
  mkdirSync(scratch, { recursive: true });
  const logFile = join(versionsDir, `mvn-${version}.log`);
  try {
    log(`fetching Apache Kafka ${version} from Maven Central with mvn (once; cached in ${versionsDir})`);
    let withTools = true;
    writeFileSync(join(scratch, 'pom.xml'), pom(version, withTools));
    let result = await runMaven(scratch, logFile);
    if (!result.ok && onlyToolsMissing(version, result.output)) {
      log(`org.apache.kafka:kafka-tools:${version} is not on Maven Central; fetching the broker without the reference tools`);
      withTools = false;
      writeFileSync(join(scratch, 'pom.xml'), pom(version, withTools));
      result = await runMaven(scratch, logFile);
    }
    if (!result.ok) throw explainMavenFailure(version, result.output, logFile);

    const logging = missingLogging(join(scratch, 'lib'));
    if (logging.length > 0) {
      writeFileSync(join(scratch, 'pom.xml'), pom(version, withTools, logging));
      result = await runMaven(scratch, logFile);
      if (!result.ok) throw explainMavenFailure(version, result.output, logFile);
    }
    writeFileSync(join(scratch, COMPLETE_MARKER), `${new Date().toISOString()}\n`);

    const target = join(versionsDir, version);
    try {
      renameSync(scratch, target);
    } catch (error) {
      // Another process finished the same fetch first; its copy is as good as ours.
      if (!cachedKafka(version)) throw error;
    }
    const artifacts = cachedKafka(version);
    if (!artifacts) throw new EmbeddedKafkaError('FETCH_FAILED', `Kafka ${version} was fetched but ${target} is incomplete`);
    return artifacts;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
