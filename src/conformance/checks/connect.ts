import { Cluster } from '../../cluster/cluster.js';
import { API_DEFINITIONS, ApiVersions, type ApiVersionsResponse, SaslAuthenticate, SaslHandshake } from '../../protocol/generated/index.js';
import { KAFKA_WIRE_VERSION } from '../../version.js';
import { CheckFailure, type ConformanceContext, expectThat, unsupported } from '../context.js';
import { formatRange } from '../report.js';
import { intersect } from '../versions.js';

const UNSUPPORTED_VERSION = 35;

/** connect: reach the cluster with the given security, then ApiVersions; every offered range is kept for the rest of the run. */
export async function connectChecks(context: ConformanceContext): Promise<boolean> {
  const apis = context.settings.connection.sasl ? [ApiVersions, SaslHandshake, SaslAuthenticate] : [ApiVersions];
  const result = await context.run('connect', 'connect and ApiVersions', apis, async () => {
    const started = Date.now();
    const cluster = await Cluster.connect({ ...context.settings.connection, partitionCountRefreshMs: 0 });
    context.cluster = cluster;
    const connection = await cluster.anyConnection();
    // Opening it authenticated at the negotiated versions.
    if (context.settings.connection.sasl) {
      context.negotiated(SaslHandshake, connection);
      context.negotiated(SaslAuthenticate, connection);
    }
    // The connection negotiated already; ask again at that version so the full answer is ours to record.
    const version = connection.version(ApiVersions);
    context.sent(ApiVersions, version);
    const answer = await connection.request(
      ApiVersions,
      ApiVersions.request.create({ clientSoftwareName: 'kafka-wire-conformance', clientSoftwareVersion: KAFKA_WIRE_VERSION }),
      { version },
    );
    if (answer.errorCode !== 0) throw new CheckFailure(`ApiVersions v${version} answered error code ${answer.errorCode}`);
    for (const api of answer.apiKeys) context.brokerVersions.set(api.apiKey, [api.minVersion, api.maxVersion]);
    const security = [
      context.settings.connection.tls ? 'TLS' : 'plaintext',
      context.settings.connection.sasl ? `SASL ${context.settings.connection.sasl.mechanism}` : 'no SASL',
    ];
    return (
      `${connection.label} (${security.join(', ')}) in ${Date.now() - started} ms; ApiVersions v${version}: ` +
      `${answer.apiKeys.length} APIs offered${features(answer)}`
    );
  });
  return result === 'pass';
}

function features(answer: ApiVersionsResponse): string {
  const finalized = answer.finalizedFeatures.map((feature) => `${feature.name}=${feature.maxVersionLevel}`);
  return finalized.length ? `; finalized features ${finalized.join(', ')}` : '';
}

/**
 * negotiation: for every API kafka-wire has codecs for, the broker's range against ours and the
 * version the connection picks (the highest both speak); and ApiVersions sent above the broker's
 * newest, which a KIP-511 broker answers with UNSUPPORTED_VERSION and its ranges in v0 form.
 */
export async function negotiationChecks(context: ConformanceContext): Promise<void> {
  const connection = await context.connectedCluster.anyConnection();
  for (const api of API_DEFINITIONS.values()) {
    await context.run('negotiation', `negotiate ${api.name}`, [api], async () => {
      const both = context.common(api);
      const picked = connection.version(api);
      expectThat(picked === both[1], `the connection picked v${picked}, but the highest version both speak is v${both[1]}`);
      const ours = formatRange([api.request.minVersion, api.request.maxVersion]);
      return `broker ${formatRange(context.brokerRange(api))}, kafka-wire ${ours}: v${picked}`;
    });
  }
  await context.run('negotiation', 'ApiVersions above the broker maximum', [ApiVersions], async () => {
    const offered = context.brokerRange(ApiVersions) ?? unsupported('the broker offers no ApiVersions range');
    const version = offered[1] + 1;
    const cluster = context.connectedCluster;
    const nodeId = [...cluster.metadata.brokers.keys()][0];
    if (nodeId === undefined) throw new CheckFailure('the metadata lists no broker');
    // A connection of its own: an answer we cannot read closes the connection it came on.
    const probe = await cluster.connectionTo(nodeId, { lane: 'conformance-apiversions-probe' });
    try {
      context.sent(ApiVersions, version);
      const answer = await probe.requestEncoded(ApiVersions, version, (correlationId) => [
        apiVersionsFrame(version, correlationId, probe.clientId),
      ]);
      if (answer.errorCode !== UNSUPPORTED_VERSION) {
        return unsupported(
          `ApiVersions v${version} was answered with error code ${answer.errorCode}, not UNSUPPORTED_VERSION (35): ` +
            'this broker does not follow KIP-511',
        );
      }
      const theirs = answer.apiKeys.find((api) => api.apiKey === ApiVersions.apiKey);
      expectThat(theirs !== undefined, 'the UNSUPPORTED_VERSION answer does not list ApiVersions itself');
      const next = intersect([ApiVersions.request.minVersion, ApiVersions.request.maxVersion], [theirs.minVersion, theirs.maxVersion]);
      expectThat(next !== null, `the broker's ApiVersions range v${theirs.minVersion}-${theirs.maxVersion} excludes all of ours`);
      return (
        `v${version} → UNSUPPORTED_VERSION (35) with ${answer.apiKeys.length} ranges in v0 form; ` +
        `ApiVersions v${theirs.minVersion}-${theirs.maxVersion}, so a client retries at v${next[1]}`
      );
    } finally {
      probe.close();
    }
  });
}

/**
 * An ApiVersions request at a version no codec has: request header v2 (ApiVersions v3 on is
 * flexible), then a v3-shaped body the broker is to ignore (KIP-511).
 */
export function apiVersionsFrame(version: number, correlationId: number, clientId: string): Buffer {
  const client = Buffer.from(clientId, 'utf8');
  const name = Buffer.from('kafka-wire', 'utf8');
  const body = Buffer.concat([Buffer.from([name.length + 1]), name, Buffer.from([KAFKA_WIRE_VERSION.length + 1])]);
  const header = Buffer.alloc(2 + 2 + 4 + 2);
  header.writeInt16BE(ApiVersions.apiKey, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(client.length, 8);
  const payload = Buffer.concat([header, client, Buffer.from([0]), body, Buffer.from(KAFKA_WIRE_VERSION, 'ascii'), Buffer.from([0])]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}
