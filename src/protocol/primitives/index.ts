export * from './elements.js';
export { DecodeError, EncodeError, ProtocolError, UnsupportedVersionError } from './errors.js';
export { type ApiDefinition, guardDecode, MessageCodec, type MessageParts } from './message-codec.js';
export { Reader } from './reader.js';
export { SizeCache } from './size-cache.js';
export type { TaggedField, WithUnknownTags } from './tagged.js';
export { unzigzag32, uvarintSize, varintSize, zigzag32 } from './varint.js';
export { Writer } from './writer.js';
