// The decoder fuzzer of fuzz.test.ts, run in a worker thread so that the test can stop a decoder
// that loops forever (no progress) and cap the heap (a decoder allocating for a length it read
// from the wire instead of for the bytes it has runs out of memory). Loaded by Node itself, with
// its type stripping, not through Jest.
//
// Every case is built from its own generator, seeded by (seed, case number), so any case can be
// replayed alone: FUZZ_SEED=<seed> FUZZ_CASE=<n>.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import * as M from '../../../src/protocol/messages/index.ts';
import { ProtocolError } from '../../../src/protocol/errors.ts';
import { Reader } from '../../../src/protocol/reader.ts';
import { Writer } from '../../../src/protocol/writer.ts';
import { loadSchemas, rng, Sampler } from './sampler.ts';

export interface FuzzJob {
  seed: number;
  cases: number;
  /** Run only this case (replay). */
  only?: number;
  /** Int32Array view: [0] is the case being decoded, for the watchdog's report. */
  progress: SharedArrayBuffer;
}

export interface FuzzFailure {
  caseNumber: number;
  decoder: string;
  frameHex: string;
  error: string;
}

export interface FuzzReport {
  cases: number;
  decoded: number;
  decodeErrors: number;
  byDecoder: Record<string, number>;
  failures: FuzzFailure[];
  ms: number;
}

type Decode = (r: Reader, version: number) => unknown;
type Encode = (w: Writer, version: number, value: unknown) => void;

interface Decoder {
  name: string;
  version: number;
  /** Flexible versions read a response header with tagged fields (except ApiVersions, KIP-511). */
  taggedHeader: boolean;
  decode: Decode;
  /** Valid response bodies at this version: sampled from the schemas and captured from Kafka. */
  seeds: Buffer[];
}

const MODULES = Object.values(M).filter((m): m is typeof M.Produce => typeof m === 'object' && m !== null && 'API_KEY' in m);

function decoders(): Decoder[] {
  const { messages } = loadSchemas();
  const captured = capturedBodies();
  const all: Decoder[] = [];
  for (const m of MODULES) {
    const mod = m as unknown as Record<string, unknown>;
    const decode = mod[`decode${m.API_NAME}Response`] as Decode;
    const encode = mod[`encode${m.API_NAME}Response`] as Encode;
    const schema = messages[`${m.API_NAME}Response`];
    for (let v = m.MIN_VERSION; v <= m.MAX_VERSION; v++) {
      const seeds: Buffer[] = [...(captured.get(`${m.API_NAME} v${v}`) ?? [])];
      for (let s = 1; s <= 6; s++) {
        const w = new Writer(64);
        encode(w, v, new Sampler(schema, v, s).sample().input);
        seeds.push(Buffer.from(w.toBuffer()));
      }
      all.push({ name: `${m.API_NAME}Response v${v}`, version: v, taggedHeader: m.isFlexible(v) && (m.API_KEY as number) !== M.ApiVersions.API_KEY, decode, seeds });
    }
  }
  return all;
}

/** Response bodies (size and header removed) of the frames captured from Kafka 4.1.1. */
function capturedBodies(): Map<string, Buffer[]> {
  const dir = join(process.cwd(), 'test', 'unit', 'protocol', 'captures');
  const byApi = new Map<string, Buffer[]>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { api: string; apiKey: number; version: number; response: string };
    const m = MODULES.find((x) => x.API_KEY === c.apiKey)!;
    const r = new Reader(Buffer.from(c.response, 'hex'), 4);
    M.ResponseHeader.decodeResponseHeader(r, m.isFlexible(c.version) && c.apiKey !== M.ApiVersions.API_KEY ? 1 : 0);
    const key = `${c.api} v${c.version}`;
    byApi.set(key, [...(byApi.get(key) ?? []), Buffer.from(r.buf.subarray(r.offset))]);
  }
  return byApi;
}

const INT32S = [0, 1, -1, 0x7fffffff, -0x80000000, 0x7ffffffe, 0x10000, 255];
const INT16S = [0, 1, -1, 0x7fff, -0x8000, -2];
const BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
/** Varints a length or count may be read from: huge, over-long, just past the end. */
const VARINTS = [[0xff, 0xff, 0xff, 0xff, 0x0f], [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0xff, 0xff, 0x03], [0x00], [0x01], [0x81, 0x01]];

/** One mutated frame: a seed of `target` (or of another decoder), changed one to four times. */
function mutate(random: () => number, all: Decoder[], target: Decoder): Buffer {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  if (random() < 0.03) return Buffer.from(Array.from({ length: int(64) }, () => int(256)));
  // Sometimes the answer of another API or version: the wrong shape for this decoder.
  const source = random() < 0.1 ? pick(all) : target;
  let b = Buffer.from(pick(source.seeds));
  const n = 1 + int(4);
  for (let k = 0; k < n; k++) {
    const at = int(b.length + 1);
    switch (int(10)) {
      case 0:
        if (b.length > 0) b[Math.min(at, b.length - 1)] ^= 1 << int(8);
        break;
      case 1:
        if (b.length > 0) b[Math.min(at, b.length - 1)] = pick(BYTES);
        break;
      case 2:
        if (b.length >= 4) b.writeInt32BE(pick(INT32S), Math.min(at, b.length - 4));
        break;
      case 3:
        if (b.length >= 2) b.writeInt16BE(pick(INT16S), Math.min(at, b.length - 2));
        break;
      case 4: {
        const v = Buffer.from(pick(VARINTS));
        b = Buffer.concat([b.subarray(0, at), v, b.subarray(Math.min(b.length, at + v.length))]);
        break;
      }
      case 5:
        b = b.subarray(0, at);
        break;
      case 6:
        b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256)))]);
        break;
      case 7:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256))), b.subarray(at)]);
        break;
      case 8:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(8)))]);
        break;
      default: {
        const other = pick(pick(all).seeds);
        b = Buffer.concat([b.subarray(0, at), other.subarray(int(other.length + 1))]);
      }
    }
  }
  return b;
}

/**
 * Array elements in a decoded value, at every depth: each takes at least a byte on the wire, so
 * never more than the frame's bytes. (Strings and bytes are read only within the frame.)
 */
function elements(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, x) => n + 1 + elements(x), 0);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) return Object.values(value).reduce((n: number, x) => n + elements(x), 0);
  return 0;
}

export function run(job: Omit<FuzzJob, 'progress'>, progress?: Int32Array, report?: (done: number) => void): FuzzReport {
  const started = Date.now();
  const all = decoders();
  const out: FuzzReport = { cases: 0, decoded: 0, decodeErrors: 0, byDecoder: {}, failures: [], ms: 0 };
  const first = job.only ?? 0;
  const last = job.only ?? job.cases - 1;
  for (let i = first; i <= last; i++) {
    if (progress) Atomics.store(progress, 0, i);
    const random = rng((job.seed + Math.imul(i, 0x9e3779b1)) >>> 0);
    const target = all[Math.floor(random() * all.length)];
    const body = mutate(random, all, target);
    // As Connection.onFrame reads it: the header's tagged fields (flexible versions), then the body.
    const frame = target.taggedHeader && random() < 0.9 ? Buffer.concat([Buffer.from([0]), body]) : body;
    out.cases++;
    out.byDecoder[target.name] = (out.byDecoder[target.name] ?? 0) + 1;
    try {
      const r = new Reader(frame);
      if (target.taggedHeader) r.skipTaggedFields('response header tagged fields');
      const value = target.decode(r, target.version);
      out.decoded++;
      const n = elements(value);
      if (n > frame.length) throw new Error(`decoded ${n} array elements from a ${frame.length}-byte frame`);
    } catch (e) {
      if (e instanceof ProtocolError) {
        out.decodeErrors++;
      } else if (out.failures.length < 20) {
        out.failures.push({ caseNumber: i, decoder: target.name, frameHex: frame.toString('hex'), error: (e as Error)?.stack ?? String(e) });
      }
    }
    if (report && i % 5000 === 0) report(i);
  }
  out.ms = Date.now() - started;
  return out;
}

if (parentPort && workerData) {
  const job = workerData as FuzzJob;
  const progress = new Int32Array(job.progress);
  const port = parentPort;
  port.postMessage({ report: run(job, progress, (done) => port.postMessage({ done })) });
}
