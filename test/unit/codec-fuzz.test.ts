import { expect, test } from 'vitest';
import { ProtocolError } from '../../src/protocol/primitives/index.js';
import { allMessages, randomMessage, versionsOf } from '../support/messages.js';
import { Random } from '../support/random.js';

const INPUTS_PER_VERSION = 320;

/** A valid encoding with a few bytes changed, cut short, extended or given a huge length. */
function mutate(valid: Buffer, random: Random): Buffer {
  const bytes = Buffer.from(valid);
  switch (random.int(0, 4)) {
    case 0: // flip some bytes
      for (let i = random.int(1, 4); i > 0 && bytes.length > 0; i--) bytes[random.int(0, bytes.length - 1)] = random.int(0, 255);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, random.int(0, Math.max(0, bytes.length - 1)));
    case 2: // append garbage
      return Buffer.concat([bytes, random.bytes(random.int(1, 16))]);
    case 3: // plant a huge length or count: 0x7fffffff, or a 5-byte varint
      if (bytes.length >= 4) {
        const at = random.int(0, bytes.length - 4);
        if (random.chance(0.5)) bytes.writeInt32BE(0x7fffffff, at);
        else bytes.set([0xff, 0xff, 0xff, 0xff], at);
      }
      return bytes;
    default: {
      // insert random bytes in the middle
      const at = random.int(0, bytes.length);
      return Buffer.concat([bytes.subarray(0, at), random.bytes(random.int(1, 8)), bytes.subarray(at)]);
    }
  }
}

const title =
  'decoders given random and mutated bytes return a message or throw a ProtocolError ' +
  `(${INPUTS_PER_VERSION} inputs per message version)`;
test(title, () => {
  const random = new Random(0xf022);
  let inputs = 0;
  let decoded = 0;
  let rejected = 0;
  const unexpected: string[] = [];
  for (const { spec, codec } of allMessages()) {
    for (const version of versionsOf(spec)) {
      const valid = codec.encode(randomMessage(spec, version, random, { unknownTags: true }), version);
      for (let i = 0; i < INPUTS_PER_VERSION; i++) {
        const input = i % 3 === 0 ? random.bytes(random.int(0, 64)) : mutate(valid, random);
        inputs++;
        try {
          codec.decode(input, version);
          decoded++;
        } catch (error) {
          if (error instanceof ProtocolError) rejected++;
          else if (unexpected.length < 10)
            unexpected.push(`${spec.name} v${version} input ${input.toString('hex').slice(0, 80)}: ${String(error)}`);
        }
      }
    }
  }
  expect(unexpected, unexpected.join('\n')).toEqual([]);
  expect(inputs).toBeGreaterThanOrEqual(100_000);
  expect(decoded + rejected).toBe(inputs);
  // Both outcomes occur, so the inputs really exercise the decoders rather than all failing at byte 0.
  expect(decoded).toBeGreaterThan(1000);
  expect(rejected).toBeGreaterThan(10_000);
  console.log(`[fuzz] ${inputs} inputs: ${decoded} decoded, ${rejected} rejected with a ProtocolError`);
});
