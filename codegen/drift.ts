/**
 * Compares our schemas with the official specs, version by version: for every stable version,
 * the fields the version has (in wire order, recursively) must agree on name, type,
 * nullability, tag, default, ignorability, map key and flexible override.
 */
import { camelCase, stableRange } from './import-spec.js';
import { type OfficialField, type OfficialSpec, readOfficialSpec } from './official-specs.js';
import type { FieldSpec, MessageSpec, SchemaSet, StructSpec } from './schema.js';
import { contains, formatRange, intersect, parseRange, type VersionRange } from './versions.js';

/** One field as a version sees it, reduced to the facts that matter on the wire. */
interface FieldView {
  path: string;
  facts: Record<string, string>;
  children: FieldView[];
}

function normalizedDefault(type: string, raw: unknown): string {
  const isNull = raw === null || raw === 'null';
  if (type.startsWith('[]')) return isNull ? 'null' : '[]';
  switch (type) {
    case 'bool':
      return String(raw === true || raw === 'true');
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'float64':
      return String(raw === undefined ? 0 : Number(raw));
    case 'int64':
      return String(BigInt((raw as string | number | undefined) ?? 0));
    case 'string':
      return isNull ? 'null' : JSON.stringify(raw ?? '');
    case 'bytes':
    case 'records':
      return isNull ? 'null' : 'empty';
    case 'uuid':
      return 'zero';
    default:
      return isNull ? 'null' : 'default struct';
  }
}

function viewFacts(
  field: {
    type: string;
    nullable: VersionRange;
    tagged: VersionRange;
    tag: number | undefined;
    flexible: VersionRange | undefined;
    ignorable: boolean;
    mapKey: boolean;
    default: unknown;
  },
  version: number,
): Record<string, string> {
  const tagged = field.tag !== undefined && contains(field.tagged, version);
  return {
    type: field.type,
    nullable: String(contains(field.nullable, version)),
    tag: tagged ? String(field.tag) : 'none',
    default: normalizedDefault(field.type, field.default),
    ignorable: String(field.ignorable),
    mapKey: String(field.mapKey),
    flexible: field.flexible === undefined ? 'message' : String(contains(field.flexible, version)),
  };
}

function ourView(struct: StructSpec, version: number, prefix: string): FieldView[] {
  return struct.fields
    .filter((field) => contains(field.versions, version))
    .map((field: FieldSpec) => {
      const path = `${prefix}${field.name}${field.typeText.startsWith('[]') ? '[]' : ''}`;
      const child =
        field.type.kind === 'struct'
          ? field.type.struct
          : field.type.kind === 'array' && field.type.element.kind === 'struct'
            ? field.type.element.struct
            : undefined;
      return {
        path,
        facts: viewFacts({ ...field, type: field.typeText }, version),
        children: child ? ourView(child, version, `${path}.`) : [],
      };
    });
}

function officialView(fields: OfficialField[], spec: OfficialSpec, version: number, prefix: string): FieldView[] {
  return fields
    .filter((field) => contains(parseRange(field.versions), version))
    .map((field) => {
      const name = camelCase(field.name);
      const path = `${prefix}${name}${field.type.startsWith('[]') ? '[]' : ''}`;
      const base = field.type.replace(/^\[\]/, '');
      const common = spec.commonStructs?.find((struct) => struct.name === base);
      const childFields = field.fields ?? common?.fields;
      return {
        path,
        facts: viewFacts(
          {
            type: field.type,
            nullable: field.nullableVersions ? parseRange(field.nullableVersions) : parseRange('none'),
            tagged: field.taggedVersions ? parseRange(field.taggedVersions) : parseRange('none'),
            tag: field.tag,
            flexible: field.flexibleVersions ? parseRange(field.flexibleVersions) : undefined,
            ignorable: field.ignorable ?? false,
            mapKey: field.mapKey ?? false,
            default: field.default,
          },
          version,
        ),
        children: childFields ? officialView(childFields, spec, version, `${path}.`) : [],
      };
    });
}

function compareViews(label: string, ours: FieldView[], theirs: FieldView[], out: string[]): void {
  const length = Math.max(ours.length, theirs.length);
  for (let i = 0; i < length; i++) {
    const mine = ours[i];
    const other = theirs[i];
    if (!mine || !other || mine.path !== other.path) {
      out.push(`${label}: field #${i + 1}: ours ${mine?.path ?? '(none)'} vs theirs ${other?.path ?? '(none)'}`);
      return; // once fields are misaligned, later comparisons would only repeat the same fact
    }
    for (const key of Object.keys(other.facts)) {
      if (mine.facts[key] !== other.facts[key])
        out.push(`${label}: ${mine.path}: ${key} ours ${mine.facts[key]} vs theirs ${other.facts[key]}`);
    }
    compareViews(label, mine.children, other.children, out);
  }
}

/** Differences between one of our messages and its official spec; empty when they agree. */
export function compareMessage(ours: MessageSpec, official: OfficialSpec, theirRange = stableRange(official)): string[] {
  const out: string[] = [];
  if (formatRange(ours.versions) !== formatRange(theirRange)) {
    out.push(`${ours.name}: stable versions ours ${formatRange(ours.versions)} vs theirs ${formatRange(theirRange)}`);
  }
  const ourFlexible = formatRange(intersect(ours.flexible, ours.versions));
  const theirFlexible = formatRange(intersect(parseRange(official.flexibleVersions), theirRange));
  if (ourFlexible !== theirFlexible) out.push(`${ours.name}: flexible versions ours ${ourFlexible} vs theirs ${theirFlexible}`);
  if (ours.apiKey !== official.apiKey) out.push(`${ours.name}: api key ours ${ours.apiKey} vs theirs ${official.apiKey}`);
  const versions = intersect(ours.versions, theirRange);
  for (let version = versions.min; version <= versions.max; version++) {
    compareViews(`${ours.name} v${version}`, ourView(ours.root, version, ''), officialView(official.fields, official, version, ''), out);
  }
  return out;
}

export interface DriftResult {
  messages: number;
  versionsCompared: number;
  differences: string[];
}

/** Compares every message of ours (requests, responses, headers) with the specs in `specDir`. */
export function checkDrift(schemas: SchemaSet, specDir: string): DriftResult {
  const messages = [...schemas.apis.flatMap((api) => [api.request, api.response]), schemas.requestHeader, schemas.responseHeader];
  const differences: string[] = [];
  let versionsCompared = 0;
  for (const message of messages) {
    const official = readOfficialSpec(specDir, message.name);
    // Only requests are marked latestVersionUnstable; a response version is as stable as its request's.
    const stable =
      message.kind === 'response'
        ? stableRange(readOfficialSpec(specDir, message.name.replace(/Response$/, 'Request')))
        : stableRange(official);
    differences.push(...compareMessage(message, official, stable));
    versionsCompared += message.versions.max - message.versions.min + 1;
  }
  return { messages: messages.length, versionsCompared, differences };
}
