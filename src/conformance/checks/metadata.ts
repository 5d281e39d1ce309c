import { Admin } from '../../cluster/admin.js';
import { DescribeCluster, Metadata } from '../../protocol/generated/index.js';
import { CheckFailure, type ConformanceContext, expectThat } from '../context.js';
import type { ConformanceReport } from '../report.js';

/** metadata: Metadata at the negotiated version (brokers, controller, cluster id), and DescribeCluster where offered. */
export async function metadataChecks(context: ConformanceContext, cluster: ConformanceReport['cluster']): Promise<void> {
  const connection = await context.connectedCluster.anyConnection();
  await context.run('metadata', 'metadata', [Metadata], async () => {
    const version = context.negotiated(Metadata, connection);
    const answer = await connection.request(
      Metadata,
      Metadata.request.create({ topics: version === 0 ? [] : null, allowAutoTopicCreation: false }),
      { version },
    );
    expectThat(answer.brokers.length > 0, `Metadata v${version} lists no broker`);
    cluster.brokers = answer.brokers.map((broker) => ({ nodeId: broker.nodeId, host: broker.host, port: broker.port }));
    // The controller id is in v1 on, the cluster id in v2 on.
    cluster.controllerId = version >= 1 ? answer.controllerId : null;
    cluster.clusterId = version >= 2 ? answer.clusterId : null;
    if (version >= 1) expectThat(answer.controllerId >= 0, `Metadata v${version} names no controller (${answer.controllerId})`);
    if (version >= 2) expectThat(answer.clusterId !== null && answer.clusterId !== '', `Metadata v${version} carries no cluster id`);
    return (
      `v${version}: ${answer.brokers.length} broker(s), controller ${answer.controllerId}, cluster id ${answer.clusterId}, ` +
      `${answer.topics.length} topic(s)`
    );
  });
  await context.run('metadata', 'describe cluster', [DescribeCluster], async () => {
    const version = context.negotiated(DescribeCluster, connection);
    const described = await new Admin(context.connectedCluster).describeCluster();
    if (cluster.clusterId !== null && described.clusterId !== cluster.clusterId)
      throw new CheckFailure(`DescribeCluster says cluster id ${described.clusterId}, Metadata said ${cluster.clusterId}`);
    const ids = (list: { nodeId: number }[]) =>
      list
        .map((broker) => broker.nodeId)
        .sort((a, b) => a - b)
        .join(',');
    expectThat(
      ids(described.brokers) === ids(cluster.brokers),
      `DescribeCluster lists brokers ${ids(described.brokers)}, Metadata ${ids(cluster.brokers)}`,
    );
    return `v${version}: cluster id ${described.clusterId}, controller ${described.controllerId}, brokers ${ids(described.brokers)}`;
  });
}
