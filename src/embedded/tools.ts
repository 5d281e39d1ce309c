import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EmbeddedKafkaError } from './errors.js';

/** The external programs the embedded broker needs, located once. */
export interface JavaTools {
  java: string;
  keytool: string;
  javaMajor: number;
}

const INSTALL_JDK = 'install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME';

function javaHomeBinary(name: string): string | undefined {
  const home = process.env.JAVA_HOME;
  if (!home) return undefined;
  const candidate = join(home, 'bin', name);
  return existsSync(candidate) ? candidate : undefined;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Reads the major version from `java -version` output ("17.0.15", "1.8.0_402"). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

export function findJavaTools(): JavaTools {
  const java = javaHomeBinary('java') ?? onPath('java');
  if (!java) throw new EmbeddedKafkaError('TOOL_MISSING', `java was not found on PATH or in JAVA_HOME: ${INSTALL_JDK}`);
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  const javaMajor = parseJavaMajor(`${probe.stderr}${probe.stdout}`);
  if (probe.status !== 0 || javaMajor === undefined) {
    throw new EmbeddedKafkaError(
      'TOOL_MISSING',
      `${java} -version failed (${probe.error?.message ?? probe.stderr.trim()}): ${INSTALL_JDK}`,
    );
  }
  if (javaMajor < 17) {
    throw new EmbeddedKafkaError('TOOL_MISSING', `Kafka 4 brokers need Java 17 or newer, but ${java} is Java ${javaMajor}: ${INSTALL_JDK}`);
  }
  // keytool ships beside the real java binary, which PATH usually reaches through symlinks.
  const keytool = javaHomeBinary('keytool') ?? join(dirname(realpathSync(java)), 'keytool');
  if (!existsSync(keytool)) {
    throw new EmbeddedKafkaError('TOOL_MISSING', `keytool was not found next to ${realpathSync(java)}: ${INSTALL_JDK}`);
  }
  return { java, keytool, javaMajor };
}

export function findMaven(): string {
  const mvn = onPath('mvn');
  if (!mvn) {
    throw new EmbeddedKafkaError(
      'TOOL_MISSING',
      'mvn (Apache Maven) was not found on PATH; it downloads Kafka from Maven Central the first time: ' +
        'install Maven 3.6+ (Debian: apt-get install maven)',
    );
  }
  return mvn;
}
