import { existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { KafkaWireError } from '../errors.js';
import { DoryMessageError } from './dory-message.js';
import { DoryStreamReader } from './dory-stream.js';
import type { Intake } from './intake.js';

/** Another process already serves the socket path or port the daemon was asked to listen on. */
export class InputInUseError extends KafkaWireError {
  override name = 'InputInUseError';
}

/**
 * A UNIX stream socket or a loopback TCP port: each client's bytes are cut into messages and
 * given to the intake. Nothing is ever written back. A client that sends bytes no size field can
 * be found in is disconnected (its garbage counted); others are not affected.
 */
export class StreamInput {
  private readonly connections = new Set<Socket>();
  private paused = false;

  private constructor(
    private readonly server: Server,
    readonly kind: 'stream' | 'tcp',
    /** The socket path, or 127.0.0.1:PORT (the port bound, when 0 was asked for). */
    public where: string,
  ) {}

  static async listen(at: { path: string } | { port: number }, intake: Intake, maxMessageBytes: number): Promise<StreamInput> {
    const kind = 'path' in at ? 'stream' : 'tcp';
    if ('path' in at) await removeStaleSocket(at.path);
    const server = createServer();
    const input = new StreamInput(server, kind, 'path' in at ? at.path : `127.0.0.1:${at.port}`);
    server.on('connection', (socket) => input.accept(socket, intake, maxMessageBytes));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'EADDRINUSE'
            ? new InputInUseError(`${input.where} is in use by another process (a second daemon?)`, { cause: error })
            : error,
        );
      });
      if ('path' in at) server.listen(at.path, resolve);
      else server.listen(at.port, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (typeof address === 'object' && address) input.where = `127.0.0.1:${address.port}`;
    return input;
  }

  /** Stops reading every client (too many messages wait for the journal). */
  pause(): void {
    this.paused = true;
    for (const socket of this.connections) socket.pause();
  }

  resume(): void {
    this.paused = false;
    for (const socket of this.connections) socket.resume();
  }

  get clients(): number {
    return this.connections.size;
  }

  /**
   * Stops taking connections and reads what connected clients still send until they close or
   * `graceMs` passes; then closes them. Resolves once every connection is gone.
   */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const gone = Promise.all(
      [...this.connections].map((socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', resolve)))),
    );
    const timer = setTimeout(() => {
      for (const socket of this.connections) socket.destroy();
    }, graceMs);
    await gone;
    clearTimeout(timer);
    await closed;
    if (this.kind === 'stream') removeSocketFile(this.where);
  }

  private accept(socket: Socket, intake: Intake, maxMessageBytes: number): void {
    this.connections.add(socket);
    if (this.paused) socket.pause();
    const reader = new DoryStreamReader(maxMessageBytes);
    const events = {
      frame: (frame: Buffer) => intake.receive(frame, this.kind),
      tooLarge: () => intake.tooLarge(this.kind),
    };
    let unreadable = false;
    socket.on('data', (chunk: Buffer) => {
      if (unreadable) return;
      try {
        reader.push(chunk, events);
      } catch (error) {
        if (!(error instanceof DoryMessageError)) throw error;
        // No size field to find the next message by: the rest of this connection cannot be read.
        unreadable = true;
        intake.garbage(this.kind, chunk);
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.connections.delete(socket);
      if (!unreadable && reader.partialBytes > 0) intake.disconnectedMidMessage(this.kind);
    });
  }
}

/** A socket file left by a process that died is removed; one something listens on is an InputInUseError. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const listening = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (listening) throw new InputInUseError(`${path} is in use: another process (a second daemon?) accepts connections on it`);
  removeSocketFile(path);
}

function removeSocketFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
