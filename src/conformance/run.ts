import type { ClusterOptions } from '../cluster/options.js';
import { formatAddress } from '../connection/bootstrap.js';
import { API_DEFINITIONS, DeleteTopics } from '../protocol/generated/index.js';
import { KAFKA_WIRE_VERSION } from '../version.js';
import { adminChecks, deleteRunTopics } from './checks/admin.js';
import { codecChecks } from './checks/codecs.js';
import { connectChecks, negotiationChecks } from './checks/connect.js';
import { errorChecks } from './checks/errors.js';
import { idempotenceChecks } from './checks/idempotence.js';
import { metadataChecks } from './checks/metadata.js';
import { fetchChecks, produceChecks } from './checks/produce-fetch.js';
import { transactionChecks } from './checks/transactions.js';
import { ConformanceContext } from './context.js';
import { type ApiReport, type CheckReport, type ConformanceReport, GROUPS, type Group, type Result, summarize } from './report.js';
import { intersect } from './versions.js';

export interface ConformanceOptions {
  connection: ClusterOptions;
  /** Groups to run; connect always runs. Default all. */
  groups?: readonly Group[];
  /** Every topic the run creates starts with it. Default "kw-conformance-". */
  topicPrefix?: string;
  /** Bound on each check. Default 30 s. */
  checkTimeoutMs?: number;
  /** Bound on the whole run; checks not started by then are skipped (the clean-up still runs). Default 10 min. */
  totalTimeoutMs?: number;
  /** Told each check's result as it ends (for progress output). */
  onCheck?: (check: ConformanceReport['checks'][number]) => void;
}

export const DEFAULT_TOPIC_PREFIX = 'kw-conformance-';

const RUNNERS: Record<Exclude<Group, 'connect' | 'metadata'>, (context: ConformanceContext) => Promise<void>> = {
  negotiation: negotiationChecks,
  admin: adminChecks,
  produce: produceChecks,
  fetch: fetchChecks,
  codecs: codecChecks,
  idempotence: idempotenceChecks,
  transactions: transactionChecks,
  errors: errorChecks,
};

/**
 * Runs the conformance checks against a cluster and returns the report. Never throws for what
 * the broker does: an unreachable cluster is a failed connect check and the run ends there.
 * Every topic created is deleted before it returns, whatever happened.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const startedAt = new Date();
  const groups = new Set<Group>(['connect', ...(options.groups ?? GROUPS)]);
  const checkTimeoutMs = options.checkTimeoutMs ?? 30_000;
  const context = new ConformanceContext({
    connection: { connectTimeoutMs: 10_000, requestTimeoutMs: checkTimeoutMs, ...options.connection },
    topicPrefix: options.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
    checkTimeoutMs,
    deadline: startedAt.getTime() + (options.totalTimeoutMs ?? 600_000),
    onCheck: options.onCheck && ((check) => options.onCheck?.(publicCheck(check))),
  });
  const cluster: ConformanceReport['cluster'] = { clusterId: null, controllerId: null, brokers: [] };
  try {
    if (await connectChecks(context)) {
      try {
        for (const group of GROUPS) {
          if (group === 'connect' || !groups.has(group)) continue;
          if (group === 'metadata') await metadataChecks(context, cluster);
          else await RUNNERS[group](context);
        }
      } finally {
        // Always, even after a failure or the time bound: the run's topics must not outlive it. Without the admin
        // group the deletion is reported only when it fails, since a topic left behind is worth knowing about.
        await context.run('admin', 'delete topics', [DeleteTopics], () => deleteRunTopics(context), {
          always: true,
          onlyIfFailed: !groups.has('admin'),
        });
      }
    }
  } finally {
    context.cluster?.close();
  }
  if (cluster.brokers.length === 0 && context.cluster) {
    cluster.brokers = [...context.cluster.metadata.brokers.values()].map((broker) => ({
      nodeId: broker.nodeId,
      host: broker.host,
      port: broker.port,
    }));
  }
  const checks = context.checks.map(publicCheck);
  return {
    tool: 'kafka-wire conformance',
    kafkaWireVersion: KAFKA_WIRE_VERSION,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    target: {
      bootstrap: bootstrapText(options.connection.bootstrap),
      tls: options.connection.tls !== undefined && options.connection.tls !== false,
      saslMechanism: options.connection.sasl?.mechanism ?? null,
    },
    cluster,
    apis: apiRows(context),
    checks,
    summary: summarize(checks),
  };
}

function publicCheck(check: CheckReport): CheckReport {
  const { group, name, result, detail, durationMs } = check;
  return { group, name, result, detail, durationMs };
}

function bootstrapText(bootstrap: ClusterOptions['bootstrap']): string {
  return typeof bootstrap === 'string' ? bootstrap : bootstrap.map(formatAddress).join(',');
}

/**
 * One row per API kafka-wire speaks: failed when a check touching it failed; unsupported when
 * the broker offers no version of ours; passed when exercised; otherwise skipped.
 */
export function apiRows(context: Pick<ConformanceContext, 'checks' | 'exercised' | 'brokerVersions'>): ApiReport[] {
  const connected = context.brokerVersions.size > 0;
  return [...API_DEFINITIONS.values()].map((api) => {
    const ours: [number, number] = [api.request.minVersion, api.request.maxVersion];
    const broker = context.brokerVersions.get(api.apiKey) ?? null;
    const exercised = [...(context.exercised.get(api.apiKey) ?? [])].sort((a, b) => a - b);
    const failed = context.checks.filter((check) => check.result === 'fail' && check.apis.includes(api.apiKey));
    let result: Result;
    let detail: string;
    if (failed.length > 0) {
      result = 'fail';
      detail = `failed: ${failed.map((check) => `${check.group} / ${check.name}`).join(', ')}`;
    } else if (!connected) {
      result = 'skipped';
      detail = 'the cluster was not reached';
    } else if (intersect(ours, broker) === null) {
      result = 'unsupported';
      detail = broker === null ? 'the broker does not offer it' : 'no version both sides speak';
    } else if (exercised.length > 0) {
      result = 'pass';
      detail = `exercised v${exercised.join(', v')}`;
    } else {
      result = 'skipped';
      detail = 'negotiated, not exercised by the conformance checks';
    }
    return { api: api.name, key: api.apiKey, brokerVersions: broker, ourVersions: ours, exercised, result, detail };
  });
}
