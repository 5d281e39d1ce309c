import { beforeAll, describe, expect, test } from 'vitest';
import { checkDrift, compareMessage } from '../../codegen/drift.js';
import { officialSpecDir, readOfficialSpec } from '../../codegen/official-specs.js';
import { loadSchemas } from '../../codegen/schema.js';
import { DEFAULT_KAFKA_VERSION } from '../../src/embedded/versions.js';
import { schemas } from '../support/messages.js';

const REQUIRED_APIS = [
  'ApiVersions',
  'Metadata',
  'Produce',
  'Fetch',
  'ListOffsets',
  'FindCoordinator',
  'InitProducerId',
  'AddPartitionsToTxn',
  'AddOffsetsToTxn',
  'EndTxn',
  'TxnOffsetCommit',
  'CreateTopics',
  'DeleteTopics',
  'CreatePartitions',
  'DescribeConfigs',
  'DescribeCluster',
  'DescribeProducers',
  'DescribeTransactions',
  'SaslHandshake',
  'SaslAuthenticate',
  'OffsetCommit',
  'OffsetFetch',
  'JoinGroup',
  'SyncGroup',
  'Heartbeat',
  'LeaveGroup',
];

let specDir: string;
beforeAll(async () => {
  specDir = await officialSpecDir(process.env.KAFKA_WIRE_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION);
});

describe('drift against the official specs of the kafka-clients jar', () => {
  test('every required API is covered', () => {
    expect(
      schemas()
        .apis.map((api) => api.name)
        .sort(),
    ).toEqual([...REQUIRED_APIS].sort());
  });

  test('our schemas match the official specs at every stable version', () => {
    const result = checkDrift(schemas(), specDir);
    expect(result.messages).toBe(REQUIRED_APIS.length * 2 + 2);
    expect(result.differences, result.differences.join('\n')).toEqual([]);
  });

  test('a changed schema is caught with API, version, field path, ours and theirs', () => {
    const altered = loadSchemas(new URL('../../protocol-schemas/', import.meta.url).pathname).apis.find(
      (api) => api.name === 'Produce',
    )!.request;
    const partition = altered.structs.find((struct) => struct.name === 'PartitionProduceData')!;
    const index = partition.fields.find((field) => field.name === 'index')!;
    index.typeText = 'int64';
    const records = partition.fields.find((field) => field.name === 'records')!;
    records.nullable = { min: 0, max: -1 };
    altered.versions = { min: 3, max: 12 };

    const differences = compareMessage(altered, readOfficialSpec(specDir, 'ProduceRequest'));
    expect(differences).toContain('ProduceRequest: stable versions ours 3-12 vs theirs 3-13');
    expect(differences).toContain('ProduceRequest v9: topicData[].partitionData[].index: type ours int64 vs theirs int32');
    expect(differences).toContain('ProduceRequest v9: topicData[].partitionData[].records: nullable ours false vs theirs true');
  });

  test('a missing field is reported by position and path', () => {
    const altered = loadSchemas(new URL('../../protocol-schemas/', import.meta.url).pathname).apis.find(
      (api) => api.name === 'Metadata',
    )!.response;
    altered.root.fields = altered.root.fields.filter((field) => field.name !== 'clusterId');
    const differences = compareMessage(altered, readOfficialSpec(specDir, 'MetadataResponse'));
    expect(differences.some((difference) => /^MetadataResponse v2: field #\d+: ours .* vs theirs clusterId$/.test(difference))).toBe(true);
  });
});
