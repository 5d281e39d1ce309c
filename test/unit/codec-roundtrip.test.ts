import { describe, expect, test } from 'vitest';
import { SizeCache } from '../../src/protocol/primitives/index.js';
import { allMessages, projectToVersion, randomMessage, versionsOf } from '../support/messages.js';
import { Random } from '../support/random.js';

const MESSAGES_PER_VERSION = 60;

describe.each(allMessages().map((entry) => [entry.spec.name, entry] as const))('%s round trip', (_name, { spec, codec }) => {
  test.each(versionsOf(spec))('v%i: encode → decode gives the message back, and size = bytes written', (version) => {
    const random = new Random(0x5eed ^ (spec.name.length << 8) ^ version);
    for (let i = 0; i < MESSAGES_PER_VERSION; i++) {
      const message = randomMessage(spec, version, random, { unknownTags: true });
      const bytes = codec.encode(message, version);
      expect(codec.size(new SizeCache(spec.name, version), message, version)).toBe(bytes.length);
      const decoded = codec.decode(bytes, version);
      expect(decoded).toEqual(projectToVersion(spec, version, message));
      // Unknown tagged fields survive a second trip byte for byte.
      expect(codec.encode(decoded, version)).toEqual(bytes);
    }
  });
});
