import { connect as connectTcp, type Socket } from 'node:net';
import type { ConnectionOptions as NodeTlsOptions } from 'node:tls';
import { decodeResponse, encodeRequest } from '../protocol/frame.js';
import { ApiVersions, type ApiVersionsResponse, SaslAuthenticate, SaslHandshake } from '../protocol/generated/index.js';
import type { ApiDefinition } from '../protocol/primitives/index.js';
import { KAFKA_WIRE_VERSION } from '../version.js';
import { AuthenticationError, ConnectionError, PeerProtocolError, RequestTimeoutError, TlsError } from './errors.js';
import { FrameDecoder, FrameSizeError } from './frame-decoder.js';
import { createSaslExchange, SaslError, type SaslOptions } from './sasl-mechanisms.js';
import { SlabReader } from './slab-reader.js';

export type TlsOptions = Pick<
  NodeTlsOptions,
  'ca' | 'cert' | 'key' | 'passphrase' | 'servername' | 'rejectUnauthorized' | 'minVersion' | 'checkServerIdentity'
>;

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  /** TLS options for node:tls, or true for TLS with the system's trusted CAs. */
  tls?: TlsOptions | boolean;
  sasl?: SaslOptions;
  /** Bound on TCP/TLS connect, ApiVersions and SASL together. */
  connectTimeoutMs?: number;
  /** Default bound on each request's answer. */
  requestTimeoutMs?: number;
  /** Largest answer frame accepted; anything larger is treated as a broken peer. */
  maxFrameBytes?: number;
  /** How errors name this broker, e.g. "broker 2 at 127.0.0.1:9102". */
  label?: string;
}

export interface RequestOptions {
  /** The API version; defaults to the highest both sides support. */
  version?: number;
  timeoutMs?: number;
}

interface Pending {
  api: ApiDefinition;
  version: number;
  resolve(body: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

export const DEFAULT_CLIENT_ID = 'kafka-wire';
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_FRAME_BYTES = 128 * 1024 * 1024;
const UNSUPPORTED_VERSION = 35;
const UNSUPPORTED_SASL_MECHANISM = 33;

/** Reads an ApiVersions answer; an UNSUPPORTED_VERSION answer is always in v0 form (KIP-511). */
function decodeApiVersionsAnswer(frame: Buffer, version: number): { correlationId: number; body: ApiVersionsResponse } {
  const errorCode = frame.length >= 6 ? frame.readInt16BE(4) : 0;
  return decodeResponse(ApiVersions, errorCode === UNSUPPORTED_VERSION ? 0 : version, frame);
}

/**
 * One TCP or TLS connection to one broker: size-prefixed framing, correlation ids, many
 * requests in flight (answers matched by correlation id), a timeout per request, requests
 * without an answer (Produce with acks=0), and write backpressure. Opening it negotiates API
 * versions and authenticates. When it closes, for any reason, every pending request fails
 * with a ConnectionError naming the broker.
 */
export class Connection {
  readonly label: string;
  readonly clientId: string;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private readonly closeListeners = new Set<(error: ConnectionError) => void>();
  private readonly drainWaiters: (() => void)[] = [];
  private nextCorrelationId = 1;
  /** Answers received so far. */
  private answers = 0;
  private closeError: ConnectionError | undefined;
  private brokerVersions = new Map<number, VersionRange>();
  /** The cluster-wide feature levels the broker reported as finalized (ApiVersions v3+), e.g. transaction.version. */
  private features = new Map<string, number>();
  /** When the connection last sent or received anything (for idle closing). */
  lastActivity = Date.now();

  private constructor(
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
    reader: SlabReader | undefined,
  ) {
    this.label = options.label ?? `broker at ${options.host}:${options.port}`;
    this.clientId = options.clientId ?? DEFAULT_CLIENT_ID;
    this.decoder = new FrameDecoder(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    if (reader) reader.attach((chunk) => this.onData(chunk));
    else socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    });
    socket.on('error', (error) => this.close(new ConnectionError(this.label, `socket error: ${error.message}`, { cause: error })));
    socket.on('close', () => {
      // A broker that drops us right after ApiVersions is usually a SASL listener we did not authenticate to.
      const saslListener = this.answers <= 1 && this.pending.size > 0 && !this.options.sasl;
      const hint = saslListener ? ' (if this is a SASL listener, configure sasl)' : '';
      this.close(new ConnectionError(this.label, `the connection was closed by the broker${hint}`, { misconfiguration: saslListener }));
    });
  }

  /** Connects, negotiates API versions and authenticates, all within connectTimeoutMs. */
  static async connect(options: ConnectionOptions): Promise<Connection> {
    const label = options.label ?? `broker at ${options.host}:${options.port}`;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const { socket, reader } = await openSocket(options, label, timeoutMs);
    const connection = new Connection(socket, options, reader);
    const deadline = setTimeout(
      () =>
        connection.close(
          new ConnectionError(label, `connecting took longer than ${timeoutMs} ms (API version negotiation and authentication included)`),
        ),
      timeoutMs,
    );
    try {
      await connection.negotiateVersions();
      if (options.sasl) await connection.authenticate(options.sasl);
      return connection;
    } catch (error) {
      connection.close(
        error instanceof ConnectionError
          ? error
          : new ConnectionError(label, `setup failed: ${(error as Error).message}`, { cause: error }),
      );
      throw error;
    } finally {
      clearTimeout(deadline);
    }
  }

  get isOpen(): boolean {
    return this.closeError === undefined;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** True while the socket's write buffer is over its high-water mark; `drained()` waits for it to empty. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || !this.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  onClose(listener: (error: ConnectionError) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** The versions the broker advertised for an API, if any. */
  brokerRange(apiKey: number): VersionRange | undefined {
    return this.brokerVersions.get(apiKey);
  }

  /** A finalized feature's level as the broker reported it when the connection opened (0 when it reported none). */
  featureLevel(name: string): number {
    return this.features.get(name) ?? 0;
  }

  /** The highest version of `api` both the broker and kafka-wire support. */
  version(api: ApiDefinition): number {
    const broker = this.brokerVersions.get(api.apiKey);
    const ours = api.request;
    const high = Math.min(broker?.maxVersion ?? -1, ours.maxVersion);
    if (!broker || high < Math.max(broker.minVersion, ours.minVersion)) {
      throw new ConnectionError(
        this.label,
        `no version of ${api.name} both sides support: ` +
          `the broker has ${broker ? `v${broker.minVersion}-${broker.maxVersion}` : 'none'}, ` +
          `kafka-wire v${ours.minVersion}-${ours.maxVersion}`,
        { retriable: false },
      );
    }
    return high;
  }

  /** Sends a request and resolves with the decoded answer. */
  request<Request, Response>(api: ApiDefinition<Request, Response>, body: Request, options: RequestOptions = {}): Promise<Response> {
    const version = options.version ?? this.version(api);
    return this.requestEncoded(api, version, (correlationId) => [encodeRequest(api, version, correlationId, this.clientId, body)], options);
  }

  /**
   * Sends a request whose frame the caller encodes (given the correlation id) as pieces, written
   * with one vectored write — the Produce hot path hands its batches over this way uncopied.
   */
  requestEncoded<Response>(
    api: ApiDefinition<unknown, Response>,
    version: number,
    encode: (correlationId: number) => Buffer[],
    options: RequestOptions = {},
  ): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      if (this.closeError) throw this.closeError;
      const correlationId = this.takeCorrelationId();
      const pieces = encode(correlationId);
      const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      const timer = setTimeout(() => {
        this.close(
          new RequestTimeoutError(
            this.label,
            `${api.name} v${version} (correlation id ${correlationId}) got no answer within ${timeoutMs} ms; the connection is closed`,
          ),
        );
      }, timeoutMs);
      this.pending.set(correlationId, { api: api as ApiDefinition, version, resolve: resolve as (body: unknown) => void, reject, timer });
      this.write(pieces);
    });
  }

  /** Sends a request the broker does not answer (Produce with acks=0); resolves once the socket has taken it. */
  send<Request>(api: ApiDefinition<Request>, body: Request, options: RequestOptions = {}): Promise<void> {
    const version = options.version ?? this.version(api);
    return this.sendEncoded((correlationId) => [encodeRequest(api, version, correlationId, this.clientId, body)]);
  }

  /** Like send(), for a frame the caller encodes as pieces. */
  sendEncoded(encode: (correlationId: number) => Buffer[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closeError) throw this.closeError;
      this.write(encode(this.takeCorrelationId()), (error) =>
        error ? reject(this.closeError ?? new ConnectionError(this.label, error.message)) : resolve(),
      );
    });
  }

  /** Closes the connection; every pending request fails with `error` (or a plain "closed" error). Idempotent. */
  close(error?: ConnectionError): void {
    if (this.closeError) return;
    this.closeError = error ?? new ConnectionError(this.label, 'the connection was closed by the client');
    this.socket.destroy();
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(this.closeError);
    }
    this.pending.clear();
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    for (const listener of this.closeListeners) listener(this.closeError);
    this.closeListeners.clear();
  }

  private takeCorrelationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = id === 0x7fffffff ? 1 : id + 1;
    return id;
  }

  /** Writes a frame's pieces; corked, so several pieces leave in one vectored write. */
  private write(pieces: Buffer[], callback?: (error?: Error | null) => void): void {
    this.lastActivity = Date.now();
    const socket = this.socket;
    if (pieces.length === 1) {
      socket.write(pieces[0] as Buffer, callback);
      return;
    }
    socket.cork();
    const last = pieces.length - 1;
    for (let i = 0; i < last; i++) socket.write(pieces[i] as Buffer);
    socket.write(pieces[last] as Buffer, callback);
    socket.uncork();
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameSizeError)) throw error;
      // A TLS record (alert 0x15 or handshake 0x16, version 3.x) in answer to plaintext: a TLS listener.
      const tlsRecord = !this.options.tls && (chunk[0] === 0x15 || chunk[0] === 0x16) && chunk[1] === 0x03;
      const what = tlsRecord
        ? 'answered with TLS: this is a TLS listener; connect with tls'
        : `is this the right port, and does it expect TLS${this.options.tls ? ' off' : ''}?`;
      const bytes = chunk.subarray(0, 8).toString('hex');
      this.close(
        new PeerProtocolError(this.label, `sent bytes that are not a Kafka answer (${error.message}; first bytes ${bytes}); ${what}`, {
          misconfiguration: this.answers === 0,
        }),
      );
      return;
    }
    for (const frame of frames) {
      if (!this.isOpen) return;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    this.answers++;
    if (frame.length < 4) {
      this.close(new PeerProtocolError(this.label, `sent a ${frame.length}-byte answer, too short for a correlation id`));
      return;
    }
    const correlationId = frame.readInt32BE(0);
    const pending = this.pending.get(correlationId);
    if (!pending) {
      this.close(
        new PeerProtocolError(this.label, `sent an answer with correlation id ${correlationId}, which matches no request in flight`),
      );
      return;
    }
    this.pending.delete(correlationId);
    clearTimeout(pending.timer);
    try {
      const decoded =
        pending.api === (ApiVersions as ApiDefinition)
          ? decodeApiVersionsAnswer(frame, pending.version)
          : decodeResponse(pending.api, pending.version, frame);
      pending.resolve(decoded.body);
    } catch (error) {
      // A broker whose answers we cannot read is not one to keep talking to.
      const failure = new PeerProtocolError(
        this.label,
        `sent a ${pending.api.name} v${pending.version} answer that does not decode: ${(error as Error).message}`,
        { cause: error },
      );
      pending.reject(failure);
      this.close(failure);
    }
  }

  /** ApiVersions at our newest version; on UNSUPPORTED_VERSION, again at the broker's newest (KIP-511). */
  private async negotiateVersions(): Promise<void> {
    let version = ApiVersions.request.maxVersion;
    for (let attempt = 0; attempt < 3; attempt++) {
      const body = ApiVersions.request.create({ clientSoftwareName: 'kafka-wire', clientSoftwareVersion: KAFKA_WIRE_VERSION });
      let response: ApiVersionsResponse;
      try {
        response = await this.request(ApiVersions, body, { version });
      } catch (error) {
        if (error instanceof PeerProtocolError || !(error instanceof ConnectionError)) throw error;
        // A broker that closes the connection on our very first request is not the listener we think it is.
        const closed = !(error instanceof RequestTimeoutError);
        throw new ConnectionError(
          this.label,
          `${error.message.replace(`${this.label}: `, '')} during API version negotiation` +
            (this.options.tls ? '' : ' (is it a TLS listener?)'),
          { cause: error, misconfiguration: closed },
        );
      }
      if (response.errorCode === UNSUPPORTED_VERSION) {
        const theirs = response.apiKeys.find((api) => api.apiKey === ApiVersions.apiKey);
        const next = Math.min(theirs?.maxVersion ?? 0, ApiVersions.request.maxVersion);
        if (next >= version) break;
        version = next;
        continue;
      }
      if (response.errorCode !== 0) throw new ConnectionError(this.label, `ApiVersions failed with error code ${response.errorCode}`);
      this.brokerVersions = new Map(
        response.apiKeys.map((api) => [api.apiKey, { minVersion: api.minVersion, maxVersion: api.maxVersion }]),
      );
      this.features = new Map(response.finalizedFeatures.map((feature) => [feature.name, feature.maxVersionLevel]));
      return;
    }
    throw new ConnectionError(this.label, 'the broker and kafka-wire share no ApiVersions version');
  }

  private async authenticate(sasl: SaslOptions): Promise<void> {
    const fail = (message: string, cause?: unknown) =>
      new AuthenticationError(this.label, `SASL ${sasl.mechanism} authentication failed: ${message}`, { cause });
    const handshake = await this.request(SaslHandshake, { mechanism: sasl.mechanism });
    if (handshake.errorCode === UNSUPPORTED_SASL_MECHANISM) {
      throw fail(`the broker does not enable ${sasl.mechanism} on this listener; it enables ${handshake.mechanisms.join(', ') || 'none'}`);
    }
    if (handshake.errorCode !== 0) throw fail(`SaslHandshake error code ${handshake.errorCode}`);
    try {
      const exchange = createSaslExchange(sasl);
      let message: Buffer | null = await exchange.first();
      while (message !== null) {
        const answer = await this.request(SaslAuthenticate, { authBytes: message });
        if (answer.errorCode !== 0) throw fail(`${answer.errorMessage ?? `error code ${answer.errorCode}`}`);
        message = exchange.respond(answer.authBytes);
      }
    } catch (error) {
      if (error instanceof SaslError) throw fail(error.message, error);
      throw error;
    }
  }
}

/** Node's codes for a certificate the client does not accept: no retry can fix these. */
const CERTIFICATE_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Opens the TCP or TLS socket, bounded by timeoutMs, with errors that say what failed and whether
 * retrying can help. A plain TCP socket is read through a SlabReader; a TLS socket, which has no
 * `onread`, through its 'data' events.
 */
function openSocket(options: ConnectionOptions, label: string, timeoutMs: number): Promise<{ socket: Socket; reader?: SlabReader }> {
  return new Promise((resolve, reject) => {
    const useTls = options.tls !== undefined && options.tls !== false;
    const tlsOptions: TlsOptions = typeof options.tls === 'object' ? options.tls : {};
    const reader = useTls ? undefined : new SlabReader();
    const socket: Socket = reader
      ? connectTcp({ host: options.host, port: options.port, onread: reader.onread })
      : // Loaded on first use: a plaintext client does not carry node:tls (about 4 MB of RSS).
        process
          .getBuiltinModule('node:tls')
          .connect({ host: options.host, port: options.port, servername: isIp(options.host) ? undefined : options.host, ...tlsOptions });
    const ready = useTls ? 'secureConnect' : 'connect';
    let tcpConnected = false;
    socket.once('connect', () => {
      tcpConnected = true;
    });
    const timer = setTimeout(() => fail(new Error(`no ${useTls ? 'TLS handshake' : 'connection'} within ${timeoutMs} ms`)), timeoutMs);
    function fail(error: Error & { code?: string }) {
      clearTimeout(timer);
      socket.destroy();
      const what = error.code ? `${error.code} (${error.message})` : error.message;
      const verb = useTls ? 'open a TLS connection' : 'connect';
      if (error.code === 'ENOTFOUND') {
        reject(
          new ConnectionError(label, `could not ${verb}: host name ${options.host} does not resolve: ${what}`, {
            cause: error,
            misconfiguration: true,
          }),
        );
      } else if (useTls && error.code !== undefined && CERTIFICATE_ERRORS.has(error.code)) {
        const fix = 'trust its CA with the tls.ca option (--tls-ca), or fix the broker certificate';
        reject(
          new TlsError(label, `could not open a TLS connection: the broker's certificate is not accepted: ${what}; ${fix}`, {
            cause: error,
            retriable: false,
          }),
        );
      } else if (useTls && tcpConnected && /ECONNRESET|disconnected|wrong version|EPROTO|socket hang up/i.test(what)) {
        // The TCP connection opened and the peer dropped our ClientHello: a plaintext listener, as a rule.
        const message = `could not open a TLS connection: ${what}; is it a plaintext listener rather than TLS?`;
        reject(new TlsError(label, message, { cause: error, misconfiguration: true }));
      } else {
        reject(new ConnectionError(label, `could not ${verb}: ${what}`, { cause: error }));
      }
    }
    socket.once('error', fail);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.setNoDelay(true);
      resolve({ socket, reader });
    });
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
