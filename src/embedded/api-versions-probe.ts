import { connect } from 'node:net';
import { KafkaWireError } from '../errors.js';

/**
 * A minimal, hand-encoded ApiVersions v0 exchange over a raw socket. It exists so that the
 * embedded broker's readiness check and the demo need nothing but a TCP connection; the
 * generated codecs replace it for everything else.
 */

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface ApiVersionsV0Response {
  correlationId: number;
  errorCode: number;
  apis: ApiVersionRange[];
}

export class ApiVersionsProbeError extends KafkaWireError {
  override readonly name = 'ApiVersionsProbeError';
}

const API_VERSIONS_KEY = 18;
/** An ApiVersions v0 answer lists ~90 APIs in 6 bytes each; anything near this is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Size-prefixed request: header v1 (apiKey, apiVersion, correlationId, clientId) and an empty v0 body. */
export function encodeApiVersionsV0Request(correlationId: number, clientId: string): Buffer {
  const client = Buffer.from(clientId, 'utf8');
  const frame = Buffer.alloc(4 + 2 + 2 + 4 + 2 + client.length);
  let offset = frame.writeInt32BE(frame.length - 4, 0);
  offset = frame.writeInt16BE(API_VERSIONS_KEY, offset);
  offset = frame.writeInt16BE(0, offset);
  offset = frame.writeInt32BE(correlationId, offset);
  offset = frame.writeInt16BE(client.length, offset);
  client.copy(frame, offset);
  return frame;
}

/** Decodes a response body (after the size prefix): header v0, then errorCode and the API array. */
export function decodeApiVersionsV0Response(body: Buffer): ApiVersionsV0Response {
  const need = (offset: number, bytes: number, what: string) => {
    if (offset + bytes > body.length) {
      throw new ApiVersionsProbeError(
        `ApiVersions v0 response truncated at byte ${offset}: ${what} needs ${bytes} bytes, ${body.length - offset} left`,
      );
    }
  };
  need(0, 10, 'header, error code and API count');
  const correlationId = body.readInt32BE(0);
  const errorCode = body.readInt16BE(4);
  const count = body.readInt32BE(6);
  if (count < 0 || count * 6 > body.length - 10) {
    throw new ApiVersionsProbeError(`ApiVersions v0 response at byte 6 claims ${count} APIs, but only ${body.length - 10} bytes follow`);
  }
  const apis: ApiVersionRange[] = [];
  for (let i = 0, offset = 10; i < count; i++, offset += 6) {
    apis.push({ apiKey: body.readInt16BE(offset), minVersion: body.readInt16BE(offset + 2), maxVersion: body.readInt16BE(offset + 4) });
  }
  return { correlationId, errorCode, apis };
}

/** Connects, sends ApiVersions v0, reads one size-prefixed answer, and closes. Bounded by timeoutMs. */
export function probeApiVersions(host: string, port: number, timeoutMs = 5000): Promise<ApiVersionsV0Response> {
  const correlationId = 1;
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (error: Error | undefined, response?: ApiVersionsV0Response) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else if (response) resolvePromise(response);
    };
    const timer = setTimeout(
      () => finish(new ApiVersionsProbeError(`no ApiVersions answer from ${host}:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(encodeApiVersionsV0Request(correlationId, 'kafka-wire-probe')));
    socket.on('error', (error) => finish(new ApiVersionsProbeError(`ApiVersions probe of ${host}:${port} failed: ${error.message}`)));
    socket.on('close', () => finish(new ApiVersionsProbeError(`${host}:${port} closed the connection before answering ApiVersions`)));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < 4) return;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      const size = head.readInt32BE(0);
      if (size < 0 || size > MAX_RESPONSE_BYTES) {
        finish(new ApiVersionsProbeError(`${host}:${port} sent a frame of ${size} bytes, not an ApiVersions v0 answer`));
        return;
      }
      if (received < 4 + size) return;
      try {
        const response = decodeApiVersionsV0Response(Buffer.concat(chunks).subarray(4, 4 + size));
        if (response.correlationId !== correlationId) {
          throw new ApiVersionsProbeError(`${host}:${port} answered correlation id ${response.correlationId}, expected ${correlationId}`);
        }
        finish(undefined, response);
      } catch (error) {
        finish(error as Error);
      }
    });
  });
}
