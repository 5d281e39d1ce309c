import { connect, type Socket } from 'node:net';
import { type DecodedResponse, decodeResponse, encodeRequest } from '../../src/protocol/frame.js';
import type { ApiDefinition } from '../../src/protocol/primitives/index.js';

/** Frames larger than this are surely a framing error, not a real answer from a test broker. */
const MAX_FRAME = 64 * 1024 * 1024;

/**
 * One raw TCP connection to a broker for tests: writes size-prefixed request frames and hands back
 * response frames (without their size prefix) in the order they arrive. Chunks are reassembled
 * whatever their boundaries (a frame split over many chunks, many frames in one chunk), and every
 * wait has a timeout, so a silent or misbehaving broker fails a test instead of hanging it.
 */
export class RawConnection {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly frames: Buffer[] = [];
  private readonly waiters: { resolve: (frame: Buffer) => void; reject: (error: Error) => void }[] = [];
  private failure: Error | undefined;
  private nextCorrelationId = 1;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error(`connection to ${address} closed`)));
  }

  static open(host: string, port: number, timeoutMs = 10_000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error(`could not connect to ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
      const onError = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new RawConnection(socket, `${host}:${port}`));
      });
    });
  }

  /** A fresh correlation id, distinct for every request on this connection. */
  correlationId(): number {
    return this.nextCorrelationId++;
  }

  send(frame: Buffer): void {
    if (this.failure) throw this.failure;
    this.socket.write(frame);
  }

  /** The next response frame, without its 4-byte size prefix. */
  nextFrame(timeoutMs = 10_000): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (frame: Buffer) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error(`no response frame from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /**
   * Encodes one request with the generated codecs, sends it, waits for the next frame and decodes
   * it as the answer; throws if the correlation id is not the one sent.
   */
  async request<Request, Response>(
    api: ApiDefinition<Request, Response>,
    version: number,
    body: Request,
    { clientId = 'kafka-wire-test', timeoutMs = 10_000 }: { clientId?: string | null; timeoutMs?: number } = {},
  ): Promise<DecodedResponse<Response>> {
    const correlationId = this.correlationId();
    this.send(encodeRequest(api, version, correlationId, clientId, body));
    const decoded = decodeResponse(api, version, await this.nextFrame(timeoutMs));
    if (decoded.correlationId !== correlationId) {
      throw new Error(`${api.name} v${version}: sent correlation id ${correlationId}, got ${decoded.correlationId}`);
    }
    return decoded;
  }

  close(): void {
    this.failure ??= new Error(`connection to ${this.address} was closed by the test`);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (this.pendingBytes < 4) return;
      const buffered = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [buffered];
      const size = buffered.readInt32BE(0);
      if (size < 0 || size > MAX_FRAME) {
        this.fail(new Error(`response frame from ${this.address} claims ${size} bytes`));
        this.socket.destroy();
        return;
      }
      if (buffered.length < 4 + size) return;
      // Copy, so a frame never aliases the bytes of the frames after it.
      const frame = Buffer.from(buffered.subarray(4, 4 + size));
      const rest = buffered.subarray(4 + size);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(frame);
      else this.frames.push(frame);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }
}

/** Sends one frame over a fresh raw socket and resolves with the body of the first answer frame (10 s bound). */
export function exchangeOnce(host: string, port: number, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => socket.write(frame));
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${host}:${port} within 10 s`)), 10_000);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received.subarray(4, 4 + received.readInt32BE(0)));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
