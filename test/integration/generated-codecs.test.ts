import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BrokerAddress, parseBootstrap } from '../../src/connection/bootstrap.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/frame.js';
import {
  API_DEFINITIONS,
  ApiVersions,
  type ApiVersionsResponse,
  CreateTopics,
  type CreateTopicsResponseCreatableTopicResult,
  DeleteTopics,
  Metadata,
  type MetadataResponse,
  type MetadataResponseTopic,
} from '../../src/protocol/generated/index.js';
import type { ApiDefinition } from '../../src/protocol/primitives/index.js';
import { testKafka } from '../helpers/kafka.js';
import { RawConnection } from '../support/raw-exchange.js';

/**
 * The generated codecs against a real broker: every ApiVersions version, version negotiation for
 * every API we have codecs for, and CreateTopics / Metadata at the negotiated versions and at the
 * non-flexible / first-flexible boundaries, all over one raw TCP connection.
 */

const PRODUCE = 0;
const API_VERSIONS = 18;
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const UNSUPPORTED_VERSION = 35;
const TOPIC_ALREADY_EXISTS = 36;

const kafka = testKafka();
const address: BrokerAddress = parseBootstrap(kafka.bootstrap)[0]!;
/** Embedded and container brokers are KRaft (3.9 / 4.x); a KAFKA_BOOTSTRAP cluster may be anything. */
const knownKraft = kafka.source !== 'external';

interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

/** The highest version both sides support, or undefined when the ranges do not overlap. */
function highestCommon(broker: VersionRange, ours: VersionRange): number | undefined {
  const high = Math.min(broker.maxVersion, ours.maxVersion);
  return high >= Math.max(broker.minVersion, ours.minVersion) ? high : undefined;
}

function codecRange(api: ApiDefinition): VersionRange {
  return { minVersion: api.request.minVersion, maxVersion: api.request.maxVersion };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('generated codecs against a real broker', () => {
  let connection: RawConnection;
  /** The broker's API ranges, from the highest ApiVersions version we both speak. */
  let brokerApis: Map<number, VersionRange>;
  const topic = `kw-codegen-${Date.now()}-${randomBytes(4).toString('hex')}`;
  let creation: Promise<{ version: number; result: CreateTopicsResponseCreatableTopicResult }> | undefined;

  function negotiated(api: ApiDefinition): number {
    const broker = brokerApis.get(api.apiKey);
    if (!broker) throw new Error(`the broker does not list ${api.name} (key ${api.apiKey})`);
    const version = highestCommon(broker, codecRange(api));
    if (version === undefined)
      throw new Error(
        `no common ${api.name} version: broker ${broker.minVersion}-${broker.maxVersion}, ` +
          `ours ${api.request.minVersion}-${api.request.maxVersion}`,
      );
    return version;
  }

  function brokerSupports(api: ApiDefinition, version: number): boolean {
    const broker = brokerApis.get(api.apiKey);
    return broker !== undefined && version >= broker.minVersion && version <= broker.maxVersion;
  }

  async function metadataFor(version: number, names: string[], allowAutoTopicCreation = false): Promise<MetadataResponse> {
    const request = Metadata.request.create({
      topics: names.map((name) => ({ topicId: ZERO_UUID, name })),
      // Versions 0-3 do not have the field; the codec refuses a non-default value there.
      allowAutoTopicCreation: version >= 4 ? allowAutoTopicCreation : true,
    });
    const { body } = await connection.request(Metadata, version, request);
    return body;
  }

  function createTopicRequest() {
    return CreateTopics.request.create({
      topics: [{ name: topic, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
    });
  }

  /** Creates the test topic once, at the negotiated version; later tests reuse it (and can run alone with -t). */
  function createTopicOnce() {
    creation ??= (async () => {
      const version = negotiated(CreateTopics as ApiDefinition);
      const { body } = await connection.request(CreateTopics, version, createTopicRequest(), { timeoutMs: 40_000 });
      expect(body.topics).toHaveLength(1);
      return { version, result: body.topics[0]! };
    })();
    return creation;
  }

  function topicOf(response: MetadataResponse, name: string): MetadataResponseTopic {
    const found = response.topics.find((t) => t.name === name);
    if (!found) throw new Error(`metadata answer has no topic ${name}: ${JSON.stringify(response.topics.map((t) => t.name))}`);
    return found;
  }

  beforeAll(async () => {
    connection = await RawConnection.open(address.host, address.port);
    // v0 is understood by every broker; it tells us which ApiVersions versions we may use.
    const probe = await connection.request(ApiVersions, 0, ApiVersions.request.create());
    expect(probe.body.errorCode).toBe(0);
    const ranges = new Map(probe.body.apiKeys.map((api) => [api.apiKey, { minVersion: api.minVersion, maxVersion: api.maxVersion }]));
    const version = highestCommon(ranges.get(API_VERSIONS)!, codecRange(ApiVersions as ApiDefinition))!;
    const { body } = await connection.request(
      ApiVersions,
      version,
      ApiVersions.request.create({ clientSoftwareName: 'kafka-wire', clientSoftwareVersion: '0.1.0' }),
    );
    expect(body.errorCode).toBe(0);
    brokerApis = new Map(body.apiKeys.map((api) => [api.apiKey, { minVersion: api.minVersion, maxVersion: api.maxVersion }]));
  });

  afterAll(async () => {
    try {
      // Leave nothing behind on a shared (KAFKA_BOOTSTRAP) cluster; best effort, the assertions are done.
      if (creation && brokerApis) {
        const version = negotiated(DeleteTopics as ApiDefinition);
        const body =
          version >= 6 ? { topics: [{ name: topic, topicId: ZERO_UUID }], timeoutMs: 10_000 } : { topicNames: [topic], timeoutMs: 10_000 };
        await connection.request(DeleteTopics, version, DeleteTopics.request.create(body));
      }
    } catch (error) {
      console.log(`[generated-codecs] could not delete ${topic}: ${(error as Error).message}`);
    } finally {
      connection?.close();
    }
  });

  test('ApiVersions at every version our codec has, pipelined on one connection', async () => {
    expect(ApiVersions.request.minVersion).toBe(0);
    expect(ApiVersions.request.maxVersion).toBe(4);
    expect(ApiVersions.response.minVersion).toBe(ApiVersions.request.minVersion);
    expect(ApiVersions.response.maxVersion).toBe(ApiVersions.request.maxVersion);

    const sent: { version: number; correlationId: number }[] = [];
    const frames: Buffer[] = [];
    for (let version = ApiVersions.request.minVersion; version <= ApiVersions.request.maxVersion; version++) {
      const correlationId = connection.correlationId();
      const body = ApiVersions.request.create(version >= 3 ? { clientSoftwareName: 'kafka-wire', clientSoftwareVersion: '0.1.0' } : {});
      frames.push(encodeRequest(ApiVersions, version, correlationId, 'kafka-wire-test', body));
      sent.push({ version, correlationId });
    }
    // One write: the broker sees all five requests at once and answers them in order.
    connection.send(Buffer.concat(frames));

    const answers: ApiVersionsResponse[] = [];
    const brokerMax = brokerApis.get(API_VERSIONS)!.maxVersion;
    for (const { version, correlationId } of sent) {
      const frame = await connection.nextFrame();
      if (version > brokerMax) {
        // KIP-511: a version the broker lacks is answered in v0 with UNSUPPORTED_VERSION.
        const decoded = decodeResponse(ApiVersions, 0, frame);
        expect(decoded.correlationId).toBe(correlationId);
        expect(decoded.body.errorCode).toBe(UNSUPPORTED_VERSION);
        continue;
      }
      const { correlationId: answered, body } = decodeResponse(ApiVersions, version, frame);
      expect(answered, `correlation id of the v${version} answer`).toBe(correlationId);
      expect(body.errorCode, `ApiVersions v${version} error`).toBe(0);

      const produce = body.apiKeys.find((api) => api.apiKey === PRODUCE);
      expect(produce, `v${version} lists Produce`).toBeDefined();
      expect(produce!.maxVersion).toBeGreaterThanOrEqual(9);
      const apiVersions = body.apiKeys.find((api) => api.apiKey === API_VERSIONS);
      expect(apiVersions, `v${version} lists ApiVersions`).toBeDefined();
      expect(apiVersions!.minVersion).toBe(0);
      expect(apiVersions!.maxVersion).toBeGreaterThanOrEqual(3);
      for (const api of body.apiKeys) expect(api.minVersion, `key ${api.apiKey} range`).toBeLessThanOrEqual(api.maxVersion);

      if (version >= 1) expect(body.throttleTimeMs).toBeGreaterThanOrEqual(0);
      if (version >= 3) {
        expect(Array.isArray(body.supportedFeatures)).toBe(true);
        expect(Array.isArray(body.finalizedFeatures)).toBe(true);
        expect(body._unknownTaggedFields ?? []).toEqual([]);
        if (knownKraft) {
          // KRaft brokers report the metadata.version feature, both supported and finalized.
          const supported = body.supportedFeatures.find((feature) => feature.name === 'metadata.version');
          expect(supported, `v${version} supportedFeatures: ${JSON.stringify(body.supportedFeatures)}`).toBeDefined();
          expect(supported!.minVersion).toBeLessThanOrEqual(supported!.maxVersion);
          const finalized = body.finalizedFeatures.find((feature) => feature.name === 'metadata.version');
          expect(finalized, `v${version} finalizedFeatures: ${JSON.stringify(body.finalizedFeatures)}`).toBeDefined();
          expect(finalized!.maxVersionLevel).toBeGreaterThan(0);
          expect(finalized!.maxVersionLevel).toBeLessThanOrEqual(supported!.maxVersion);
          expect(body.finalizedFeaturesEpoch).toBeGreaterThanOrEqual(0n);
        }
      } else {
        // Tagged fields do not exist before v3; the decoder must leave them at their defaults.
        expect(body.supportedFeatures).toEqual([]);
        expect(body.finalizedFeatures).toEqual([]);
        expect(body.finalizedFeaturesEpoch).toBe(-1n);
      }
      answers.push(body);
    }

    // Whatever the version, the broker describes the same APIs.
    expect(answers.length).toBeGreaterThan(0);
    const keys = (response: ApiVersionsResponse) =>
      response.apiKeys.map((api) => `${api.apiKey}:${api.minVersion}-${api.maxVersion}`).sort();
    for (const answer of answers) expect(keys(answer)).toEqual(keys(answers[0]!));
  });

  test('an ApiVersions version beyond any broker is answered in v0 with UNSUPPORTED_VERSION and decodes', async () => {
    const correlationId = connection.correlationId();
    const frame = encodeRequest(
      ApiVersions,
      4,
      correlationId,
      'kafka-wire-test',
      ApiVersions.request.create({ clientSoftwareName: 'kafka-wire', clientSoftwareVersion: '0.1.0' }),
    );
    // Size (4 bytes), then the header: apiKey int16, apiVersion int16. Claim a version no broker has.
    expect(frame.readInt16BE(4)).toBe(API_VERSIONS);
    expect(frame.readInt16BE(6)).toBe(4);
    frame.writeInt16BE(999, 6);
    connection.send(frame);

    // KIP-511: the answer is a v0 body (header v0) carrying the broker's ranges, so a client can retry lower.
    const { correlationId: answered, body } = decodeResponse(ApiVersions, 0, await connection.nextFrame());
    expect(answered).toBe(correlationId);
    expect(body.errorCode).toBe(UNSUPPORTED_VERSION);
    const apiVersions = body.apiKeys.find((api) => api.apiKey === API_VERSIONS);
    expect(apiVersions).toEqual({ apiKey: API_VERSIONS, minVersion: 0, maxVersion: brokerApis.get(API_VERSIONS)!.maxVersion });

    // The connection is still usable afterwards.
    const after = await connection.request(ApiVersions, 0, ApiVersions.request.create());
    expect(after.body.errorCode).toBe(0);
  });

  test('every API we have codecs for has a version the broker also speaks', () => {
    const rows: string[] = [];
    const missing: string[] = [];
    for (const [key, api] of API_DEFINITIONS) {
      expect(api.apiKey).toBe(key);
      expect([api.response.minVersion, api.response.maxVersion], `${api.name} response range`).toEqual([
        api.request.minVersion,
        api.request.maxVersion,
      ]);
      const broker = brokerApis.get(key);
      const version = broker ? highestCommon(broker, codecRange(api)) : undefined;
      if (version === undefined) missing.push(api.name);
      rows.push(
        `${api.name.padEnd(20)} ${String(key).padStart(3)}  broker ${broker ? `${broker.minVersion}-${broker.maxVersion}` : 'none'}`.padEnd(
          38,
        ) +
          `ours ${api.request.minVersion}-${api.request.maxVersion}`.padEnd(11) +
          `-> ${version === undefined ? 'NONE' : `v${version}${api.request.isFlexible(version) ? ' (flexible)' : ''}`}`,
      );
    }
    console.log(
      `[generated-codecs] negotiated versions with ${kafka.source} broker` +
        `${kafka.kafkaVersion ? ` Apache Kafka ${kafka.kafkaVersion}` : ''} at ${address.host}:${address.port}:\n  ${rows.join('\n  ')}`,
    );
    expect(missing, 'APIs with no version in common').toEqual([]);
    expect(API_DEFINITIONS.size).toBeGreaterThanOrEqual(25);
  });

  test('CreateTopics at the negotiated version creates a topic, and a second create is TOPIC_ALREADY_EXISTS', async () => {
    const { version, result: created } = await createTopicOnce();
    expect(version).toBe(negotiated(CreateTopics as ApiDefinition));
    expect(created.name).toBe(topic);
    expect(created.errorCode, `create error: ${created.errorMessage}`).toBe(0);
    expect(created.errorMessage).toBeNull();
    if (version >= 5) {
      expect(created.numPartitions).toBe(3);
      expect(created.replicationFactor).toBe(1);
      expect(created.topicConfigErrorCode).toBe(0);
      // The broker reports the topic's effective configs; cleanup.policy is always among them.
      expect(created.configs?.find((config) => config.name === 'cleanup.policy')?.value).toBe('delete');
    }
    if (version >= 7) {
      expect(created.topicId).not.toBe(ZERO_UUID);
      expect(created.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }

    const second = await connection.request(CreateTopics, version, createTopicRequest(), { timeoutMs: 40_000 });
    expect(second.body.topics).toHaveLength(1);
    const again = second.body.topics[0]!;
    expect(again.name).toBe(topic);
    expect(again.errorCode).toBe(TOPIC_ALREADY_EXISTS);
    expect(again.errorMessage).toEqual(expect.stringContaining(topic));
    console.log(`[generated-codecs] CreateTopics v${version}: created ${topic}; again -> error ${again.errorCode} (${again.errorMessage})`);
  });

  test('Metadata at the negotiated version shows the new topic with 3 led partitions', async () => {
    const { version: createVersion, result: created } = await createTopicOnce();
    expect(created.errorCode, 'the topic was created').toBe(0);
    const version = negotiated(Metadata as ApiDefinition);
    let response: MetadataResponse | undefined;
    let described: MetadataResponseTopic | undefined;
    const deadline = Date.now() + 10_000;
    for (;;) {
      response = await metadataFor(version, [topic]);
      described = response.topics.find((t) => t.name === topic);
      const ready =
        described !== undefined &&
        described.errorCode === 0 &&
        described.partitions.length === 3 &&
        described.partitions.every((p) => p.leaderId >= 0);
      if (ready || Date.now() > deadline) break;
      await sleep(250);
    }

    expect(response.topics).toHaveLength(1);
    expect(described, 'the topic is in the answer').toBeDefined();
    expect(described!.errorCode).toBe(0);
    expect(described!.isInternal).toBe(false);
    expect(described!.partitions.map((p) => p.partitionIndex).sort()).toEqual([0, 1, 2]);
    const brokerIds = response.brokers.map((b) => b.nodeId);
    for (const partition of described!.partitions) {
      expect(partition.errorCode).toBe(0);
      expect(partition.leaderId).toBeGreaterThanOrEqual(0);
      expect(brokerIds).toContain(partition.leaderId);
      expect(partition.replicaNodes).toEqual([partition.leaderId]);
      expect(partition.isrNodes).toEqual([partition.leaderId]);
      expect(partition.offlineReplicas).toEqual([]);
      if (version >= 7) expect(partition.leaderEpoch).toBeGreaterThanOrEqual(0);
    }
    if (version >= 10) {
      expect(described!.topicId).not.toBe(ZERO_UUID);
      // CreateTopics v7+ reported the id; Metadata must give the same one.
      if (createVersion >= 7) expect(described!.topicId).toBe(created.topicId);
    }

    expect(response.brokers.length).toBeGreaterThan(0);
    if (kafka.source !== 'external') {
      // Embedded and container brokers advertise exactly the address the bootstrap list names.
      expect(response.brokers.map((b) => `${b.host}:${b.port}`)).toContain(`${address.host}:${address.port}`);
    } else {
      expect(response.brokers.map((b) => b.port)).toContain(address.port);
    }
    if (version >= 2) expect(response.clusterId).toEqual(expect.any(String));
    if (version >= 13) expect(response.errorCode).toBe(0);
    console.log(
      `[generated-codecs] Metadata v${version}: ${topic} ` +
        `partitions ${described!.partitions.map((p) => `${p.partitionIndex}@${p.leaderId}`).join(' ')}; ` +
        `brokers ${response.brokers.map((b) => `${b.nodeId}=${b.host}:${b.port}`).join(' ')}; cluster ${response.clusterId}`,
    );
  });

  test.each([
    { version: 1, label: 'v1, the oldest non-flexible version with rack and isInternal' },
    { version: 9, label: 'v9, the first flexible version' },
  ])('Metadata $label decodes the same topic', async ({ version }) => {
    expect(Metadata.request.isFlexible(version)).toBe(version >= 9);
    if (!brokerSupports(Metadata as ApiDefinition, version)) {
      // A broker that removed the version must say so in ApiVersions; nothing to decode then.
      const range = brokerApis.get(Metadata.apiKey)!;
      expect(version < range.minVersion || version > range.maxVersion).toBe(true);
      console.log(`[generated-codecs] broker does not support Metadata v${version} (has ${range.minVersion}-${range.maxVersion}); skipped`);
      return;
    }
    expect((await createTopicOnce()).result.errorCode, 'the topic was created').toBe(0);
    // Right after creation the topic may not have leaders yet; wait as the negotiated-version test does.
    let response = await metadataFor(version, [topic]);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const partitions = response.topics.find((t) => t.name === topic)?.partitions ?? [];
      if (partitions.length === 3 && partitions.every((p) => p.leaderId >= 0)) break;
      await sleep(250);
      response = await metadataFor(version, [topic]);
    }
    expect(response.brokers.length).toBeGreaterThan(0);
    expect(response.brokers.map((b) => b.port)).toContain(address.port);
    expect(response.controllerId).toBeGreaterThanOrEqual(0);
    const described = topicOf(response, topic);
    expect(described.errorCode).toBe(0);
    expect(described.isInternal).toBe(false);
    expect(described.partitions.map((p) => p.partitionIndex).sort()).toEqual([0, 1, 2]);
    for (const partition of described.partitions) {
      expect(partition.errorCode).toBe(0);
      expect(partition.leaderId).toBeGreaterThanOrEqual(0);
      expect(partition.replicaNodes).toEqual([partition.leaderId]);
      // Fields the version lacks stay at their defaults.
      if (version < 7) expect(partition.leaderEpoch).toBe(-1);
      else expect(partition.leaderEpoch).toBeGreaterThanOrEqual(0);
    }
    if (version < 2) expect(response.clusterId).toBeNull();
    else expect(response.clusterId).toEqual(expect.any(String));
    if (version < 10) expect(described.topicId).toBe(ZERO_UUID);
  });

  test('Metadata for a topic that does not exist, without auto-creation, is UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const version = negotiated(Metadata as ApiDefinition);
    expect(version).toBeGreaterThanOrEqual(4); // allowAutoTopicCreation exists from v4
    const missing = `kw-codegen-missing-${Date.now()}-${randomBytes(4).toString('hex')}`;
    const response = await metadataFor(version, [missing], false);
    const described = topicOf(response, missing);
    expect(described.errorCode).toBe(UNKNOWN_TOPIC_OR_PARTITION);
    expect(described.partitions).toEqual([]);
    if (version >= 10) expect(described.topicId).toBe(ZERO_UUID);

    // And it stays missing: the request did not create it behind our back.
    const again = await metadataFor(version, [missing], false);
    expect(topicOf(again, missing).errorCode).toBe(UNKNOWN_TOPIC_OR_PARTITION);
  });
});
