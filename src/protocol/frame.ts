import { RequestHeader } from './generated/request-header.js';
import { ResponseHeader } from './generated/response-header.js';
import { type ApiDefinition, DecodeError, guardDecode, type MessageCodec, Reader, SizeCache, Writer } from './primitives/index.js';

/** Request and response framing: a 4-byte size, the header of the right version, then the body. */

const API_VERSIONS_KEY = 18;

/** Header v2 for flexible request versions, v1 otherwise. */
export function requestHeaderVersion(api: ApiDefinition, version: number): number {
  return api.request.isFlexible(version) ? 2 : 1;
}

/**
 * Header v1 for flexible response versions, v0 otherwise — except ApiVersions, whose responses
 * always use v0 so that a client can read the error of any version it tried (KIP-511).
 */
export function responseHeaderVersion(api: ApiDefinition, version: number): number {
  return api.apiKey !== API_VERSIONS_KEY && api.response.isFlexible(version) ? 1 : 0;
}

/** One size-prefixed request frame, sized first and written once into an exact buffer. */
export function encodeRequest<Request>(
  api: ApiDefinition<Request>,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Request,
): Buffer {
  api.request.checkVersion(version);
  const headerVersion = requestHeaderVersion(api, version);
  const header = RequestHeader.create({ requestApiKey: api.apiKey, requestApiVersion: version, correlationId, clientId });
  const cache = new SizeCache(api.request.name, version);
  const size = RequestHeader.size(cache, header, headerVersion) + api.request.size(cache, body, version);
  const writer = new Writer(Buffer.allocUnsafe(4 + size), cache, 0);
  writer.int32(size);
  RequestHeader.write(writer, header, headerVersion);
  api.request.write(writer, body, version);
  if (writer.offset !== 4 + size)
    throw new Error(`internal error: ${api.request.name} v${version} frame sized ${4 + size} bytes but wrote ${writer.offset}`);
  return writer.buffer;
}

/** Every response header starts with the correlation id, whatever its version. */
export function responseCorrelationId(frame: Buffer): number {
  if (frame.length < 4) throw new DecodeError('ResponseHeader', 0, 0, `a response needs at least 4 bytes, got ${frame.length}`);
  return frame.readInt32BE(0);
}

/** Reads a header and then exactly one body from a frame (after its size prefix). */
function decodeFrame<Header, Body>(
  frame: Buffer,
  header: MessageCodec<Header>,
  headerVersion: number,
  body: MessageCodec<Body>,
  version: number,
): { header: Header; body: Body } {
  const headerReader = new Reader(frame, header.name, headerVersion);
  const decodedHeader = guardDecode(headerReader, () => header.read(headerReader, headerVersion));
  const reader = new Reader(frame, body.name, version, headerReader.offset);
  const decodedBody = guardDecode(reader, () => body.read(reader, version));
  if (reader.remaining !== 0) reader.fail(`${reader.remaining} unexpected bytes after the ${body.name}`);
  return { header: decodedHeader, body: decodedBody };
}

export interface DecodedResponse<Response> {
  correlationId: number;
  body: Response;
}

/** Decodes a response frame (after the size prefix): header, then exactly one response. */
export function decodeResponse<Response>(api: ApiDefinition<unknown, Response>, version: number, frame: Buffer): DecodedResponse<Response> {
  api.response.checkVersion(version);
  const { header, body } = decodeFrame(frame, ResponseHeader, responseHeaderVersion(api, version), api.response, version);
  return { correlationId: header.correlationId, body };
}

export interface DecodedRequest<Request> {
  header: RequestHeader;
  body: Request;
}

/** Decodes a request frame (after the size prefix); the counterpart of encodeRequest, for tests and tools. */
export function decodeRequest<Request>(api: ApiDefinition<Request>, version: number, frame: Buffer): DecodedRequest<Request> {
  api.request.checkVersion(version);
  return decodeFrame(frame, RequestHeader, requestHeaderVersion(api, version), api.request, version);
}
