import { KafkaWireError } from '../../errors.js';

/** Every error the codecs raise is a ProtocolError; callers never see a bare RangeError. */
export class ProtocolError extends KafkaWireError {
  override name = 'ProtocolError';
}

/** A message was asked for in a version the codec does not have. */
export class UnsupportedVersionError extends ProtocolError {
  override name = 'UnsupportedVersionError';
  constructor(
    readonly messageName: string,
    readonly version: number,
    readonly minVersion: number,
    readonly maxVersion: number,
  ) {
    super(`${messageName} has no version ${version}; supported versions are ${minVersion}-${maxVersion}`);
  }
}

/** A message cannot be written as given: a non-default field the version lacks, a null where none is allowed, a value out of range. */
export class EncodeError extends ProtocolError {
  override name = 'EncodeError';
  constructor(
    readonly messageName: string,
    readonly version: number,
    readonly field: string,
    reason: string,
  ) {
    super(`cannot encode ${messageName} v${version}: ${field} ${reason}`);
  }
}

/** Bytes that are not a valid message of the given version: truncated, malformed or inconsistent. */
export class DecodeError extends ProtocolError {
  override name = 'DecodeError';
  constructor(
    readonly messageName: string,
    readonly version: number,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`cannot decode ${messageName} v${version} at byte ${offset}: ${reason}`);
  }
}
