import { type ChildProcess, spawn } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { KafkaWireError } from '../errors.js';
import type { Intake } from './intake.js';
import { nativeHelper } from './native-helper.js';
import { InputInUseError } from './stream-input.js';

/** The UNIX datagram input could not start: no C compiler for its relay, or the socket could not be bound. */
export class DatagramInputError extends KafkaWireError {
  override name = 'DatagramInputError';
}

/** The length word the relay writes for a datagram larger than the largest message, before its real size. */
const TOO_LARGE = 0xffffffff;
/** Kernel receive buffer asked for: room for bursts while the daemon is busy. */
const RECEIVE_BUFFER_BYTES = 8 << 20;

/**
 * The UNIX datagram input. Node cannot receive on an AF_UNIX SOCK_DGRAM socket, so a small C
 * relay (native/dgram-relay.c, compiled with the machine's `cc` on first use and cached) binds
 * it and passes each datagram on through a pipe, length-prefixed. A full pipe blocks the relay
 * and then the senders: Linux refuses to queue more UNIX datagrams rather than dropping them.
 */
export class DatagramInput {
  private buffered: Buffer = Buffer.alloc(0);
  private exited: Promise<void>;
  private closing = false;

  private constructor(
    private readonly relay: ChildProcess,
    readonly path: string,
    /** The receive buffer the kernel granted (bytes). */
    readonly receiveBufferBytes: number,
  ) {
    this.exited = new Promise((done) => relay.once('close', () => done()));
  }

  /** `onLost` is told if the relay stops while the daemon runs (the datagram input is then gone; the others go on). */
  static async listen(path: string, intake: Intake, maxMessageBytes: number, onLost: (reason: string) => void): Promise<DatagramInput> {
    const binary = await nativeHelper('dgram-relay').catch((error: Error) => {
      throw new DatagramInputError(
        `the UNIX datagram input needs a C compiler for its relay: ${error.message}; install gcc or clang, or use the stream or TCP input`,
        { cause: error },
      );
    });
    const relay = spawn(binary, [path, String(maxMessageBytes), String(RECEIVE_BUFFER_BYTES)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    relay.stderr?.setEncoding('utf8');
    const ready = await new Promise<number>((done, fail) => {
      const onData = (text: string) => {
        stderr += text;
        const match = /ready rcvbuf=(\d+)/.exec(stderr);
        if (match) {
          // Later lines are the reason it stopped, if it does.
          stderr = '';
          relay.stderr?.off('data', onData);
          relay.stderr?.on('data', (more: string) => (stderr += more));
          done(Number(match[1]));
        }
      };
      relay.stderr?.on('data', onData);
      relay.once('error', (error) =>
        fail(new DatagramInputError(`the datagram relay could not start: ${error.message}`, { cause: error })),
      );
      relay.once('exit', (code) => {
        const reason = stderr.trim() || `exit code ${code}`;
        fail(code === 3 ? new InputInUseError(reason) : new DatagramInputError(`the datagram relay for ${path} stopped: ${reason}`));
      });
    });
    relay.removeAllListeners('exit');
    const input = new DatagramInput(relay, path, ready);
    relay.once('exit', (code, signal) => {
      if (!input.closing) onLost(`the datagram relay for ${path} stopped (${signal ?? `exit code ${code}`}): ${stderr.trim()}`);
    });
    relay.stdout?.on('data', (chunk: Buffer) => input.take(chunk, intake));
    return input;
  }

  pause(): void {
    this.relay.stdout?.pause();
  }

  resume(): void {
    this.relay.stdout?.resume();
  }

  /** Stops the relay and reads what it had already passed on (the pipe's contents), then removes the socket file. */
  async close(): Promise<void> {
    this.closing = true;
    this.resume();
    this.relay.kill('SIGTERM');
    await this.exited;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  /** Cuts the pipe's bytes into datagrams. */
  private take(chunk: Buffer, intake: Intake): void {
    let data = this.buffered.length > 0 ? Buffer.concat([this.buffered, chunk]) : chunk;
    let at = 0;
    while (data.length - at >= 4) {
      const length = data.readUInt32BE(at);
      if (length === TOO_LARGE) {
        if (data.length - at < 8) break;
        intake.tooLarge('dgram');
        at += 8;
        continue;
      }
      if (data.length - at < 4 + length) break;
      intake.receive(data.subarray(at + 4, at + 4 + length), 'dgram');
      at += 4 + length;
    }
    data = data.subarray(at);
    this.buffered = data.length > 0 ? Buffer.from(data) : Buffer.alloc(0);
  }
}
