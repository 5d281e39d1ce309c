import type { Cluster } from '../cluster/cluster.js';
import type { ClusterOptions } from '../cluster/options.js';
import type { Connection } from '../connection/connection.js';
import type { ApiDefinition } from '../protocol/primitives/index.js';
import type { CheckReport, Group, Result, VersionPair } from './report.js';
import { intersect } from './versions.js';

/** Thrown by a check to end it as unsupported or skipped (what the broker or this run lacks), with the reason. */
export class CheckOutcome extends Error {
  constructor(
    readonly result: Exclude<Result, 'pass' | 'fail'>,
    reason: string,
  ) {
    super(reason);
  }
}

export const unsupported = (reason: string): never => {
  throw new CheckOutcome('unsupported', reason);
};
export const skipped = (reason: string): never => {
  throw new CheckOutcome('skipped', reason);
};

/** A check's own assertion failed. */
export class CheckFailure extends Error {}

export function expectThat(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

export interface RunOptions {
  /** Runs even past the total bound (the clean-up), still within the per-check bound. */
  always?: boolean;
  /** Recorded only when it fails (the clean-up when the admin group was not asked for). */
  onlyIfFailed?: boolean;
}

export interface ContextSettings {
  connection: ClusterOptions;
  topicPrefix: string;
  checkTimeoutMs: number;
  /** Wall-clock time after which every check still to run is skipped. */
  deadline: number;
  /** Told each check as it is recorded. */
  onCheck?: (check: CheckReport) => void;
}

/**
 * What every check shares: the cluster, the broker's offered versions, the versions sent so
 * far, the topics this run created (each deleted at the end) and the results. run() bounds
 * each check in time and turns what it throws into a result.
 */
export class ConformanceContext {
  readonly checks: (CheckReport & { apis: number[] })[] = [];
  readonly exercised = new Map<number, Set<number>>();
  /** Offered ranges by API key, from the first connection's ApiVersions answer. */
  readonly brokerVersions = new Map<number, VersionPair>();
  /** Topics this run created (or may have): deleted in the end. */
  readonly createdTopics = new Set<string>();
  /** Tells topic names of this run apart from another run's with the same prefix. */
  readonly runId = `${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  cluster: Cluster | undefined;
  /** Set-ups several checks share (the topics), made by whichever needs them first. */
  private readonly shared = new Map<string, Promise<unknown>>();

  constructor(readonly settings: ContextSettings) {}

  /** The set-up under `key`, made once; a failed set-up fails every check that needs it. */
  once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let pending = this.shared.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = make();
      pending.catch(() => {}); // awaited by the checks; not an unhandled rejection meanwhile
      this.shared.set(key, pending);
    }
    return pending;
  }

  /** A topic name of this run: prefix, run id, purpose. */
  topic(purpose: string): string {
    return `${this.settings.topicPrefix}${this.runId}-${purpose}`;
  }

  get connectedCluster(): Cluster {
    if (!this.cluster) throw new CheckFailure('not connected');
    return this.cluster;
  }

  /** Records that a request of `api` went out at `version`. */
  sent(api: ApiDefinition, version: number): void {
    let versions = this.exercised.get(api.apiKey);
    if (!versions) this.exercised.set(api.apiKey, (versions = new Set()));
    versions.add(version);
  }

  brokerRange(api: ApiDefinition): VersionPair | null {
    return this.brokerVersions.get(api.apiKey) ?? null;
  }

  /** Versions of `api` both sides speak; the check is unsupported when there are none. */
  common(api: ApiDefinition): VersionPair {
    const broker = this.brokerRange(api);
    const both = intersect([api.request.minVersion, api.request.maxVersion], broker);
    if (both === null) {
      return unsupported(
        broker === null
          ? `the broker does not offer ${api.name}`
          : `the broker offers ${api.name} v${broker[0]}-${broker[1]}, ` +
              `kafka-wire speaks v${api.request.minVersion}-${api.request.maxVersion}`,
      );
    }
    return both;
  }

  /** The highest version both speak, recorded as sent (for calls the library makes at its negotiated version). */
  negotiated(api: ApiDefinition, connection?: Connection): number {
    const version = connection ? connection.version(api) : this.common(api)[1];
    this.sent(api, version);
    return version;
  }

  /**
   * Runs one check within the per-check bound: what `body` returns is the pass detail; a
   * CheckOutcome makes it unsupported or skipped; anything else thrown is a failure.
   * `apis` are the APIs whose row in the table a failure marks failed.
   */
  async run(group: Group, name: string, apis: ApiDefinition[], body: () => Promise<string>, options: RunOptions = {}): Promise<Result> {
    const started = Date.now();
    let result: Result;
    let detail: string;
    if (started >= this.settings.deadline && !options.always) {
      result = 'skipped';
      detail = 'the run reached its total time bound before this check';
    } else {
      const left = options.always ? this.settings.checkTimeoutMs : this.settings.deadline - started;
      const bound = Math.min(this.settings.checkTimeoutMs, left);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckFailure(`did not finish within ${bound} ms`)), bound);
      });
      try {
        detail = await Promise.race([body(), timeout]);
        result = 'pass';
      } catch (error) {
        result = error instanceof CheckOutcome ? error.result : 'fail';
        detail = describeError(error);
      } finally {
        clearTimeout(timer);
      }
    }
    if (options.onlyIfFailed && result !== 'fail') return result;
    const check = { group, name, result, detail, durationMs: Date.now() - started, apis: apis.map((api) => api.apiKey) };
    this.checks.push(check);
    this.settings.onCheck?.(check);
    return result;
  }
}

/** An error as a report line: its class (when it is one of ours) and message. */
export function describeError(error: unknown): string {
  if (error instanceof CheckOutcome || error instanceof CheckFailure) return error.message;
  if (error instanceof Error) return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`;
  return String(error);
}
