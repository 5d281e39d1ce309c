import { describe, expect, test } from 'vitest';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  requestHeaderVersion,
  responseCorrelationId,
  responseHeaderVersion,
} from '../../src/protocol/frame.js';
import { ApiVersions, Metadata, Produce, ResponseHeader } from '../../src/protocol/generated/index.js';
import { DecodeError, UnsupportedVersionError } from '../../src/protocol/primitives/index.js';

describe('header versions', () => {
  test('requests use header v2 from the first flexible version, v1 before', () => {
    expect(requestHeaderVersion(Produce, 8)).toBe(1);
    expect(requestHeaderVersion(Produce, 9)).toBe(2);
    expect(requestHeaderVersion(ApiVersions, 2)).toBe(1);
    expect(requestHeaderVersion(ApiVersions, 3)).toBe(2);
  });

  test('responses use header v1 when flexible, except ApiVersions which always uses v0', () => {
    expect(responseHeaderVersion(Metadata, 8)).toBe(0);
    expect(responseHeaderVersion(Metadata, 9)).toBe(1);
    expect(responseHeaderVersion(ApiVersions, 3)).toBe(0);
    expect(responseHeaderVersion(ApiVersions, 4)).toBe(0);
  });
});

describe('request frames', () => {
  test('ApiVersions v3: size, header v2 with an int16 client id and empty tags, compact body', () => {
    const frame = encodeRequest(
      ApiVersions,
      3,
      7,
      'kw',
      ApiVersions.request.create({ clientSoftwareName: 'a', clientSoftwareVersion: '1' }),
    );
    const expected = [
      '00000012', // size: 18 bytes follow
      '0012',
      '0003',
      '00000007', // api key 18, version 3, correlation id 7
      '0002',
      '6b77', // client id "kw": int16 length even in header v2
      '00', // header tagged fields: none
      '02',
      '61', // clientSoftwareName "a" as a compact string (length+1 = 2)
      '02',
      '31', // clientSoftwareVersion "1"
      '00', // body tagged fields: none
    ].join('');
    expect(frame.toString('hex')).toBe(expected);
    const decoded = decodeRequest(ApiVersions, 3, frame.subarray(4));
    expect(decoded.header).toEqual({ requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'kw' });
    expect(decoded.body).toEqual({ clientSoftwareName: 'a', clientSoftwareVersion: '1' });
  });

  test('a version the codec lacks is refused before anything is written', () => {
    expect(() => encodeRequest(Produce, 2, 1, null, Produce.request.create())).toThrow(UnsupportedVersionError);
    expect(() => encodeRequest(Produce, 14, 1, null, Produce.request.create())).toThrow(
      /ProduceRequest has no version 14; supported versions are 3-13/,
    );
  });
});

describe('response frames', () => {
  test('a flexible ApiVersions response is read with header v0 (no header tags)', () => {
    const body = ApiVersions.response.encode(ApiVersions.response.create({ errorCode: 35, apiKeys: [] }), 3);
    const frame = Buffer.concat([Buffer.from('0000002a', 'hex'), body]);
    expect(responseCorrelationId(frame)).toBe(42);
    expect(decodeResponse(ApiVersions, 3, frame).body.errorCode).toBe(35);
  });

  test('a flexible Metadata response is read with header v1 (header tags)', () => {
    const header = ResponseHeader.encode({ correlationId: 9 }, 1);
    const body = Metadata.response.encode(Metadata.response.create({ clusterId: 'c1' }), 12);
    const { correlationId, body: decoded } = decodeResponse(Metadata, 12, Buffer.concat([header, body]));
    expect(correlationId).toBe(9);
    expect(decoded.clusterId).toBe('c1');
  });

  test('trailing bytes after a response are a DecodeError naming the offset', () => {
    const header = ResponseHeader.encode({ correlationId: 9 }, 0);
    const body = Metadata.response.encode(Metadata.response.create(), 1);
    expect(() => decodeResponse(Metadata, 1, Buffer.concat([header, body, Buffer.from([1, 2])]))).toThrow(DecodeError);
    expect(() => decodeResponse(Metadata, 1, Buffer.concat([header, body, Buffer.from([1, 2])]))).toThrow(
      /2 unexpected bytes after the MetadataResponse/,
    );
  });

  test('a frame too short for a correlation id is a DecodeError', () => {
    expect(() => responseCorrelationId(Buffer.from([0, 1]))).toThrow(DecodeError);
  });
});
