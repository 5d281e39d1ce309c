import { isDeepStrictEqual } from 'node:util';
import {
  allMessages,
  fromReferenceJson,
  type Message,
  type MessageUnderTest,
  maskRecords,
  projectToVersion,
  randomMessage,
  toJsonText,
  toReferenceJson,
  versionsOf,
} from '../support/messages.js';
import { Random } from '../support/random.js';
import type { ReferenceOracle } from './oracle.js';

/** Byte-for-byte comparison of our codecs with the reference, per message version. */

export interface VersionResult {
  message: string;
  version: number;
  tried: number;
  identical: number;
  /** The first disagreement, described; absent when every message agreed. */
  firstDifference?: string;
}

function firstByteDifference(ours: Buffer, theirs: Buffer): string {
  let index = 0;
  while (index < ours.length && index < theirs.length && ours[index] === theirs[index]) index++;
  const around = (bytes: Buffer) => bytes.subarray(Math.max(0, index - 4), index + 8).toString('hex');
  return (
    `bytes differ at offset ${index} (ours ${ours.length} bytes, theirs ${theirs.length}): ` +
    `ours …${around(ours)}… theirs …${around(theirs)}…`
  );
}

/** Checks one message and version: `count` seeded random messages, encode and decode against the reference. */
export async function compareVersion(
  oracle: ReferenceOracle,
  { spec, codec }: MessageUnderTest,
  version: number,
  count: number,
  seed: number,
): Promise<VersionResult> {
  const random = new Random(seed);
  const result: VersionResult = { message: spec.name, version, tried: 0, identical: 0 };
  const note = (difference: string) => (result.firstDifference ??= difference);
  const messages = Array.from({ length: count }, () => randomMessage(spec, version, random));
  const answers = await Promise.all(
    messages.map((message) => oracle.ask(spec.name, version, toJsonText(toReferenceJson(spec, version, message)))),
  );
  messages.forEach((message, index) => {
    result.tried++;
    const answer = answers[index];
    if (!answer || answer.error !== undefined || answer.bytes === undefined) {
      note(`message #${index}: the reference refused it: ${answer?.error ?? 'no answer'}`);
      return;
    }
    const theirs = Buffer.from(answer.bytes, 'base64');
    let ours: Buffer;
    try {
      ours = codec.encode(message, version);
    } catch (error) {
      note(`message #${index}: our encoder threw ${(error as Error).message}`);
      return;
    }
    if (!ours.equals(theirs)) {
      note(`message #${index}: ${firstByteDifference(ours, theirs)}`);
      return;
    }
    let decoded: unknown;
    try {
      decoded = codec.decode(theirs, version);
    } catch (error) {
      note(`message #${index}: our decoder threw on the reference bytes: ${(error as Error).message}`);
      return;
    }
    if (!isDeepStrictEqual(decoded, projectToVersion(spec, version, message))) {
      note(`message #${index}: our decode of the reference bytes differs from the message that was encoded`);
      return;
    }
    const referenceDecode = fromReferenceJson(spec, version, answer.json);
    if (!isDeepStrictEqual(maskRecords(spec, decoded as Message), maskRecords(spec, referenceDecode))) {
      note(`message #${index}: our decode differs from the reference's decode of the same bytes`);
      return;
    }
    result.identical++;
  });
  return result;
}

export interface DifferentialReport {
  results: VersionResult[];
  messages: number;
  failed: number;
}

/** Every covered message at every version, `perVersion` messages each. */
export async function runDifferential(oracle: ReferenceOracle, perVersion: number): Promise<DifferentialReport> {
  const results: VersionResult[] = [];
  for (const entry of allMessages()) {
    const batch = await Promise.all(
      versionsOf(entry.spec).map((version) =>
        compareVersion(oracle, entry, version, perVersion, hashSeed(`${entry.spec.name}:${version}`)),
      ),
    );
    results.push(...batch);
  }
  return {
    results,
    messages: results.reduce((sum, result) => sum + result.tried, 0),
    failed: results.filter((result) => result.identical !== result.tried).length,
  };
}

export function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
