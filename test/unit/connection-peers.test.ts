import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionError, PeerProtocolError, RequestTimeoutError } from '../../src/connection/errors.js';
import { FrameDecoder } from '../../src/connection/frame-decoder.js';
import { ApiVersions, Metadata, ResponseHeader } from '../../src/protocol/generated/index.js';

/**
 * The connection against misbehaving peers on loopback. A real broker never sends garbage or
 * stays silent on purpose, so these peers do it: they answer ApiVersions properly (with our
 * own codecs) and then misbehave in one specific way.
 */

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function apiVersionsAnswer(correlationId: number): Buffer {
  const body = ApiVersions.response.encode(
    ApiVersions.response.create({
      apiKeys: [
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
        { apiKey: 3, minVersion: 0, maxVersion: 13 },
      ],
    }),
    4,
  );
  const header = ResponseHeader.encode({ correlationId }, 0);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

/** A peer that handshakes, then hands every later request frame to `onRequest`. */
function peer(onRequest: (socket: Socket, frame: Buffer, correlationId: number) => void): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    const decoder = new FrameDecoder(1 << 20);
    let handshaken = false;
    socket.on('data', (chunk) => {
      for (const frame of decoder.push(chunk)) {
        const correlationId = frame.readInt32BE(4);
        if (!handshaken) {
          handshaken = true;
          socket.write(apiVersionsAnswer(correlationId));
        } else {
          onRequest(socket, frame, correlationId);
        }
      }
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

const metadataRequest = () => Metadata.request.create({ topics: [] });

describe('connection against misbehaving peers', () => {
  test('garbage after the handshake closes the connection with a PeerProtocolError and fails every pending request', async () => {
    let seen = 0;
    const port = await peer((socket) => {
      if (++seen === 3) socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    });
    const connection = await Connection.connect({ host: '127.0.0.1', port, label: 'test peer' });
    const results = await Promise.allSettled([1, 2, 3].map(() => connection.request(Metadata, metadataRequest(), { timeoutMs: 5000 })));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(PeerProtocolError);
      expect(String((result as PromiseRejectedResult).reason)).toMatch(/test peer: sent bytes that are not a Kafka answer/);
    }
    expect(connection.isOpen).toBe(false);
  });

  test('an answer with an unknown correlation id closes the connection', async () => {
    const port = await peer((socket, _frame, correlationId) => socket.write(apiVersionsAnswer(correlationId + 1000)));
    const connection = await Connection.connect({ host: '127.0.0.1', port });
    await expect(connection.request(Metadata, metadataRequest())).rejects.toThrow(/matches no request in flight/);
  });

  test('an answer that does not decode fails with a PeerProtocolError naming the API', async () => {
    const port = await peer((socket, _frame, correlationId) => {
      const reply = Buffer.alloc(10);
      reply.writeInt32BE(6, 0);
      reply.writeInt32BE(correlationId, 4);
      socket.write(reply);
    });
    const connection = await Connection.connect({ host: '127.0.0.1', port });
    await expect(connection.request(Metadata, metadataRequest())).rejects.toThrow(
      /sent a Metadata v13 answer that does not decode: cannot decode MetadataResponse v13 at byte/,
    );
  });

  test('silence ends in a RequestTimeoutError within the request timeout, and the connection closes', async () => {
    const port = await peer(() => {});
    const connection = await Connection.connect({ host: '127.0.0.1', port });
    const started = Date.now();
    const error = await connection.request(Metadata, metadataRequest(), { timeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(String(error)).toMatch(/Metadata v13 \(correlation id \d+\) got no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(connection.isOpen).toBe(false);
  });

  test('a peer that never answers ApiVersions fails the connect within connectTimeoutMs', async () => {
    const server = createServer((socket) => sockets.push(socket));
    servers.push(server);
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    const started = Date.now();
    await expect(Connection.connect({ host: '127.0.0.1', port, connectTimeoutMs: 400 })).rejects.toThrow(ConnectionError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('answers arriving one byte at a time and out of order are matched by correlation id', async () => {
    const held: { socket: Socket; correlationId: number }[] = [];
    const port = await peer((socket, _frame, correlationId) => {
      held.push({ socket, correlationId });
      if (held.length === 3) {
        for (const { socket: s, correlationId: id } of held.reverse()) {
          const body = Metadata.response.encode(Metadata.response.create({ clusterId: `answer-${id}` }), 13);
          const header = ResponseHeader.encode({ correlationId: id }, 1);
          const size = Buffer.alloc(4);
          size.writeInt32BE(header.length + body.length);
          for (const byte of Buffer.concat([size, header, body])) s.write(Buffer.from([byte]));
        }
      }
    });
    const connection = await Connection.connect({ host: '127.0.0.1', port });
    const answers = await Promise.all([0, 1, 2].map(() => connection.request(Metadata, metadataRequest())));
    const ids = answers.map((answer) => Number(answer.clusterId?.slice('answer-'.length)));
    expect(ids[1]).toBe(ids[0]! + 1);
    expect(ids[2]).toBe(ids[0]! + 2);
    connection.close();
  });

  test('closing fails pending requests with a ConnectionError naming the broker', async () => {
    const port = await peer(() => {});
    const connection = await Connection.connect({ host: '127.0.0.1', port, label: 'broker 9 at somewhere' });
    const pending = connection.request(Metadata, metadataRequest());
    connection.close();
    await expect(pending).rejects.toThrow('broker 9 at somewhere: the connection was closed by the client');
    await expect(connection.request(Metadata, metadataRequest())).rejects.toThrow(ConnectionError);
  });
});
