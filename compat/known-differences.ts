/**
 * Where a broker departs from Apache Kafka and a conformance check fails for that reason, not
 * for kafka-wire's. Each entry was traced to the broker's own source; the matrix shows the
 * entry's words instead of FAIL, and only for that broker, that check and a detail matching
 * `detail`, so any other failure still fails. The reports in matrix.json keep the raw result.
 */
export interface KnownDifference {
  broker: 'kfake' | 'Apache Kafka';
  group: string;
  check: string;
  /** The failed check's detail must match, so a different failure of the same check still fails. */
  detail: RegExp;
  /** What the broker lacks, as the matrix cell says it. */
  lacks: string;
  /** Where in the broker's source this comes from, for whoever revisits it. */
  source: string;
}

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    broker: 'kfake',
    group: 'negotiation',
    check: 'ApiVersions above the broker maximum',
    detail: /connection was closed by the broker/,
    lacks: 'kfake reads an ApiVersions request above v5 as v5 instead of ignoring its body (KIP-511), and hangs up',
    source: 'pkg/kfake client_conn.go (kreq.ReadFrom before any handler; a parse error returns), kmsg ApiVersionsRequest.readFrom',
  },
  {
    broker: 'kfake',
    group: 'idempotence',
    check: 'idempotent producer',
    detail: /DescribeProducers does not list producer/,
    lacks: 'kfake DescribeProducers lists only producers inside an open transaction, not idempotent ones',
    source: 'pkg/kfake txns.go txnProducers (skips a pid unless inTx)',
  },
  {
    broker: 'kfake',
    group: 'errors',
    check: 'create a topic with an invalid name',
    detail: /did not fail; expected INVALID_TOPIC_EXCEPTION/,
    lacks: "kfake accepts topic names outside Kafka's [a-zA-Z0-9._-] (it only checks '.'/'_' collisions)",
    source: 'pkg/kfake 19_create_topics.go createTopic',
  },
];

/** The known difference that explains this failed check of this broker, if any. */
export function knownDifference(
  broker: KnownDifference['broker'],
  check: { group: string; name: string; result: string; detail: string },
): KnownDifference | undefined {
  if (check.result !== 'fail') return undefined;
  return KNOWN_DIFFERENCES.find(
    (entry) => entry.broker === broker && entry.group === check.group && entry.check === check.name && entry.detail.test(check.detail),
  );
}
