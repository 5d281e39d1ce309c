/** The producer's counters (`producer.metrics`), kept up to date as records and requests settle. */

export interface BrokerLatency {
  requests: number;
  inFlight: number;
  lastMs: number;
  averageMs: number;
  maxMs: number;
}

export interface ProducerMetrics {
  /** Produce requests by broker node id, with their send-to-answer latency. */
  brokers: Record<number, BrokerLatency>;
  /** Records acknowledged. */
  recordsSent: number;
  /** Records whose send() rejected, for any reason: refused at send(), or failed later. */
  recordsFailed: number;
  /** Records put back for another attempt (each time). */
  recordsRetried: number;
  batchesSent: number;
  /** Batches whose records were compressed on a compression thread (compressionThreads) rather than inline. */
  batchesCompressedOnThreads: number;
  /** Bytes of Produce requests sent. */
  bytesSent: number;
  requestsInFlight: number;
  /** Bytes of bufferMemory held by records waiting or in flight. */
  bufferUsed: number;
  bufferMemory: number;
  /** Failures of the producer's own logic (a bug): the records concerned failed with it. */
  internalErrors: number;
  /** DescribeTransactions answers read to learn whether the last transaction's markers were written. */
  transactionMarkerChecks: number;
  /** Milliseconds transactions waited, in all, for the previous one's markers before adding their first partition or offsets. */
  transactionMarkerWaitMs: number;
}

export function newMetrics(bufferMemory: number): ProducerMetrics {
  return {
    brokers: {},
    recordsSent: 0,
    recordsFailed: 0,
    recordsRetried: 0,
    batchesSent: 0,
    batchesCompressedOnThreads: 0,
    bytesSent: 0,
    requestsInFlight: 0,
    bufferUsed: 0,
    bufferMemory,
    internalErrors: 0,
    transactionMarkerChecks: 0,
    transactionMarkerWaitMs: 0,
  };
}

/** A Produce request went out to `broker`; call the returned function when it settles. */
export function requestStarted(metrics: ProducerMetrics, broker: number, batches: number, bytes: number): () => number {
  metrics.requestsInFlight++;
  metrics.batchesSent += batches;
  metrics.bytesSent += bytes;
  const latency = (metrics.brokers[broker] ??= { requests: 0, inFlight: 0, lastMs: 0, averageMs: 0, maxMs: 0 });
  latency.inFlight++;
  const started = performance.now();
  return () => {
    const durationMs = performance.now() - started;
    metrics.requestsInFlight--;
    latency.inFlight--;
    latency.requests++;
    latency.lastMs = durationMs;
    latency.averageMs += (durationMs - latency.averageMs) / latency.requests;
    latency.maxMs = Math.max(latency.maxMs, durationMs);
    return durationMs;
  };
}
