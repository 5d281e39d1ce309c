import { EventEmitter } from 'node:events';
import { isRetriable } from '../errors.js';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { type BrokerAddress, formatAddress } from './bootstrap.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { ConnectionError } from './errors.js';

export type PooledConnectionOptions = Omit<ConnectionOptions, 'host' | 'port' | 'label'>;

export interface PoolOptions extends PooledConnectionOptions {
  reconnectBackoff?: BackoffOptions;
  /** Close connections with nothing in flight that have been quiet this long; 0 keeps them. */
  idleTimeoutMs?: number;
}

/** What the pool tells its listeners: every connection opened, lost, or that could not be opened. */
export interface PoolEvents {
  open: [{ key: string; broker: string; address: string }];
  lost: [{ key: string; broker: string; address: string; error: ConnectionError }];
  failed: [{ key: string; broker: string; address: string; error: Error; failures: number; retryInMs: number }];
}

interface Slot {
  connection?: Connection;
  connecting?: Promise<Connection>;
  failures: number;
  nextAttemptAt: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 9 * 60_000;

/**
 * Connections by key — one per broker by default, or one per broker and partition leader when
 * the caller keys them so. Connections open lazily on first use; after a failure the next
 * attempt waits an exponential, jittered backoff; connections idle past idleTimeoutMs close.
 * A closed connection leaves the pool at once, so the next get() opens a new one.
 */
export class ConnectionPool extends EventEmitter<PoolEvents> {
  private readonly slots = new Map<string, Slot>();
  private readonly idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: PoolOptions = {}) {
    super();
    const idle = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (idle > 0) {
      this.idleTimer = setInterval(() => this.closeIdle(idle), Math.max(1000, Math.min(idle / 2, 60_000)));
      this.idleTimer.unref();
    }
  }

  /** The open connection for `key`, opening one to `address` if needed (after any backoff still due). */
  async get(key: string, address: BrokerAddress, label: string): Promise<Connection> {
    if (this.closed) throw new ConnectionError(label, 'the connection pool is closed');
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { failures: 0, nextAttemptAt: 0 }));
    if (slot.connection?.isOpen) return slot.connection;
    slot.connecting ??= this.open(key, slot, address, label).finally(() => {
      (slot as Slot).connecting = undefined;
    });
    return slot.connecting;
  }

  /** An open connection for `key`, if there is one, without opening anything. */
  peek(key: string): Connection | undefined {
    const connection = this.slots.get(key)?.connection;
    return connection?.isOpen ? connection : undefined;
  }

  /** Milliseconds until `key` may be tried again (0 when it may be tried now). */
  backoffRemaining(key: string): number {
    return Math.max(0, (this.slots.get(key)?.nextAttemptAt ?? 0) - Date.now());
  }

  private async open(key: string, slot: Slot, address: BrokerAddress, label: string): Promise<Connection> {
    const wait = slot.nextAttemptAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (this.closed) throw new ConnectionError(label, 'the connection pool is closed');
    try {
      const connection = await Connection.connect({ ...this.options, host: address.host, port: address.port, label });
      if (this.closed) {
        connection.close();
        throw new ConnectionError(label, 'the connection pool is closed');
      }
      slot.connection = connection;
      slot.failures = 0;
      slot.nextAttemptAt = 0;
      const where = { key, broker: label, address: formatAddress(address) };
      connection.onClose((error) => {
        if (slot.connection === connection) slot.connection = undefined;
        if (!this.closed) this.emit('lost', { ...where, error });
      });
      this.emit('open', where);
      return connection;
    } catch (error) {
      // What cannot get better by hammering the broker (wrong credentials, an untrusted certificate) backs off as far as allowed.
      const backoff = this.options.reconnectBackoff ?? DEFAULT_BACKOFF;
      const retryInMs = isRetriable(error) ? backoffDelay(slot.failures, backoff) : backoff.maxMs;
      slot.nextAttemptAt = Date.now() + retryInMs;
      slot.failures++;
      if (!this.closed)
        this.emit('failed', {
          key,
          broker: label,
          address: formatAddress(address),
          error: error as Error,
          failures: slot.failures,
          retryInMs,
        });
      throw error;
    }
  }

  private closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const slot of this.slots.values()) {
      const connection = slot.connection;
      if (connection?.isOpen && connection.inFlight === 0 && now - connection.lastActivity >= idleMs) {
        connection.close(new ConnectionError(connection.label, `closed after ${Math.round(idleMs / 1000)} s idle`));
      }
    }
  }

  /** Closes every connection; later get() calls fail. */
  close(): void {
    this.closed = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    for (const slot of this.slots.values()) slot.connection?.close();
    this.slots.clear();
    this.removeAllListeners();
  }
}
