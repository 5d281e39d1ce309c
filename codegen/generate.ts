/**
 * Turns protocol-schemas/ into src/protocol/generated/: one file per API (its request and
 * response codecs), one per header, and an index.
 *   npm run codegen          regenerate
 *   npm run codegen:check    fail when the committed files differ from what would be generated
 *
 * Each struct becomes a TypeScript interface and three functions (size, write, read) that call
 * the hand-written primitives once per field. Version conditions are intersected with the
 * versions in which the struct can occur, so a condition that always holds emits no branch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ApiSpec,
  type FieldSpec,
  type FieldType,
  loadSchemas,
  type MessageSpec,
  type PrimitiveType,
  type SchemaSet,
  type StructSpec,
  ZERO_UUID,
} from './schema.js';
import { formatRange, intersect, isEmpty, type VersionRange } from './versions.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SCHEMA_DIR = join(ROOT, 'protocol-schemas');
export const OUTPUT_DIR = join(ROOT, 'src', 'protocol', 'generated');

const TS_TYPES: Record<PrimitiveType, string> = {
  bool: 'boolean',
  int8: 'number',
  int16: 'number',
  uint16: 'number',
  int32: 'number',
  uint32: 'number',
  int64: 'bigint',
  float64: 'number',
  string: 'string',
  bytes: 'Buffer',
  records: 'Buffer',
  uuid: 'string',
};

const FIXED_WIDTH: Partial<Record<PrimitiveType, number>> = {
  bool: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
};

/** A boolean expression in `v` for "version is in `range`", given that v is always in `scope`. */
export function versionCondition(range: VersionRange, scope: VersionRange): string {
  const within = intersect(range, scope);
  if (isEmpty(within)) return 'false';
  const parts: string[] = [];
  if (within.min > scope.min) parts.push(`v >= ${within.min}`);
  if (within.max < scope.max) parts.push(`v <= ${within.max}`);
  return parts.length === 0 ? 'true' : parts.join(' && ');
}

/** The negation of a version condition, written plainly where it is a single bound. */
function negate(condition: string): string {
  const lower = /^v >= (\d+)$/.exec(condition);
  if (lower) return `v < ${lower[1]}`;
  const upper = /^v <= (\d+)$/.exec(condition);
  if (upper) return `v > ${upper[1]}`;
  return `!(${condition})`;
}

function hull(a: VersionRange | undefined, b: VersionRange): VersionRange {
  if (!a || isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  return { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

function structOf(type: FieldType): StructSpec | undefined {
  if (type.kind === 'struct') return type.struct;
  if (type.kind === 'array' && type.element.kind === 'struct') return type.element.struct;
  return undefined;
}

/** The versions in which each struct of a message can occur. */
function structScopes(message: MessageSpec): Map<StructSpec, VersionRange> {
  const scopes = new Map<StructSpec, VersionRange>([[message.root, message.versions]]);
  const visit = (struct: StructSpec, scope: VersionRange) => {
    for (const field of struct.fields) {
      const child = structOf(field.type);
      if (!child) continue;
      const within = intersect(field.versions, scope);
      if (isEmpty(within)) continue;
      const before = scopes.get(child);
      const after = hull(before, within);
      if (!before || before.min !== after.min || before.max !== after.max) {
        scopes.set(child, after);
        visit(child, after);
      }
    }
  };
  visit(message.root, message.versions);
  return scopes;
}

/** Names emitted for one message: TypeScript type names and codec function names per struct. */
class Names {
  constructor(private readonly message: MessageSpec) {}

  type(struct: StructSpec): string {
    return struct === this.message.root || struct.name.startsWith(this.message.name) ? struct.name : `${this.message.name}${struct.name}`;
  }

  fn(prefix: 'size' | 'write' | 'read' | 'create' | 'isDefault', struct: StructSpec): string {
    return `${prefix}${this.type(struct)}`;
  }
}

function describeField(field: FieldSpec, message: MessageSpec): string {
  const facts = [`versions ${formatRange(intersect(field.versions, message.versions))}`];
  if (!isEmpty(field.nullable)) facts.push(`nullable ${formatRange(field.nullable)}`);
  if (field.tag !== undefined) facts.push(`tag ${field.tag} in ${formatRange(field.tagged)}`);
  if (field.default !== undefined) facts.push(`default ${JSON.stringify(field.default)}`);
  if (field.ignorable) facts.push('ignorable');
  if (field.mapKey) facts.push('map key');
  if (field.flexible) facts.push(`flexible ${formatRange(field.flexible)}`);
  return field.about ? `${field.about} (${facts.join(', ')})` : facts.join(', ');
}

type Plan = ReturnType<MessageEmitter['plan']>;
type PlannedField = Plan['fields'][number];

class MessageEmitter {
  private readonly names: Names;
  private readonly scopes: Map<StructSpec, VersionRange>;

  constructor(private readonly message: MessageSpec) {
    this.names = new Names(message);
    this.scopes = structScopes(message);
  }

  private scope(struct: StructSpec): VersionRange {
    return this.scopes.get(struct) ?? this.message.versions;
  }

  private tsType(field: FieldSpec): string {
    const nullable = !isEmpty(field.nullable) ? ' | null' : '';
    const type = field.type;
    if (type.kind === 'primitive') return `${TS_TYPES[type.name]}${nullable}`;
    if (type.kind === 'struct') return `${this.names.type(type.struct)}${nullable}`;
    const element = type.element.kind === 'primitive' ? TS_TYPES[type.element.name] : this.names.type(type.element.struct);
    return `${element}[]${nullable}`;
  }

  /** The default value of a field as a TypeScript expression. */
  private defaultExpression(field: FieldSpec): string {
    const written = field.default;
    const type = field.type;
    if (type.kind === 'array') return written === null ? 'null' : '[]';
    if (type.kind === 'struct') return written === null ? 'null' : `${this.names.fn('create', type.struct)}()`;
    if (written === null) return 'null';
    switch (type.name) {
      case 'bool':
        return String(written === true || written === 'true');
      case 'int64':
        return `${BigInt(written ?? 0)}n`;
      case 'string':
        return JSON.stringify(written ?? '');
      case 'uuid':
        return JSON.stringify(ZERO_UUID);
      case 'bytes':
        return 'Buffer.alloc(0)';
      case 'records':
        return 'null';
      default:
        return String(Number(written ?? 0));
    }
  }

  /** An expression that is true when `value` equals the field's default. */
  private isDefaultExpression(field: FieldSpec, value: string): string {
    const type = field.type;
    const nullDefault = field.default === null;
    if (type.kind === 'array') return nullDefault ? `${value} === null` : `(${value} !== null && ${value}.length === 0)`;
    if (type.kind === 'struct') return nullDefault ? `${value} === null` : `${this.names.fn('isDefault', type.struct)}(${value})`;
    if (type.name === 'bytes' && !nullDefault) return `(${value} !== null && ${value}.length === 0)`;
    return `${value} === ${this.defaultExpression(field)}`;
  }

  private element(type: FieldType & { kind: 'array' }, flexible: string): { size: string; write: string; read: string } {
    const element = type.element;
    if (element.kind === 'struct') {
      return {
        size: this.names.fn('size', element.struct),
        write: this.names.fn('write', element.struct),
        read: this.names.fn('read', element.struct),
      };
    }
    const pick = (plain: string, compact: string) =>
      flexible === 'true' ? compact : flexible === 'false' ? plain : `(${flexible} ? ${compact} : ${plain})`;
    const base =
      element.name === 'string'
        ? pick('stringElement', 'compactStringElement')
        : element.name === 'bytes' || element.name === 'records'
          ? pick('bytesElement', 'compactBytesElement')
          : `${element.name}Element`;
    return { size: `${base}.size`, write: `${base}.write`, read: `${base}.read` };
  }

  private sizeExpression(field: FieldSpec, value: string, flexible: string, nullable: string): string {
    const type = field.type;
    const name = JSON.stringify(field.name);
    if (type.kind === 'primitive') {
      const width = FIXED_WIDTH[type.name];
      if (width !== undefined) return String(width);
      if (type.name === 'uuid') return `c.uuid(${value}, ${name})`;
      if (type.name === 'string') return `c.string(${value}, ${flexible}, ${nullable}, ${name})`;
      return `c.bytes(${value}, ${flexible}, ${nullable}, ${name})`;
    }
    if (type.kind === 'struct') {
      const size = this.names.fn('size', type.struct);
      return isEmpty(field.nullable) ? `${size}(c, ${value}, v)` : `c.struct(${value}, ${nullable}, ${name}, v, ${size})`;
    }
    const element = type.element;
    const width = element.kind === 'primitive' ? FIXED_WIDTH[element.name] : undefined;
    if (width !== undefined) {
      return `c.arrayHeader(${value}, ${flexible}, ${nullable}, ${name}) + (${value} === null ? 0 : ${value}.length * ${width})`;
    }
    return `c.array(${value}, ${flexible}, ${nullable}, ${name}, v, ${this.element(type, flexible).size})`;
  }

  private writeStatement(field: FieldSpec, value: string, flexible: string, nullable: string): string {
    const type = field.type;
    if (type.kind === 'primitive') {
      if (type.name === 'string') return `w.string(${value}, ${flexible});`;
      if (type.name === 'bytes' || type.name === 'records') return `w.bytes(${value}, ${flexible});`;
      return `w.${type.name}(${value});`;
    }
    if (type.kind === 'struct') {
      const write = this.names.fn('write', type.struct);
      return isEmpty(field.nullable) ? `${write}(w, ${value}, v);` : `w.struct(${value}, ${nullable}, v, ${write});`;
    }
    return `w.array(${value}, ${flexible}, v, ${this.element(type, flexible).write});`;
  }

  private readExpression(field: FieldSpec, flexible: string, nullable: string): string {
    const type = field.type;
    const name = JSON.stringify(field.name);
    if (type.kind === 'primitive') {
      if (type.name === 'string') return `r.string(${flexible}, ${nullable}, ${name})`;
      if (type.name === 'bytes' || type.name === 'records') return `r.bytes(${flexible}, ${nullable}, ${name})`;
      return `r.${type.name}()`;
    }
    if (type.kind === 'struct') {
      const read = this.names.fn('read', type.struct);
      return isEmpty(field.nullable) ? `${read}(r, v)` : `r.struct(${nullable}, ${name}, v, ${read})`;
    }
    return `r.array(${flexible}, ${nullable}, ${name}, v, ${this.element(type, flexible).read})`;
  }

  /** Per struct: the version expressions shared by its size, write and read functions. */
  private plan(struct: StructSpec) {
    const scope = this.scope(struct);
    const flexibleCondition = versionCondition(this.message.flexible, scope);
    const flexible = flexibleCondition === 'true' || flexibleCondition === 'false' ? flexibleCondition : 'f';
    const fields = struct.fields.map((field) => {
      const present = versionCondition(field.versions, scope);
      // Inside a field's own versions, its nullable and flexible conditions can often be decided statically.
      const fieldScope = intersect(field.versions, scope);
      const fieldFlexible = versionCondition(
        field.flexible ? intersect(field.flexible, this.message.flexible) : this.message.flexible,
        fieldScope,
      );
      const sameAsStruct = !field.flexible && fieldFlexible !== 'true' && fieldFlexible !== 'false';
      const isTagged = field.tag !== undefined;
      if (isTagged) {
        const tagged = intersect(field.tagged, scope);
        const versions = intersect(field.versions, scope);
        if (tagged.min !== versions.min || tagged.max !== versions.max) {
          throw new Error(
            `${this.message.name}.${struct.name}.${field.name}: a field tagged in only some of its versions is not supported`,
          );
        }
      }
      return {
        field,
        present,
        tagged: isTagged,
        // Tagged fields exist only in flexible versions, so their payload is always written compact.
        flexible: isTagged ? 'true' : sameAsStruct ? flexible : fieldFlexible,
        nullable: isEmpty(fieldScope) ? 'false' : versionCondition(field.nullable, fieldScope),
      };
    });
    const tagged = fields
      .filter((entry) => entry.tagged && entry.present !== 'false')
      .sort((a, b) => (a.field.tag ?? 0) - (b.field.tag ?? 0));
    return { scope, flexibleCondition, flexible, fields, tagged };
  }

  /** A function whose body may test `f`, declared once at its top when the body uses it. */
  private functionText(signature: string, plan: Plan, body: string[]): string {
    const declare = plan.flexible === 'f' && body.some((line) => /\bf\b/.test(line));
    return [`${signature} {`, ...(declare ? [`  const f = ${plan.flexibleCondition};`] : []), ...body, '}'].join('\n');
  }

  /** The tagged-field section: nothing when the struct is never flexible, else the lines, guarded by `f` when needed. */
  private flexibleSection(plan: Plan, build: (pad: string) => string[]): string[] {
    if (plan.flexible === 'false') return [];
    if (plan.flexible === 'true') return build('  ');
    return ['  if (f) {', ...build('    '), '  }'];
  }

  /** When a known tagged field is written: in its versions, and only when it is not at its default. */
  private taggedCondition(entry: PlannedField): string {
    const notDefault = `!(${this.isDefaultExpression(entry.field, `m.${entry.field.name}`)})`;
    return entry.present === 'true' ? notDefault : `${entry.present} && ${notDefault}`;
  }

  private emitInterface(struct: StructSpec): string {
    const message = this.message;
    const about =
      struct === message.root
        ? `${message.name}, versions ${formatRange(message.versions)}, flexible ${formatRange(message.flexible)}`
        : `${struct.name} of ${message.name}`;
    const lines = [`/** ${about}. */`];
    const flexible = !isEmpty(intersect(this.message.flexible, this.scope(struct)));
    lines.push(`export interface ${this.names.type(struct)}${flexible ? ' extends WithUnknownTags' : ''} {`);
    for (const field of struct.fields) {
      lines.push(`  /** ${describeField(field, this.message)} */`, `  ${field.name}: ${this.tsType(field)};`);
    }
    lines.push('}');
    return lines.join('\n');
  }

  /** An exported factory: every field at its default, then the given fields. */
  private emitCreate(struct: StructSpec): string {
    const type = this.names.type(struct);
    const body = struct.fields.map((field) => `    ${field.name}: ${this.defaultExpression(field)},`);
    return [
      `/** A ${type} with every field at its default, overridden by \`fields\`. */`,
      `export function ${this.names.fn('create', struct)}(fields: Partial<${type}> = {}): ${type} {`,
      '  return {',
      ...body,
      '    ...fields,',
      '  };',
      '}',
    ].join('\n');
  }

  private emitIsDefault(struct: StructSpec): string {
    const checks = struct.fields.map((field) => this.isDefaultExpression(field, `m.${field.name}`));
    // As in the reference, a struct carrying unknown tagged fields is not the default one.
    if (!isEmpty(intersect(this.message.flexible, this.scope(struct)))) checks.push('!m._unknownTaggedFields?.length');
    return [
      `function ${this.names.fn('isDefault', struct)}(m: ${this.names.type(struct)}): boolean {`,
      `  return ${checks.length ? checks.join(' &&\n    ') : 'true'};`,
      '}',
    ].join('\n');
  }

  private emitSize(struct: StructSpec): string {
    const plan = this.plan(struct);
    const body: string[] = [];
    for (const entry of plan.fields) {
      if (entry.present === 'true' || entry.field.ignorable) continue;
      const notDefault = `!(${this.isDefaultExpression(entry.field, `m.${entry.field.name}`)})`;
      const absent = entry.present === 'false' ? notDefault : `${negate(entry.present)} && ${notDefault}`;
      body.push(`  if (${absent}) c.fail(${JSON.stringify(entry.field.name)}, \`is set, but version \${v} does not have it\`);`);
    }
    let fixed = 0;
    const sizes: string[] = [];
    for (const entry of plan.fields) {
      if (entry.tagged || entry.present === 'false') continue;
      const expression = this.sizeExpression(entry.field, `m.${entry.field.name}`, entry.flexible, entry.nullable);
      if (entry.present === 'true' && /^\d+$/.test(expression)) fixed += Number(expression);
      else if (entry.present === 'true') sizes.push(`  n += ${expression};`);
      else sizes.push(`  if (${entry.present}) n += ${expression};`);
    }
    body.push(`  let n = ${fixed};`, ...sizes);
    body.push(
      ...this.flexibleSection(plan, (pad) => {
        if (plan.tagged.length === 0) return [`${pad}n += c.taggedSection(m._unknownTaggedFields);`];
        const lines = [`${pad}const count = c.reserve();`, `${pad}let known = 0;`];
        for (const entry of plan.tagged) {
          const payload = this.sizeExpression(entry.field, `m.${entry.field.name}`, 'true', entry.nullable);
          lines.push(
            `${pad}if (${this.taggedCondition(entry)}) {`,
            `${pad}  known++;`,
            `${pad}  n += c.tagged(${entry.field.tag}, c.reserve(), ${payload});`,
            `${pad}}`,
          );
        }
        lines.push(`${pad}n += c.tagCount(count, known, m._unknownTaggedFields) + c.unknownTags(m._unknownTaggedFields);`);
        return lines;
      }),
      '  return n;',
    );
    return this.functionText(
      `function ${this.names.fn('size', struct)}(c: SizeCache, m: ${this.names.type(struct)}, v: number): number`,
      plan,
      body,
    );
  }

  private emitWrite(struct: StructSpec): string {
    const plan = this.plan(struct);
    const body: string[] = [];
    for (const entry of plan.fields) {
      if (entry.tagged || entry.present === 'false') continue;
      const statement = this.writeStatement(entry.field, `m.${entry.field.name}`, entry.flexible, entry.nullable);
      body.push(entry.present === 'true' ? `  ${statement}` : `  if (${entry.present}) ${statement}`);
    }
    body.push(
      ...this.flexibleSection(plan, (pad) => {
        if (plan.tagged.length === 0) return [`${pad}w.taggedSection(m._unknownTaggedFields);`];
        const lines = [`${pad}const unknown = m._unknownTaggedFields;`, `${pad}w.uvarint(w.next());`, `${pad}let u = 0;`];
        for (const entry of plan.tagged) {
          lines.push(
            `${pad}if (${this.taggedCondition(entry)}) {`,
            `${pad}  u = w.unknownTagsBelow(unknown, u, ${entry.field.tag});`,
            `${pad}  w.tagHeader(${entry.field.tag});`,
            `${pad}  ${this.writeStatement(entry.field, `m.${entry.field.name}`, 'true', entry.nullable)}`,
            `${pad}}`,
          );
        }
        lines.push(`${pad}w.unknownTagsBelow(unknown, u, Infinity);`);
        return lines;
      }),
    );
    return this.functionText(
      `function ${this.names.fn('write', struct)}(w: Writer, m: ${this.names.type(struct)}, v: number): void`,
      plan,
      body,
    );
  }

  private emitRead(struct: StructSpec): string {
    const plan = this.plan(struct);
    const fields = plan.fields.map((entry) => {
      const fallback = this.defaultExpression(entry.field);
      if (entry.tagged || entry.present === 'false') return `    ${entry.field.name}: ${fallback},`;
      const read = this.readExpression(entry.field, entry.flexible, entry.nullable);
      return entry.present === 'true'
        ? `    ${entry.field.name}: ${read},`
        : `    ${entry.field.name}: ${entry.present} ? ${read} : ${fallback},`;
    });
    const body = [`  const m: ${this.names.type(struct)} = {`, ...fields, '  };'];
    body.push(
      ...this.flexibleSection(plan, (pad) => {
        if (plan.tagged.length === 0) return [`${pad}r.taggedSection(m);`];
        const lines = [
          `${pad}for (let count = r.tagCount(); count > 0; count--) {`,
          `${pad}  const tag = r.uvarint();`,
          `${pad}  const end = r.tagEnd(tag);`,
          `${pad}  switch (tag) {`,
        ];
        for (const entry of plan.tagged) {
          const read = `m.${entry.field.name} = ${this.readExpression(entry.field, 'true', entry.nullable)};`;
          const finish = `r.endTag(end, ${JSON.stringify(entry.field.name)});`;
          lines.push(`${pad}    case ${entry.field.tag}:`);
          if (entry.present === 'true') {
            lines.push(`${pad}      ${read}`, `${pad}      ${finish}`, `${pad}      continue;`);
          } else {
            lines.push(
              `${pad}      if (${entry.present}) {`,
              `${pad}        ${read}`,
              `${pad}        ${finish}`,
              `${pad}        continue;`,
              `${pad}      }`,
              `${pad}      break;`,
            );
          }
        }
        lines.push(`${pad}  }`, `${pad}  r.unknownTag(m, tag, end);`, `${pad}}`);
        return lines;
      }),
      '  return m;',
    );
    return this.functionText(`function ${this.names.fn('read', struct)}(r: Reader, v: number): ${this.names.type(struct)}`, plan, body);
  }

  /** isDefault functions for the structs the given code compares with their defaults, and the ones those need. */
  private isDefaultFunctions(code: string): Map<StructSpec, string> {
    const emitted = new Map<StructSpec, string>();
    const pending = [code];
    while (pending.length > 0) {
      const text = pending.pop() as string;
      for (const struct of this.message.structs) {
        if (emitted.has(struct) || !text.includes(`${this.names.fn('isDefault', struct)}(`)) continue;
        const fn = this.emitIsDefault(struct);
        emitted.set(struct, fn);
        pending.push(fn);
      }
    }
    return emitted;
  }

  /** Names the version parameter `_v` in a function that never reads it. */
  private static markUnusedVersion(fn: string): string {
    const [signature, ...rest] = fn.split('\n');
    return /\bv\b/.test(rest.join('\n')) ? fn : [(signature as string).replace('v: number)', '_v: number)'), ...rest].join('\n');
  }

  emit(): { code: string; imports: Set<string> } {
    const codecs = this.message.structs.map((struct) =>
      [this.emitSize(struct), this.emitWrite(struct), this.emitRead(struct)].map(MessageEmitter.markUnusedVersion).join('\n\n'),
    );
    const isDefault = this.isDefaultFunctions(codecs.join('\n'));
    const parts: string[] = [];
    for (const struct of this.message.structs) parts.push(this.emitInterface(struct));
    this.message.structs.forEach((struct, index) => {
      parts.push(this.emitCreate(struct));
      const compare = isDefault.get(struct);
      if (compare) parts.push(compare);
      parts.push(codecs[index] as string);
    });
    const root = this.message.root;
    const flexibleMin = isEmpty(this.message.flexible) ? this.message.versions.max + 1 : this.message.flexible.min;
    parts.push(
      [
        `export const ${root.name} = new MessageCodec<${root.name}>({`,
        `  name: ${JSON.stringify(root.name)},`,
        `  minVersion: ${this.message.versions.min},`,
        `  maxVersion: ${this.message.versions.max},`,
        `  flexibleMin: ${Math.min(flexibleMin, 0x7fff)},`,
        `  size: ${this.names.fn('size', root)},`,
        `  write: ${this.names.fn('write', root)},`,
        `  read: ${this.names.fn('read', root)},`,
        `  create: ${this.names.fn('create', root)},`,
        '});',
      ].join('\n'),
    );
    const code = parts.join('\n\n');
    const imports = new Set(['MessageCodec', 'type Reader', 'type SizeCache', 'type Writer']);
    if (/\bWithUnknownTags\b/.test(code)) imports.add('type WithUnknownTags');
    for (const match of code.matchAll(/\b(\w+Element)\b/g)) imports.add(match[1] as string);
    return { code, imports };
  }
}

function header(source: string): string {
  return [
    `// Generated by codegen/generate.ts from protocol-schemas/${source}.`,
    '// Do not edit: change the schema and run `npm run codegen`.',
    '',
  ].join('\n');
}

function importLine(imports: Set<string>): string {
  const sorted = [...imports].sort((a, b) => a.replace('type ', '').localeCompare(b.replace('type ', '')));
  return `import { ${sorted.join(', ')} } from '../primitives/index.js';\n`;
}

function moduleName(schemaFile: string): string {
  return basename(schemaFile, '.json');
}

function emitApi(api: ApiSpec): string {
  const request = new MessageEmitter(api.request).emit();
  const response = new MessageEmitter(api.response).emit();
  const imports = new Set([...request.imports, ...response.imports, 'type ApiDefinition']);
  const about = api.about ? `/** ${api.about} */\n` : '';
  const definition = [
    `${about}export const ${api.name}: ApiDefinition<${api.request.name}, ${api.response.name}> = {`,
    `  name: ${JSON.stringify(api.name)},`,
    `  apiKey: ${api.key},`,
    `  request: ${api.request.name},`,
    `  response: ${api.response.name},`,
    '};',
  ].join('\n');
  return `${header(basename(api.file))}${importLine(imports)}\n${request.code}\n\n${response.code}\n\n${definition}\n`;
}

function emitHeader(message: MessageSpec, source: string): string {
  const { code, imports } = new MessageEmitter(message).emit();
  return `${header(source)}${importLine(imports)}\n${code}\n`;
}

function emitIndex(schemas: SchemaSet): string {
  const lines = [
    '// Generated by codegen/generate.ts from protocol-schemas/. Do not edit: run `npm run codegen`.',
    "import type { ApiDefinition } from '../primitives/index.js';",
  ];
  for (const api of schemas.apis) lines.push(`import { ${api.name} } from './${moduleName(api.file)}.js';`);
  lines.push('');
  for (const api of schemas.apis) lines.push(`export * from './${moduleName(api.file)}.js';`);
  lines.push("export * from './request-header.js';", "export * from './response-header.js';", '');
  lines.push(
    '/** Every API kafka-wire has codecs for, by API key. */',
    'export const API_DEFINITIONS: ReadonlyMap<number, ApiDefinition> = new Map<number, ApiDefinition>([',
    ...schemas.apis.map((api) => `  [${api.key}, ${api.name} as ApiDefinition],`),
    ']);',
  );
  return `${lines.join('\n')}\n`;
}

/** Every generated file, by path relative to the output directory. */
export function generate(schemaDir = SCHEMA_DIR): Map<string, string> {
  const schemas = loadSchemas(schemaDir);
  const files = new Map<string, string>();
  for (const api of schemas.apis) files.set(`${moduleName(api.file)}.ts`, emitApi(api));
  files.set('request-header.ts', emitHeader(schemas.requestHeader, 'request-header.json'));
  files.set('response-header.ts', emitHeader(schemas.responseHeader, 'response-header.json'));
  files.set('index.ts', emitIndex(schemas));
  for (const [file, content] of files) files.set(file, format(join(OUTPUT_DIR, file), content));
  return files;
}

/** Generated code is laid out by the project's formatter, so it reads like the rest of the code (and the lint passes). */
function format(path: string, content: string): string {
  const biome = join(ROOT, 'node_modules', '.bin', 'biome');
  const result = spawnSync(biome, ['check', '--write', `--stdin-file-path=${relative(ROOT, path)}`], {
    cwd: ROOT,
    input: content,
    encoding: 'utf8',
  });
  if (result.status !== 0)
    throw new Error(`biome could not format generated ${relative(ROOT, path)}: ${result.stderr || result.error?.message}`);
  return result.stdout;
}

/** Differences between what would be generated and what is on disk; empty when up to date. */
export function staleFiles(outputDir = OUTPUT_DIR): string[] {
  const expected = generate();
  const problems: string[] = [];
  const present = existsSync(outputDir) ? readdirSync(outputDir).filter((file) => file.endsWith('.ts')) : [];
  for (const [file, content] of expected) {
    const path = join(outputDir, file);
    if (!existsSync(path)) problems.push(`missing: ${relative(ROOT, path)}`);
    else if (readFileSync(path, 'utf8') !== content) problems.push(`stale: ${relative(ROOT, path)}`);
  }
  for (const file of present)
    if (!expected.has(file)) problems.push(`not generated by the current schemas: ${relative(ROOT, join(outputDir, file))}`);
  return problems;
}

function main(): void {
  if (process.argv.includes('--check')) {
    const problems = staleFiles();
    if (problems.length > 0) {
      console.error(`generated code is out of date with protocol-schemas/ (run "npm run codegen"):\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    } else {
      console.log(`generated code is up to date (${generate().size} files)`);
    }
    return;
  }
  const files = generate();
  rmSync(OUTPUT_DIR, { recursive: true, force: true });
  mkdirSync(OUTPUT_DIR, { recursive: true });
  for (const [file, content] of files) writeFileSync(join(OUTPUT_DIR, file), content);
  console.log(`generated ${files.size} files in ${relative(ROOT, OUTPUT_DIR)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
