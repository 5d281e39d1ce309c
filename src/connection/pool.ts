import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import type { BrokerAddress } from './bootstrap.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { AuthenticationError, ConnectionError } from './errors.js';

export type PooledConnectionOptions = Omit<ConnectionOptions, 'host' | 'port' | 'label'>;

export interface PoolOptions extends PooledConnectionOptions {
  reconnectBackoff?: BackoffOptions;
  /** Close connections with nothing in flight that have been quiet this long; 0 keeps them. */
  idleTimeoutMs?: number;
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
export class ConnectionPool {
  private readonly slots = new Map<string, Slot>();
  private readonly lostListeners = new Set<(key: string, error: ConnectionError) => void>();
  private readonly idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: PoolOptions = {}) {
    const idle = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (idle > 0) {
      this.idleTimer = setInterval(() => this.closeIdle(idle), Math.max(1000, Math.min(idle / 2, 60_000)));
      this.idleTimer.unref();
    }
  }

  /** Told whenever a pooled connection closes, e.g. so that metadata can be refreshed. */
  onConnectionLost(listener: (key: string, error: ConnectionError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
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
      connection.onClose((error) => {
        if (slot.connection === connection) slot.connection = undefined;
        for (const listener of this.lostListeners) listener(key, error);
      });
      return connection;
    } catch (error) {
      // Wrong credentials will not get better by hammering the broker: back off as far as allowed.
      const backoff = this.options.reconnectBackoff ?? DEFAULT_BACKOFF;
      slot.nextAttemptAt = Date.now() + (error instanceof AuthenticationError ? backoff.maxMs : backoffDelay(slot.failures, backoff));
      slot.failures++;
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
    this.lostListeners.clear();
  }
}
