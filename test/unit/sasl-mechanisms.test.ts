import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createSaslExchange, SaslError, type SaslExchange, validateSaslOptions } from '../../src/connection/sasl-mechanisms.js';

const text = (buffer: Buffer | null): string => {
  if (buffer === null) throw new Error('expected a client message, got null');
  return buffer.toString('utf8');
};

function rejectsWith(run: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SaslError);
  expect((caught as SaslError).name).toBe('SaslError');
  expect((caught as SaslError).message).toMatch(pattern);
}

describe('PLAIN', () => {
  test('first message is NUL authzid(empty) NUL user NUL password, in UTF-8', async () => {
    const exchange = createSaslExchange({ mechanism: 'PLAIN', username: 'alice', password: 'pässword' });
    expect(exchange.mechanism).toBe('PLAIN');
    const first = await exchange.first();
    expect(first).toEqual(
      Buffer.concat([Buffer.from([0]), Buffer.from('alice'), Buffer.from([0]), Buffer.from('70c3a47373776f7264', 'hex')]),
    );
    expect(exchange.complete).toBe(false);
    expect(exchange.respond(Buffer.alloc(0))).toBeNull();
    expect(exchange.complete).toBe(true);
    rejectsWith(() => exchange.respond(Buffer.alloc(0)), /after the exchange completed/);
  });

  test('respond before first, and first twice, are out of order', async () => {
    const exchange = createSaslExchange({ mechanism: 'PLAIN', username: 'u', password: 'p' });
    rejectsWith(() => exchange.respond(Buffer.alloc(0)), /before first\(\)/);
    await exchange.first();
    await expect(exchange.first()).rejects.toThrow(/already called/);
  });
});

// RFC 7677 section 3.
const RFC7677 = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

function rfcExchange(): SaslExchange {
  return createSaslExchange({ mechanism: 'SCRAM-SHA-256', username: 'user', password: 'pencil' }, () => RFC7677.clientNonce);
}

/** Gets an RFC 7677 exchange to the point where it waits for server-final. */
async function rfcAwaitingServerFinal(): Promise<SaslExchange> {
  const exchange = rfcExchange();
  await exchange.first();
  exchange.respond(Buffer.from(RFC7677.serverFirst));
  return exchange;
}

describe('SCRAM-SHA-256', () => {
  test('RFC 7677 section 3 test vector', async () => {
    const exchange = rfcExchange();
    expect(exchange.mechanism).toBe('SCRAM-SHA-256');
    expect(text(await exchange.first())).toBe(RFC7677.clientFirst);
    expect(text(exchange.respond(Buffer.from(RFC7677.serverFirst)))).toBe(RFC7677.clientFinal);
    expect(exchange.complete).toBe(false);
    expect(exchange.respond(Buffer.from(RFC7677.serverFinal))).toBeNull();
    expect(exchange.complete).toBe(true);
  });

  test('respond after completion is rejected', async () => {
    const exchange = await rfcAwaitingServerFinal();
    exchange.respond(Buffer.from(RFC7677.serverFinal));
    rejectsWith(() => exchange.respond(Buffer.from(RFC7677.serverFinal)), /after the exchange completed/);
  });

  test('respond before first is rejected', () => {
    rejectsWith(() => rfcExchange().respond(Buffer.from(RFC7677.serverFirst)), /before first\(\)/);
  });

  test('server nonce that does not start with the client nonce', async () => {
    const exchange = rfcExchange();
    await exchange.first();
    const forged = RFC7677.serverFirst.replace('r=rOprNGfw', 'r=XOprNGfw');
    rejectsWith(() => exchange.respond(Buffer.from(forged)), /server nonce does not extend the client nonce/);
    // A failed exchange stays failed.
    rejectsWith(() => exchange.respond(Buffer.from(RFC7677.serverFirst)), /after the exchange failed/);
  });

  test('server nonce equal to the client nonce (server added nothing)', async () => {
    const exchange = rfcExchange();
    await exchange.first();
    rejectsWith(
      () => exchange.respond(Buffer.from(`r=${RFC7677.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`)),
      /server nonce does not extend/,
    );
  });

  test('iterations below 4096', async () => {
    const exchange = rfcExchange();
    await exchange.first();
    rejectsWith(
      () => exchange.respond(Buffer.from(RFC7677.serverFirst.replace('i=4096', 'i=1000'))),
      /1000 iterations, below Kafka's minimum of 4096/,
    );
  });

  test('iterations absurdly high (above Kafka maximum)', async () => {
    const exchange = rfcExchange();
    await exchange.first();
    rejectsWith(() => exchange.respond(Buffer.from(RFC7677.serverFirst.replace('i=4096', 'i=2000000000'))), /above Kafka's maximum/);
  });

  test.each([
    ['missing iterations', RFC7677.serverFirst.replace(',i=4096', ''), /no iteration count/],
    ['non-numeric iterations', RFC7677.serverFirst.replace('i=4096', 'i=lots'), /is not a number/],
    ['missing salt', RFC7677.serverFirst.replace(',s=W22ZaJ0SNY7soEsUEjb6gQ==', ''), /no salt/],
    ['empty salt', RFC7677.serverFirst.replace('s=W22ZaJ0SNY7soEsUEjb6gQ==', 's='), /no salt/],
    ['salt not base64', RFC7677.serverFirst.replace('s=W22ZaJ0SNY7soEsUEjb6gQ==', 's=@@@'), /salt is not valid base64/],
    ['missing nonce', 's=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', /no nonce/],
    ['garbage', 'hello', /malformed server-first/],
    ['mandatory extension', `m=ext,${RFC7677.serverFirst}`, /mandatory extension/],
    ['error attribute', 'e=unknown-user', /server rejected the SCRAM exchange: unknown-user/],
  ])('server-first rejected: %s', async (_name, serverFirst, pattern) => {
    const exchange = rfcExchange();
    await exchange.first();
    rejectsWith(() => exchange.respond(Buffer.from(serverFirst)), pattern);
  });

  test('server-first with a trailing optional extension is accepted', async () => {
    const exchange = rfcExchange();
    await exchange.first();
    const withExtension = `${RFC7677.serverFirst},x=whatever`;
    const clientFinal = text(exchange.respond(Buffer.from(withExtension)));
    // The extension is part of AuthMessage, so the proof differs from the RFC's.
    expect(clientFinal.startsWith('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=')).toBe(true);
    expect(clientFinal).not.toBe(RFC7677.clientFinal);
  });

  test('server-final "e=invalid-proof"', async () => {
    const exchange = await rfcAwaitingServerFinal();
    rejectsWith(() => exchange.respond(Buffer.from('e=invalid-proof')), /^server rejected the SCRAM exchange: invalid-proof$/);
    expect(exchange.complete).toBe(false);
  });

  test('tampered server signature', async () => {
    const exchange = await rfcAwaitingServerFinal();
    const tampered = Buffer.from('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=', 'base64');
    tampered[0] = (tampered[0] as number) ^ 1;
    rejectsWith(() => exchange.respond(Buffer.from(`v=${tampered.toString('base64')}`)), /signature is wrong.*impostor/);
    expect(exchange.complete).toBe(false);
  });

  test.each([
    ['short signature', 'v=AAAA'],
    ['no verifier', 'x=abc'],
    ['empty', ''],
  ])('malformed or wrong server-final: %s', async (_name, serverFinal) => {
    const exchange = await rfcAwaitingServerFinal();
    rejectsWith(() => exchange.respond(Buffer.from(serverFinal)), /signature is wrong|malformed server-final/);
    expect(exchange.complete).toBe(false);
  });

  test('default client nonce: 32 random bytes base64, printable, no comma, fresh each time', async () => {
    const nonces = await Promise.all(
      [1, 2].map(async () => {
        const first = text(await createSaslExchange({ mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' }).first());
        const match = /^n,,n=u,r=([^,]+)$/.exec(first);
        expect(match).not.toBeNull();
        return match?.[1] as string;
      }),
    );
    for (const nonce of nonces) {
      expect(nonce).toMatch(/^[\x21-\x2b\x2d-\x7e]+$/);
      expect(Buffer.from(nonce, 'base64')).toHaveLength(32);
    }
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  test('an injected nonce with a comma is refused', async () => {
    const exchange = createSaslExchange({ mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' }, () => 'a,b');
    await expect(exchange.first()).rejects.toThrow(SaslError);
  });

  test('username escaping: "=" as =3D and "," as =2C', async () => {
    const exchange = createSaslExchange({ mechanism: 'SCRAM-SHA-256', username: 'a=b,c', password: 'p' }, () => 'abc');
    expect(text(await exchange.first())).toBe('n,,n=a=3Db=2Cc,r=abc');
  });
});

describe('SCRAM-SHA-512 against a server computed here', () => {
  test('round trip: the server accepts the proof and the client accepts the server signature', async () => {
    const username = 'kafka-user,with=odd chars ✓';
    const password = 'correct horse battery staple ☃';
    const exchange = createSaslExchange({ mechanism: 'SCRAM-SHA-512', username, password });
    expect(exchange.mechanism).toBe('SCRAM-SHA-512');

    // What the broker stores (kafka-configs --add-config 'SCRAM-SHA-512=[iterations=8192,password=...]').
    const salt = randomBytes(24);
    const iterations = 8192;
    const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha512', key).update(data).digest();
    const saltedPassword = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 64, 'sha512');
    const storedKey = createHash('sha512').update(hmac(saltedPassword, 'Client Key')).digest();
    const serverKey = hmac(saltedPassword, 'Server Key');

    // client-first
    const clientFirst = text(await exchange.first());
    const firstMatch = /^n,,n=([^,]+),r=([^,]+)$/.exec(clientFirst);
    expect(firstMatch).not.toBeNull();
    const [, saslName, clientNonce] = firstMatch as RegExpExecArray;
    expect(saslName).toBe('kafka-user=2Cwith=3Dodd chars ✓');
    const clientFirstBare = clientFirst.slice('n,,'.length);

    // server-first
    const serverNonce = `${clientNonce as string}${randomBytes(18).toString('base64')}`;
    const serverFirst = `r=${serverNonce},s=${salt.toString('base64')},i=${iterations}`;

    // client-final
    const clientFinal = text(exchange.respond(Buffer.from(serverFirst)));
    const finalMatch = /^(c=biws,r=([^,]+)),p=([A-Za-z0-9+/=]+)$/.exec(clientFinal);
    expect(finalMatch).not.toBeNull();
    const [, withoutProof, echoedNonce, proofBase64] = finalMatch as RegExpExecArray;
    expect(echoedNonce).toBe(serverNonce);

    // Verify the proof the way a server does: H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey.
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof as string}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.from(proofBase64 as string, 'base64');
    expect(proof).toHaveLength(64);
    const recoveredClientKey = Buffer.from(proof.map((byte, index) => byte ^ (clientSignature[index] as number)));
    expect(createHash('sha512').update(recoveredClientKey).digest()).toEqual(storedKey);

    // server-final
    expect(exchange.complete).toBe(false);
    expect(exchange.respond(Buffer.from(`v=${hmac(serverKey, authMessage).toString('base64')}`))).toBeNull();
    expect(exchange.complete).toBe(true);
  });

  test('a wrong password fails the server-side proof check', async () => {
    const exchange = createSaslExchange({ mechanism: 'SCRAM-SHA-512', username: 'u', password: 'wrong' }, () => 'clientnonce');
    const salt = randomBytes(16);
    const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha512', key).update(data).digest();
    const storedKey = createHash('sha512')
      .update(hmac(pbkdf2Sync('right', salt, 4096, 64, 'sha512'), 'Client Key'))
      .digest();
    await exchange.first();
    const serverFirst = `r=clientnonceSERVER,s=${salt.toString('base64')},i=4096`;
    const clientFinal = text(exchange.respond(Buffer.from(serverFirst)));
    const authMessage = `n=u,r=clientnonce,${serverFirst},c=biws,r=clientnonceSERVER`;
    const proof = Buffer.from(clientFinal.split(',p=')[1] as string, 'base64');
    const signature = hmac(storedKey, authMessage);
    const clientKey = Buffer.from(proof.map((byte, index) => byte ^ (signature[index] as number)));
    expect(createHash('sha512').update(clientKey).digest()).not.toEqual(storedKey);
  });
});

describe('OAUTHBEARER', () => {
  test('first message without extensions', async () => {
    const exchange = createSaslExchange({ mechanism: 'OAUTHBEARER', token: () => 'eyJhbGciOi.payload.sig' });
    expect(exchange.mechanism).toBe('OAUTHBEARER');
    expect(text(await exchange.first())).toBe('n,,\x01auth=Bearer eyJhbGciOi.payload.sig\x01\x01');
    expect(exchange.complete).toBe(false);
    expect(exchange.respond(Buffer.alloc(0))).toBeNull();
    expect(exchange.complete).toBe(true);
    rejectsWith(() => exchange.respond(Buffer.alloc(0)), /after the exchange completed/);
  });

  test('first message with extensions, sorted by key', async () => {
    const exchange = createSaslExchange({
      mechanism: 'OAUTHBEARER',
      token: () => ({ token: 'tok', extensions: { traceId: 'abc 123', logicalCluster: 'lkc-1', identityPoolId: 'pool-x' } }),
    });
    const first = await exchange.first();
    expect(first.toString('utf8')).toBe(
      'n,,\x01auth=Bearer tok\x01identityPoolId=pool-x\x01logicalCluster=lkc-1\x01traceId=abc 123\x01\x01',
    );
    expect(first.subarray(0, 4)).toEqual(Buffer.from('6e2c2c01', 'hex'));
  });

  test('async provider', async () => {
    const exchange = createSaslExchange({
      mechanism: 'OAUTHBEARER',
      token: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { token: 'async-token', extensions: { a: 'b' } };
      },
    });
    expect(text(await exchange.first())).toBe('n,,\x01auth=Bearer async-token\x01a=b\x01\x01');
  });

  test('provider throwing (sync and async) becomes a SaslError naming the token provider', async () => {
    const cause = new Error('identity provider unreachable');
    const sync = createSaslExchange({
      mechanism: 'OAUTHBEARER',
      token: () => {
        throw cause;
      },
    });
    const error = await sync.first().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SaslError);
    expect((error as SaslError).message).toMatch(/token provider failed: identity provider unreachable/);
    expect((error as SaslError).cause).toBe(cause);

    const asyncThrow = createSaslExchange({ mechanism: 'OAUTHBEARER', token: () => Promise.reject(new Error('nope')) });
    await expect(asyncThrow.first()).rejects.toThrow(/token provider failed: nope/);
  });

  test.each([
    ['empty string token', () => '', /token provider returned an empty token/],
    ['empty object token', () => ({ token: '' }), /token provider returned an empty token/],
    ['token with a space', () => 'two words', /token provider returned a token with spaces/],
    ['reserved key auth', () => ({ token: 't', extensions: { auth: 'x' } }), /"auth" is reserved/],
    ['key with a digit', () => ({ token: 't', extensions: { key1: 'x' } }), /letters only/],
    ['key with an underscore', () => ({ token: 't', extensions: { a_b: 'x' } }), /letters only/],
    ['value with \\x01', () => ({ token: 't', extensions: { key: 'a\x01b' } }), /no \\x01/],
    ['empty value', () => ({ token: 't', extensions: { key: '' } }), /non-empty/],
    ['not a string or object', () => 42 as unknown as string, /expected a string or \{ token, extensions \}/],
  ])('provider result rejected: %s', async (_name, token, pattern) => {
    const exchange = createSaslExchange({ mechanism: 'OAUTHBEARER', token });
    const error = await exchange.first().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SaslError);
    expect((error as SaslError).message).toMatch(pattern);
  });

  test('respond while the provider is still pending is out of order', async () => {
    let release: (token: string) => void = () => undefined;
    const exchange = createSaslExchange({ mechanism: 'OAUTHBEARER', token: () => new Promise<string>((resolve) => (release = resolve)) });
    const pending = exchange.first();
    rejectsWith(() => exchange.respond(Buffer.alloc(0)), /before first\(\) resolved/);
    release('tok');
    expect(text(await pending)).toBe('n,,\x01auth=Bearer tok\x01\x01');
    expect(exchange.respond(Buffer.alloc(0))).toBeNull();
    expect(exchange.complete).toBe(true);
  });

  test('server error JSON becomes a SaslError including its text', async () => {
    const exchange = createSaslExchange({ mechanism: 'OAUTHBEARER', token: () => 'tok' });
    await exchange.first();
    const json = '{"status":"invalid_token","scope":"kafka"}';
    rejectsWith(() => exchange.respond(Buffer.from(json)), /server rejected the token: \{"status":"invalid_token","scope":"kafka"\}/);
    expect(exchange.complete).toBe(false);
  });
});

describe('validateSaslOptions', () => {
  test('accepts each mechanism and returns only the relevant fields', () => {
    const token = (): string => 't';
    expect(validateSaslOptions({ mechanism: 'PLAIN', username: 'u', password: 'p', extra: 1 })).toEqual({
      mechanism: 'PLAIN',
      username: 'u',
      password: 'p',
    });
    expect(validateSaslOptions({ mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' })).toEqual({
      mechanism: 'SCRAM-SHA-256',
      username: 'u',
      password: 'p',
    });
    expect(validateSaslOptions({ mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' }).mechanism).toBe('SCRAM-SHA-512');
    expect(validateSaslOptions({ mechanism: 'OAUTHBEARER', token })).toEqual({ mechanism: 'OAUTHBEARER', token });
  });

  test.each([
    ['not an object', 'PLAIN', /must be an object/],
    ['null', null, /must be an object/],
    ['no mechanism', { username: 'u', password: 'p' }, /no mechanism; supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER/],
    [
      'unknown mechanism',
      { mechanism: 'GSSAPI' },
      /unknown SASL mechanism "GSSAPI"; supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER/,
    ],
    [
      'lower-case mechanism',
      { mechanism: 'plain', username: 'u', password: 'p' },
      /unknown SASL mechanism "plain" \(mechanism names are upper case\)/,
    ],
    ['mechanism not a string', { mechanism: 7 }, /unknown SASL mechanism number/],
    ['PLAIN missing username', { mechanism: 'PLAIN', password: 'p' }, /PLAIN needs a username/],
    ['PLAIN empty password', { mechanism: 'PLAIN', username: 'u', password: '' }, /PLAIN password is empty/],
    ['PLAIN username with NUL', { mechanism: 'PLAIN', username: 'u\0x', password: 'p' }, /must not contain a NUL/],
    ['SCRAM empty username', { mechanism: 'SCRAM-SHA-256', username: '', password: 'p' }, /SCRAM-SHA-256 username is empty/],
    ['SCRAM missing password', { mechanism: 'SCRAM-SHA-512', username: 'u' }, /SCRAM-SHA-512 needs a password/],
    ['SCRAM password not a string', { mechanism: 'SCRAM-SHA-512', username: 'u', password: 42 }, /password must be a string, got number/],
    ['OAUTHBEARER token missing', { mechanism: 'OAUTHBEARER' }, /token provider function/],
    ['OAUTHBEARER token a string', { mechanism: 'OAUTHBEARER', token: 'abc' }, /token provider function.*got string/],
  ])('%s', (_name, options, pattern) => {
    rejectsWith(() => validateSaslOptions(options), pattern);
  });

  test('error messages never include the password', () => {
    let message = '';
    try {
      validateSaslOptions({ mechanism: 'SCRAM-SHA-1', username: 'u', password: 'hunter2' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/unknown SASL mechanism/);
    expect(message).not.toContain('hunter2');
  });

  test('createSaslExchange validates too', () => {
    rejectsWith(() => createSaslExchange({ mechanism: 'PLAIN', username: '', password: 'p' }), /PLAIN username is empty/);
  });
});
