import { fileURLToPath } from 'node:url';
import {
  defaultOf,
  type FieldSpec,
  loadSchemas,
  type MessageSpec,
  type PrimitiveType,
  type SchemaSet,
  type StructSpec,
  ZERO_UUID,
} from '../../codegen/schema.js';
import { contains } from '../../codegen/versions.js';
import { API_DEFINITIONS, RequestHeader, ResponseHeader } from '../../src/protocol/generated/index.js';
import type { MessageCodec, TaggedField } from '../../src/protocol/primitives/index.js';
import type { Random } from './random.js';

/** Schema-driven helpers for tests: seeded random messages and conversions to and from the reference's JSON. */

export type Message = Record<string, unknown> & { _unknownTaggedFields?: TaggedField[] };

const SCHEMA_DIR = fileURLToPath(new URL('../../protocol-schemas/', import.meta.url));
let cached: SchemaSet | undefined;

export function schemas(): SchemaSet {
  cached ??= loadSchemas(SCHEMA_DIR);
  return cached;
}

export interface MessageUnderTest {
  spec: MessageSpec;
  codec: MessageCodec<Message>;
}

/** Every message kafka-wire has codecs for: each API's request and response, and both headers. */
export function allMessages(): MessageUnderTest[] {
  const set = schemas();
  const out: MessageUnderTest[] = [];
  for (const api of set.apis) {
    const definition = API_DEFINITIONS.get(api.key);
    if (!definition) throw new Error(`no generated codec for ${api.name}`);
    out.push({ spec: api.request, codec: definition.request as MessageCodec<Message> });
    out.push({ spec: api.response, codec: definition.response as MessageCodec<Message> });
  }
  out.push({ spec: set.requestHeader, codec: RequestHeader as unknown as MessageCodec<Message> });
  out.push({ spec: set.responseHeader, codec: ResponseHeader as unknown as MessageCodec<Message> });
  return out;
}

export function versionsOf(spec: MessageSpec): number[] {
  const out: number[] = [];
  for (let v = spec.versions.min; v <= spec.versions.max; v++) out.push(v);
  return out;
}

const isPresent = (field: FieldSpec, version: number) => contains(field.versions, version);
const isNullable = (field: FieldSpec, version: number) => contains(field.nullable, version);
const isTagged = (field: FieldSpec, version: number) => field.tag !== undefined && contains(field.tagged, version);

function structOf(field: FieldSpec): StructSpec | undefined {
  if (field.type.kind === 'struct') return field.type.struct;
  if (field.type.kind === 'array' && field.type.element.kind === 'struct') return field.type.element.struct;
  return undefined;
}

function elementType(field: FieldSpec): PrimitiveType | undefined {
  if (field.type.kind === 'primitive') return field.type.name;
  if (field.type.kind === 'array' && field.type.element.kind === 'primitive') return field.type.element.name;
  return undefined;
}

/** The value a field takes when a message does not carry it. */
export function defaultValue(field: FieldSpec): unknown {
  const value = defaultOf(field);
  if (field.type.kind === 'struct' && value === undefined) return defaultStruct(field.type.struct);
  return value;
}

export function defaultStruct(struct: StructSpec): Message {
  return Object.fromEntries(struct.fields.map((field) => [field.name, defaultValue(field)]));
}

const UNICODE_SAMPLES = [
  '',
  'a',
  'topic-1',
  'héllo wörld',
  '日本語のトピック',
  'emoji 🙂🚀',
  'mixed ß∂ƒ©˙∆',
  'zero\u0000byte',
  'tab\tand\nnewline',
];
const INT_EDGES: Record<string, number[]> = {
  int8: [0, 1, -1, 127, -128],
  int16: [0, 1, -1, 32767, -32768],
  uint16: [0, 1, 65535],
  int32: [0, 1, -1, 2147483647, -2147483648],
  uint32: [0, 1, 4294967295],
};
const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};
const INT64_EDGES = [0n, 1n, -1n, 9223372036854775807n, -9223372036854775808n];

function randomString(random: Random): string {
  if (random.chance(0.5)) return random.pick(UNICODE_SAMPLES);
  const length = random.chance(0.05) ? random.int(100, 300) : random.int(0, 24);
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(random.chance(0.9) ? random.int(0x20, 0x7e) : random.int(0xa0, 0x2fff));
  return text;
}

function randomPrimitive(type: PrimitiveType, random: Random): unknown {
  switch (type) {
    case 'bool':
      return random.chance(0.5);
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32': {
      if (random.chance(0.4)) return random.pick(INT_EDGES[type] as number[]);
      const [min, max] = INT_RANGES[type] as [number, number];
      return random.int(min, max);
    }
    case 'int64':
      if (random.chance(0.4)) return random.pick(INT64_EDGES);
      return BigInt.asIntN(64, (BigInt(random.int(0, 0xffffffff)) << 32n) | BigInt(random.int(0, 0xffffffff)));
    case 'float64':
      return random.pick([0, 1.5, -2.25, 1e300, Number.MIN_VALUE]);
    case 'string':
      return randomString(random);
    case 'bytes':
    case 'records':
      return random.bytes(random.chance(0.05) ? random.int(500, 2000) : random.int(0, 40));
    case 'uuid':
      return random.chance(0.1) ? ZERO_UUID : random.bytes(16).toString('base64url');
  }
}

/**
 * A random message of `version`: every field the version has gets a value (null where the
 * version allows it, empty and large arrays, unicode strings, boundary integers, tagged fields
 * set or left at their default); fields it lacks keep their defaults.
 */
export function randomMessage(spec: MessageSpec, version: number, random: Random, options: { unknownTags?: boolean } = {}): Message {
  const flexible = contains(spec.flexible, version);
  const build = (struct: StructSpec, depth: number): Message => {
    const message: Message = {};
    for (const field of struct.fields) {
      if (!isPresent(field, version) || (isTagged(field, version) && random.chance(0.4))) {
        message[field.name] = defaultValue(field);
        continue;
      }
      if (isNullable(field, version) && random.chance(0.15)) {
        message[field.name] = null;
        continue;
      }
      const child = structOf(field);
      if (field.type.kind === 'array') {
        const length = random.chance(0.2) ? 0 : depth === 0 && random.chance(0.08) ? random.int(50, 300) : random.int(1, 3);
        const element = elementType(field);
        message[field.name] = Array.from({ length }, () =>
          child ? build(child, depth + 1) : randomPrimitive(element as PrimitiveType, random),
        );
      } else if (child) {
        message[field.name] = build(child, depth + 1);
      } else {
        message[field.name] = randomPrimitive(elementType(field) as PrimitiveType, random);
      }
    }
    if (flexible && options.unknownTags && random.chance(0.3)) {
      const known = new Set(struct.fields.filter((field) => isTagged(field, version)).map((field) => field.tag));
      const tags = [...new Set(Array.from({ length: random.int(1, 3) }, () => random.int(0, 40)))]
        .filter((tag) => !known.has(tag))
        .sort((a, b) => a - b);
      if (tags.length > 0) message._unknownTaggedFields = tags.map((tag) => ({ tag, data: random.bytes(random.int(0, 6)) }));
    }
    return message;
  };
  return build(spec.root, 0);
}

/** The message as `version` carries it: fields the version lacks at their defaults (unknown tagged fields kept). */
export function projectToVersion(spec: MessageSpec, version: number, message: Message): Message {
  const project = (struct: StructSpec, value: Message): Message => {
    const out: Message = {};
    for (const field of struct.fields) {
      const child = structOf(field);
      const item = value[field.name];
      if (!isPresent(field, version)) out[field.name] = defaultValue(field);
      else if (child && Array.isArray(item)) out[field.name] = item.map((element) => project(child, element as Message));
      else if (child && item !== null) out[field.name] = project(child, item as Message);
      else out[field.name] = item;
    }
    if (value._unknownTaggedFields) out._unknownTaggedFields = value._unknownTaggedFields;
    return out;
  };
  return project(spec.root, message);
}

function primitiveToJson(type: PrimitiveType, value: unknown): unknown {
  if (value === null) return null;
  if (type === 'bytes' || type === 'records') return Buffer.from(value as Uint8Array).toString('base64');
  return value; // bigint stays bigint: toJsonText writes its digits
}

/** The JSON the reference's JsonConverter reads for `version`: only the fields that version has. */
export function toReferenceJson(spec: MessageSpec, version: number, message: Message): unknown {
  const convert = (struct: StructSpec, value: Message): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const field of struct.fields) {
      if (!isPresent(field, version)) continue;
      const item = value[field.name];
      const child = structOf(field);
      if (item === null) out[field.name] = null;
      else if (field.type.kind === 'array') {
        out[field.name] = (item as unknown[]).map((element) =>
          child ? convert(child, element as Message) : primitiveToJson(elementType(field) as PrimitiveType, element),
        );
      } else if (child) out[field.name] = convert(child, item as Message);
      else out[field.name] = primitiveToJson(elementType(field) as PrimitiveType, item);
    }
    return out;
  };
  return convert(spec.root, message);
}

/** JSON text with bigints written as plain integers. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `__bigint__${item}` : item)).replace(
    /"__bigint__(-?\d+)"/g,
    '$1',
  );
}

function primitiveFromJson(type: PrimitiveType, value: unknown): unknown {
  if (value === null) return null;
  switch (type) {
    case 'int64':
      return BigInt(value as string);
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'float64':
      return Number(value);
    case 'bytes':
    case 'records':
      return Buffer.from(value as string, 'base64');
    default:
      return value;
  }
}

/** Reads the reference's JSON for `version` (numbers as strings) into kafka-wire's representation. */
export function fromReferenceJson(spec: MessageSpec, version: number, json: unknown): Message {
  const convert = (struct: StructSpec, value: Record<string, unknown>): Message => {
    const out: Message = {};
    for (const field of struct.fields) {
      const item = value[field.name];
      const child = structOf(field);
      if (!isPresent(field, version) || item === undefined) out[field.name] = defaultValue(field);
      else if (item === null) out[field.name] = null;
      else if (field.type.kind === 'array') {
        out[field.name] = (item as unknown[]).map((element) =>
          child ? convert(child, element as Record<string, unknown>) : primitiveFromJson(elementType(field) as PrimitiveType, element),
        );
      } else if (child) out[field.name] = convert(child, item as Record<string, unknown>);
      else out[field.name] = primitiveFromJson(elementType(field) as PrimitiveType, item);
    }
    return out;
  };
  return convert(spec.root, json as Record<string, unknown>);
}

/** Strips unknown-tag arrays, so messages compare on their fields alone. */
export function withoutUnknownTags(message: unknown): unknown {
  if (Array.isArray(message)) return message.map(withoutUnknownTags);
  if (message && typeof message === 'object' && !(message instanceof Uint8Array)) {
    return Object.fromEntries(
      Object.entries(message)
        .filter(([key]) => key !== '_unknownTaggedFields')
        .map(([key, value]) => [key, withoutUnknownTags(value)]),
    );
  }
  return message;
}

/**
 * Replaces every records field with a marker. The reference's JsonConverter writes a parsed
 * MemoryRecords back as "" (its buffer has been read), so its JSON cannot vouch for records;
 * their bytes are still compared on the wire.
 */
export function maskRecords(spec: MessageSpec, message: Message): Message {
  const mask = (struct: StructSpec, value: Message): Message => {
    const out: Message = { ...value };
    for (const field of struct.fields) {
      const child = structOf(field);
      const item = value[field.name];
      if (elementType(field) === 'records') out[field.name] = item === null ? null : 'records';
      else if (child && Array.isArray(item)) out[field.name] = item.map((element) => mask(child, element as Message));
      else if (child && item !== null && item !== undefined) out[field.name] = mask(child, item as Message);
    }
    return out;
  };
  return mask(spec.root, message);
}
