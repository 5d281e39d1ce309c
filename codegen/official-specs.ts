import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fetchKafka } from '../src/embedded/artifacts.js';
import { findJavaTools } from '../src/embedded/tools.js';
import { DEFAULT_KAFKA_VERSION } from '../src/embedded/versions.js';

/** The official message specs (common/message/*.json of kafka-clients), for import and drift checks. */

export interface OfficialField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  ignorable?: boolean;
  mapKey?: boolean;
  default?: string | number | boolean;
  fields?: OfficialField[];
  about?: string;
  entityType?: string;
  zeroCopy?: boolean;
}

export interface OfficialSpec {
  apiKey?: number;
  type: 'request' | 'response' | 'header' | 'data';
  name: string;
  validVersions: string;
  flexibleVersions: string;
  latestVersionUnstable?: boolean;
  fields: OfficialField[];
  commonStructs?: { name: string; versions: string; fields: OfficialField[] }[];
}

/** Removes // comments outside string literals, so the specs parse as JSON. */
export function stripJsonComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (inString) {
      out += char;
      if (char === '\\') out += text[++i] ?? '';
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
      out += char;
    } else if (char === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += char;
    }
  }
  return out;
}

/** Extracts the specs from the cached kafka-clients jar of `version` (fetched with mvn if needed); returns their directory. */
export async function officialSpecDir(version = DEFAULT_KAFKA_VERSION): Promise<string> {
  const artifacts = await fetchKafka(version);
  const target = join(dirname(artifacts.libDir), 'specs');
  const messages = join(target, 'common', 'message');
  if (existsSync(messages) && readdirSync(messages).length > 0) return messages;
  const jar = join(artifacts.libDir, `kafka-clients-${version}.jar`);
  const jarTool = join(dirname(realpathSync(findJavaTools().java)), 'jar');
  mkdirSync(target, { recursive: true });
  const result = spawnSync(jarTool, ['xf', jar, 'common/message/'], { cwd: target, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`could not extract the message specs from ${jar}: ${result.stderr || result.error?.message}`);
  return messages;
}

export function readOfficialSpec(dir: string, name: string): OfficialSpec {
  return JSON.parse(stripJsonComments(readFileSync(join(dir, `${name}.json`), 'utf8'))) as OfficialSpec;
}
