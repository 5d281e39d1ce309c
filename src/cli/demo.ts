import { formatAddress, parseBootstrap, type BrokerAddress } from '../connection/bootstrap.js';
import { ApiVersionsProbeError, probeApiVersions, type ApiVersionsV0Response } from '../embedded/api-versions-probe.js';
import { loadClusterState, nodeIsRunning, startCluster, stopCluster } from '../embedded/cluster.js';
import { apiName } from '../protocol/api-keys.js';

const DEMO_CLUSTER = 'demo';

async function firstAnswer(addresses: BrokerAddress[]): Promise<{ address: BrokerAddress; response: ApiVersionsV0Response }> {
  const failures: string[] = [];
  for (const address of addresses) {
    try {
      return { address, response: await probeApiVersions(address.host, address.port, 5000) };
    } catch (error) {
      if (!(error instanceof ApiVersionsProbeError)) throw error;
      failures.push(error.message);
    }
  }
  throw new ApiVersionsProbeError(`no broker answered ApiVersions:\n  ${failures.join('\n  ')}`);
}

function printVersions(where: string, response: ApiVersionsV0Response, out: (line: string) => void): void {
  out(`${where} answered ApiVersions v0 with error code ${response.errorCode} and ${response.apis.length} APIs:`);
  out('  key  API                               versions');
  for (const api of [...response.apis].sort((a, b) => a.apiKey - b.apiKey)) {
    out(`  ${String(api.apiKey).padStart(3)}  ${apiName(api.apiKey).padEnd(32)}  ${api.minVersion}-${api.maxVersion}`);
  }
}

/**
 * The main job, for now: bring up (or find) a real broker and print the API versions it
 * supports. With KAFKA_BOOTSTRAP set it asks that cluster instead.
 */
export async function demoCommand(out: (line: string) => void): Promise<number> {
  const external = process.env.KAFKA_BOOTSTRAP;
  if (external) {
    const { address, response } = await firstAnswer(parseBootstrap(external));
    printVersions(`broker ${formatAddress(address)} (KAFKA_BOOTSTRAP)`, response, out);
    return response.errorCode === 0 ? 0 : 1;
  }

  // Reuse a running default cluster; otherwise start a private one and stop it afterwards.
  const running = loadClusterState();
  const runningNode = running?.nodes.find(nodeIsRunning);
  if (running && runningNode) {
    const response = await probeApiVersions('127.0.0.1', runningNode.ports.plaintext);
    printVersions(`embedded Apache Kafka ${running.kafkaVersion} at 127.0.0.1:${runningNode.ports.plaintext}`, response, out);
    return response.errorCode === 0 ? 0 : 1;
  }
  try {
    const state = await startCluster({ name: DEMO_CLUSTER, portBase: 'auto', log: (line) => out(`kafka-wire: ${line}`) });
    const node = state.nodes[0] as (typeof state.nodes)[number];
    const response = await probeApiVersions('127.0.0.1', node.ports.plaintext);
    printVersions(`embedded Apache Kafka ${state.kafkaVersion} at 127.0.0.1:${node.ports.plaintext}`, response, out);
    return response.errorCode === 0 ? 0 : 1;
  } finally {
    await stopCluster(DEMO_CLUSTER);
    out('kafka-wire: stopped the demo broker');
  }
}
