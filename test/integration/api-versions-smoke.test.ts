import { expect, test } from 'vitest';
import { parseBootstrap } from '../../src/connection/bootstrap.js';
import { decodeApiVersionsV0Response, encodeApiVersionsV0Request } from '../../src/embedded/api-versions-probe.js';
import { testKafka } from '../helpers/kafka.js';
import { exchangeOnce } from '../support/raw-exchange.js';

const PRODUCE = 0;
const API_VERSIONS = 18;

test('a hand-encoded ApiVersions v0 request gets a real answer listing Produce', async () => {
  const kafka = testKafka();
  const [broker] = parseBootstrap(kafka.bootstrap);
  const body = await exchangeOnce(broker!.host, broker!.port, encodeApiVersionsV0Request(7, 'kafka-wire-smoke'));
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
