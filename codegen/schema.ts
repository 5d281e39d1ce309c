import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NO_VERSIONS, parseRange, type VersionRange } from './versions.js';

/**
 * kafka-wire's own schema format (protocol-schemas/*.json), and its normalised in-memory form.
 *
 * A field is either a bare type string ("int32": every version, nothing special) or an object:
 *   { type, versions?, nullable?, default?, ignorable?, mapKey?, tag?, tagged?, flexible?, fields?, about? }
 * Field names are camelCase and kept in wire order; struct types are PascalCase. `[]T` is an
 * array of T. A struct type is defined inline by `fields`, or in the message's `structs`.
 */

export type PrimitiveType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export const PRIMITIVES: ReadonlySet<string> = new Set<PrimitiveType>([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'bytes',
  'records',
  'uuid',
]);

export type DefaultValue = string | number | boolean | null;

interface RawField {
  type: string;
  versions?: string;
  nullable?: string;
  default?: DefaultValue;
  ignorable?: boolean;
  mapKey?: boolean;
  tag?: number;
  tagged?: string;
  flexible?: string;
  fields?: Record<string, RawField | string>;
  about?: string;
}

interface RawMessage {
  versions?: string;
  flexible?: string;
  fields: Record<string, RawField | string>;
  structs?: Record<string, { versions?: string; fields: Record<string, RawField | string> }>;
}

interface RawApiFile {
  api: string;
  key: number;
  about?: string;
  versions: string;
  flexible: string;
  request: RawMessage;
  response: RawMessage;
}

interface RawHeaderFile {
  header: 'RequestHeader' | 'ResponseHeader';
  about?: string;
  versions: string;
  flexible: string;
  fields: Record<string, RawField | string>;
}

/** A field type after resolution: a primitive, a struct, or an array of either. */
export type FieldType =
  | { kind: 'primitive'; name: PrimitiveType }
  | { kind: 'struct'; struct: StructSpec }
  | { kind: 'array'; element: { kind: 'primitive'; name: PrimitiveType } | { kind: 'struct'; struct: StructSpec } };

export interface FieldSpec {
  name: string;
  /** The type as written in the schema ("int32", "[]TopicData"). */
  typeText: string;
  type: FieldType;
  versions: VersionRange;
  nullable: VersionRange;
  tagged: VersionRange;
  tag: number | undefined;
  /** Per-field override of the message's flexible versions (strings and bytes only). */
  flexible: VersionRange | undefined;
  ignorable: boolean;
  mapKey: boolean;
  /** The default as written, if any; `defaultOf` gives the effective one. */
  default: DefaultValue | undefined;
  about: string | undefined;
}

export interface StructSpec {
  /** PascalCase name, unique within its message. */
  name: string;
  fields: FieldSpec[];
}

export interface MessageSpec {
  /** e.g. "ProduceRequest", "RequestHeader". */
  name: string;
  apiKey: number | undefined;
  kind: 'request' | 'response' | 'header';
  versions: VersionRange;
  flexible: VersionRange;
  root: StructSpec;
  /** Every struct of the message in definition order, the root first. */
  structs: StructSpec[];
}

export interface ApiSpec {
  name: string;
  key: number;
  about: string | undefined;
  file: string;
  request: MessageSpec;
  response: MessageSpec;
}

export interface SchemaSet {
  apis: ApiSpec[];
  requestHeader: MessageSpec;
  responseHeader: MessageSpec;
}

function normaliseField(raw: RawField | string): RawField {
  return typeof raw === 'string' ? { type: raw } : raw;
}

function buildMessage(
  name: string,
  kind: MessageSpec['kind'],
  apiKey: number | undefined,
  versionsText: string,
  flexibleText: string,
  fields: Record<string, RawField | string>,
  commonStructs: RawMessage['structs'] = {},
): MessageSpec {
  const versions = parseRange(versionsText);
  const structs: StructSpec[] = [];
  const byName = new Map<string, StructSpec>();
  const pending: { spec: StructSpec; fields: Record<string, RawField | string> }[] = [];

  const declare = (structName: string, rawFields: Record<string, RawField | string>): StructSpec => {
    if (byName.has(structName)) throw new Error(`${name}: struct ${structName} is defined twice`);
    const spec: StructSpec = { name: structName, fields: [] };
    byName.set(structName, spec);
    structs.push(spec);
    pending.push({ spec, fields: rawFields });
    return spec;
  };

  const root = declare(name, fields);
  for (const [structName, struct] of Object.entries(commonStructs)) declare(structName, struct.fields);

  const resolveType = (field: string, raw: RawField): FieldType => {
    const isArray = raw.type.startsWith('[]');
    const base = isArray ? raw.type.slice(2) : raw.type;
    let element: { kind: 'primitive'; name: PrimitiveType } | { kind: 'struct'; struct: StructSpec };
    if (PRIMITIVES.has(base)) {
      if (raw.fields) throw new Error(`${name}.${field}: primitive type ${base} cannot have fields`);
      element = { kind: 'primitive', name: base as PrimitiveType };
    } else if (raw.fields) {
      element = { kind: 'struct', struct: declare(base, raw.fields) };
    } else {
      const struct = byName.get(base);
      if (!struct) throw new Error(`${name}.${field}: unknown type ${base}`);
      element = { kind: 'struct', struct };
    }
    return isArray ? { kind: 'array', element } : element;
  };

  // Structs are filled breadth-first so that common structs may be referenced before their fields are read.
  while (pending.length > 0) {
    const { spec, fields: rawFields } = pending.shift() as (typeof pending)[number];
    for (const [fieldName, value] of Object.entries(rawFields)) {
      const raw = normaliseField(value);
      if (!/^[a-z][A-Za-z0-9]*$/.test(fieldName)) throw new Error(`${name}.${spec.name}.${fieldName}: field names are camelCase`);
      spec.fields.push({
        name: fieldName,
        typeText: raw.type,
        type: resolveType(fieldName, raw),
        versions: raw.versions === undefined ? { min: 0, max: 0x7fff } : parseRange(raw.versions),
        nullable: raw.nullable === undefined ? NO_VERSIONS : parseRange(raw.nullable),
        tagged: raw.tagged === undefined ? NO_VERSIONS : parseRange(raw.tagged),
        tag: raw.tag,
        flexible: raw.flexible === undefined ? undefined : parseRange(raw.flexible),
        ignorable: raw.ignorable ?? false,
        mapKey: raw.mapKey ?? false,
        default: raw.default,
        about: raw.about,
      });
    }
  }
  return { name, apiKey, kind, versions, flexible: parseRange(flexibleText), root, structs };
}

export function loadApiFile(file: string): ApiSpec {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawApiFile;
  const message = (kind: 'request' | 'response', part: RawMessage) =>
    buildMessage(
      `${raw.api}${kind === 'request' ? 'Request' : 'Response'}`,
      kind,
      raw.key,
      part.versions ?? raw.versions,
      part.flexible ?? raw.flexible,
      part.fields,
      part.structs,
    );
  return {
    name: raw.api,
    key: raw.key,
    about: raw.about,
    file,
    request: message('request', raw.request),
    response: message('response', raw.response),
  };
}

export function loadHeaderFile(file: string): MessageSpec {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawHeaderFile;
  return buildMessage(raw.header, 'header', undefined, raw.versions, raw.flexible, raw.fields);
}

export const REQUEST_HEADER_FILE = 'request-header.json';
export const RESPONSE_HEADER_FILE = 'response-header.json';

/** Loads every schema in the directory, APIs sorted by key. */
export function loadSchemas(dir: string): SchemaSet {
  const apis = readdirSync(dir)
    .filter((file) => file.endsWith('.json') && file !== REQUEST_HEADER_FILE && file !== RESPONSE_HEADER_FILE)
    .map((file) => loadApiFile(join(dir, file)))
    .sort((a, b) => a.key - b.key);
  return {
    apis,
    requestHeader: loadHeaderFile(join(dir, REQUEST_HEADER_FILE)),
    responseHeader: loadHeaderFile(join(dir, RESPONSE_HEADER_FILE)),
  };
}

/** The effective default of a field, as a JS value: bigint for int64, null, [], or undefined for structs. */
export function defaultOf(field: FieldSpec): unknown {
  const written = field.default;
  if (field.type.kind === 'array') return written === null ? null : [];
  if (field.type.kind === 'struct') return written === null ? null : undefined;
  switch (field.type.name) {
    case 'bool':
      return written === undefined ? false : written === true || written === 'true';
    case 'int64':
      return written === undefined ? 0n : BigInt(written as string | number);
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'float64':
      return written === undefined ? 0 : Number(written);
    case 'string':
      return written === undefined ? '' : written;
    case 'uuid':
      return ZERO_UUID;
    case 'bytes':
      return written === null ? null : Buffer.alloc(0);
    case 'records':
      return null;
  }
}

/** Kafka's zero uuid in its URL-safe base64 form, the representation kafka-wire uses. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
