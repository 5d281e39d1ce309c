/**
 * Imports the wire facts of official Kafka message specs into kafka-wire's schema format:
 *   npm run schemas:import -- Produce Fetch …   (or with no names: every API already in protocol-schemas/)
 * Only stable versions are kept. The official "about" sentences are dropped; our own short
 * descriptions (the file's "about") survive a re-import.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OfficialField, type OfficialSpec, officialSpecDir, readOfficialSpec } from './official-specs.js';
import { loadSchemas, REQUEST_HEADER_FILE, RESPONSE_HEADER_FILE } from './schema.js';
import { covers, formatRange, parseRange, type VersionRange } from './versions.js';

export const SCHEMA_DIR = new URL('../protocol-schemas/', import.meta.url).pathname;

export function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

export function stableRange(spec: OfficialSpec): VersionRange {
  const range = parseRange(spec.validVersions);
  return spec.latestVersionUnstable ? { min: range.min, max: range.max - 1 } : range;
}

function isIntegral(type: string): boolean {
  return ['int8', 'int16', 'uint16', 'int32', 'uint32'].includes(type);
}

function convertDefault(field: OfficialField): unknown {
  const value = field.default;
  if (value === undefined) return undefined;
  if (value === 'null') return null;
  if (field.type === 'int64') return String(BigInt(value as string | number));
  if (isIntegral(field.type) || field.type === 'float64') return typeof value === 'string' ? Number(value) : value;
  if (field.type === 'bool') return value === true || value === 'true';
  return value;
}

function convertFields(fields: OfficialField[], scope: VersionRange): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const versions = parseRange(field.versions);
    if (versions.min > scope.max) continue; // only in unstable versions
    const converted: Record<string, unknown> = { type: field.type };
    if (!covers(versions, scope)) converted.versions = formatRange(versions);
    if (field.nullableVersions !== undefined) converted.nullable = field.nullableVersions;
    const fallback = convertDefault(field);
    if (fallback !== undefined) converted.default = fallback;
    if (field.ignorable) converted.ignorable = true;
    if (field.mapKey) converted.mapKey = true;
    if (field.tag !== undefined) converted.tag = field.tag;
    if (field.taggedVersions !== undefined) converted.tagged = field.taggedVersions;
    if (field.flexibleVersions !== undefined) converted.flexible = field.flexibleVersions;
    if (field.fields) converted.fields = convertFields(field.fields, scope);
    out[camelCase(field.name)] = Object.keys(converted).length === 1 ? field.type : converted;
  }
  return out;
}

function convertMessage(spec: OfficialSpec, scope: VersionRange): Record<string, unknown> {
  const message: Record<string, unknown> = { fields: convertFields(spec.fields, scope) };
  if (spec.commonStructs?.length) {
    message.structs = Object.fromEntries(
      spec.commonStructs.map((struct) => [struct.name, { fields: convertFields(struct.fields, scope) }]),
    );
  }
  return message;
}

function existingAbout(file: string): string | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { about?: string }).about : undefined;
}

export function importApi(dir: string, api: string): Record<string, unknown> {
  const request = readOfficialSpec(dir, `${api}Request`);
  const response = readOfficialSpec(dir, `${api}Response`);
  // Only requests carry latestVersionUnstable; the response's matching version is unstable with it.
  const scope = stableRange(request);
  if (request.validVersions !== response.validVersions || request.flexibleVersions !== response.flexibleVersions) {
    throw new Error(`${api}: request and response version ranges differ; the schema format would need per-message ranges`);
  }
  return {
    api,
    key: request.apiKey,
    versions: formatRange(scope),
    flexible: request.flexibleVersions,
    request: convertMessage(request, scope),
    response: convertMessage(response, scope),
  };
}

export function importHeader(dir: string, header: 'RequestHeader' | 'ResponseHeader'): Record<string, unknown> {
  const spec = readOfficialSpec(dir, header);
  const scope = stableRange(spec);
  return { header, versions: formatRange(scope), flexible: spec.flexibleVersions, fields: convertFields(spec.fields, scope) };
}

export function fileNameFor(api: string): string {
  return `${api.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}.json`;
}

/** JSON with short objects and arrays kept on one line, so a field reads as one line. */
export function formatSchemaJson(value: unknown, indent = ''): string {
  const inline = JSON.stringify(value, null, 1)
    .replace(/\n\s*/g, ' ')
    .replace(/([[{]) /g, '$1')
    .replace(/ ([\]}])/g, '$1');
  const nested = typeof value === 'object' && value !== null && 'fields' in value;
  if (typeof value !== 'object' || value === null || (!nested && indent.length + inline.length <= 110)) return inline;
  const inner = `${indent}  `;
  const entries = Array.isArray(value)
    ? value.map((item) => `${inner}${formatSchemaJson(item, inner)}`)
    : Object.entries(value).map(([key, item]) => `${inner}${JSON.stringify(key)}: ${formatSchemaJson(item, inner)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return `${open}\n${entries.join(',\n')}\n${indent}${close}`;
}

function write(file: string, body: Record<string, unknown>): void {
  const about = existingAbout(file);
  // Our own description stays where we put it: after the name and key, before the versions.
  const entries = Object.entries(body);
  const split = entries.findIndex(([key]) => key === 'versions');
  const ordered = about ? Object.fromEntries([...entries.slice(0, split), ['about', about], ...entries.slice(split)]) : body;
  writeFileSync(file, `${formatSchemaJson(ordered)}\n`);
}

async function main(): Promise<void> {
  const dir = await officialSpecDir(process.env.KAFKA_WIRE_KAFKA_VERSION);
  const requested = process.argv.slice(2);
  const apis = requested.length > 0 ? requested : loadSchemas(SCHEMA_DIR).apis.map((api) => api.name);
  for (const api of apis) {
    write(join(SCHEMA_DIR, fileNameFor(api)), importApi(dir, api));
    console.log(`imported ${api}`);
  }
  write(join(SCHEMA_DIR, REQUEST_HEADER_FILE), importHeader(dir, 'RequestHeader'));
  write(join(SCHEMA_DIR, RESPONSE_HEADER_FILE), importHeader(dir, 'ResponseHeader'));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
