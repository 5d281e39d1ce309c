import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_KAFKA_VERSION } from '../../src/embedded/versions.js';
import { allMessages, versionsOf } from '../support/messages.js';
import { compareVersion, hashSeed } from './differential.js';
import { ReferenceOracle } from './oracle.js';

const MESSAGES_PER_VERSION = 50;
let oracle: ReferenceOracle;

beforeAll(async () => {
  oracle = await ReferenceOracle.start(process.env.KAFKA_WIRE_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION);
});
afterAll(async () => {
  await oracle?.close();
});

describe('byte-for-byte against the reference implementation', () => {
  test.each(allMessages().map((entry) => [entry.spec.name, entry] as const))(
    '%s: every version, 50 seeded messages each',
    async (_name, entry) => {
      const results = await Promise.all(
        versionsOf(entry.spec).map((version) =>
          compareVersion(oracle, entry, version, MESSAGES_PER_VERSION, hashSeed(`${entry.spec.name}:${version}`)),
        ),
      );
      for (const result of results) {
        expect(result.tried).toBe(MESSAGES_PER_VERSION);
        expect(result.identical, `${result.message} v${result.version}: ${result.firstDifference}`).toBe(result.tried);
      }
    },
  );
});
