import { expect, test } from 'vitest';
import { decodeRequest, encodeRequest } from '../../src/protocol/frame.js';
import { Produce } from '../../src/protocol/generated/index.js';
import { MemoryPool } from '../../src/records/memory-pool.js';
import { encodeProduceFrame, type ProduceRequestParts } from '../../src/records/produce-frame.js';
import { Random } from '../support/random.js';

function randomParts(random: Random): ProduceRequestParts {
  return {
    transactionalId: random.chance(0.3) ? null : random.pick(['', 'tx-1', 'trānsactiön']),
    acks: random.pick([-1, 0, 1]),
    timeoutMs: random.int(0, 60_000),
    topics: Array.from({ length: random.int(0, 3) }, (_, t) => ({
      name: random.pick([`topic-${t}`, 'é-topic', 'x'.repeat(random.int(1, 200))]),
      topicId: random.bytes(16).toString('base64url'),
      partitions: Array.from({ length: random.int(0, 4) }, (_, p) => {
        if (random.chance(0.15)) return { index: p, batch: null };
        // A batch in one to three pieces, as a compressed batch (header + records) would be.
        const pieces = Array.from({ length: random.int(1, 3) }, () =>
          random.bytes(random.chance(0.1) ? random.int(200, 3000) : random.int(0, 80)),
        );
        return { index: p, batch: { pieces, size: pieces.reduce((sum, piece) => sum + piece.length, 0) } };
      }),
    })),
  };
}

test('the hand-written Produce frame is byte-identical to the generated encoder at every version, and decodes', () => {
  const random = new Random(0x9d0c);
  const pool = new MemoryPool({ poison: true });
  for (let version = Produce.request.minVersion; version <= Produce.request.maxVersion; version++) {
    for (let i = 0; i < 60; i++) {
      const parts = randomParts(random);
      const clientId = random.chance(0.1) ? null : random.pick(['kafka-wire', 'ü-client']);
      const correlationId = random.int(0, 0x7fffffff);
      const frame = encodeProduceFrame(version, correlationId, clientId, parts, pool);
      const bytes = Buffer.concat(frame.pieces);
      expect(bytes.length).toBe(frame.size);
      const body = Produce.request.create({
        transactionalId: parts.transactionalId,
        acks: parts.acks,
        timeoutMs: parts.timeoutMs,
        topicData: parts.topics.map((topic) => ({
          name: version < 13 ? topic.name : '',
          topicId: version >= 13 ? topic.topicId : 'AAAAAAAAAAAAAAAAAAAAAA',
          partitionData: topic.partitions.map((partition) => ({
            index: partition.index,
            records: partition.batch ? Buffer.concat(partition.batch.pieces) : null,
          })),
        })),
      });
      expect(bytes.equals(encodeRequest(Produce, version, correlationId, clientId, body)), `Produce v${version} #${i}`).toBe(true);
      expect(decodeRequest(Produce, version, bytes.subarray(4)).body).toEqual(body);
      frame.release();
    }
  }
  expect(pool.outstanding).toBe(0);
});

test('batches are handed over uncopied: their pieces appear in the frame as the same buffers', () => {
  const batch = Buffer.from('batch bytes');
  const frame = encodeProduceFrame(9, 1, 'c', {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topics: [{ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ index: 0, batch: { pieces: [batch], size: batch.length } }] }],
  });
  expect(frame.pieces).toContain(batch);
  frame.release();
});
