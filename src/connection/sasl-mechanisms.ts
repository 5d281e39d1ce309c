/**
 * Client side of the SASL mechanisms Kafka supports, as message-level state machines.
 *
 * Nothing here touches a socket: the connection layer sends each message produced by
 * first()/respond() in a SaslAuthenticate request and feeds each server reply back in.
 *
 * - PLAIN (RFC 4616)
 * - SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka's ScramSaslClient does it
 * - OAUTHBEARER (RFC 7628 client initial response), as Kafka's OAuthBearerSaslClient builds it
 */

import { KafkaWireError } from '../errors.js';
import { nodeCrypto } from '../node-crypto.js';

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

export interface OAuthBearerToken {
  token: string;
  extensions?: Record<string, string>;
}

export type SaslOptions =
  | { mechanism: 'PLAIN'; username: string; password: string }
  | { mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  | { mechanism: 'OAUTHBEARER'; token: () => Promise<string | OAuthBearerToken> | string | OAuthBearerToken };

/**
 * One authentication exchange. first() gives the first client message; respond() takes each
 * server message and gives the next client message, or null when the client has nothing more
 * to send (exchange complete from the client's side).
 */
export interface SaslExchange {
  readonly mechanism: SaslMechanismName;
  first(): Promise<Buffer>;
  respond(serverMessage: Buffer): Buffer | null;
  /** True once the server's final message has been verified (SCRAM) or the mechanism needs no verification. */
  readonly complete: boolean;
}

export class SaslError extends KafkaWireError {
  override name = 'SaslError';
}

const SUPPORTED_MECHANISMS: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];

/** Kafka's ScramMechanism minimum (also RFC 7677's recommended floor). */
const SCRAM_MIN_ITERATIONS = 4096;
/**
 * Kafka's ScramMechanism maximum: a Kafka broker never stores credentials with more iterations.
 * PBKDF2 runs synchronously here, so an absurd count from a hostile server would block the event loop.
 */
const SCRAM_MAX_ITERATIONS = 16384;

const SCRAM_HASH = {
  'SCRAM-SHA-256': { digest: 'sha256', length: 32 },
  'SCRAM-SHA-512': { digest: 'sha512', length: 64 },
} as const;

/** RFC 5802 printable: %x21-2B / %x2D-7E (printable ASCII except ","). */
const SCRAM_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** Strict base64, as Kafka's ScramMessages BASE64 pattern. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** RFC 7628 / Kafka OAuthBearerClientInitialResponse extension key and value. */
const OAUTH_EXTENSION_KEY = /^[A-Za-z]+$/;
const OAUTH_EXTENSION_VALUE = /^[\x21-\x7e \t\r\n]+$/;
/** A bearer token must not break the "auth=Bearer <token>" framing: printable ASCII, no spaces. */
const OAUTH_TOKEN = /^[\x21-\x7e]+$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeServerMessage(mechanism: SaslMechanismName, message: Buffer): string {
  try {
    return utf8.decode(message);
  } catch {
    throw new SaslError(`${mechanism}: server message is not valid UTF-8`);
  }
}

/** Server-supplied text, made safe to put in an error message. */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this removes
  return text.replace(/[\x00-\x1f\x7f]/g, '?');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function requireNonEmptyString(mechanism: string, field: string, value: unknown): string {
  if (value === undefined) throw new SaslError(`SASL ${mechanism} needs a ${field}, but none was given`);
  if (typeof value !== 'string') throw new SaslError(`SASL ${mechanism} ${field} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new SaslError(`SASL ${mechanism} ${field} is empty`);
  return value;
}

/** Checks options from untyped configuration; throws SaslError naming what is wrong. */
export function validateSaslOptions(options: unknown): SaslOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SaslError(`SASL options must be an object with a mechanism, got ${describe(options)}`);
  }
  const record = options as Record<string, unknown>;
  const mechanism = record.mechanism;
  const supported = SUPPORTED_MECHANISMS.join(', ');
  if (mechanism === undefined) throw new SaslError(`SASL options name no mechanism; supported: ${supported}`);
  if (typeof mechanism !== 'string' || !(SUPPORTED_MECHANISMS as readonly string[]).includes(mechanism)) {
    const shown = typeof mechanism === 'string' ? `"${printable(mechanism)}"` : describe(mechanism);
    const hint =
      typeof mechanism === 'string' && (SUPPORTED_MECHANISMS as readonly string[]).includes(mechanism.toUpperCase())
        ? ' (mechanism names are upper case)'
        : '';
    throw new SaslError(`unknown SASL mechanism ${shown}${hint}; supported: ${supported}`);
  }
  switch (mechanism as SaslMechanismName) {
    case 'PLAIN': {
      const username = requireNonEmptyString(mechanism, 'username', record.username);
      const password = requireNonEmptyString(mechanism, 'password', record.password);
      // RFC 4616: NUL separates the fields, so neither may contain one.
      if (username.includes('\0')) throw new SaslError('SASL PLAIN username must not contain a NUL character');
      if (password.includes('\0')) throw new SaslError('SASL PLAIN password must not contain a NUL character');
      return { mechanism: 'PLAIN', username, password };
    }
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-512': {
      const username = requireNonEmptyString(mechanism, 'username', record.username);
      const password = requireNonEmptyString(mechanism, 'password', record.password);
      // RFC 5802 saslname: value-safe-char excludes NUL ("," and "=" are escaped).
      if (username.includes('\0')) throw new SaslError(`SASL ${mechanism} username must not contain a NUL character`);
      return { mechanism: mechanism as 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username, password };
    }
    case 'OAUTHBEARER': {
      const token = record.token;
      if (typeof token !== 'function') {
        throw new SaslError(
          `SASL OAUTHBEARER needs a token provider function (token: () => string | { token, extensions }), got ${describe(token)}`,
        );
      }
      return { mechanism: 'OAUTHBEARER', token: token as () => Promise<string | OAuthBearerToken> | string | OAuthBearerToken };
    }
  }
}

export function createSaslExchange(options: SaslOptions, nonce?: () => string): SaslExchange {
  const valid = validateSaslOptions(options);
  switch (valid.mechanism) {
    case 'PLAIN':
      return new PlainExchange(valid.username, valid.password);
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-512':
      return new ScramExchange(valid.mechanism, valid.username, valid.password, nonce ?? defaultNonce);
    case 'OAUTHBEARER':
      return new OAuthBearerExchange(valid.token);
  }
}

/** 32 random bytes as base64: printable ASCII, never a comma. */
function defaultNonce(): string {
  return nodeCrypto().randomBytes(32).toString('base64');
}

type Step = 'initial' | 'building-first' | 'sent-first' | 'sent-final' | 'complete' | 'failed';

/** Shared ordering checks: first() once, respond() only after first() and before completion. */
abstract class BaseExchange implements SaslExchange {
  abstract readonly mechanism: SaslMechanismName;
  protected step: Step = 'initial';

  get complete(): boolean {
    return this.step === 'complete';
  }

  async first(): Promise<Buffer> {
    if (this.step !== 'initial') throw new SaslError(`${this.mechanism}: first() was already called for this exchange`);
    this.step = 'building-first';
    try {
      const message = await this.firstMessage();
      this.step = 'sent-first';
      return message;
    } catch (error) {
      this.step = 'failed';
      throw error;
    }
  }

  respond(serverMessage: Buffer): Buffer | null {
    switch (this.step) {
      case 'initial':
        throw new SaslError(`${this.mechanism}: respond() called before first()`);
      case 'building-first':
        throw new SaslError(`${this.mechanism}: respond() called before first() resolved`);
      case 'complete':
        throw new SaslError(`${this.mechanism}: respond() called after the exchange completed`);
      case 'failed':
        throw new SaslError(`${this.mechanism}: respond() called after the exchange failed`);
    }
    try {
      return this.next(serverMessage);
    } catch (error) {
      this.step = 'failed';
      throw error;
    }
  }

  protected abstract firstMessage(): Promise<Buffer> | Buffer;
  /** Called only in 'sent-first' or 'sent-final'; must set the next step. */
  protected abstract next(serverMessage: Buffer): Buffer | null;
}

class PlainExchange extends BaseExchange {
  readonly mechanism = 'PLAIN';

  constructor(
    private readonly username: string,
    private readonly password: string,
  ) {
    super();
  }

  protected firstMessage(): Buffer {
    // authzid (empty) NUL authcid NUL passwd
    return Buffer.from(`\0${this.username}\0${this.password}`, 'utf8');
  }

  protected next(): null {
    this.step = 'complete';
    return null;
  }
}

/** RFC 5802 saslname: "=" becomes "=3D" and "," becomes "=2C". */
function scramSaslName(username: string): string {
  return username.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

interface ScramAttribute {
  key: string;
  value: string;
}

function scramAttributes(mechanism: string, message: string, what: string): ScramAttribute[] {
  return message.split(',').map((part) => {
    const match = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!match) throw new SaslError(`${mechanism}: malformed ${what} "${printable(message)}"`);
    return { key: match[1] as string, value: match[2] as string };
  });
}

class ScramExchange extends BaseExchange {
  private clientNonce = '';
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | undefined;

  constructor(
    readonly mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512',
    private readonly username: string,
    private readonly password: string,
    private readonly nonce: () => string,
  ) {
    super();
  }

  protected firstMessage(): Buffer {
    const clientNonce = this.nonce();
    if (typeof clientNonce !== 'string' || !SCRAM_NONCE.test(clientNonce)) {
      throw new SaslError(`${this.mechanism}: client nonce must be non-empty printable ASCII without ","`);
    }
    this.clientNonce = clientNonce;
    this.clientFirstBare = `n=${scramSaslName(this.username)},r=${clientNonce}`;
    // GS2 header "n,," : no channel binding, no authzid.
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  protected next(serverMessage: Buffer): Buffer | null {
    if (this.step === 'sent-first') return this.clientFinal(serverMessage);
    this.verifyServerFinal(serverMessage);
    return null;
  }

  private clientFinal(serverMessage: Buffer): Buffer {
    const m = this.mechanism;
    const serverFirst = decodeServerMessage(m, serverMessage);
    const attributes = scramAttributes(m, serverFirst, 'server-first message');
    const [nonceAttr, saltAttr, iterationsAttr] = attributes;
    if (nonceAttr?.key === 'e') throw new SaslError(`server rejected the SCRAM exchange: ${printable(nonceAttr.value)}`);
    if (nonceAttr?.key === 'm') throw new SaslError(`${m}: server requires an unsupported mandatory extension`);

    if (nonceAttr?.key !== 'r') throw new SaslError(`${m}: server-first message has no nonce (r=): "${printable(serverFirst)}"`);
    const serverNonce = nonceAttr.value;
    if (!serverNonce.startsWith(this.clientNonce) || serverNonce.length <= this.clientNonce.length) {
      throw new SaslError(`${m}: server nonce does not extend the client nonce; refusing to continue`);
    }
    if (!SCRAM_NONCE.test(serverNonce)) throw new SaslError(`${m}: server nonce contains characters outside printable ASCII`);

    if (saltAttr?.key !== 's' || saltAttr.value.length === 0) {
      throw new SaslError(`${m}: server-first message has no salt (s=): "${printable(serverFirst)}"`);
    }
    if (!BASE64.test(saltAttr.value)) throw new SaslError(`${m}: server salt is not valid base64`);
    const salt = Buffer.from(saltAttr.value, 'base64');

    if (iterationsAttr?.key !== 'i') {
      throw new SaslError(`${m}: server-first message has no iteration count (i=): "${printable(serverFirst)}"`);
    }
    if (!/^[0-9]{1,10}$/.test(iterationsAttr.value)) {
      throw new SaslError(`${m}: server iteration count "${printable(iterationsAttr.value)}" is not a number`);
    }
    const iterations = Number(iterationsAttr.value);
    if (iterations < SCRAM_MIN_ITERATIONS) {
      throw new SaslError(`${m}: server asked for ${iterations} iterations, below Kafka's minimum of ${SCRAM_MIN_ITERATIONS}`);
    }
    if (iterations > SCRAM_MAX_ITERATIONS) {
      throw new SaslError(`${m}: server asked for ${iterations} iterations, above Kafka's maximum of ${SCRAM_MAX_ITERATIONS}`);
    }
    // Any further attributes are extensions; none is mandatory (that would be "m=" above), so ignore them.

    const { digest, length } = SCRAM_HASH[m];
    const { createHash, createHmac, pbkdf2Sync } = nodeCrypto();
    const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac(digest, key).update(data).digest();

    const saltedPassword = pbkdf2Sync(Buffer.from(this.password, 'utf8'), salt, iterations, length, digest);
    const clientKey = hmac(saltedPassword, 'Client Key');
    const storedKey = createHash(digest).update(clientKey).digest();
    const serverKey = hmac(saltedPassword, 'Server Key');

    // "biws" is base64("n,,"), the GS2 header sent in client-first.
    const clientFinalWithoutProof = `c=biws,r=${serverNonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const clientProof = Buffer.alloc(length);
    for (let index = 0; index < length; index++) {
      clientProof[index] = (clientKey[index] as number) ^ (clientSignature[index] as number);
    }
    this.expectedServerSignature = hmac(serverKey, authMessage);

    saltedPassword.fill(0);
    clientKey.fill(0);
    storedKey.fill(0);
    serverKey.fill(0);

    this.step = 'sent-final';
    return Buffer.from(`${clientFinalWithoutProof},p=${clientProof.toString('base64')}`, 'utf8');
  }

  private verifyServerFinal(serverMessage: Buffer): void {
    const m = this.mechanism;
    const serverFinal = decodeServerMessage(m, serverMessage);
    const [first] = scramAttributes(m, serverFinal, 'server-final message');
    if (first?.key === 'e') throw new SaslError(`server rejected the SCRAM exchange: ${printable(first.value)}`);
    if (first?.key !== 'v' || !BASE64.test(first.value) || first.value.length === 0) {
      throw new SaslError(`${m}: malformed server-final message "${printable(serverFinal)}"`);
    }
    const signature = Buffer.from(first.value, 'base64');
    const expected = this.expectedServerSignature as Buffer;
    if (signature.length !== expected.length || !nodeCrypto().timingSafeEqual(signature, expected)) {
      throw new SaslError(
        `${m}: the server's signature is wrong; it does not know the credentials (possible impostor), refusing to trust it`,
      );
    }
    this.step = 'complete';
  }
}

type TokenProvider = () => Promise<string | OAuthBearerToken> | string | OAuthBearerToken;

class OAuthBearerExchange extends BaseExchange {
  readonly mechanism = 'OAUTHBEARER';

  constructor(private readonly provider: TokenProvider) {
    super();
  }

  protected async firstMessage(): Promise<Buffer> {
    let result: unknown;
    try {
      result = await this.provider();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SaslError(`OAUTHBEARER token provider failed: ${reason}`, { cause: error });
    }
    const { token, extensions } = oauthToken(result);
    let message = `n,,\x01auth=Bearer ${token}\x01`;
    for (const key of Object.keys(extensions).sort()) message += `${key}=${extensions[key] as string}\x01`;
    message += '\x01';
    return Buffer.from(message, 'utf8');
  }

  protected next(serverMessage: Buffer): null {
    if (serverMessage.length === 0) {
      this.step = 'complete';
      return null;
    }
    // RFC 7628 section 3.2.2: a non-empty server message is an error JSON document.
    const text = printable(serverMessage.toString('utf8'));
    throw new SaslError(`OAUTHBEARER: server rejected the token: ${text}`);
  }
}

function oauthToken(result: unknown): { token: string; extensions: Record<string, string> } {
  let token: unknown;
  let extensions: unknown;
  if (typeof result === 'string') {
    token = result;
  } else if (typeof result === 'object' && result !== null && !Array.isArray(result)) {
    token = (result as Record<string, unknown>).token;
    extensions = (result as Record<string, unknown>).extensions;
  } else {
    throw new SaslError(`OAUTHBEARER token provider returned ${describe(result)}; expected a string or { token, extensions }`);
  }
  if (typeof token !== 'string')
    throw new SaslError(`OAUTHBEARER token provider returned a token that is ${describe(token)}, not a string`);
  if (token.length === 0) throw new SaslError('OAUTHBEARER token provider returned an empty token');
  if (!OAUTH_TOKEN.test(token)) {
    throw new SaslError('OAUTHBEARER token provider returned a token with spaces or non-printable characters');
  }

  const checked: Record<string, string> = {};
  if (extensions === undefined || extensions === null) return { token, extensions: checked };
  if (typeof extensions !== 'object' || Array.isArray(extensions)) {
    throw new SaslError(`OAUTHBEARER token provider returned extensions that are ${describe(extensions)}, not an object`);
  }
  for (const [key, value] of Object.entries(extensions)) {
    if (!OAUTH_EXTENSION_KEY.test(key)) {
      throw new SaslError(`OAUTHBEARER extension key "${printable(key)}" must be letters only (A-Z, a-z)`);
    }
    if (key === 'auth') throw new SaslError('OAUTHBEARER extension key "auth" is reserved');
    if (typeof value !== 'string') throw new SaslError(`OAUTHBEARER extension "${key}" must be a string, got ${describe(value)}`);
    if (!OAUTH_EXTENSION_VALUE.test(value)) {
      throw new SaslError(`OAUTHBEARER extension "${key}" must be a non-empty value of printable ASCII, space, tab, CR or LF (no \\x01)`);
    }
    checked[key] = value;
  }
  return { token, extensions: checked };
}
