import { connect, type Socket } from 'node:net';
import { ConfigError, KafkaWireError } from '../errors.js';
import { describeValue } from '../option-checks.js';
import { InvalidRecordError } from '../producer/errors.js';
import { isValidTopicName } from '../producer/record-input.js';
import { encodeDoryMessage } from './dory-message.js';

/** A message for the daemon: Dory's AnyPartition, or PartitionKey when `partitionKey` is given. */
export interface DaemonMessage {
  topic: string;
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  /** An unsigned 32-bit number: the partition at index `partitionKey mod n` of the topic's sorted partitions. */
  partitionKey?: number;
  /** Milliseconds since the epoch; default now. */
  timestamp?: number;
}

const NOT_LISTENING = ['ENOENT', 'ECONNREFUSED'];
const NOBODY = 'nothing listens there (is the daemon running?)';

/** The daemon could not be reached, or the connection to it failed. */
export class DaemonConnectionError extends KafkaWireError {
  override name = 'DaemonConnectionError';
}

/**
 * Sends messages to a kafka-wire (or Dory) daemon over its UNIX stream socket or loopback TCP
 * port, in Dory's format. Fire and forget, as Dory's clients are: the daemon never answers;
 * its status pages say what became of the messages. send() is as cheap as a socket write and
 * returns false when the socket's buffer is full (await drained() before sending more).
 */
export class DaemonClient {
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('error', (error) => {
      this.failure = new DaemonConnectionError(`the connection to the daemon failed: ${error.message}`, { cause: error });
    });
  }

  /** Connects to `{ path }` (a UNIX stream socket) or `{ port }` (TCP on 127.0.0.1), within timeoutMs (default 5,000). */
  static connect(to: { path: string } | { port: number }, options: { timeoutMs?: number } = {}): Promise<DaemonClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const where = 'path' in to ? to.path : `127.0.0.1:${to.port}`;
    if (!('path' in to) && !(Number.isInteger(to.port) && to.port > 0 && to.port < 65_536)) {
      return Promise.reject(new ConfigError(`DaemonClient.connect() takes { path } or { port } (1-65535), not ${describeValue(to)}`));
    }
    return new Promise((resolve, reject) => {
      const socket = 'path' in to ? connect(to.path) : connect(to.port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DaemonConnectionError(`no daemon answered on ${where} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new DaemonClient(socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new DaemonConnectionError(
            `cannot connect to the daemon on ${where}: ${NOT_LISTENING.includes(error.code ?? '') ? NOBODY : error.message}`,
            { cause: error },
          ),
        );
      });
    });
  }

  /** Writes one message; false when the socket's buffer is full. Throws InvalidRecordError for a bad message. */
  send(message: DaemonMessage): boolean {
    if (this.failure) throw this.failure;
    return this.socket.write(encodeDoryMessage(checked(message)));
  }

  /** Resolves once the socket's buffer has room again (at once if it has). */
  drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off('drain', onDrain);
        reject(this.failure ?? new DaemonConnectionError('the connection to the daemon closed'));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  /** Sends what is buffered and closes the connection; rejects if it failed (messages may then not have reached the daemon). */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) {
        if (this.failure) reject(this.failure);
        else resolve();
        return;
      }
      this.socket.once('close', () => (this.failure ? reject(this.failure) : resolve()));
      this.socket.end();
    });
  }
}

function checked(message: DaemonMessage): DaemonMessage {
  if (message === null || typeof message !== 'object')
    throw new InvalidRecordError(
      `a message must be an object { topic, value, key?, partitionKey?, timestamp? }, not ${describeValue(message)}`,
    );
  if (typeof message.topic !== 'string' || !isValidTopicName(message.topic)) {
    throw new InvalidRecordError(
      `message.topic must be a valid topic name (1-249 characters of a-z, A-Z, 0-9, '.', '_', '-'), not ${describeValue(message.topic)}`,
    );
  }
  const { partitionKey, timestamp } = message;
  if (partitionKey !== undefined && !(Number.isInteger(partitionKey) && partitionKey >= 0 && partitionKey <= 0xffffffff)) {
    throw new InvalidRecordError(`message.partitionKey must be an unsigned 32-bit integer, not ${describeValue(partitionKey)}`);
  }
  if (timestamp !== undefined && !(Number.isSafeInteger(timestamp) && timestamp >= 0)) {
    throw new InvalidRecordError(
      `message.timestamp must be milliseconds since the epoch (an integer ≥ 0), not ${describeValue(timestamp)}`,
    );
  }
  for (const field of ['key', 'value'] as const) {
    const data = message[field];
    if (
      !(data === undefined || data === null || typeof data === 'string' || data instanceof Uint8Array) ||
      (field === 'value' && data === undefined)
    ) {
      throw new InvalidRecordError(`message.${field} must be a string, a Buffer/Uint8Array or null, not ${describeValue(data)}`);
    }
  }
  return message;
}
