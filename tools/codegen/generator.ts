/**
 * Turns Kafka's JSON message schemas into TypeScript codecs (see generate.ts for the command).
 *
 * Per struct it emits two interfaces, `S` (what decoding returns: every field filled in, absent
 * ones with their default) and `SInput` (what encoding takes: fields with a default, or missing
 * from some versions, may be left out), and a writer and a reader that branch on the version the
 * way Kafka's own generated Java classes do.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Jar } from './jar.ts';

export const KAFKA_VERSION = '4.1.1';

export function defaultJarPath(): string {
  const cache = process.env.KAFKARX_CACHE ?? join(homedir(), '.cache', 'kafkarx');
  return join(cache, `kafka-${KAFKA_VERSION}`, 'libs', `kafka-clients-${KAFKA_VERSION}.jar`);
}

/** The messages kafkarx speaks, by the file stem of their schemas and the module they become. */
export const APIS: readonly { readonly api: string; readonly module: string }[] = [
  { api: 'ApiVersions', module: 'api-versions' },
  { api: 'Metadata', module: 'metadata' },
  { api: 'Produce', module: 'produce' },
  { api: 'InitProducerId', module: 'init-producer-id' },
  { api: 'FindCoordinator', module: 'find-coordinator' },
  { api: 'AddPartitionsToTxn', module: 'add-partitions-to-txn' },
  { api: 'AddOffsetsToTxn', module: 'add-offsets-to-txn' },
  { api: 'EndTxn', module: 'end-txn' },
  { api: 'TxnOffsetCommit', module: 'txn-offset-commit' },
  { api: 'SaslHandshake', module: 'sasl-handshake' },
  { api: 'SaslAuthenticate', module: 'sasl-authenticate' },
  { api: 'CreateTopics', module: 'create-topics' },
  { api: 'CreatePartitions', module: 'create-partitions' },
  { api: 'DeleteTopics', module: 'delete-topics' },
  { api: 'ListOffsets', module: 'list-offsets' },
];

export const HEADERS: readonly { readonly schema: string; readonly module: string }[] = [
  { schema: 'RequestHeader', module: 'request-header' },
  { schema: 'ResponseHeader', module: 'response-header' },
];

// ---------------------------------------------------------------------------------------------
// Schema model

interface JsonField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  flexibleVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  ignorable?: boolean;
  fields?: JsonField[];
}

interface JsonStruct {
  name: string;
  versions?: string;
  fields: JsonField[];
}

interface JsonMessage {
  name: string;
  type: 'request' | 'response' | 'header';
  apiKey?: number;
  validVersions: string;
  flexibleVersions: string;
  latestVersionUnstable?: boolean;
  fields: JsonField[];
  commonStructs?: JsonStruct[];
}

const PRIMITIVES = ['bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'uuid', 'string', 'bytes', 'records'] as const;
type Primitive = (typeof PRIMITIVES)[number];

type FieldType = { kind: Primitive } | { kind: 'array'; element: FieldType } | { kind: 'struct'; name: string };

/** Versions as a sorted list of the version numbers (all small), so set algebra stays trivial. */
type VSet = readonly number[];

interface Field {
  name: string;
  camel: string;
  type: FieldType;
  versions: VSet;
  nullable: VSet;
  tagged: VSet;
  flexible: VSet;
  tag: number | undefined;
  ignorable: boolean;
  /** The schema's `default`, normalised to a string; undefined when the schema gives none. */
  explicitDefault: string | undefined;
}

interface Struct {
  name: string;
  fields: Field[];
  /** The versions in which this struct gets encoded. */
  ctx: VSet;
}

function parseVersions(s: string | undefined, max: number): VSet {
  if (s === undefined || s.trim() === '' || s.trim() === 'none') return [];
  const t = s.trim();
  let lo: number;
  let hi: number;
  if (t.endsWith('+')) {
    lo = Number(t.slice(0, -1));
    hi = max;
  } else if (t.includes('-')) {
    [lo, hi] = t.split('-').map(Number) as [number, number];
  } else {
    lo = hi = Number(t);
  }
  if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new Error(`bad version range ${JSON.stringify(s)}`);
  const out: number[] = [];
  for (let v = lo; v <= Math.min(hi, max); v++) out.push(v);
  return out;
}

const inter = (a: VSet, b: VSet): VSet => a.filter((v) => b.includes(v));
const minus = (a: VSet, b: VSet): VSet => a.filter((v) => !b.includes(v));
const union = (a: VSet, b: VSet): VSet => [...new Set([...a, ...b])].sort((x, y) => x - y);
const covers = (a: VSet, b: VSet): boolean => b.every((v) => a.includes(v));

function describeVersions(s: VSet, max: number): string {
  const runs: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    runs.push(s[j] === max ? `${s[i]}+` : s[i] === s[j] ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return runs.join(', ');
}

/**
 * A condition on `v`, true exactly for the versions of `ctx` that are in `set`; `true`/`false`
 * when that holds for all or none of them.
 */
function cond(set: VSet, ctx: VSet): string | boolean {
  const member = ctx.map((v) => set.includes(v));
  if (member.every(Boolean)) return true;
  if (!member.some(Boolean)) return false;
  const parts: string[] = [];
  for (let i = 0; i < ctx.length; ) {
    if (!member[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < ctx.length && member[j + 1]) j++;
    const lo = ctx[i];
    const hi = ctx[j];
    const bounds: string[] = [];
    if (i > 0 && j < ctx.length - 1 && lo === hi) bounds.push(`v === ${lo}`);
    else {
      if (i > 0) bounds.push(`v >= ${lo}`);
      if (j < ctx.length - 1) bounds.push(`v <= ${hi}`);
    }
    parts.push(bounds.join(' && '));
    i = j + 1;
  }
  return parts.length === 1 ? parts[0] : parts.map((p) => (p.includes('&&') ? `(${p})` : p)).join(' || ');
}

/** Structs the same in every version do not look at theirs: name the parameter so. */
function withVersionParameter(signature: string, body: string[]): string {
  return body.some((l) => /\bv\b/.test(l.replace(/'[^']*'/g, ''))) ? signature : signature.replace('v: number', '_v: number');
}

/** `c && rest`, for a condition from cond() that may be a disjunction. */
function andCond(c: string | boolean, rest: string): string {
  if (c === true) return rest;
  return `${typeof c === 'string' && c.includes('||') ? `(${c})` : c} && ${rest}`;
}

const indent = (lines: string[], by = '  '): string[] => lines.map((l) => (l === '' ? l : by + l));

/** Emit `f` once per side of `set` within `ctx`, under an if/else only when both sides occur. */
function splitOn(set: VSet, ctx: VSet, f: (sub: VSet, member: boolean) => string[]): string[] {
  const c = cond(set, ctx);
  if (c === true) return f(ctx, true);
  if (c === false) return f(ctx, false);
  return [`if (${c}) {`, ...indent(f(inter(ctx, set), true)), '} else {', ...indent(f(minus(ctx, set), false)), '}'];
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Kafka's schema files are JSON with `//` line comments; strings may contain `//` too. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

const lowerFirst = (s: string): string => s[0].toLowerCase() + s.slice(1);

class MessageModel {
  readonly json: JsonMessage;
  readonly name: string;
  readonly valid: VSet;
  readonly max: number;
  readonly flexible: VSet;
  readonly structs = new Map<string, Struct>();
  readonly top: Struct;
  private readonly common = new Map<string, JsonStruct>();

  constructor(json: JsonMessage, reservedNames: Set<string>) {
    this.json = json;
    this.name = json.name;
    const all = parseVersions(json.validVersions, 32767);
    this.max = all[all.length - 1];
    this.valid = all;
    this.flexible = parseVersions(json.flexibleVersions, this.max);
    for (const s of json.commonStructs ?? []) this.common.set(s.name, s);
    this.top = this.addStruct(json.name, json.fields, this.valid, reservedNames);
    // Common structs may be reached from several fields (and from each other): widen their
    // version context until nothing changes.
    for (let changed = true; changed; ) {
      changed = false;
      for (const s of this.structs.values()) {
        for (const f of s.fields) {
          const target = structOf(f.type);
          if (target === undefined || !this.common.has(target)) continue;
          const t = this.structs.get(target);
          const declared = parseVersions(this.common.get(target)!.versions ?? '0+', this.max);
          const ctx = inter(union(t?.ctx ?? [], inter(f.versions, s.ctx)), declared);
          if (!t) {
            this.addStruct(target, this.common.get(target)!.fields, ctx, reservedNames);
            changed = true;
          } else if (ctx.length !== t.ctx.length) {
            t.ctx = ctx;
            changed = true;
          }
        }
      }
    }
  }

  private addStruct(name: string, fields: JsonField[], ctx: VSet, reserved: Set<string>): Struct {
    if (reserved.has(name)) throw new Error(`${this.name}: struct name ${name} is used twice in one module`);
    reserved.add(name);
    const struct: Struct = { name, fields: [], ctx };
    this.structs.set(name, struct);
    for (const jf of fields) {
      const field = this.parseField(jf);
      struct.fields.push(field);
      if (jf.fields && jf.fields.length > 0) {
        const inner = structOf(field.type);
        if (inner === undefined) throw new Error(`${this.name}.${jf.name} has fields but is no struct`);
        this.addStruct(inner, jf.fields, inter(field.versions, ctx), reserved);
      }
    }
    return struct;
  }

  private parseType(t: string): FieldType {
    if (t.startsWith('[]')) return { kind: 'array', element: this.parseType(t.slice(2)) };
    if ((PRIMITIVES as readonly string[]).includes(t)) return { kind: t as Primitive };
    if (/^[A-Z]/.test(t)) return { kind: 'struct', name: t };
    throw new Error(`${this.name}: unknown type ${t}`);
  }

  private parseField(jf: JsonField): Field {
    const tagged = parseVersions(jf.taggedVersions, this.max);
    if (jf.versions === undefined && jf.taggedVersions === undefined) throw new Error(`${this.name}.${jf.name}: no versions`);
    const versions = parseVersions(jf.versions ?? jf.taggedVersions, this.max);
    const flexible = jf.flexibleVersions !== undefined ? parseVersions(jf.flexibleVersions, this.max) : this.flexible;
    if ((tagged.length > 0) !== (jf.tag !== undefined)) throw new Error(`${this.name}.${jf.name}: tag and taggedVersions go together`);
    if (!covers(this.flexible, tagged)) throw new Error(`${this.name}.${jf.name}: tagged in non-flexible versions`);
    const type = this.parseType(jf.type);
    if (type.kind === 'records' && tagged.length > 0) throw new Error(`${this.name}.${jf.name}: records cannot be tagged`);
    return {
      name: jf.name,
      camel: lowerFirst(jf.name),
      type,
      versions,
      nullable: parseVersions(jf.nullableVersions, this.max),
      tagged,
      flexible,
      tag: jf.tag,
      ignorable: jf.ignorable === true,
      explicitDefault: jf.default === undefined ? undefined : String(jf.default),
    };
  }
}

function structOf(t: FieldType): string | undefined {
  if (t.kind === 'struct') return t.name;
  if (t.kind === 'array') return structOf(t.element);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Emitting

const q = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Types whose encoding changes in flexible versions (compact lengths). */
const FLEX_SENSITIVE: ReadonlySet<string> = new Set(['string', 'bytes', 'records', 'array']);
/** Types that can be null, so whose encoding depends on the nullable versions. */
const NULLABLE_KINDS: ReadonlySet<string> = new Set(['string', 'bytes', 'records', 'array', 'struct']);

/** Like splitOn, but without a split when the versions in `set` make no difference. */
function splitIf(matters: boolean, set: VSet, ctx: VSet, f: (sub: VSet, member: boolean) => string[]): string[] {
  return matters ? splitOn(set, ctx, f) : f(ctx, false);
}

/** Replace the local `name` by `expr` when it is used exactly once, to keep generated code short. */
function inlineOnce(lines: string[], name: string, expr: string): string[] | undefined {
  const re = new RegExp(`\\${name}\\b`, 'g');
  const uses = lines.reduce((n, l) => n + (l.match(re)?.length ?? 0), 0);
  if (uses !== 1) return undefined;
  return lines.map((l) => l.replace(re, () => expr));
}

class Emitter {
  private readonly m: MessageModel;

  constructor(m: MessageModel) {
    this.m = m;
  }

  /** Whether the field can hold null in any version in which it is encoded. */
  private canBeNull(f: Field, s: Struct): boolean {
    return inter(f.nullable, inter(f.versions, s.ctx)).length > 0;
  }

  private tsType(t: FieldType, input: boolean): string {
    switch (t.kind) {
      case 'bool':
        return 'boolean';
      case 'int64':
        return 'bigint';
      case 'uuid':
      case 'string':
        return 'string';
      case 'bytes':
      case 'records':
        return input ? 'Uint8Array' : 'Buffer';
      case 'array': {
        const e = this.tsType(t.element, input);
        return input ? `readonly ${e}[]` : `${e}[]`;
      }
      case 'struct':
        return input ? `${t.name}Input` : t.name;
      default:
        return 'number';
    }
  }

  private fieldType(f: Field, s: Struct, input: boolean): string {
    return this.tsType(f.type, input) + (this.canBeNull(f, s) ? ' | null' : '');
  }

  /** The decoded value of a field that is absent, as a TypeScript expression. */
  private defaultExpr(f: Field, s: Struct): string {
    const d = f.explicitDefault ?? '';
    const where = `${s.name}.${f.camel}`;
    const nullDefault = (): string => {
      if (!covers(f.nullable, inter(f.versions, s.ctx))) throw new Error(`${where}: null default but not nullable in every version`);
      return 'null';
    };
    switch (f.type.kind) {
      case 'bool':
        if (d === '') return 'false';
        if (d === 'true' || d === 'false') return d;
        throw new Error(`${where}: bad bool default ${d}`);
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32': {
        const n = d === '' ? 0 : Number(d);
        if (!Number.isInteger(n)) throw new Error(`${where}: bad integer default ${d}`);
        return String(n);
      }
      case 'int64':
        return `${d === '' ? 0n : BigInt(d)}n`;
      case 'float64': {
        const n = d === '' ? 0 : Number(d);
        if (Number.isNaN(n)) throw new Error(`${where}: bad float64 default ${d}`);
        return String(n);
      }
      case 'uuid':
        if (d === '') return 'ZERO_UUID';
        if (Buffer.from(d, 'base64url').length !== 16) throw new Error(`${where}: bad uuid default ${d}`);
        return q(d);
      case 'string':
        return d === 'null' ? nullDefault() : q(d);
      case 'bytes':
        if (d === 'null') return nullDefault();
        if (d !== '') throw new Error(`${where}: bytes can only default to empty or null`);
        return 'EMPTY_BYTES';
      case 'records':
        return 'null';
      case 'array':
        if (d === 'null') return nullDefault();
        if (d !== '') throw new Error(`${where}: arrays can only default to empty or null`);
        return '[]';
      case 'struct':
        if (d === 'null') return nullDefault();
        if (d !== '') throw new Error(`${where}: structs can only default to empty or null`);
        return `default${f.type.name}()`;
    }
  }

  /** A condition, on an input value `x` that is not undefined, that it differs from the default. */
  private nonDefaultExpr(f: Field, s: Struct, x: string): string {
    const d = this.defaultExpr(f, s);
    const nullable = this.canBeNull(f, s);
    switch (f.type.kind) {
      case 'bytes':
      case 'array':
        if (d === 'null') return `${x} !== null`;
        return nullable ? `(${x} === null || ${x}.length !== 0)` : `${x}.length !== 0`;
      case 'records':
        return `${x} !== null`;
      case 'struct':
        if (d === 'null') return `${x} !== null`;
        return nullable ? `(${x} === null || !isDefault${f.type.name}(${x}))` : `!isDefault${f.type.name}(${x})`;
      default:
        return `${x} !== ${d}`;
    }
  }

  /** Whether callers may leave the field out when encoding. */
  private optional(f: Field, s: Struct): boolean {
    return f.explicitDefault !== undefined || !covers(f.versions, s.ctx) || inter(f.tagged, s.ctx).length > 0;
  }

  private docComment(f: Field, s: Struct): string {
    const max = this.m.max;
    const parts = [`Versions ${describeVersions(inter(f.versions, s.ctx), max)}`];
    const nullable = inter(f.nullable, inter(f.versions, s.ctx));
    if (nullable.length > 0) parts.push(`nullable in ${describeVersions(nullable, max)}`);
    const tagged = inter(f.tagged, s.ctx);
    if (tagged.length > 0) parts.push(`tagged (tag ${f.tag}) in ${describeVersions(tagged, max)}`);
    if (f.explicitDefault !== undefined) parts.push(`default ${f.explicitDefault === '' ? "''" : f.explicitDefault}`);
    if (f.ignorable) parts.push('ignorable');
    return `/** ${parts.join('; ')}. */`;
  }

  // --- writing ---

  private writeScalar(kind: Primitive, x: string, flex: boolean, nullable: boolean): string {
    switch (kind) {
      case 'string':
        return flex ? (nullable ? `w.compactNullableString(${x});` : `w.compactString(${x});`) : nullable ? `w.nullableString(${x});` : `w.string(${x});`;
      case 'bytes':
      case 'records':
        return flex ? (nullable ? `w.compactNullableBytes(${x});` : `w.compactBytes(${x});`) : nullable ? `w.nullableBytes(${x});` : `w.bytes(${x});`;
      default:
        return `w.${kind}(${x});`;
    }
  }

  /** Statements writing the value `x` of field `f`, for the versions `ctx`. */
  private writeValue(f: Field, s: Struct, x: string, ctx: VSet, tagged: boolean): string[] {
    const label = q(`${s.name}.${f.camel}`);
    const mayBeNull = this.canBeNull(f, s);
    const t = f.type;
    const flexSet = tagged ? ctx : f.flexible;
    return splitIf(FLEX_SENSITIVE.has(t.kind), flexSet, ctx, (c1, flex) =>
      splitIf(NULLABLE_KINDS.has(t.kind), f.nullable, c1, (_c2, nullable) => {
        const value = mayBeNull && !nullable ? `notNull(${x}, ${label}, v)` : x;
        if (t.kind === 'array') {
          const len = flex ? 'compactArrayLength' : 'arrayLength';
          const loop = (a: string): string[] => [`for (let i = 0; i < ${a}.length; i++) {`, ...indent(this.writeElement(t.element, `${a}[i]`, flex)), '}'];
          if (nullable) return [`if (${x} === null) {`, `  w.${len}(null);`, '} else {', `  w.${len}(${x}.length);`, ...indent(loop(x)), '}'];
          if (value === x) return [`w.${len}(${x}.length);`, ...loop(x)];
          return ['{', `  const $a = ${value};`, `  w.${len}($a.length);`, ...indent(loop('$a')), '}'];
        }
        if (t.kind === 'struct') {
          if (nullable) {
            const marker = tagged ? [`w.uvarint(${x} === null ? 0 : 1);`] : [`w.int8(${x} === null ? -1 : 1);`];
            return [...marker, `if (${x} !== null) write${t.name}(w, v, ${x});`];
          }
          return [`write${t.name}(w, v, ${value});`];
        }
        return [this.writeScalar(t.kind, value, flex, nullable)];
      }),
    );
  }

  private writeElement(t: FieldType, x: string, flex: boolean): string[] {
    if (t.kind === 'struct') return [`write${t.name}(w, v, ${x});`];
    if (t.kind === 'array') throw new Error(`${this.m.name}: arrays of arrays are not in the schema language`);
    return [this.writeScalar(t.kind, x, flex, false)];
  }

  private emitWriter(s: Struct, signature: string, prologue: string[]): string[] {
    const body: string[] = [...prologue];
    const taggedFields: Field[] = [];
    for (const f of s.fields) {
      const present = inter(f.versions, s.ctx);
      const absent = minus(s.ctx, present);
      const tagged = inter(f.tagged, present);
      const untagged = minus(present, tagged);
      const opt = this.optional(f, s);
      const input = `s.${f.camel}`;
      if (absent.length > 0 && !f.ignorable) {
        const c = cond(absent, s.ctx);
        body.push(`if (${andCond(c, `${input} !== undefined && ${this.nonDefaultExpr(f, s, input)}`)}) throw nonDefaultField(${q(`${s.name}.${f.camel}`)}, v);`);
      }
      if (tagged.length > 0) taggedFields.push(f);
      if (untagged.length === 0) continue;
      const x = `$${f.camel}`;
      const valueExpr = opt ? `${input} === undefined ? ${this.defaultExpr(f, s)} : ${input}` : input;
      const write = this.writeValue(f, s, x, untagged, false);
      const inlined = inlineOnce(write, x, valueExpr);
      const lines = inlined ?? [`const ${x} = ${valueExpr};`, ...write];
      const c = cond(untagged, s.ctx);
      if (c !== true) body.push(`if (${c}) {`, ...indent(lines), '}');
      else if (inlined) body.push(...lines);
      else body.push('{', ...indent(lines), '}');
    }
    const flexible = inter(this.m.flexible, s.ctx);
    if (flexible.length > 0) {
      let section: string[];
      if (taggedFields.length === 0) section = ['w.emptyTaggedFields();'];
      else {
        section = ['let $tagged = 0;'];
        const sorted = [...taggedFields].sort((a, b) => a.tag! - b.tag!);
        for (const f of sorted) {
          const tv = inter(f.tagged, inter(f.versions, flexible));
          const c = cond(tv, flexible);
          const input = `s.${f.camel}`;
          section.push(`const $t${f.tag} = ${andCond(c, `${input} !== undefined && ${this.nonDefaultExpr(f, s, input)}`)};`);
          section.push(`if ($t${f.tag}) $tagged++;`);
        }
        section.push('w.uvarint($tagged);');
        for (const f of sorted) {
          const tv = inter(f.tagged, inter(f.versions, flexible));
          const x = `$${f.camel}`;
          const write = this.writeValue(f, s, x, tv, true);
          section.push(
            `if ($t${f.tag}) {`,
            ...(inlineOnce(write, x, `s.${f.camel}!`) ? [] : [`  const ${x} = s.${f.camel}!;`]),
            `  w.uvarint(${f.tag});`,
            '  const $mark = w.beginUvarintSized();',
            ...indent(inlineOnce(write, x, `s.${f.camel}!`) ?? write),
            '  w.endUvarintSized($mark);',
            '}',
          );
        }
      }
      const c = cond(flexible, s.ctx);
      if (c === true) body.push(...section);
      else body.push(`if (${c}) {`, ...indent(section), '}');
    }
    return [withVersionParameter(signature, body), ...indent(body), '}'];
  }

  // --- reading ---

  private readScalar(kind: Primitive, flex: boolean, nullable: boolean, label: string): string {
    switch (kind) {
      case 'string':
        return flex ? (nullable ? `r.compactNullableString(${label})` : `r.compactString(${label})`) : nullable ? `r.nullableString(${label})` : `r.string(${label})`;
      case 'bytes':
      case 'records':
        return flex ? (nullable ? `r.compactNullableBytes(${label})` : `r.compactBytes(${label})`) : nullable ? `r.nullableBytes(${label})` : `r.bytes(${label})`;
      default:
        return `r.${kind}(${label})`;
    }
  }

  /** Statements assigning field `f`, read for the versions `ctx`, to the local `x`. */
  private readValue(f: Field, s: Struct, x: string, ctx: VSet, tagged: boolean): string[] {
    const label = q(`${s.name}.${f.camel}`);
    const t = f.type;
    return splitIf(FLEX_SENSITIVE.has(t.kind), tagged ? ctx : f.flexible, ctx, (c1, flex) =>
      splitIf(NULLABLE_KINDS.has(t.kind), f.nullable, c1, (_c2, nullable) => {
        if (t.kind === 'array') {
          const e = t.element;
          const read = e.kind === 'struct' ? `read${e.name}(r, v)` : e.kind === 'array' ? '' : this.readScalar(e.kind, flex, false, label);
          return [
            '{',
            ...(nullable ? [] : ['  const $at = r.offset;']),
            `  const $n = r.${flex ? 'compactArrayLength' : 'arrayLength'}(${label});`,
            nullable ? `  if ($n < 0) ${x} = null;` : `  if ($n < 0) throw nullArray(${label}, $at);`,
            '  else {',
            `    ${x} = [];`,
            `    for (let i = 0; i < $n; i++) ${x}.push(${read});`,
            '  }',
            '}',
          ];
        }
        if (t.kind === 'struct') {
          if (nullable) return [`${x} = ${tagged ? 'r.uvarint(' + label + ') === 0' : 'r.int8(' + label + ') < 0'} ? null : read${t.name}(r, v);`];
          return [`${x} = read${t.name}(r, v);`];
        }
        return [`${x} = ${this.readScalar(t.kind, flex, nullable, label)};`];
      }),
    );
  }

  private emitReader(s: Struct, signature: string, prologue: string[]): string[] {
    const body: string[] = [...prologue];
    const taggedFields: Field[] = [];
    for (const f of s.fields) {
      const present = inter(f.versions, s.ctx);
      const tagged = inter(f.tagged, present);
      const untagged = minus(present, tagged);
      const x = `$${f.camel}`;
      if (tagged.length > 0) taggedFields.push(f);
      const read = splitOn(untagged, s.ctx, (sub, member) => (member ? this.readValue(f, s, x, sub, false) : [`${x} = ${this.defaultExpr(f, s)};`]));
      const type = this.fieldType(f, s, false);
      if (tagged.length === 0 && read.length === 1 && read[0].startsWith(`${x} = `)) body.push(`const ${x}: ${type}${read[0].slice(x.length)}`);
      else body.push(`let ${x}: ${type};`, ...read);
    }
    const flexible = inter(this.m.flexible, s.ctx);
    if (flexible.length > 0) {
      const structLabel = q(`${s.name} tagged fields`);
      let section: string[];
      if (taggedFields.length === 0) section = [`r.skipTaggedFields(${structLabel});`];
      else {
        const cases: string[] = [];
        for (const f of [...taggedFields].sort((a, b) => a.tag! - b.tag!)) {
          const tv = inter(f.tagged, inter(f.versions, flexible));
          const read = [...this.readValue(f, s, `$${f.camel}`, tv, true), `r.expectOffset($end, ${q(`${s.name}.${f.camel}`)});`];
          const c = cond(tv, flexible);
          cases.push(`case ${f.tag}:`);
          if (c === true) cases.push(...indent([...read, 'break;']));
          // A tag that the version does not define is skipped like any unknown tag.
          else cases.push(...indent([`if (${c}) {`, ...indent(read), '} else r.skip($size, ' + structLabel + ');', 'break;']));
        }
        section = [
          `const $count = r.uvarint(${structLabel});`,
          'for (let i = 0; i < $count; i++) {',
          `  const $tag = r.uvarint(${structLabel});`,
          `  const $size = r.uvarint(${structLabel});`,
          '  const $end = r.offset + $size;',
          '  switch ($tag) {',
          ...indent(cases, '    '),
          '    default:',
          `      r.skip($size, ${structLabel});`,
          '  }',
          '}',
        ];
      }
      const c = cond(flexible, s.ctx);
      if (c === true) body.push(...section);
      else body.push(`if (${c}) {`, ...indent(section), '}');
    }
    body.push(`return { ${s.fields.map((f) => `${f.camel}: $${f.camel}`).join(', ')} };`);
    return [withVersionParameter(signature, body), ...indent(body), '}'];
  }

  // --- whole structs ---

  private interfaces(s: Struct): string[] {
    const out: string[] = [];
    for (const input of [false, true]) {
      out.push(`export interface ${s.name}${input ? 'Input' : ''} {`);
      for (const f of s.fields) {
        out.push(`  ${this.docComment(f, s)}`);
        const opt = input && this.optional(f, s);
        out.push(`  ${f.camel}${opt ? '?' : ''}: ${this.fieldType(f, s, input)};`);
      }
      out.push('}', '');
    }
    return out;
  }

  private defaultFunction(s: Struct): string[] {
    const fields = s.fields.map((f) => `${f.camel}: ${this.defaultExpr(f, s)}`);
    return [`function default${s.name}(): ${s.name} {`, `  return { ${fields.join(', ')} };`, '}', ''];
  }

  private isDefaultFunction(s: Struct): string[] {
    const checks = s.fields.map((f) => {
      const x = `s.${f.camel}`;
      const nd = this.nonDefaultExpr(f, s, x);
      return this.optional(f, s) ? `(${x} === undefined || !(${nd}))` : `!(${nd})`;
    });
    return [`function isDefault${s.name}(s: ${s.name}Input): boolean {`, `  return ${checks.length === 0 ? 'true' : checks.join(' &&\n    ')};`, '}', ''];
  }

  /** Interfaces and codec functions of one message; the top-level struct gets exported entry points. */
  emit(): { code: string; uses: Set<string> } {
    const m = this.m;
    const out: string[] = [];
    const ordered = [m.top, ...[...m.structs.values()].filter((s) => s !== m.top)];
    for (const s of ordered) out.push(...this.interfaces(s));
    const direction = m.json.type === 'response' ? 'Response' : m.json.type === 'request' ? 'Request' : '';
    const base = direction ? m.name.slice(0, -direction.length) : m.name;
    const lo = m.valid[0];
    const hi = m.max;
    const check = [`checkVersion(${q(m.name)}, v, ${lo}, ${hi});`];
    out.push(...this.emitWriter(m.top, `export function encode${base}${direction}(w: Writer, v: number, s: ${m.name}Input): void {`, check), '');
    out.push(...this.emitReader(m.top, `export function decode${base}${direction}(r: Reader, v: number): ${m.name} {`, check), '');
    for (const s of ordered) {
      if (s === m.top) continue;
      out.push(...this.emitWriter(s, `function write${s.name}(w: Writer, v: number, s: ${s.name}Input): void {`, []), '');
      out.push(...this.emitReader(s, `function read${s.name}(r: Reader, v: number): ${s.name} {`, []), '');
    }
    // Defaults of a struct are only emitted when some code refers to them; they can refer to
    // the defaults of other structs in turn.
    const emitted = new Set<string>();
    for (let more = true; more; ) {
      more = false;
      const sofar = out.join('\n');
      for (const s of ordered) {
        for (const [prefix, make] of [['default', this.defaultFunction], ['isDefault', this.isDefaultFunction]] as const) {
          const fn = prefix + s.name;
          if (emitted.has(fn) || !new RegExp(`\\b${fn}\\(`).test(sofar)) continue;
          emitted.add(fn);
          out.push(...make.call(this, s));
          more = true;
        }
      }
    }
    const code = out.join('\n');
    const uses = new Set(['checkVersion', 'nonDefaultField', 'notNull', 'nullArray', 'ZERO_UUID', 'EMPTY_BYTES'].filter((n) => new RegExp(`\\b${n}\\b`).test(code)));
    return { code, uses };
  }
}

// ---------------------------------------------------------------------------------------------
// Modules

export interface SchemaSource {
  /** The Kafka version the schemas come from, for the generated headers. */
  kafkaVersion: string;
  read(schemaName: string): JsonMessage;
}

export function jarSource(jarPath: string): SchemaSource {
  const jar = new Jar(jarPath);
  const props = jar.read('kafka/kafka-version.properties').toString('utf8');
  const version = /^version=(.+)$/m.exec(props)?.[1]?.trim();
  if (!version) throw new Error(`${jarPath}: no version in kafka/kafka-version.properties`);
  return {
    kafkaVersion: version,
    read: (name) => JSON.parse(stripComments(jar.read(`common/message/${name}.json`).toString('utf8'))) as JsonMessage,
  };
}

function header(src: SchemaSource, schemas: string[]): string {
  const from = schemas.length > 0 ? ` (${schemas.map((s) => `common/message/${s}.json`).join(', ')})` : '';
  return [
    `// Generated by tools/codegen/generate.ts from the message schemas of Apache Kafka ${src.kafkaVersion}${from}.`,
    '// Do not edit: regenerate.',
    '',
  ].join('\n');
}

function imports(uses: Set<string>): string {
  const support = [...uses].sort();
  return [
    "import type { Reader } from '../reader.ts';",
    "import type { Writer } from '../writer.ts';",
    ...(support.length > 0 ? [`import { ${support.join(', ')} } from '../message-support.ts';`] : []),
    '',
  ].join('\n');
}

function constLines(facts: { apiKey?: number; name?: string; min: number; max: number; maxStable: number; flexible: number | null }): string[] {
  return [
    ...(facts.apiKey !== undefined ? [`export const API_KEY = ${facts.apiKey};`, `export const API_NAME = ${q(facts.name!)};`] : []),
    `export const MIN_VERSION = ${facts.min};`,
    `export const MAX_VERSION = ${facts.max};`,
    ...(facts.apiKey !== undefined ? [`/** The highest version the schema calls stable; brokers do not advertise newer ones by default. */`, `export const MAX_STABLE_VERSION = ${facts.maxStable};`] : []),
    `/** Versions from this one on use compact encodings and tagged fields; null: none do. */`,
    `export const FIRST_FLEXIBLE_VERSION: number | null = ${facts.flexible};`,
    '',
    `export function isFlexible(version: number): boolean {`,
    `  return FIRST_FLEXIBLE_VERSION !== null && version >= FIRST_FLEXIBLE_VERSION;`,
    '}',
    '',
  ];
}

interface ApiFacts {
  api: string;
  module: string;
  apiKey: number;
  min: number;
  max: number;
  maxStable: number;
  flexible: number | null;
}

/** Every generated file, by its name relative to src/protocol/messages/. */
export function generateModules(src: SchemaSource): Map<string, string> {
  const files = new Map<string, string>();
  const facts: ApiFacts[] = [];
  for (const { api, module } of APIS) {
    const reqJson = src.read(`${api}Request`);
    const resJson = src.read(`${api}Response`);
    if (reqJson.apiKey !== resJson.apiKey || reqJson.validVersions !== resJson.validVersions || reqJson.flexibleVersions !== resJson.flexibleVersions) {
      throw new Error(`${api}: request and response schemas disagree on api key or versions`);
    }
    const names = new Set<string>();
    const req = new MessageModel(reqJson, names);
    const res = new MessageModel(resJson, names);
    const a = new Emitter(req).emit();
    const b = new Emitter(res).emit();
    const flexible = req.flexible.length > 0 ? req.flexible[0] : null;
    const f: ApiFacts = { api, module, apiKey: reqJson.apiKey!, min: req.valid[0], max: req.max, maxStable: reqJson.latestVersionUnstable ? req.max - 1 : req.max, flexible };
    facts.push(f);
    files.set(
      `${module}.ts`,
      [
        header(src, [`${api}Request`, `${api}Response`]),
        imports(new Set([...a.uses, ...b.uses])),
        ...constLines({ apiKey: f.apiKey, name: api, min: f.min, max: f.max, maxStable: f.maxStable, flexible }),
        a.code,
        b.code,
      ].join('\n'),
    );
  }
  for (const { schema, module } of HEADERS) {
    const json = src.read(schema);
    const model = new MessageModel(json, new Set());
    const e = new Emitter(model).emit();
    const flexible = model.flexible.length > 0 ? model.flexible[0] : null;
    files.set(
      `${module}.ts`,
      [header(src, [schema]), imports(e.uses), ...constLines({ min: model.valid[0], max: model.max, maxStable: model.max, flexible }), e.code].join('\n'),
    );
  }
  files.set('index.ts', indexModule(src, facts));
  for (const [name, code] of files) files.set(name, code.replace(/\n{3,}/g, '\n\n').replace(/\n*$/, '\n'));
  return files;
}

const FIXTURE_KEYS = ['name', 'type', 'apiKey', 'validVersions', 'flexibleVersions', 'versions', 'nullableVersions', 'taggedVersions', 'tag', 'default', 'ignorable', 'fields', 'commonStructs'];

function trimSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(trimSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const k of FIXTURE_KEYS) if (k in node) out[k] = trimSchema((node as Record<string, unknown>)[k]);
  return out;
}

/**
 * The schemas behind the generated modules, reduced to what the wire format depends on, so that
 * tests can drive every message at every version without the jar.
 */
export function schemaFixture(src: SchemaSource): string {
  const names = [...APIS.flatMap(({ api }) => [`${api}Request`, `${api}Response`]), ...HEADERS.map((h) => h.schema)];
  const messages = Object.fromEntries(names.map((n) => [n, trimSchema(src.read(n))]));
  return `${JSON.stringify({ kafkaVersion: src.kafkaVersion, messages }, null, 1)}\n`;
}

/** Where schemaFixture() is kept, relative to the project root. */
export const SCHEMA_FIXTURE_PATH = 'test/unit/protocol/fixtures/schemas.json';

function indexModule(src: SchemaSource, facts: ApiFacts[]): string {
  const byKey = [...facts].sort((a, b) => a.apiKey - b.apiKey);
  return [
    header(src, []),
    ...facts.map((f) => `export * as ${f.api} from './${f.module}.ts';`),
    ...HEADERS.map((h) => `export * as ${h.schema} from './${h.module}.ts';`),
    '',
    'export const ApiKey = {',
    ...byKey.map((f) => `  ${f.api}: ${f.apiKey},`),
    '} as const;',
    '',
    'export type ApiName = keyof typeof ApiKey;',
    '',
    'export interface ApiSchema {',
    '  readonly name: ApiName;',
    '  readonly apiKey: number;',
    '  readonly minVersion: number;',
    '  readonly maxVersion: number;',
    '  readonly maxStableVersion: number;',
    '  readonly firstFlexibleVersion: number | null;',
    '}',
    '',
    '/** What the schemas allow, per API, by api key. */',
    'export const API_SCHEMAS: ReadonlyMap<number, ApiSchema> = new Map([',
    ...byKey.map(
      (f) =>
        `  [${f.apiKey}, { name: ${q(f.api)}, apiKey: ${f.apiKey}, minVersion: ${f.min}, maxVersion: ${f.max}, maxStableVersion: ${f.maxStable}, firstFlexibleVersion: ${f.flexible} }],`,
    ),
    ']);',
    '',
  ].join('\n');
}
