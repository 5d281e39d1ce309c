// Kafka protocol error codes.
//
// The numeric codes, enum names and retriability below were read from the
// org.apache.kafka.common.protocol.Errors enum of kafka-clients 4.3.1 (an error
// is retriable when its exception extends RetriableException; NONE has no
// exception and counts as not retriable). The human-readable messages are
// kafka-wire's own wording, not Kafka's.

import { KafkaWireError } from '../errors.js';

export interface KafkaErrorInfo {
  code: number;
  name: string;
  retriable: boolean;
  message: string;
}

type Row = readonly [code: number, name: string, retriable: boolean, message: string];

// One line per code, sorted by code.
const ROWS: readonly Row[] = [
  [-1, 'UNKNOWN_SERVER_ERROR', false, 'the broker hit an unexpected internal failure while handling the request; see the broker log'],
  [0, 'NONE', false, 'no error'],
  [1, 'OFFSET_OUT_OF_RANGE', false, 'the offset asked for is below the log start or beyond the log end of the partition'],
  [
    2,
    'CORRUPT_MESSAGE',
    true,
    'the broker rejected the batch because its CRC or framing did not check out; usually a bad encoder or a damaged frame, may be retried',
  ],
  [
    3,
    'UNKNOWN_TOPIC_OR_PARTITION',
    true,
    'this broker does not host the topic or partition (it may not exist yet, or metadata is stale); refresh metadata and retry',
  ],
  [4, 'INVALID_FETCH_SIZE', false, 'the fetch asked for a size the broker will not serve'],
  [
    5,
    'LEADER_NOT_AVAILABLE',
    true,
    'the partition has no leader at the moment (an election is probably under way); wait, refresh metadata and retry',
  ],
  [
    6,
    'NOT_LEADER_OR_FOLLOWER',
    true,
    'this broker is not the leader of the partition (or a follower for follower fetches); refresh metadata and retry',
  ],
  [
    7,
    'REQUEST_TIMED_OUT',
    true,
    'the broker gave up waiting (for replication acks or another internal step) before the request timeout; ' +
      'the write may or may not have landed',
  ],
  [8, 'BROKER_NOT_AVAILABLE', false, 'the broker referred to is not reachable or not alive'],
  [9, 'REPLICA_NOT_AVAILABLE', true, 'the replica the request needs is offline or missing'],
  [
    10,
    'MESSAGE_TOO_LARGE',
    false,
    'a record or batch is bigger than the topic or broker allows (max.message.bytes / message.max.bytes); shrink it or raise the limit',
  ],
  [11, 'STALE_CONTROLLER_EPOCH', false, 'the controller epoch in the request is older than the current one'],
  [12, 'OFFSET_METADATA_TOO_LARGE', false, 'the commit metadata string is over offset.metadata.max.bytes'],
  [13, 'NETWORK_EXCEPTION', true, 'the broker lost a connection it needed while serving the request; retry'],
  [14, 'COORDINATOR_LOAD_IN_PROGRESS', true, 'the coordinator is still loading its state after a move; retry shortly'],
  [
    15,
    'COORDINATOR_NOT_AVAILABLE',
    true,
    'no coordinator is available for this group or transactional id right now; retry after a short wait',
  ],
  [
    16,
    'NOT_COORDINATOR',
    true,
    'this broker is not the coordinator for the group or transactional id; look the coordinator up again and retry',
  ],
  [
    17,
    'INVALID_TOPIC_EXCEPTION',
    false,
    'the topic name is not legal, or the operation is not allowed on that topic (for example writing to an internal topic)',
  ],
  [
    18,
    'RECORD_LIST_TOO_LARGE',
    false,
    'the request carried a record set bigger than the broker accepts for one partition; send smaller batches',
  ],
  [
    19,
    'NOT_ENOUGH_REPLICAS',
    true,
    'too few in-sync replicas to accept a write with acks=all (below min.insync.replicas); nothing was written, retry later',
  ],
  [
    20,
    'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
    true,
    'the leader wrote the batch but the in-sync replica count fell below min.insync.replicas before it could be acknowledged; ' +
      'retrying may duplicate it unless idempotence is on',
  ],
  [21, 'INVALID_REQUIRED_ACKS', false, 'the acks value is not one the broker accepts (use -1, 0 or 1)'],
  [22, 'ILLEGAL_GENERATION', false, 'the group generation given is not the current one'],
  [23, 'INCONSISTENT_GROUP_PROTOCOL', false, "the member's protocol type or protocols do not match the rest of the group"],
  [24, 'INVALID_GROUP_ID', false, 'the group id is empty or otherwise not acceptable'],
  [25, 'UNKNOWN_MEMBER_ID', false, 'the member id is not one the coordinator has on record'],
  [26, 'INVALID_SESSION_TIMEOUT', false, 'the session timeout falls outside group.min/max.session.timeout.ms'],
  [27, 'REBALANCE_IN_PROGRESS', false, 'a rebalance is under way; the member has to join again'],
  [28, 'INVALID_COMMIT_OFFSET_SIZE', false, 'the offset commit was rejected because of its size'],
  [
    29,
    'TOPIC_AUTHORIZATION_FAILED',
    false,
    'the client principal lacks the ACL needed for this operation on the topic; fix the ACLs, retrying will not help',
  ],
  [30, 'GROUP_AUTHORIZATION_FAILED', false, 'the client principal is not allowed to use this group'],
  [
    31,
    'CLUSTER_AUTHORIZATION_FAILED',
    false,
    'the client principal lacks the cluster-level ACL this operation needs (e.g. IdempotentWrite or Create); fix the ACLs',
  ],
  [
    32,
    'INVALID_TIMESTAMP',
    false,
    'a record timestamp is outside the window the topic accepts (message.timestamp.*.max.ms) or is otherwise invalid',
  ],
  [
    33,
    'UNSUPPORTED_SASL_MECHANISM',
    false,
    "the broker listener does not enable the SASL mechanism the client asked for; pick one from the broker's enabled list",
  ],
  [
    34,
    'ILLEGAL_SASL_STATE',
    false,
    'a SASL request arrived out of order for the current authentication state (e.g. SaslAuthenticate before SaslHandshake)',
  ],
  [
    35,
    'UNSUPPORTED_VERSION',
    false,
    'the broker does not support the API version used for this request; negotiate versions with ApiVersions first',
  ],
  [36, 'TOPIC_ALREADY_EXISTS', false, 'the topic name is already taken; treat this as success if you only needed the topic to exist'],
  [37, 'INVALID_PARTITIONS', false, 'the partition count asked for is not valid (must be positive, and can only grow)'],
  [
    38,
    'INVALID_REPLICATION_FACTOR',
    false,
    'the requested replication factor is unusable, e.g. it asks for more replicas than the cluster has brokers',
  ],
  [39, 'INVALID_REPLICA_ASSIGNMENT', false, 'the explicit replica assignment is malformed or names brokers that cannot be used'],
  [40, 'INVALID_CONFIG', false, 'a configuration name or value in the request was rejected'],
  [41, 'NOT_CONTROLLER', true, 'this broker is not the active controller; refresh metadata and send to the controller'],
  [
    42,
    'INVALID_REQUEST',
    false,
    'the broker could not make sense of the request (malformed, inconsistent fields, or not allowed in this context); likely a client bug',
  ],
  [43, 'UNSUPPORTED_FOR_MESSAGE_FORMAT', false, 'the operation needs a newer on-disk message format than the topic uses'],
  [44, 'POLICY_VIOLATION', false, 'a broker-side policy (such as create.topic.policy.class.name) refused the request'],
  [
    45,
    'OUT_OF_ORDER_SEQUENCE_NUMBER',
    false,
    "the broker saw a gap in this producer's sequence numbers for the partition, so data may have been lost; " +
      'the idempotent producer must reset',
  ],
  [46, 'DUPLICATE_SEQUENCE_NUMBER', false, 'the batch repeats a sequence number the broker already stored; the data is already there'],
  [
    47,
    'INVALID_PRODUCER_EPOCH',
    false,
    'the producer epoch is older than the one the broker knows, so a newer producer instance has taken over',
  ],
  [48, 'INVALID_TXN_STATE', false, "the operation does not fit the transaction's current state (e.g. producing before AddPartitionsToTxn)"],
  [
    49,
    'INVALID_PRODUCER_ID_MAPPING',
    false,
    'the transactional id is not bound to the producer id in the request; call InitProducerId again',
  ],
  [50, 'INVALID_TRANSACTION_TIMEOUT', false, 'transaction.timeout.ms is above the cap the broker sets (transaction.max.timeout.ms)'],
  [51, 'CONCURRENT_TRANSACTIONS', true, 'another transaction step for this producer is still finishing; retry shortly'],
  [52, 'TRANSACTION_COORDINATOR_FENCED', false, 'a newer transaction coordinator has taken over from the one that sent this'],
  [53, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', false, 'the client principal may not use this transactional id; fix the ACLs'],
  [54, 'SECURITY_DISABLED', false, 'the broker runs without security, so this request cannot be served'],
  [55, 'OPERATION_NOT_ATTEMPTED', false, 'not tried, because an earlier item in the same batched request failed'],
  [
    56,
    'KAFKA_STORAGE_ERROR',
    true,
    "the broker's log directory for this partition is offline or failing; leadership should move, refresh metadata and retry",
  ],
  [57, 'LOG_DIR_NOT_FOUND', false, 'the log directory named in the request does not exist on the broker'],
  [
    58,
    'SASL_AUTHENTICATION_FAILED',
    false,
    'the broker rejected the SASL credentials (wrong user, password or token); check the credentials, retrying as-is will not help',
  ],
  [
    59,
    'UNKNOWN_PRODUCER_ID',
    false,
    'the broker holds no state for this producer id (it may have expired with the retained log); ' +
      'the producer must reset its sequence or re-init',
  ],
  [60, 'REASSIGNMENT_IN_PROGRESS', false, 'a partition reassignment is running and blocks this operation'],
  [61, 'DELEGATION_TOKEN_AUTH_DISABLED', false, 'delegation tokens are not enabled on the broker'],
  [62, 'DELEGATION_TOKEN_NOT_FOUND', false, 'no such delegation token'],
  [63, 'DELEGATION_TOKEN_OWNER_MISMATCH', false, 'the principal does not own or renew the delegation token'],
  [
    64,
    'DELEGATION_TOKEN_REQUEST_NOT_ALLOWED',
    false,
    'delegation token requests are not allowed over this kind of connection or authentication',
  ],
  [65, 'DELEGATION_TOKEN_AUTHORIZATION_FAILED', false, 'the principal is not allowed to use this delegation token'],
  [66, 'DELEGATION_TOKEN_EXPIRED', false, 'the delegation token is past its expiry time'],
  [67, 'INVALID_PRINCIPAL_TYPE', false, 'the principal type (e.g. anything other than User) is not accepted'],
  [68, 'NON_EMPTY_GROUP', false, 'the group still has members, so it cannot be deleted'],
  [69, 'GROUP_ID_NOT_FOUND', false, 'no such group id'],
  [70, 'FETCH_SESSION_ID_NOT_FOUND', true, 'the fetch session is unknown to the broker; start a new session'],
  [71, 'INVALID_FETCH_SESSION_EPOCH', true, 'the fetch session epoch is out of step; start a new session'],
  [72, 'LISTENER_NOT_FOUND', true, 'the leader has no endpoint on the listener the client is using; refresh metadata and retry'],
  [73, 'TOPIC_DELETION_DISABLED', false, 'the cluster is configured not to allow deleting topics (delete.topic.enable=false)'],
  [
    74,
    'FENCED_LEADER_EPOCH',
    true,
    'the client-side leader epoch is behind the one on the broker, so its metadata is out of date; refresh metadata and retry',
  ],
  [75, 'UNKNOWN_LEADER_EPOCH', true, 'the client-side leader epoch is ahead of what this broker has seen (the broker lags); retry'],
  [76, 'UNSUPPORTED_COMPRESSION_TYPE', false, 'the compression codec used is not supported for this request or version'],
  [77, 'STALE_BROKER_EPOCH', false, 'the broker epoch given is out of date'],
  [
    78,
    'OFFSET_NOT_AVAILABLE',
    true,
    'the leader cannot serve this offset yet (e.g. high watermark still catching up after a leader change); retry',
  ],
  [79, 'MEMBER_ID_REQUIRED', false, 'the group needs a member id first; rejoin using the id the broker returned'],
  [80, 'PREFERRED_LEADER_NOT_AVAILABLE', true, 'the preferred leader replica cannot take leadership now'],
  [81, 'GROUP_MAX_SIZE_REACHED', false, 'the group already holds the maximum number of members'],
  [82, 'FENCED_INSTANCE_ID', false, 'another member with the same group.instance.id has replaced this one'],
  [83, 'ELIGIBLE_LEADERS_NOT_AVAILABLE', true, 'no replica eligible for leadership is available for the election'],
  [84, 'ELECTION_NOT_NEEDED', true, 'the partition already has its preferred leader, so no election ran'],
  [85, 'NO_REASSIGNMENT_IN_PROGRESS', false, 'nothing to act on: no partition reassignment is running'],
  [86, 'GROUP_SUBSCRIBED_TO_TOPIC', false, 'the group still subscribes to the topic, so its offsets cannot be deleted'],
  [
    87,
    'INVALID_RECORD',
    false,
    'the broker refused a record in the batch (e.g. a compacted topic got a null key, or a record failed validation); ' +
      "see the broker's message",
  ],
  [88, 'UNSTABLE_OFFSET_COMMIT', true, 'offsets for the partition have a pending transactional commit; retry later'],
  [
    89,
    'THROTTLING_QUOTA_EXCEEDED',
    true,
    "the request went over the principal's mutation rate quota (e.g. topic creations); back off and retry",
  ],
  [90, 'PRODUCER_FENCED', false, 'this producer was superseded by a newer instance using the same transactional id; close it'],
  [91, 'RESOURCE_NOT_FOUND', false, 'the resource named in the request does not exist'],
  [92, 'DUPLICATE_RESOURCE', false, 'the same resource is named more than once in the request'],
  [93, 'UNACCEPTABLE_CREDENTIAL', false, "the credential given does not meet the broker's requirements"],
  [94, 'INCONSISTENT_VOTER_SET', false, "the voter set in the request does not match the quorum's"],
  [95, 'INVALID_UPDATE_VERSION', false, 'the feature version update is not valid'],
  [96, 'FEATURE_UPDATE_FAILED', false, 'the feature update could not be applied'],
  [97, 'PRINCIPAL_DESERIALIZATION_FAILURE', false, 'the forwarded principal could not be decoded'],
  [98, 'SNAPSHOT_NOT_FOUND', false, 'no snapshot exists with the requested id and epoch'],
  [99, 'POSITION_OUT_OF_RANGE', false, 'the requested position is outside the snapshot'],
  [100, 'UNKNOWN_TOPIC_ID', true, 'this broker does not know the topic id (metadata may be stale); refresh metadata and retry'],
  [101, 'DUPLICATE_BROKER_REGISTRATION', false, 'a broker with this id is already registered'],
  [102, 'BROKER_ID_NOT_REGISTERED', false, 'the broker id is not registered'],
  [
    103,
    'INCONSISTENT_TOPIC_ID',
    true,
    'the topic id does not match the one on the broker (the topic may have been recreated); refresh metadata and retry',
  ],
  [104, 'INCONSISTENT_CLUSTER_ID', false, 'the cluster id does not match this cluster'],
  [105, 'TRANSACTIONAL_ID_NOT_FOUND', false, 'no such transactional id'],
  [106, 'FETCH_SESSION_TOPIC_ID_ERROR', true, 'topic ids in the fetch session are inconsistent; start a new session'],
  [107, 'INELIGIBLE_REPLICA', false, 'the replica is not eligible to join the ISR'],
  [108, 'NEW_LEADER_ELECTED', false, 'a new leader was elected while the request was pending'],
  [109, 'OFFSET_MOVED_TO_TIERED_STORAGE', false, 'the offset now lives only in tiered (remote) storage'],
  [110, 'FENCED_MEMBER_EPOCH', false, 'the member epoch is fenced; rejoin the group'],
  [111, 'UNRELEASED_INSTANCE_ID', false, 'the group instance id is still held by another member'],
  [112, 'UNSUPPORTED_ASSIGNOR', false, 'the requested server-side assignor is not supported'],
  [113, 'STALE_MEMBER_EPOCH', false, 'the member epoch is behind; wait for the updated epoch from the heartbeat and retry'],
  [114, 'MISMATCHED_ENDPOINT_TYPE', false, 'the request reached a listener of the other kind (broker vs controller)'],
  [115, 'UNSUPPORTED_ENDPOINT_TYPE', false, 'the target endpoint type cannot serve this request'],
  [116, 'UNKNOWN_CONTROLLER_ID', false, 'the controller id does not match any known controller'],
  [117, 'UNKNOWN_SUBSCRIPTION_ID', false, 'the telemetry subscription id is unknown'],
  [118, 'TELEMETRY_TOO_LARGE', false, 'the pushed telemetry payload is too large'],
  [119, 'INVALID_REGISTRATION', false, 'the registration request is not valid'],
  [120, 'TRANSACTION_ABORTABLE', false, 'the transaction hit a failure it cannot commit through; abort it and start a new one'],
  [121, 'INVALID_RECORD_STATE', false, 'the record is not in a state that allows this share-group action'],
  [122, 'SHARE_SESSION_NOT_FOUND', true, 'the share session is unknown to the broker; start a new session'],
  [123, 'INVALID_SHARE_SESSION_EPOCH', true, 'the share session epoch is out of step; start a new session'],
  [124, 'FENCED_STATE_EPOCH', false, 'the share-group state epoch is fenced'],
  [125, 'INVALID_VOTER_KEY', false, "the voter key does not match the quorum's record"],
  [126, 'DUPLICATE_VOTER', false, 'adding a voter that is present already'],
  [127, 'VOTER_NOT_FOUND', false, 'removing or updating a voter that is absent from the voter set'],
  [128, 'INVALID_REGULAR_EXPRESSION', false, 'the subscription pattern does not parse as a regular expression'],
  [129, 'REBOOTSTRAP_REQUIRED', false, 'the client must discard its metadata and bootstrap again'],
  [130, 'STREAMS_INVALID_TOPOLOGY', false, 'the submitted streams topology was rejected'],
  [131, 'STREAMS_INVALID_TOPOLOGY_EPOCH', false, 'the streams topology epoch does not match'],
  [132, 'STREAMS_TOPOLOGY_FENCED', false, 'a newer streams topology has replaced this one'],
  [133, 'SHARE_SESSION_LIMIT_REACHED', true, 'the broker cannot open more share sessions right now; retry later'],
];

export const KAFKA_ERRORS: ReadonlyMap<number, KafkaErrorInfo> = new Map(
  ROWS.map(([code, name, retriable, message]): [number, KafkaErrorInfo] => [code, Object.freeze({ code, name, retriable, message })]),
);

/** Codes the client logic switches on. Values match {@link KAFKA_ERRORS}. */
export const ErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  MESSAGE_TOO_LARGE: 10,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  INVALID_REQUIRED_ACKS: 21,
  TOPIC_AUTHORIZATION_FAILED: 29,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  TRANSACTION_COORDINATOR_FENCED: 52,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  OPERATION_NOT_ATTEMPTED: 55,
  KAFKA_STORAGE_ERROR: 56,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  OFFSET_NOT_AVAILABLE: 78,
  FENCED_INSTANCE_ID: 82,
  INVALID_RECORD: 87,
  THROTTLING_QUOTA_EXCEEDED: 89,
  PRODUCER_FENCED: 90,
  UNKNOWN_TOPIC_ID: 100,
  INCONSISTENT_TOPIC_ID: 103,
  TRANSACTION_ABORTABLE: 120,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;

/** Looks a code up; codes missing from the table get a generic, non-retriable entry. */
export function errorInfo(code: number): KafkaErrorInfo {
  return (
    KAFKA_ERRORS.get(code) ?? {
      code,
      name: `UNKNOWN_CODE_${code}`,
      retriable: false,
      message: 'an error code this client does not know',
    }
  );
}

export interface KafkaProtocolErrorContext {
  /** API name, e.g. 'Produce'. */
  api: string;
  /** Broker description, e.g. 'broker 1 at 127.0.0.1:9092'. */
  broker?: string;
  /** The broker's own error message, when the response carried one. */
  detail?: string | null;
  /** What failed, e.g. 'topic events partition 3'. */
  subject?: string;
}

/** An error code returned by a broker in a response, with where and why. */
export class KafkaProtocolError extends KafkaWireError {
  override name = 'KafkaProtocolError';
  declare readonly code: number;
  readonly errorName: string;
  readonly api: string;
  readonly broker: string | undefined;
  readonly detail: string | undefined;

  constructor(code: number, context: KafkaProtocolErrorContext) {
    const info = errorInfo(code);
    const detail = context.detail ?? undefined;
    let message = context.api;
    if (context.broker !== undefined) message += ` to ${context.broker}`;
    message += ' failed';
    if (context.subject !== undefined) message += ` for ${context.subject}`;
    message += `: ${info.name} (${code}${info.retriable ? ', retriable' : ''}): ${info.message}`;
    if (detail !== undefined && detail !== '') message += `; broker said: ${detail}`;
    super(message, { code, retriable: info.retriable });
    this.errorName = info.name;
    this.api = context.api;
    this.broker = context.broker;
    this.detail = detail === '' ? undefined : detail;
  }
}
