import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import {
  ApiVersionsProbeError,
  decodeApiVersionsV0Response,
  encodeApiVersionsV0Request,
  probeApiVersions,
} from '../../src/embedded/api-versions-probe.js';

describe('ApiVersions v0 by hand', () => {
  test('request bytes, field by field', () => {
    const expected = Buffer.from(
      [
        '00000010', // size: 16 bytes follow
        '0012', // request_api_key: 18 (ApiVersions)
        '0000', // request_api_version: 0
        '0000002a', // correlation_id: 42
        '0006', // client_id length: 6
        '6b2d77697265', // client_id: "k-wire"
        // v0 body is empty
      ].join(''),
      'hex',
    );
    expect(encodeApiVersionsV0Request(42, 'k-wire')).toEqual(expected);
  });

  test('response bytes decode to error code and version ranges', () => {
    const body = Buffer.from(
      [
        '0000002a', // correlation_id: 42 (response header v0)
        '0000', // error_code: 0
        '00000002', // api_keys: 2 entries
        '0000',
        '0003',
        '000d', // Produce 3-13
        '0012',
        '0000',
        '0004', // ApiVersions 0-4
      ].join(''),
      'hex',
    );
    expect(decodeApiVersionsV0Response(body)).toEqual({
      correlationId: 42,
      errorCode: 0,
      apis: [
        { apiKey: 0, minVersion: 3, maxVersion: 13 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ],
    });
  });

  test('a truncated response names the byte offset', () => {
    expect(() => decodeApiVersionsV0Response(Buffer.from('0000002a00', 'hex'))).toThrow(/truncated at byte 0/);
  });

  test('an API count larger than the bytes left is refused before allocating', () => {
    const body = Buffer.from('0000002a00007fffffff', 'hex');
    expect(() => decodeApiVersionsV0Response(body)).toThrow(ApiVersionsProbeError);
    expect(() => decodeApiVersionsV0Response(body)).toThrow(/claims 2147483647 APIs/);
  });
});

describe('probe against misbehaving peers on loopback', () => {
  const servers: Server[] = [];
  const accepted: Socket[] = [];
  afterEach(async () => {
    for (const socket of accepted.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  function peer(onConnection: (socket: Socket) => void): Promise<number> {
    const server = createServer((socket) => {
      accepted.push(socket);
      onConnection(socket);
    });
    servers.push(server);
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  }

  test('silence ends in a timeout error, not a hang', async () => {
    const port = await peer(() => {});
    await expect(probeApiVersions('127.0.0.1', port, 300)).rejects.toThrow(/no ApiVersions answer .* within 300 ms/);
  });

  test('a huge frame size is refused', async () => {
    const port = await peer((socket) => socket.end(Buffer.from('7fffffff', 'hex')));
    await expect(probeApiVersions('127.0.0.1', port, 2000)).rejects.toThrow(/frame of 2147483647 bytes/);
  });

  test('a frame split across many small writes is reassembled', async () => {
    const body = Buffer.from('00000001' + '0000' + '00000001' + '0012' + '0000' + '0004', 'hex');
    const frame = Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
    const port = await peer((socket) => {
      socket.once('data', async () => {
        for (const byte of frame) {
          socket.write(Buffer.from([byte]));
          await new Promise((resolve) => setImmediate(resolve));
        }
      });
    });
    const response = await probeApiVersions('127.0.0.1', port, 2000);
    expect(response.apis).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 4 }]);
  });

  test('a closed connection is an error naming the address', async () => {
    const port = await peer((socket) => socket.destroy());
    await expect(probeApiVersions('127.0.0.1', port, 2000)).rejects.toThrow(new RegExp(`127.0.0.1:${port}`));
  });
});
