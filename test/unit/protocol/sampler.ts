/**
 * Builds sample messages straight from Kafka's schemas (fixtures/schemas.json), independently of
 * the code generator: for a version, `input` is what a caller would pass to the encoder (fields
 * with a default sometimes left out) and `expected` what decoding must give back (every field,
 * absent ones at their default).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SchemaField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  ignorable?: boolean;
  fields?: SchemaField[];
}

export interface MessageSchema {
  name: string;
  type: 'request' | 'response' | 'header';
  apiKey?: number;
  validVersions: string;
  flexibleVersions: string;
  fields: SchemaField[];
  commonStructs?: { name: string; fields: SchemaField[] }[];
}

export function loadSchemas(): { kafkaVersion: string; messages: Record<string, MessageSchema> } {
  // Jest runs tests from the project root; neither __dirname nor import.meta works in both Jest and Node.
  return JSON.parse(readFileSync(join(process.cwd(), 'test', 'unit', 'protocol', 'fixtures', 'schemas.json'), 'utf8'));
}

export function inVersions(spec: string | undefined, v: number): boolean {
  if (spec === undefined || spec === 'none' || spec === '') return false;
  if (spec.endsWith('+')) return v >= Number(spec.slice(0, -1));
  const [lo, hi] = spec.split('-').map(Number);
  return hi === undefined ? v === lo : v >= lo && v <= hi;
}

export function versionRange(spec: string): [number, number] {
  const [lo, hi] = spec.split('-').map(Number);
  return [lo, hi ?? lo];
}

const camel = (s: string): string => s[0].toLowerCase() + s.slice(1);

/** A small deterministic generator (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'topic-a', 'kafkarx', 'héllo wörld ✓', 'a'.repeat(130)];
const INT64S = [0n, -1n, 1n, 2n ** 53n - 1n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), 1700000000000n];
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export class Sampler {
  private readonly schema: MessageSchema;
  private readonly version: number;
  private readonly random: () => number;

  constructor(schema: MessageSchema, version: number, seed: number) {
    this.schema = schema;
    this.version = version;
    this.random = rng(seed * 1000 + version);
  }

  sample(): { input: Record<string, unknown>; expected: Record<string, unknown> } {
    return this.struct(this.schema.fields);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)];
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private structFields(f: SchemaField): SchemaField[] {
    if (f.fields) return f.fields;
    const name = f.type.replace(/^\[\]/, '');
    const common = this.schema.commonStructs?.find((s) => s.name === name);
    if (!common) throw new Error(`${this.schema.name}: no struct ${name}`);
    return common.fields;
  }

  private struct(fields: SchemaField[]): { input: Record<string, unknown>; expected: Record<string, unknown> } {
    const input: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    const v = this.version;
    for (const f of fields) {
      const key = camel(f.name);
      const present = inVersions(f.versions ?? f.taggedVersions, v);
      const mayOmit = f.default !== undefined || inVersions(f.taggedVersions, v);
      if (!present || (mayOmit && this.chance(0.3))) {
        expected[key] = this.defaultOf(f);
        // Passing the default for a field the version lacks must be accepted, like leaving it out.
        if (!present && this.chance(0.5)) input[key] = this.defaultOf(f);
        continue;
      }
      const [i, e] = this.value(f, f.type, inVersions(f.nullableVersions, v));
      input[key] = i;
      expected[key] = e;
    }
    return { input, expected };
  }

  private value(f: SchemaField, type: string, nullable: boolean): [unknown, unknown] {
    if (nullable && this.chance(0.2)) return [null, null];
    if (type.startsWith('[]')) {
      const n = Math.floor(this.random() * 3);
      const ins: unknown[] = [];
      const exps: unknown[] = [];
      for (let k = 0; k < n; k++) {
        const [i, e] = this.value(f, type.slice(2), false);
        ins.push(i);
        exps.push(e);
      }
      return [ins, exps];
    }
    switch (type) {
      case 'bool': {
        const b = this.chance(0.5);
        return [b, b];
      }
      case 'int8':
        return this.same(this.pick([0, -1, 127, -128, 5]));
      case 'int16':
        return this.same(this.pick([0, -1, 32767, -32768, 300]));
      case 'uint16':
        return this.same(this.pick([0, 65535, 300]));
      case 'int32':
        return this.same(this.pick([0, -1, 2147483647, -2147483648, 70000]));
      case 'uint32':
        return this.same(this.pick([0, 4294967295, 70000]));
      case 'int64':
        return this.same(this.pick(INT64S));
      case 'float64':
        return this.same(this.pick([0, -1.5, Number.MAX_VALUE, 3.141592653589793]));
      case 'uuid': {
        const bytes = Buffer.alloc(16);
        for (let k = 0; k < 16; k++) bytes[k] = Math.floor(this.random() * 256);
        return this.same(bytes.toString('base64url'));
      }
      case 'string':
        return this.same(this.pick(STRINGS));
      case 'bytes':
      case 'records': {
        const b = Buffer.alloc(Math.floor(this.random() * 200));
        for (let k = 0; k < b.length; k++) b[k] = Math.floor(this.random() * 256);
        return [b, Buffer.from(b)];
      }
      default: {
        const { input, expected } = this.struct(this.structFields(f));
        return [input, expected];
      }
    }
  }

  private same<T>(x: T): [T, T] {
    return [x, x];
  }

  /** The value Kafka gives a field that is not set. */
  defaultOf(f: SchemaField): unknown {
    const d = f.default === undefined ? '' : String(f.default);
    if (f.type.startsWith('[]')) return d === 'null' ? null : [];
    switch (f.type) {
      case 'bool':
        return d === 'true';
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32':
      case 'float64':
        return d === '' ? 0 : Number(d);
      case 'int64':
        return d === '' ? 0n : BigInt(d);
      case 'uuid':
        return d === '' ? ZERO_UUID : d;
      case 'string':
        return d === 'null' ? null : d;
      case 'bytes':
        return d === 'null' ? null : Buffer.alloc(0);
      case 'records':
        return null;
      default: {
        if (d === 'null') return null;
        return Object.fromEntries(this.structFields(f).map((g) => [camel(g.name), this.defaultOf(g)]));
      }
    }
  }
}
