import type { ProducerMetrics } from './producer.js';

export interface PrometheusOptions {
  /** Metric name prefix. Default 'kafka_wire_producer'. */
  prefix?: string;
  /** Labels put on every sample, e.g. { client: 'orders' } to tell producers apart. */
  labels?: Record<string, string>;
}

type Sample = [labels: Record<string, string>, value: number];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * The producer's metrics in the Prometheus text exposition format (version 0.0.4): serve it
 * from a /metrics endpoint as 'text/plain; version=0.0.4'. Counters end in _total, latencies are
 * in seconds and sizes in bytes, as Prometheus' naming conventions ask.
 */
export function prometheusText(metrics: ProducerMetrics, options: PrometheusOptions = {}): string {
  const prefix = options.prefix ?? 'kafka_wire_producer';
  const common = options.labels ?? {};
  if (!METRIC_NAME.test(prefix)) throw new RangeError(`Prometheus metric prefix "${prefix}" is not a valid metric name`);
  for (const name of Object.keys(common)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new RangeError(`"${name}" is not a valid Prometheus label name`);
  }
  const lines: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]) => {
    const full = `${prefix}_${name}`;
    lines.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`);
    for (const [labels, value] of samples) {
      const pairs = Object.entries({ ...common, ...labels }).map(([key, text]) => `${key}="${escapeLabelValue(text)}"`);
      lines.push(`${full}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`);
    }
  };
  const one = (value: number): Sample[] => [[{}, value]];
  family('records_sent_total', 'counter', 'Records acknowledged by the broker.', one(metrics.recordsSent));
  family('records_failed_total', 'counter', 'Records whose send() rejected.', one(metrics.recordsFailed));
  family('records_retried_total', 'counter', 'Records put back for another attempt.', one(metrics.recordsRetried));
  family('batches_sent_total', 'counter', 'Record batches sent in Produce requests.', one(metrics.batchesSent));
  family(
    'batches_compressed_on_threads_total',
    'counter',
    'Record batches compressed on a compression thread.',
    one(metrics.batchesCompressedOnThreads),
  );
  family('request_bytes_total', 'counter', 'Bytes of Produce requests sent.', one(metrics.bytesSent));
  family(
    'internal_errors_total',
    'counter',
    "Failures of the producer's own logic; the records concerned failed with them.",
    one(metrics.internalErrors),
  );
  family(
    'transaction_marker_checks_total',
    'counter',
    "DescribeTransactions answers read to learn whether the last transaction's markers were written.",
    one(metrics.transactionMarkerChecks),
  );
  family(
    'transaction_marker_wait_seconds_total',
    'counter',
    "Time transactions waited for the previous one's markers before adding their first partition or offsets.",
    one(metrics.transactionMarkerWaitMs / 1000),
  );
  family('requests_in_flight', 'gauge', 'Produce requests awaiting their answer.', one(metrics.requestsInFlight));
  family('buffer_used_bytes', 'gauge', 'Bytes of bufferMemory held by records waiting or in flight.', one(metrics.bufferUsed));
  family('buffer_memory_bytes', 'gauge', 'The bufferMemory limit.', one(metrics.bufferMemory));
  const brokers = Object.entries(metrics.brokers);
  const perBroker = (pick: (latency: ProducerMetrics['brokers'][number]) => number): Sample[] =>
    brokers.map(([broker, latency]) => [{ broker }, pick(latency)]);
  family(
    'broker_requests_total',
    'counter',
    'Produce requests answered (or failed), by broker node id.',
    perBroker((b) => b.requests),
  );
  family(
    'broker_requests_in_flight',
    'gauge',
    'Produce requests awaiting their answer, by broker.',
    perBroker((b) => b.inFlight),
  );
  family(
    'broker_request_latency_last_seconds',
    'gauge',
    'Send-to-answer time of the last Produce request.',
    perBroker((b) => b.lastMs / 1000),
  );
  family(
    'broker_request_latency_average_seconds',
    'gauge',
    'Mean send-to-answer time of Produce requests.',
    perBroker((b) => b.averageMs / 1000),
  );
  family(
    'broker_request_latency_max_seconds',
    'gauge',
    'Longest send-to-answer time of a Produce request.',
    perBroker((b) => b.maxMs / 1000),
  );
  return `${lines.join('\n')}\n`;
}
