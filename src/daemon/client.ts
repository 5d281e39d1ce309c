import { connect } from 'node:net';
import type { Writable } from 'node:stream';
import { ConfigError, KafkaWireError } from '../errors.js';
import { describeValue } from '../option-checks.js';
import { InvalidRecordError } from '../producer/errors.js';
import { isValidTopicName } from '../producer/record-input.js';
import { encodeDoryMessage } from './dory-message.js';
import { nativeHelper } from './native-helper.js';

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
/** The datagram sender's exit code when nothing receives on the path (native/dgram-send.c). */
const SENDER_NOBODY = 3;

/** The daemon could not be reached, or the connection to it failed. */
export class DaemonConnectionError extends KafkaWireError {
  override name = 'DaemonConnectionError';
}

/** Where the daemon listens: its UNIX stream socket, its UNIX datagram socket, or its TCP port on 127.0.0.1. */
export type DaemonAddress = { path: string } | { dgram: string } | { port: number };

/**
 * Sends messages to a kafka-wire (or Dory) daemon in Dory's format, over its UNIX stream socket,
 * its UNIX datagram socket or loopback TCP. Fire and forget, as Dory's clients are: the daemon
 * never answers; its status pages say what became of the messages. send() is as cheap as a
 * socket write and returns false when the buffer is full (await drained() before sending more).
 * Node has no UNIX datagram sockets, so `{ dgram }` hands messages to a small C sender
 * (native/dgram-send.c, built with the machine's `cc` on first use) through a pipe; it sends
 * one datagram per message and waits, rather than drops, while the daemon's queue is full.
 */
export class DaemonClient {
  private failure: Error | undefined;
  private readonly ended: Promise<void>;

  private constructor(
    private readonly out: Writable,
    ended: Promise<Error | undefined>,
    /** The largest message this transport carries (a datagram's limit; unbounded on a stream). */
    private readonly largestMessageBytes: number,
  ) {
    this.ended = ended.then((error) => {
      if (error) this.failure ??= error;
    });
  }

  /** Connects to the daemon within timeoutMs (default 5,000). */
  static connect(to: DaemonAddress, options: { timeoutMs?: number } = {}): Promise<DaemonClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const valid =
      to !== null &&
      typeof to === 'object' &&
      (('path' in to && typeof to.path === 'string') ||
        ('dgram' in to && typeof to.dgram === 'string') ||
        ('port' in to && Number.isInteger(to.port) && to.port > 0 && to.port < 65_536));
    if (!valid) {
      return Promise.reject(
        new ConfigError(`DaemonClient.connect() takes { path }, { dgram } or { port } (1-65535), not ${describeValue(to)}`),
      );
    }
    return 'dgram' in to ? DaemonClient.connectDatagrams(to.dgram, timeoutMs) : DaemonClient.connectStream(to, timeoutMs);
  }

  /** Writes one message; false when the buffer is full. Throws InvalidRecordError for a bad message. */
  send(message: DaemonMessage): boolean {
    if (this.failure) throw this.failure;
    const frame = encodeDoryMessage(checked(message));
    if (frame.length > this.largestMessageBytes) {
      throw new InvalidRecordError(
        `the message is ${frame.length} bytes in Dory's format; a datagram to the daemon carries at most ${this.largestMessageBytes}`,
      );
    }
    return this.out.write(frame);
  }

  /** Resolves once the buffer has room again (at once if it has). */
  drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.out.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = () => resolve();
      this.out.once('drain', onDrain);
      this.ended.then(() => {
        this.out.off('drain', onDrain);
        reject(this.failure ?? new DaemonConnectionError('the connection to the daemon closed'));
      });
    });
  }

  /**
   * Sends what is buffered and closes the connection, within timeoutMs (default 30,000); rejects
   * if it failed or did not finish in time (messages may then not have reached the daemon).
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!this.out.writableEnded) this.out.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.failure ??= new DaemonConnectionError(`the daemon did not take the last messages within ${timeoutMs} ms`);
        this.out.destroy();
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.ended, late]);
    clearTimeout(timer);
    if (this.failure) throw this.failure;
  }

  private static connectStream(to: { path: string } | { port: number }, timeoutMs: number): Promise<DaemonClient> {
    const where = 'path' in to ? to.path : `127.0.0.1:${to.port}`;
    return new Promise((resolve, reject) => {
      const socket = 'path' in to ? connect(to.path) : connect(to.port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DaemonConnectionError(`no daemon answered on ${where} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        let failure: Error | undefined;
        socket.on('error', (error) => {
          failure ??= new DaemonConnectionError(`the connection to the daemon failed: ${error.message}`, { cause: error });
        });
        const ended = new Promise<Error | undefined>((done) => socket.once('close', () => done(failure)));
        resolve(new DaemonClient(socket, ended, Number.POSITIVE_INFINITY));
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

  private static async connectDatagrams(path: string, timeoutMs: number): Promise<DaemonClient> {
    const binary = await nativeHelper('dgram-send').catch((error: Error) => {
      throw new DaemonConnectionError(
        `sending datagrams needs a C compiler for its sender: ${error.message}; install gcc or clang, or use the stream or TCP input`,
        { cause: error },
      );
    });
    // Loaded here, not at import: node:child_process adds about 0.8 MB to every process's RSS.
    const sender = process.getBuiltinModule('node:child_process').spawn(binary, [path], { stdio: ['pipe', 'ignore', 'pipe'] });
    const stdin = sender.stdin as Writable;
    // A dead sender shows as EPIPE here; its exit code and stderr give the reason.
    stdin.on('error', () => undefined);
    let stderr = '';
    sender.stderr?.setEncoding('utf8');
    sender.stderr?.on('data', (text: string) => (stderr += text));
    const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
      sender.once('close', (code, signal) => done({ code, signal })),
    );
    const largest = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        sender.kill('SIGKILL');
        reject(new DaemonConnectionError(`the datagram sender for ${path} did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      const onData = () => {
        const ready = /ready max=(\d+)\n/.exec(stderr);
        if (!ready) return;
        clearTimeout(timer);
        sender.stderr?.off('data', onData);
        stderr = stderr.slice(ready.index + ready[0].length);
        resolve(Number(ready[1]));
      };
      sender.stderr?.on('data', onData);
      sender.once('error', (error) => {
        clearTimeout(timer);
        reject(new DaemonConnectionError(`cannot start the datagram sender ${binary}: ${error.message}`, { cause: error }));
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        const reason = code === SENDER_NOBODY ? NOBODY : stderr.trim() || `it stopped (${signal ?? code})`;
        reject(new DaemonConnectionError(`cannot send datagrams to the daemon on ${path}: ${reason}`));
      });
    });
    const ended = exited.then(({ code, signal }) =>
      code === 0
        ? undefined
        : new DaemonConnectionError(
            `sending datagrams to the daemon on ${path} failed: ${stderr.trim() || `the sender stopped (${signal ?? code})`}`,
          ),
    );
    return new DaemonClient(stdin, ended, largest);
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
