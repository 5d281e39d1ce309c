import { expect, test } from 'vitest';
import type { ProducerMetrics } from '../../src/producer/producer.js';
import { prometheusText } from '../../src/producer/prometheus.js';

const metrics: ProducerMetrics = {
  brokers: {
    1: { requests: 10, inFlight: 1, lastMs: 2.5, averageMs: 3, maxMs: 12 },
    2: { requests: 4, inFlight: 0, lastMs: 1, averageMs: 1.25, maxMs: 2 },
  },
  recordsSent: 1000,
  recordsFailed: 3,
  recordsRetried: 7,
  batchesSent: 20,
  batchesCompressedOnThreads: 5,
  bytesSent: 123_456,
  requestsInFlight: 1,
  bufferUsed: 2048,
  bufferMemory: 33_554_432,
  internalErrors: 0,
  transactionMarkerChecks: 40,
  transactionMarkerWaitMs: 125,
};

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
/** A label: its name, and a quoted value in which only backslash, quote and newline are escaped. */
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';

/** The text exposition format, line by line: HELP and TYPE once per family, before its samples; names, labels, values. */
function checkExposition(text: string): Map<string, number> {
  expect(text.endsWith('\n')).toBe(true);
  const samples = new Map<string, number>();
  const typed = new Map<string, string>();
  const sample = new RegExp(`^(${NAME})(\\{${LABEL}(,${LABEL})*\\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$`);
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(typed.has(meta[2]!), `TYPE once for ${meta[2]}`).toBe(false);
        expect(['counter', 'gauge']).toContain(meta[3]);
        typed.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const match = sample.exec(line);
    expect(match, `not a valid sample line: ${line}`).not.toBeNull();
    const name = match![1]!;
    expect(typed.has(name), `${name} has its TYPE before its samples`).toBe(true);
    if (typed.get(name) === 'counter') expect(name.endsWith('_total')).toBe(true);
    samples.set(line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return samples;
}

test('the producer metrics render as valid Prometheus text, counters as _total, latencies in seconds', () => {
  const samples = checkExposition(prometheusText(metrics));
  expect(samples.get('kafka_wire_producer_records_sent_total')).toBe(1000);
  expect(samples.get('kafka_wire_producer_records_failed_total')).toBe(3);
  expect(samples.get('kafka_wire_producer_batches_compressed_on_threads_total')).toBe(5);
  expect(samples.get('kafka_wire_producer_buffer_used_bytes')).toBe(2048);
  expect(samples.get('kafka_wire_producer_transaction_marker_checks_total')).toBe(40);
  expect(samples.get('kafka_wire_producer_transaction_marker_wait_seconds_total')).toBe(0.125);
  expect(samples.get('kafka_wire_producer_broker_requests_total{broker="1"}')).toBe(10);
  expect(samples.get('kafka_wire_producer_broker_request_latency_max_seconds{broker="1"}')).toBe(0.012);
  expect(samples.get('kafka_wire_producer_broker_request_latency_average_seconds{broker="2"}')).toBe(0.00125);
});

test('common labels go on every sample, escaped; a bad prefix or label name is refused', () => {
  const text = prometheusText(metrics, { prefix: 'app_kafka', labels: { client: 'a "quoted"\\name\nx' } });
  const samples = checkExposition(text);
  expect(samples.get('app_kafka_records_sent_total{client="a \\"quoted\\"\\\\name\\nx"}')).toBe(1000);
  expect(samples.get('app_kafka_broker_requests_total{client="a \\"quoted\\"\\\\name\\nx",broker="2"}')).toBe(4);
  expect(() => prometheusText(metrics, { prefix: 'bad-prefix' })).toThrow(/not a valid metric name/);
  expect(() => prometheusText(metrics, { labels: { 'bad-label': 'x' } })).toThrow(/not a valid Prometheus label name/);
});

test('a producer with no requests yet renders its families without broker samples', () => {
  const samples = checkExposition(prometheusText({ ...metrics, brokers: {} }));
  expect([...samples.keys()].some((key) => key.includes('broker='))).toBe(false);
});
