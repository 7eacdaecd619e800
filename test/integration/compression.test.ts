// Issue 4: every codec kafkarx writes must read back byte for byte through both reference readers,
// Kafka's ConsoleConsumer (the Java client's codecs) and kcat (librdkafka's C codecs), after the
// broker itself has validated, and where the topic says so recompressed, what was sent.
import { createServer, type Server, type Socket } from 'node:net';
import { from, lastValueFrom, toArray } from 'rxjs';
import { ConfigError, createProducer, KafkaError, murmur2, type CompressionName, type Producer, type ProducerConfig, type RecordMetadata } from 'kafkarx';
import { toKafka, type CompressOptions } from 'kafkarx/operators';
import { gzipPako, gzipZlib, lz4, none, snappy, zstdFzstd, zstdZlib, type Codec } from '../../src/codec/index.ts';
import * as M from '../../src/protocol/messages/index.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';
import { consumeWithKcat, kcatInfo } from '../broker/kcat.ts';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic, type ConsumedRecord } from '../broker/reference.ts';
import { producersFor } from './support.ts';
import { internals } from '../../src/producer/internals.ts';

const producer = producersFor('kafkarx-compression-it');

// Spies on every codec object, so a test can tell which implementation (and level) compressed its
// batches: a compression option that is silently ignored would otherwise still read back fine. The
// heavy tests run concurrently, so each call is put down to the test whose records it compressed,
// by the `codec` header every one of their records carries.
const CODECS: Record<string, Codec> = { none, gzipZlib, gzipPako, snappy, lz4, zstdZlib, zstdFzstd };
interface Call { impl: string; label: string | undefined; bytes: number; level: number | undefined }
const calls: Call[] = [];
// A record header on the wire: key length (zigzag varint: 5 -> 10), key, then the value's length.
const CODEC_HEADER = Buffer.from([10, ...Buffer.from('codec')]);
function labelOf(records: Uint8Array): string | undefined {
  const data = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  const at = data.indexOf(CODEC_HEADER);
  return at < 0 ? undefined : data.subarray(at + CODEC_HEADER.length + 1, at + CODEC_HEADER.length + 1 + (data[at + CODEC_HEADER.length] >> 1)).toString();
}
beforeAll(() => {
  for (const [impl, codec] of Object.entries(CODECS)) {
    for (const method of ['compress', 'compressAsync'] as const) {
      const original = codec[method] as (data: Uint8Array, level?: number) => unknown;
      jest.spyOn(codec, method).mockImplementation(function (this: Codec, data: Uint8Array, level?: number) {
        calls.push({ impl, label: labelOf(data), bytes: data.byteLength, level });
        return original.call(this, data, level);
      } as never);
    }
  }
});
afterAll(() => jest.restoreAllMocks());
const callsFor = (label: string) => calls.filter((c) => c.label === label);
const usedImpls = (label: string) => [...new Set(callsFor(label).map((c) => c.impl))].sort();

test('kcat is installed, with JSON output and every codec Kafka defines', () => {
  const { features, banner } = kcatInfo();
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    if (!features.includes(codec)) throw new Error(`kcat's librdkafka lacks ${codec} (${banner}): install a kcat built with it`);
  }
});

describe('configuration', () => {
  const make = (config: Partial<ProducerConfig>) => () => createProducer({ brokers: ['127.0.0.1:1'], ...config });

  test.each([
    [{ compression: 'brotli' as CompressionName }, /unknown compression type 'brotli': expected one of none \(0\), gzip \(1\), snappy \(2\), lz4 \(3\), zstd \(4\)/],
    // Kafka's compression.type is case-sensitive too.
    [{ compression: 'GZIP' as CompressionName }, /unknown compression type 'GZIP'/],
    [{ compression: 'gzip', compressionLevel: 10 }, /level 10 is not valid for gzip: allowed levels are 1\.\.9 or -1/],
    [{ compression: 'gzip', compressionLevel: 0 }, /level 0 is not valid for gzip/],
    [{ compression: 'lz4', compressionLevel: 18 }, /level 18 is not valid for lz4: allowed levels are 1\.\.17/],
    [{ compression: 'lz4', compressionLevel: 0 }, /level 0 is not valid for lz4/],
    [{ compression: 'zstd', compressionLevel: 23 }, /level 23 is not valid for zstd: allowed levels are -131072\.\.22/],
    [{ compression: 'zstd', compressionLevel: -131073 }, /level -131073 is not valid for zstd/],
    [{ compression: 'zstd', compressionLevel: 3.5 }, /level 3\.5 is not valid for zstd/],
    [{ compression: 'zstd', compressionLevel: '3' as unknown as number }, /level 3 is not valid for zstd/],
    [{ compression: 'snappy', compressionLevel: 1 }, /level 1 given for snappy, which has no compression levels/],
    [{ compressionLevel: 5 }, /level 5 given for none/],
  ] as Array<[Partial<ProducerConfig>, RegExp]>)('createProducer(%j) throws a ConfigError', (config, message) => {
    let error: unknown;
    try {
      make(config)();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).name).toBe('ConfigError');
    expect((error as Error).message).toMatch(message);
  });

  test.each([
    [{ compression: 'gzip', compressionLevel: -1 }],
    [{ compression: 'gzip', compressionLevel: 9 }],
    [{ compression: 'lz4', compressionLevel: 17 }],
    [{ compression: 'zstd', compressionLevel: -131072 }],
    [{ compression: 'zstd', compressionLevel: 22 }],
    [{ compression: 'snappy' }],
  ] as Array<[Partial<ProducerConfig>]>)('createProducer(%j) accepts the levels Kafka accepts', (config) => {
    const p = make(config)();
    expect(internals(p).config.compression).toBe(config.compression);
    expect(internals(p).config.compressionLevel).toBe(config.compressionLevel);
  });

  test('a bad codec, level or gzip implementation given to toKafka() fails with a ConfigError before anything is sent', async () => {
    const p = createProducer({ brokers: ['127.0.0.1:1'], maxBlockMs: 1000 });
    const topic = 'never-created';
    for (const options of [{ compression: 'brotli' as CompressionName }, { compression: 'zstd' as const, level: 99 }, { compression: 'gzip' as const, gzipImpl: 'pak0' as 'pako' }]) {
      const error = await lastValueFrom(from([{ topic, value: 'x' }]).pipe(toKafka(p, options))).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
    }
    await p.close();
  });
});

// ----- 10k records of mixed sizes, per codec -----

/** Deterministic content, so a failure reproduces with the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
type Fill = 'random' | 'text' | 'run' | 'mixed';

/**
 * `n` ASCII characters. 'random' is base64 noise that LZ4 and snappy cannot shrink (their raw and
 * literal paths), 'text' repeats phrases (ordinary matches), 'run' is one character repeated
 * (matches running up to every block's end), 'mixed' alternates noise and phrases.
 */
function fill(kind: Fill, n: number, next: () => number): string {
  const random = (len: number) => {
    let s = '';
    for (let i = 0; i < len; i++) s += B64[next() & 63];
    return s;
  };
  const text = (len: number, k: number) => {
    let s = '';
    while (s.length < len) s += `order ${k++ % 97} shipped to warehouse ${k % 7}; `;
    return s.slice(0, len);
  };
  switch (kind) {
    case 'random':
      return random(n);
    case 'text':
      return text(n, next() % 1000);
    case 'run':
      return 'a'.repeat(n);
    case 'mixed': {
      const parts: string[] = [];
      for (let at = 0; at < n; at += 2048) parts.push(random(Math.min(700, n - at)), text(Math.max(0, Math.min(1348, n - at - 700)), at));
      return parts.join('');
    }
  }
}

const KIB = 1024;
const MIB = 1024 * KIB;
/**
 * The ~1 MiB values stay just under the defaults instead of raising them: 1 MiB - 1 KiB leaves
 * room in maxRequestSize (1 MiB) for the key, headers, record and batch overhead, and keeps a batch
 * of noise under the topic's max.message.bytes (1 MiB + 12) even where snappy (+~340 B per MiB)
 * or LZ4 (+~75 B) make it bigger.
 */
const BIG = MIB - KIB;
const BIG_RECORDS = new Map<number, Fill>([[2000, 'random'], [5000, 'run'], [8000, 'mixed']]);

interface Sent {
  key: string;
  value: string | null;
  headers: Array<[string, string | null]>;
  timestamp: number;
}

/** A JSON-ish text value of exactly `bytes` bytes (UTF-8), with non-ASCII text in front. */
function value(i: number, label: string, bytes: number, kind: Fill, next: () => number): string {
  const head = `{"seq":${i},"codec":"${label}","note":"naïve café ✓ 日本語","fill":"`;
  const room = bytes - Buffer.byteLength(head) - 2;
  return room < 0 ? head.slice(0, bytes) : `${head}${fill(kind, room, next)}"}`;
}

/**
 * Record i of a run: mostly ~100 B values, every 100th empty, every 500th null (a tombstone),
 * every 50th 10 KiB, and three of 1 MiB - 1 KiB. Keys are ASCII, Cyrillic or empty; headers
 * repeat a name, and carry null and empty values.
 */
function records(label: string, n: number, base: number): Sent[] {
  const next = prng(0x4b41464b ^ label.length);
  const kinds: Fill[] = ['random', 'text', 'run', 'mixed'];
  return Array.from({ length: n }, (_, i) => {
    let v: string | null;
    if (BIG_RECORDS.has(i)) v = value(i, label, BIG, BIG_RECORDS.get(i)!, next);
    else if (i % 500 === 250) v = null;
    else if (i % 100 === 0) v = '';
    else if (i % 50 === 7) v = value(i, label, 10 * KIB, kinds[(i / 50) % 4 | 0], next);
    else v = value(i, label, 100, 'random', next);
    const key = i % 1000 === 999 ? '' : i % 3 === 0 ? `клиент-${i % 777}` : `customer-${i % 1500}`;
    const headers: Array<[string, string | null]> = [['seq', String(i)], ['codec', label], ['dup', 'first'], ['dup', 'second'],
      ['trace', i % 3 === 0 ? null : `trace-${i}-ü`]];
    if (i % 7 === 0) headers.push(['empty', '']);
    return { key, value: v, headers, timestamp: base + i };
  });
}

const javaPartition = (key: string, partitions: number) => (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;

/**
 * Everything a reader got wrong, as one line per record: missing, duplicated or foreign records,
 * and any difference in partition, offset, timestamp, key, value or headers.
 */
function differences(reader: string, consumed: ConsumedRecord[], sent: Sent[], metas: Map<number, RecordMetadata<number>>): string[] {
  const problems: string[] = [];
  const seen = new Uint8Array(sent.length);
  const bytes = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8'));
  const same = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : a.equals(b));
  const show = (b: Buffer | null) => (b === null ? 'null' : `${b.length} bytes ${JSON.stringify(b.subarray(0, 40).toString())}`);
  for (const c of consumed) {
    const seq = Number(c.headers.find(([k]) => k === 'seq')?.[1]?.toString() ?? NaN);
    const s = sent[seq];
    if (!Number.isInteger(seq) || !s) {
      problems.push(`${reader}: a record nobody sent at ${c.partition}/${c.offset}`);
      continue;
    }
    if (seen[seq]++) problems.push(`${reader}: record ${seq} read twice`);
    const meta = metas.get(seq)!;
    const d: string[] = [];
    if (c.partition !== meta.partition) d.push(`partition ${c.partition}, acknowledged ${meta.partition}`);
    if (c.offset !== meta.offset) d.push(`offset ${c.offset}, acknowledged ${meta.offset}`);
    if (c.timestampType !== 'CreateTime' || c.timestamp !== s.timestamp) d.push(`timestamp ${c.timestampType} ${c.timestamp}, sent ${s.timestamp}`);
    if (!same(c.key, bytes(s.key))) d.push(`key ${show(c.key)}, sent ${show(bytes(s.key))}`);
    if (!same(c.value, bytes(s.value))) d.push(`value ${show(c.value)}, sent ${show(bytes(s.value))}`);
    const headersRead = c.headers.map(([k, v]) => [k, v === null ? null : v.toString('utf8')]);
    if (JSON.stringify(headersRead) !== JSON.stringify(s.headers)) d.push(`headers ${JSON.stringify(headersRead)}, sent ${JSON.stringify(s.headers)}`);
    if (d.length > 0) problems.push(`${reader}: record ${seq} at ${c.partition}/${c.offset}: ${d.join('; ')}`);
  }
  let missing = 0;
  for (let i = 0; i < sent.length; i++) if (!seen[i]) missing++;
  if (missing > 0) problems.push(`${reader}: ${missing} records never read`);
  return problems;
}

/** Sends `sent` with toKafka and returns each record's metadata by its index. */
async function produce(p: Producer, topic: string, sent: Sent[], options: CompressOptions = {}): Promise<Map<number, RecordMetadata<number>>> {
  const input = sent.map((s, i) => ({ topic, key: s.key, value: s.value, headers: s.headers, timestamp: s.timestamp, passthrough: i }));
  const metas = await lastValueFrom(from(input).pipe(toKafka(p, options), toArray()));
  const byIndex = new Map(metas.map((m) => [m.passthrough!, m]));
  expect(byIndex.size).toBe(sent.length);
  return byIndex;
}

/** Reads `topic` with ConsoleConsumer and kcat at once, and checks both against what was sent. */
async function readBack(topic: string, sent: Sent[], metas: Map<number, RecordMetadata<number>>): Promise<Set<string>> {
  const [java, kcat] = await Promise.all([
    consumeWithConsoleConsumer(topic, { maxRecords: sent.length, timeoutMs: 60_000 }),
    consumeWithKcat(topic, { expectedRecords: sent.length, timeoutMs: 120_000 }),
  ]);
  expect(java).toHaveLength(sent.length);
  const problems = [...differences('ConsoleConsumer', java, sent, metas), ...differences('kcat', kcat.records, sent, metas)];
  expect(problems.slice(0, 20)).toEqual([]);
  return kcat.codecs;
}

const N = 10_000;
const PARTITIONS = 4;

test.concurrent.each([
  { label: 'none', compression: 'none', impl: [] as string[] },
  { label: 'gzip', compression: 'gzip', impl: ['gzipZlib'] },
  { label: 'gzip-pako', compression: 'gzip', gzipImpl: 'pako', impl: ['gzipPako'] },
  { label: 'snappy', compression: 'snappy', impl: ['snappy'] },
  { label: 'lz4', compression: 'lz4', impl: ['lz4'] },
  { label: 'zstd', compression: 'zstd', impl: ['zstdZlib'] },
] as Array<{ label: string; compression: CompressionName; gzipImpl?: 'pako'; impl: string[] }>)('$label: 10k keyed records with headers, 0 B to 1 MiB: ConsoleConsumer and kcat read back every key, value, header, timestamp and partition', async ({ label, compression, gzipImpl, impl }) => {
  const topic = uniqueTopic(`codec-${label}`);
  await createTopic(topic, { partitions: PARTITIONS });
  const sent = records(label, N, Date.now() - 3_600_000);
  const metas = await produce(producer(), topic, sent, gzipImpl ? { compression, gzipImpl } : { compression });
  expect(usedImpls(label)).toEqual(impl);
  // Keyed records land where the Java client's partitioner puts them.
  const wrong = sent.filter((s, i) => metas.get(i)!.partition !== javaPartition(s.key, PARTITIONS));
  expect(wrong).toHaveLength(0);
  const codecs = await readBack(topic, sent, metas);
  // The broker kept our batches as they were (compression.type=producer), in our codec.
  expect([...codecs]).toEqual([compression]);
}, 180_000);

// ConsoleConsumer prints raw bytes between text separators, so the tests above use text; kcat's
// reader claims more, and this holds it to that: every byte value, in keys, values and headers.
test.concurrent('kcat reads binary keys, values and headers back byte for byte', async () => {
  const topic = uniqueTopic('binary');
  await createTopic(topic, { partitions: 2 });
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const next = prng(11);
  const sent = Array.from({ length: 200 }, (_, i) => ({
    key: Buffer.concat([Buffer.from([i % 256, 0, 0x22, 0x5c, 0x0a, 0xff]), every.subarray(i % 256)]),
    value: Buffer.concat([every, Buffer.from(Array.from({ length: i * 37 }, () => next() & 0xff))]),
    headers: [['seq', String(i)], ['bin', every.subarray(0, 1 + i)], ['nul', null]] as Array<[string, Buffer | null]>,
  }));
  const metas = await lastValueFrom(from(sent.map((s, i) => ({ topic, ...s, passthrough: i }))).pipe(toKafka(producer(), { compression: 'zstd' }), toArray()));
  const { records: read } = await consumeWithKcat(topic, { expectedRecords: sent.length });
  const bad = read.filter((c) => {
    const i = Number(c.headers[0][1]!.toString());
    const s = sent[i];
    const m = metas.find((x) => x.passthrough === i)!;
    return !(c.key!.equals(s.key) && c.value!.equals(s.value) && c.headers.length === 3 && c.headers[1][1]!.equals(s.headers[1][1]!)
      && c.headers[2][0] === 'nul' && c.headers[2][1] === null && c.partition === m.partition && c.offset === m.offset);
  });
  expect(bad.map((c) => `${c.partition}/${c.offset}`)).toEqual([]);
}, 120_000);

test.concurrent('a topic with compression.type=gzip recompresses lz4 batches, and both readers still read them right', async () => {
  const topic = uniqueTopic('recompress');
  await createTopic(topic, { partitions: 3, configs: { 'compression.type': 'gzip' } });
  const sent = records('lz4-to-gzip', 3000, Date.now() - 3_600_000);
  const metas = await produce(producer(), topic, sent, { compression: 'lz4' });
  expect(usedImpls('lz4-to-gzip')).toEqual(['lz4']);
  const codecs = await readBack(topic, sent, metas);
  expect([...codecs]).toEqual(['gzip']);
}, 180_000);

test.concurrent.each(['lz4', 'snappy'] as const)('%s batches spanning many blocks (256 KiB-1 MiB uncompressed) read back right', async (compression) => {
  const label = `blocks-${compression}`;
  const topic = uniqueTopic(label);
  await createTopic(topic, { partitions: 2 });
  // 10 KiB values of every fill in batches of up to 1 MiB: records straddle the 64 KiB LZ4 and
  // 32 KiB snappy block boundaries, and runs of one character put matches against them.
  const next = prng(7);
  const kinds: Fill[] = ['random', 'text', 'run', 'mixed'];
  const base = Date.now() - 3_600_000;
  const sent: Sent[] = Array.from({ length: 400 }, (_, i) => ({
    key: `k-${i % 40}`,
    value: value(i, label, 10 * KIB + (i % 13) * 97, kinds[i % 4], next),
    headers: [['seq', String(i)], ['codec', label]],
    timestamp: base + i,
  }));
  const metas = await produce(producer({ batchBytes: MIB - 4 * KIB, lingerMs: 200 }), topic, sent, { compression });
  const sizes = callsFor(label).map((c) => c.bytes);
  expect(usedImpls(label)).toEqual([compression]);
  // The largest batches hold several blocks, and some end in a partial one.
  expect(Math.max(...sizes)).toBeGreaterThan(4 * 64 * KIB);
  expect(sizes.some((s) => s > 64 * KIB && s % (64 * KIB) !== 0)).toBe(true);
  const codecs = await readBack(topic, sent, metas);
  expect([...codecs]).toEqual([compression]);
}, 120_000);

test.concurrent('codecs and levels mixed in one topic: each batch is compressed at its level and every batch reads back', async () => {
  const topic = uniqueTopic('levels');
  await createTopic(topic, { partitions: 3 });
  const base = Date.now() - 3_600_000;
  const runs: Array<{ label: string; config: Partial<ProducerConfig>; options: CompressOptions; impl: string; level: number | undefined }> = [
    // From the producer's settings, and from toKafka's options (which win).
    { label: 'zstd-19-config', config: { compression: 'zstd', compressionLevel: 19 }, options: {}, impl: 'zstdZlib', level: 19 },
    { label: 'zstd-neg5', config: {}, options: { compression: 'zstd', level: -5 }, impl: 'zstdZlib', level: -5 },
    { label: 'zstd-default', config: { compression: 'gzip', compressionLevel: 9 }, options: { compression: 'zstd' }, impl: 'zstdZlib', level: 3 },
    { label: 'gzip-1', config: {}, options: { compression: 'gzip', level: 1 }, impl: 'gzipZlib', level: 1 },
    { label: 'gzip-9-config', config: { compression: 'gzip', compressionLevel: 9 }, options: {}, impl: 'gzipZlib', level: 9 },
    { label: 'pako-1', config: {}, options: { compression: 'gzip', gzipImpl: 'pako', level: 1 }, impl: 'gzipPako', level: 1 },
    { label: 'lz4-17', config: {}, options: { compression: 'lz4', level: 17 }, impl: 'lz4', level: 17 },
    { label: 'snappy', config: { compression: 'snappy' }, options: {}, impl: 'snappy', level: undefined },
    { label: 'none', config: { compression: 'zstd' }, options: { compression: 'none' }, impl: 'none', level: undefined },
  ];
  const sent: Sent[] = [];
  const metas = new Map<number, RecordMetadata<number>>();
  for (const run of runs) {
    const mine = records(run.label, 300, base).map((s) => ({ ...s, headers: s.headers.map(([k, v]): [string, string | null] => [k, k === 'seq' ? String(Number(v) + sent.length) : v]) }));
    const first = sent.length;
    sent.push(...mine);
    const got = await produce(producer(run.config), topic, mine, run.options);
    for (const [i, m] of got) metas.set(i + first, m);
    const used = usedImpls(run.label);
    if (run.impl === 'none') expect(used).toEqual([]);
    else {
      expect(used).toEqual([run.impl]);
      expect(new Set(callsFor(run.label).map((c) => c.level))).toEqual(new Set([run.level]));
    }
  }
  await readBack(topic, sent, metas);
}, 180_000);

// ----- zstd and brokers older than Kafka 2.1 -----

/**
 * A stand-in for a broker that speaks Produce 0-6 only: zstd batches need Produce v7 (Kafka 2.1,
 * KIP-110), and no real broker that old is at hand. It answers Metadata with itself leading one
 * partition, InitProducerId with a producer id, and Produce by noting the codec of every batch it receives, refusing zstd with
 * UNSUPPORTED_COMPRESSION_TYPE as brokers do. ApiVersions: with `legacyApiVersions`, as a broker
 * whose ApiVersions stops below kafkarx's v4 (Kafka 2.4 to 3.8 stop at v3) answers it: in the v0
 * format, with UNSUPPORTED_VERSION and the range it does speak; otherwise at the version asked.
 */
async function oldBroker(legacyApiVersions = false): Promise<{ address: string; produced: Array<{ version: number; codecs: number[] }>; close(): Promise<void> }> {
  const produced: Array<{ version: number; codecs: number[] }> = [];
  const versions = [
    { apiKey: M.Produce.API_KEY, minVersion: 0, maxVersion: 6 },
    { apiKey: M.Metadata.API_KEY, minVersion: 0, maxVersion: 6 },
    { apiKey: M.InitProducerId.API_KEY, minVersion: 0, maxVersion: 1 },
    { apiKey: M.ApiVersions.API_KEY, minVersion: 0, maxVersion: legacyApiVersions ? 2 : 4 },
  ];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        socket.write(answer(frame));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const actualPort = (server.address() as { port: number }).port;

  function answer(frame: Buffer): Buffer {
    const r = new Reader(frame);
    const apiKey = r.int16('api key');
    const version = r.int16('api version');
    const correlationId = r.int32('correlation id');
    r.nullableString('client id');
    const w = new Writer();
    const size = w.reserve(4);
    w.int32(correlationId);
    if (apiKey === M.ApiVersions.API_KEY) {
      if (legacyApiVersions && version > 2) M.ApiVersions.encodeApiVersionsResponse(w, 0, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: versions });
      else M.ApiVersions.encodeApiVersionsResponse(w, version, { errorCode: 0, apiKeys: versions });
    } else if (apiKey === M.Metadata.API_KEY) {
      const request = M.Metadata.decodeMetadataRequest(r, version);
      M.Metadata.encodeMetadataResponse(w, version, {
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: actualPort }],
        controllerId: 1,
        clusterId: 'old-broker',
        topics: (request.topics ?? []).map((t) => ({
          errorCode: 0, name: t.name, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1] }],
        })),
      });
    } else if (apiKey === M.InitProducerId.API_KEY) {
      // For an idempotent producer (the default); the stand-in does not check sequences.
      M.InitProducerId.encodeInitProducerIdResponse(w, version, { throttleTimeMs: 0, errorCode: 0, producerId: 4000n, producerEpoch: 0 });
    } else if (apiKey === M.Produce.API_KEY) {
      const request = M.Produce.decodeProduceRequest(r, version);
      const codecs: number[] = [];
      M.Produce.encodeProduceResponse(w, version, {
        responses: request.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => {
            // Attributes, int16 at byte 21 of a v2 batch: the codec in bits 0-2.
            const codec = p.records!.readInt16BE(21) & 7;
            codecs.push(codec);
            return codec === 4
              ? { index: p.index, errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, baseOffset: -1n }
              : { index: p.index, errorCode: 0, baseOffset: BigInt(produced.length) };
          }),
        })),
      });
      produced.push({ version, codecs });
    } else {
      throw new Error(`the old-broker stand-in got api key ${apiKey}`);
    }
    const out = Buffer.from(w.subarray());
    out.writeInt32BE(out.length - 4, size);
    return out;
  }

  return {
    address: `127.0.0.1:${actualPort}`,
    produced,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('a broker that only speaks Produce < v7', () => {
  // Short limits: a producer that cannot reach the stand-in fails its record within seconds.
  const send = async (address: string, compression: CompressionName) => {
    const p = createProducer({ brokers: [address], compression, maxBlockMs: 3000, deliveryTimeoutMs: 5000, requestTimeoutMs: 2000, retryBackoffMs: 50 });
    try {
      return await lastValueFrom(from([{ topic: 'old', key: 'k', value: 'v' }]).pipe(toKafka(p, { errorMode: 'results' }), toArray()));
    } finally {
      await p.close();
    }
  };

  // Shows the stand-in works, so that the zstd test below fails for the reason it names.
  test('gets lz4 batches over Produce v6', async () => {
    const broker = await oldBroker();
    try {
      const results = await send(broker.address, 'lz4');
      expect(results.map((r) => r.ok)).toEqual([true]);
      expect(broker.produced).toEqual([{ version: 6, codecs: [3] }]);
    } finally {
      await broker.close();
    }
  }, 30_000);

  // As Java (ProduceRequest.Builder: UnsupportedCompressionTypeException), zstd is refused before
  // sending to a broker without Produce v7, rather than left to the broker's error.
  test('zstd fails with a clear error before any zstd batch is sent', async () => {
    const broker = await oldBroker();
    try {
      const results = await send(broker.address, 'zstd');
      expect(broker.produced.flatMap((p) => p.codecs)).not.toContain(4);
      expect(results).toHaveLength(1);
      const [result] = results;
      expect(result.ok).toBe(false);
      const error = (result as { error: Error }).error;
      expect(error).toBeInstanceOf(KafkaError);
      expect((error as KafkaError).code).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
      expect(error.message).toMatch(/zstd/i);
      expect(error.message).toMatch(/Produce/);
    } finally {
      await broker.close();
    }
  }, 30_000);

  // A broker that stops at ApiVersions v3 answers our v4 with UNSUPPORTED_VERSION in the v0
  // layout; the handshake must read it as v0 and ask again (as Java's ApiVersionsResponse.parse).
  test('gets lz4 batches when it answers ApiVersions v4 as Kafka 2.4-3.8 do', async () => {
    const broker = await oldBroker(true);
    try {
      const results = await send(broker.address, 'lz4');
      expect(results.map((r) => r.ok)).toEqual([true]);
      expect(broker.produced).toEqual([{ version: 6, codecs: [3] }]);
    } finally {
      await broker.close();
    }
  }, 30_000);
});
