import { connect } from 'node:net';
import { expect, test } from 'vitest';
import { parseBootstrap } from '../../src/connection/bootstrap.js';
import { decodeApiVersionsV0Response, encodeApiVersionsV0Request } from '../../src/embedded/api-versions-probe.js';
import { testKafka } from '../helpers/kafka.js';

const PRODUCE = 0;
const API_VERSIONS = 18;

/** Sends one frame over a fresh raw socket and resolves with the body of the first answer frame. */
function exchange(host: string, port: number, frame: Buffer): Promise<Buffer> {
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

test('a hand-encoded ApiVersions v0 request gets a real answer listing Produce', async () => {
  const kafka = testKafka();
  const [broker] = parseBootstrap(kafka.bootstrap);
  const body = await exchange(broker!.host, broker!.port, encodeApiVersionsV0Request(7, 'kafka-wire-smoke'));
  const response = decodeApiVersionsV0Response(body);

  expect(response.correlationId).toBe(7);
  expect(response.errorCode).toBe(0);
  const produce = response.apis.find((api) => api.apiKey === PRODUCE);
  expect(produce).toBeDefined();
  // Every broker from 2.x to 4.x accepts Produce v3 (v0-2 were removed in 4.0), and v9+ is flexible.
  expect(produce!.minVersion).toBeLessThanOrEqual(3);
  expect(produce!.maxVersion).toBeGreaterThanOrEqual(9);
  expect(response.apis.find((api) => api.apiKey === API_VERSIONS)?.maxVersion).toBeGreaterThanOrEqual(3);

  console.log(
    `[smoke] ${kafka.source} broker${kafka.kafkaVersion ? ` Apache Kafka ${kafka.kafkaVersion}` : ''} ` +
      `at ${broker!.host}:${broker!.port}: ` +
      `ApiVersions error 0, ${response.apis.length} APIs, Produce v${produce!.minVersion}-v${produce!.maxVersion}`,
  );
});
