import { describe, expect, test } from 'vitest';
import { AddPartitionsToTxn, Metadata, Produce } from '../../src/protocol/generated/index.js';
import { DecodeError, EncodeError, UnsupportedVersionError } from '../../src/protocol/primitives/index.js';

describe('encoding refuses what a version cannot carry', () => {
  test('a non-ignorable field set in a version that lacks it', () => {
    const request = AddPartitionsToTxn.request.create({
      transactions: [{ transactionalId: 't', producerId: 1n, producerEpoch: 0, verifyOnly: false, topics: [] }],
    });
    expect(() => AddPartitionsToTxn.request.encode(request, 3)).toThrow(EncodeError);
    expect(() => AddPartitionsToTxn.request.encode(request, 3)).toThrow(
      'cannot encode AddPartitionsToTxnRequest v3: transactions is set, but version 3 does not have it',
    );
    expect(AddPartitionsToTxn.request.encode(request, 4).length).toBeGreaterThan(0);
  });

  test('a non-default tagged struct in a version before its tag exists', () => {
    const response = Produce.response.create({
      responses: [
        {
          name: 't',
          topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
          partitionResponses: [{ ...partitionResponse(), currentLeader: { leaderId: 3, leaderEpoch: 7 } }],
        },
      ],
    });
    expect(() => Produce.response.encode(response, 9)).toThrow(/currentLeader is set, but version 9 does not have it/);
    const decoded = Produce.response.decode(Produce.response.encode(response, 10), 10);
    expect(decoded.responses[0]!.partitionResponses[0]!.currentLeader).toEqual({ leaderId: 3, leaderEpoch: 7 });
  });

  test('an ignorable field the version lacks is dropped, as the reference does', () => {
    const request = Produce.request.create({ topicData: [{ name: 'events', topicId: 'ABEiM0RVZneImaq7zN3u_w', partitionData: [] }] });
    const decoded = Produce.request.decode(Produce.request.encode(request, 12), 12);
    expect(decoded.topicData[0]).toEqual({ name: 'events', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitionData: [] });
  });

  test('null where the version does not allow it', () => {
    expect(() => Metadata.request.encode(Metadata.request.create({ topics: null }), 0)).toThrow(
      'cannot encode MetadataRequest v0: topics is null, but is not nullable in this version',
    );
    expect(Metadata.request.encode(Metadata.request.create({ topics: null }), 1).toString('hex')).toBe('ffffffff');
  });

  test('versions outside the codec range', () => {
    expect(() => Metadata.request.encode(Metadata.request.create(), 14)).toThrow(UnsupportedVersionError);
    expect(() => Metadata.response.decode(Buffer.alloc(0), -1)).toThrow(UnsupportedVersionError);
  });
});

describe('decoding names the message, version and byte offset', () => {
  test('truncated input', () => {
    const bytes = Metadata.response.encode(
      Metadata.response.create({ brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }] }),
      12,
    );
    expect(() => Metadata.response.decode(bytes.subarray(0, 12), 12)).toThrow(DecodeError);
    expect(() => Metadata.response.decode(bytes.subarray(0, 12), 12)).toThrow(/^cannot decode MetadataResponse v12 at byte \d+: /);
  });

  test('a null in a non-nullable field', () => {
    // Metadata v1 request: topics array null is allowed; the topic name inside is not nullable.
    const bytes = Buffer.from('00000001ffff', 'hex'); // 1 topic, name length -1
    expect(() => Metadata.request.decode(bytes, 1)).toThrow(
      'cannot decode MetadataRequest v1 at byte 4: non-nullable field name was serialized as null',
    );
  });
});

function partitionResponse() {
  return {
    index: 0,
    errorCode: 0,
    baseOffset: 5n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorMessage: null,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
}
