/**
 * npm run conformance: the drift check against the official specs and the byte-for-byte
 * differential test against the reference implementation, in one run. Prints one summary line
 * and writes conformance-report.json. Exits non-zero on any difference.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkDrift } from '../../codegen/drift.js';
import { officialSpecDir } from '../../codegen/official-specs.js';
import { DEFAULT_KAFKA_VERSION } from '../../src/embedded/versions.js';
import { schemas } from '../support/messages.js';
import { runDifferential, type VersionResult } from './differential.js';
import { ReferenceOracle } from './oracle.js';

const MESSAGES_PER_VERSION = Number(process.env.CONFORMANCE_MESSAGES ?? 50);
const REPORT = fileURLToPath(new URL('../../conformance-report.json', import.meta.url));

interface Entry {
  api: string;
  version: number;
  parts: Record<string, { tried: number; identical: number; firstDifference?: string }>;
  drift: string[];
}

async function main(): Promise<number> {
  const kafkaVersion = process.env.KAFKA_WIRE_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  const set = schemas();
  const drift = checkDrift(set, await officialSpecDir(kafkaVersion));
  console.log(
    `drift: ${drift.messages} messages, ${drift.versionsCompared} message versions compared with the Kafka ${kafkaVersion} specs, ` +
      `${drift.differences.length} differences`,
  );
  for (const difference of drift.differences) console.log(`  ${difference}`);

  const oracle = await ReferenceOracle.start(kafkaVersion);
  const differential = await runDifferential(oracle, MESSAGES_PER_VERSION).finally(() => oracle.close());

  // One entry per API version (its request and response) and per header version.
  const owner = new Map<string, string>();
  for (const api of set.apis) {
    owner.set(api.request.name, api.name);
    owner.set(api.response.name, api.name);
  }
  const entries = new Map<string, Entry>();
  const entryFor = (message: string, version: number): Entry => {
    const api = owner.get(message) ?? message;
    const key = `${api} v${version}`;
    let entry = entries.get(key);
    if (!entry) entries.set(key, (entry = { api, version, parts: {}, drift: [] }));
    return entry;
  };
  for (const result of differential.results as VersionResult[]) {
    const { message, version, ...part } = result;
    entryFor(message, version).parts[message] = part;
  }
  for (const difference of drift.differences) {
    const match = /^(\w+) v(\d+):/.exec(difference);
    if (match) entryFor(match[1] as string, Number(match[2])).drift.push(difference);
  }
  const all = [...entries.values()];
  const failed = all.filter((entry) => entry.drift.length > 0 || Object.values(entry.parts).some((part) => part.identical !== part.tried));
  const wholeMessageDrift = drift.differences.filter((difference) => !/^\w+ v\d+:/.test(difference));

  writeFileSync(
    REPORT,
    `${JSON.stringify(
      {
        kafkaVersion,
        messagesPerVersion: MESSAGES_PER_VERSION,
        summary: {
          apiVersionsIdentical: all.length - failed.length,
          failed: failed.length,
          messages: differential.messages,
          driftDifferences: drift.differences.length,
        },
        driftWholeMessage: wholeMessageDrift,
        apiVersions: all,
      },
      null,
      2,
    )}\n`,
  );
  for (const entry of failed) {
    for (const [message, part] of Object.entries(entry.parts)) {
      if (part.firstDifference)
        console.log(`  ${message} v${entry.version}: ${part.identical}/${part.tried} identical; first difference: ${part.firstDifference}`);
    }
  }
  console.log(
    `conformance: ${all.length - failed.length} api-versions byte-identical, ` +
      `${failed.length + wholeMessageDrift.length} failed, ${differential.messages} messages`,
  );
  console.log(`report: ${REPORT}`);
  return failed.length + wholeMessageDrift.length === 0 ? 0 : 1;
}

process.exitCode = await main();
