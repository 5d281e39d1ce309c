import type { Connection } from '../connection/connection.js';
import { FindCoordinator } from '../protocol/generated/index.js';
import { ErrorCode, KafkaProtocolError } from '../protocol/kafka-errors.js';
import type { Cluster } from './cluster.js';

/** FindCoordinator's key types: a consumer group's coordinator, or a transactional id's. */
export type CoordinatorType = 'group' | 'transaction';

const KEY_TYPE: Record<CoordinatorType, number> = { group: 0, transaction: 1 };

/** Answers that mean "ask FindCoordinator again": the coordinator moved, or is not there yet. */
const COORDINATOR_MOVED: ReadonlySet<number> = new Set([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE]);

/** True when a coordinator's answer says the key's coordinator is elsewhere or not ready (ask FindCoordinator again). */
export function coordinatorMoved(code: number): boolean {
  return COORDINATOR_MOVED.has(code);
}

/**
 * Finds and remembers the coordinator of each group and transactional id (FindCoordinator, one
 * key per request, in the v0-3 or the batched v4+ form, whichever the broker speaks). A caller
 * that is told NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE calls forget() and asks again; the
 * errors of FindCoordinator itself are KafkaProtocolErrors, retriable where Kafka says so.
 */
export class Coordinators {
  private readonly known = new Map<string, number>();

  constructor(private readonly cluster: Cluster) {}

  /** The connection to the key's coordinator, found first if not known. */
  async connection(type: CoordinatorType, key: string): Promise<Connection> {
    const nodeId = await this.find(type, key);
    try {
      return await this.cluster.connectionTo(nodeId);
    } catch (error) {
      // A coordinator that cannot be reached may have moved by the time we try again.
      this.forget(type, key);
      throw error;
    }
  }

  /** Node id of the key's coordinator. */
  async find(type: CoordinatorType, key: string): Promise<number> {
    const known = this.known.get(`${type}:${key}`);
    if (known !== undefined) return known;
    const connection = await this.cluster.anyConnection();
    const version = connection.version(FindCoordinator);
    const request = FindCoordinator.request.create(
      version >= 4 ? { keyType: KEY_TYPE[type], coordinatorKeys: [key] } : { keyType: KEY_TYPE[type], key },
    );
    const response = await connection.request(FindCoordinator, request, { version });
    // v4+ answers per key; v0-3 answer at the top level.
    const answer = version >= 4 ? response.coordinators.find((entry) => entry.key === key) : response;
    if (!answer) {
      throw new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, {
        api: 'FindCoordinator',
        broker: connection.label,
        subject: `${type} ${key}`,
        detail: 'the answer did not mention the key',
      });
    }
    if (answer.errorCode !== ErrorCode.NONE) {
      throw new KafkaProtocolError(answer.errorCode, {
        api: 'FindCoordinator',
        broker: connection.label,
        subject: `${type} ${key}`,
        detail: answer.errorMessage,
      });
    }
    this.known.set(`${type}:${key}`, answer.nodeId);
    return answer.nodeId;
  }

  forget(type: CoordinatorType, key: string): void {
    this.known.delete(`${type}:${key}`);
  }
}
