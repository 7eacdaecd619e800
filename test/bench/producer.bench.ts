// Producer benchmark, end to end against a real broker: kafkarx vs KafkaJS 2.2.4.
//
//   npm run bench                      1M keyless 100-byte records, acks=1 and acks=all
//   npm run bench -- --codecs          + one row per compression codec on JSON order events
//   npm run bench -- --cpu-prof        + a profiled kafkarx run: top self-time functions
//
// Other flags: --records N, --repeat N, --codec-records N, --warmup-records N (0: none),
// --compression gzip,zstd (implies --codecs), --acks 1,all, --only kafkarx|kafkajs,
// --sources generator,range, --kafkajs-batch N, --kafkajs-inflight N,
// --kafkajs-partitioner default|round-robin, --kafkajs-nodelay, --keep-topics.
//
// Broker: KAFKA_BROKERS when set, else one started by startTestBroker in .kafka/bench and stopped
// at the end (also on an error or Ctrl-C).
//
// Every run is its own child process (this file with --child): process.cpuUsage() then counts one
// client alone — its event loop, the libuv pool threads that compress and the GC threads — and
// neither client inherits the other's heap, JIT state or GC debt. Runs are interleaved (round r
// runs every configuration once) so drift of the noisy 2-core machine spreads over all rows, and
// each row shows the median. The window starts once the client is connected and knows the topic's
// metadata, and ends when the last record is acknowledged; JIT warm-up is inside it for both.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import zlib from 'node:zlib';
import { startTestBroker, type TestBroker } from '../broker/broker.ts';
import { ensureKafkaJars } from '../broker/jars.ts';
import { runJavaToolAsync } from '../broker/java.ts';
import { projectRoot, workDir } from '../broker/paths.ts';
import { createTopic } from '../broker/reference.ts';
import { prng } from '../unit/codec/fixtures.ts';

type Client = 'kafkarx' | 'kafkajs';
type Source = 'generator' | 'range' | 'batches';
type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
type Values = 'bytes100' | 'json';

interface RunSpec {
  client: Client;
  source: Source;
  acks: 1 | -1;
  codec: Codec;
  values: Values;
  records: number;
  topic: string;
  bootstrap: string;
  kafkajs: KafkaJsTuning;
  /** kafkarx's `idempotent` setting; undefined: its default (on with acks=all, as Java ≥ 3.0). */
  idempotent?: boolean;
  /** kafkarx only: send the records in transactions of this many, one after another. */
  transactionSize?: number;
  /** Where the child writes its .cpuprofile; absent when not profiling. */
  profileDir?: string;
  /** The broker's process when it runs on this machine, to bill its CPU to the run too. */
  brokerPid?: number;
}

interface KafkaJsTuning {
  /** Messages per producer.send() call. */
  perSend: number;
  /** producer.send() calls in flight at once. */
  inFlight: number;
  partitioner: 'default' | 'round-robin';
  /** TCP_NODELAY on KafkaJS's sockets (through its socketFactory option); KafkaJS leaves Nagle on. */
  noDelay: boolean;
}

interface RunResult {
  records: number;
  valueBytes: number;
  wallMs: number;
  cpuUs: number;
  maxRssKb: number;
  /** CPU the broker process used in the window, µs; absent when the broker is not on this machine. */
  brokerCpuUs?: number;
  /** CPU the whole machine used in the window, µs: what neither client nor broker used is noise. */
  machineCpuUs?: number;
  /** The window on the process.hrtime clock (µs), to cut a CPU profile to it. */
  windowUs: [number, number];
  /** Why a row was left out (a codec plugin that does not load), instead of a result. */
  skipped?: string;
  /** Filled in by the parent: the run's topic, and what the broker stored for it. */
  topic?: string;
  storedBytes?: number;
}

const CODECS: readonly Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const SELF = join(projectRoot(), 'test', 'bench', 'producer.bench.ts');

// ---------------------------------------------------------------------------------------------
// Values, prepared before the window: the JSON events are seeded, so both clients send the same
// bytes; the 100-byte values are random (incompressible), which only the `none` rows use.

/** Distinct values cycled through, so a codec never sees the same record twice within a batch. */
const POOL = 4096;

function valuePool(kind: Values): Buffer[] {
  if (kind === 'bytes100') {
    const all = cryptoRandomBytes(100 * POOL);
    return Array.from({ length: POOL }, (_, i) => all.subarray(i * 100, (i + 1) * 100));
  }
  return orderEventValues(POOL);
}

const STATUSES = ['created', 'paid', 'packed', 'shipped', 'delivered', 'cancelled'];
const CITIES = ['Berlin', 'Lyon', 'Porto', 'Gdansk', 'Utrecht', 'Bologna', 'Tartu', 'Graz', 'Cork', 'Brno'];
const CHANNELS = ['web', 'ios', 'android', 'store'];

/** Order events as a shop would publish them: 150-300 bytes of JSON, field names repeating. */
function orderEventValues(count: number): Buffer[] {
  const random = prng(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  return Array.from({ length: count }, (_, i) => {
    const lines = 1 + Math.floor(random() * 3);
    return Buffer.from(JSON.stringify({
      type: 'order.' + pick(STATUSES),
      orderId: `ord-${(48_000_000 + i * 13 + Math.floor(random() * 11)).toString(36)}`,
      customerId: `cus-${Math.floor(random() * 250_000)}`,
      at: new Date(Date.UTC(2025, 5, 1) + i * 731 + Math.floor(random() * 700)).toISOString(),
      channel: pick(CHANNELS),
      city: pick(CITIES),
      currency: 'EUR',
      items: Array.from({ length: lines }, () => ({ sku: `SKU-${10_000 + Math.floor(random() * 9000)}`, qty: 1 + Math.floor(random() * 3), price: Math.round(random() * 15_000) / 100 })),
    }));
  });
}

// ---------------------------------------------------------------------------------------------
// The child: one client, one run; prints `RESULT <json>` on stdout.

async function child(spec: RunSpec): Promise<void> {
  const values = valuePool(spec.values);
  const valueBytes = sumValueBytes(values, spec.records);
  const run = spec.client === 'kafkarx' ? runKafkarx : runKafkaJs;
  const result = await run(spec, values);
  process.stdout.write(`RESULT ${JSON.stringify({ ...result, valueBytes })}\n`);
}

function sumValueBytes(values: Buffer[], records: number): number {
  let total = 0;
  for (let i = 0; i < records; i++) total += values[i % POOL].length;
  return total;
}

type Measured = Omit<RunResult, 'valueBytes'>;
type Skipped = Pick<RunResult, 'skipped'>;

/** Runs `body` in the measured window: wall time, CPU of this whole process, peak RSS. */
async function measure(records: number, brokerPid: number | undefined, body: () => Promise<number>): Promise<Measured> {
  // Collect what setup left behind, so that GC is not billed to the run.
  (globalThis as { gc?: () => void }).gc?.();
  const broker0 = processCpuUs(brokerPid);
  const machine0 = machineCpuUs();
  const cpu0 = process.cpuUsage();
  const hr0 = process.hrtime.bigint();
  const t0 = performance.now();
  const acked = await body();
  const wallMs = performance.now() - t0;
  const hr1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  const broker1 = processCpuUs(brokerPid);
  const machine1 = machineCpuUs();
  if (acked !== records) throw new Error(`${acked} of ${records} records were acknowledged`);
  return {
    records, wallMs, cpuUs: cpu.user + cpu.system, maxRssKb: process.resourceUsage().maxRSS,
    brokerCpuUs: broker0 !== undefined && broker1 !== undefined ? broker1 - broker0 : undefined,
    machineCpuUs: machine0 !== undefined && machine1 !== undefined ? machine1 - machine0 : undefined,
    windowUs: [Number(hr0 / 1000n), Number(hr1 / 1000n)],
  };
}

/** User + system CPU of a process from /proc/<pid>/stat (Linux), µs. */
function processCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces; utime and stime
    // are fields 14 and 15, in clock ticks (100 per second on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** Busy CPU of the whole machine since boot from /proc/stat (Linux), µs. */
function machineCpuUs(): number | undefined {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) * 10_000;
  } catch {
    return undefined;
  }
}

/**
 * The JVM listening on 127.0.0.1:<port>, found through /proc/net/tcp{,6} and the socket inodes in
 * /proc/<pid>/fd; undefined when it is not on this machine or not visible to us.
 */
function listenerPid(address: string): number | undefined {
  const m = /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(address.split(',')[0].trim());
  if (!m) return undefined;
  const port = Number(m[1]).toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is field 10.
      if (f.length > 9 && f[1].endsWith(`:${port}`) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${entry}/fd/${fd}`);
        // Only a JVM counts: behind a Docker port the listener is docker-proxy, not the broker.
        if (link.startsWith('socket:[') && inodes.has(link.slice(8, -1))) return readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'java' ? Number(entry) : undefined;
      } catch {
        // The descriptor closed meanwhile.
      }
    }
  }
  return undefined;
}

async function runKafkarx(spec: RunSpec, values: Buffer[]): Promise<Measured | Skipped> {
  const { createProducer } = await import('../../src/index.ts');
  const { toKafka, fromPullSource } = await import('../../operators/index.ts');
  const { concatMap, count, lastValueFrom, map, of, range } = await import('rxjs');
  const { topic, records } = spec;
  // Defaults everywhere else (batchBytes 16 KiB, linger 5 ms, 5 in flight, 32 MiB buffer, idempotent
  // unless acks=1 turns it off): what a user gets.
  const producer = createProducer({
    brokers: [spec.bootstrap], clientId: 'kafkarx-bench', acks: spec.acks, compression: spec.codec,
    ...(spec.idempotent === undefined ? {} : { idempotent: spec.idempotent }),
    ...(spec.transactionSize ? { transactionalId: `kafkarx-bench-${process.pid}` } : {}),
    // range() cannot wait for room: its records may hold 2 × bufferMemory, then are refused (README).
    ...(spec.source === 'range' ? { bufferMemory: 64 * 1024 * 1024 } : {}),
  });
  try {
    if (spec.transactionSize) {
      const size = spec.transactionSize;
      await lastValueFrom(producer.transaction((tx) => of({ topic, value: values[0] }).pipe(tx.send())));
      return await measure(records, spec.brokerPid, () => lastValueFrom(range(0, Math.ceil(records / size)).pipe(
        concatMap((t) => producer.transaction((tx) => fromPullSource(recordsOf(topic, values, Math.min(size, records - t * size)), producer).pipe(tx.send()))),
        count(),
      )));
    }
    await lastValueFrom(of({ topic, value: values[0] }).pipe(toKafka(producer)));
    return await measure(records, spec.brokerPid, () => new Promise<number>((resolve, reject) => {
      const source = spec.source === 'generator'
        ? fromPullSource(recordsOf(topic, values, records), producer)
        : range(0, records).pipe(map((i) => ({ topic, value: values[i % POOL] })));
      let acked = 0;
      source.pipe(toKafka(producer)).subscribe({ next: () => acked++, error: reject, complete: () => resolve(acked) });
    }));
  } finally {
    await producer.close();
  }
}

function* recordsOf(topic: string, values: Buffer[], records: number): Generator<{ topic: string; value: Buffer }> {
  for (let i = 0; i < records; i++) yield { topic, value: values[i % POOL] };
}

// KafkaJS ships gzip only; the others are plugins installed as devDependencies where they work on
// Node 24 (see the README's benchmark section). A missing plugin skips its row rather than failing.
async function kafkaJsCodec(codec: Codec): Promise<{ type: number; install?: () => unknown } | string> {
  const { CompressionTypes } = (await import('kafkajs')).default;
  const plugin = async (name: string): Promise<unknown> => {
    // A name held in a variable: these packages may be absent, and the type checker must not insist.
    const module = (await import(name)) as { default: unknown };
    return module.default;
  };
  switch (codec) {
    case 'none': return { type: CompressionTypes.None };
    case 'gzip': return { type: CompressionTypes.GZIP };
    case 'snappy':
      try {
        return { type: CompressionTypes.Snappy, install: await plugin('kafkajs-snappy') as () => unknown };
      } catch (e) {
        return `kafkajs-snappy does not load: ${(e as Error).message.split('\n')[0]}`;
      }
    case 'lz4':
      try {
        const LZ4 = await plugin('kafkajs-lz4') as new () => { codec: () => unknown };
        return { type: CompressionTypes.LZ4, install: new LZ4().codec };
      } catch (e) {
        return `kafkajs-lz4 does not load: ${(e as Error).message.split('\n')[0]}`;
      }
    case 'zstd': {
      // @kafkajs/zstd needs the native cppzst, which does not compile for Node 24; Node 24's own
      // node:zlib has zstd, so a codec over it stands in: the best a KafkaJS user can do today.
      const compress = promisify(zlib.zstdCompress);
      const decompress = promisify(zlib.zstdDecompress);
      return { type: CompressionTypes.ZSTD, install: () => ({ compress: (encoder: { buffer: Buffer }) => compress(encoder.buffer), decompress: (b: Buffer) => decompress(b) }) };
    }
  }
}

async function runKafkaJs(spec: RunSpec, values: Buffer[]): Promise<Measured | Skipped> {
  const { Kafka, logLevel, CompressionCodecs, Partitioners } = (await import('kafkajs')).default;
  const codec = await kafkaJsCodec(spec.codec);
  if (typeof codec === 'string') return { skipped: codec };
  if (codec.install) (CompressionCodecs as Record<number, unknown>)[codec.type] = codec.install;
  const { topic, records } = spec;
  const { perSend, inFlight } = spec.kafkajs;
  const kafka = new Kafka({
    clientId: 'kafkajs-bench', brokers: [spec.bootstrap], logLevel: logLevel.ERROR,
    ...(spec.kafkajs.noDelay ? { socketFactory: noDelaySocket } : {}),
  });
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: false,
    createPartitioner: spec.kafkajs.partitioner === 'round-robin' ? roundRobin : Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ value: values[0] }], acks: spec.acks, compression: codec.type });
    return await measure(records, spec.brokerPid, async () => {
      let next = 0;
      let acked = 0;
      // Each lane builds its next array only when its previous send is answered, as an
      // application that batches its own records would; `inFlight` lanes keep that many sends going.
      const lane = async (): Promise<void> => {
        while (next < records) {
          const from = next;
          const to = Math.min(records, from + perSend);
          next = to;
          const messages = new Array<{ value: Buffer }>(to - from);
          for (let i = from; i < to; i++) messages[i - from] = { value: values[i % POOL] };
          await producer.send({ topic, messages, acks: spec.acks, compression: codec.type });
          acked += to - from;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      return acked;
    });
  } finally {
    await producer.disconnect();
  }
}

/** A plain TCP socket as KafkaJS makes one (keep-alive on), with Nagle's algorithm off. */
function noDelaySocket({ host, port, onConnect }: { host: string; port: number; onConnect: () => void }): Socket {
  const socket = connect({ host, port }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
}

/**
 * KafkaJS's DefaultPartitioner filters the partition list for every keyless message; this one
 * only counts. A partitioner is a KafkaJS setting, so it is fair game for KafkaJS's best result.
 */
function roundRobin(): (args: { partitionMetadata: Array<{ partitionId: number }> }) => number {
  let counter = 0;
  return ({ partitionMetadata }) => partitionMetadata[counter++ % partitionMetadata.length].partitionId;
}

// ---------------------------------------------------------------------------------------------
// The parent: broker, topics, runs, tables.

interface Row {
  key: string;
  client: Client;
  source: Source;
  acks: 1 | -1;
  idempotent?: boolean;
  transactionSize?: number;
  codec: Codec;
  values: Values;
  records: number;
  results: RunResult[];
  skipped?: string;
}

interface Options {
  records: number;
  codecRecords: number;
  warmupRecords: number;
  repeat: number;
  codecs: Codec[];
  acks: Array<1 | -1>;
  clients: Client[];
  sources: Source[];
  kafkajs: KafkaJsTuning;
  cpuProf: boolean;
  keepTopics: boolean;
}

function options(): Options {
  const { values: v } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000' },
      'codec-records': { type: 'string', default: '500000' },
      'warmup-records': { type: 'string', default: '500000' },
      repeat: { type: 'string', default: '3' },
      codecs: { type: 'boolean', default: false },
      compression: { type: 'string' },
      acks: { type: 'string', default: '1,all' },
      only: { type: 'string' },
      sources: { type: 'string', default: 'generator,range' },
      'kafkajs-batch': { type: 'string', default: '2000' },
      'kafkajs-inflight': { type: 'string', default: '2' },
      'kafkajs-partitioner': { type: 'string', default: 'default' },
      'kafkajs-nodelay': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'keep-topics': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const int = (name: string, s: string): number => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${s}`);
    return n;
  };
  const list = <T extends string>(name: string, s: string, allowed: readonly T[]): T[] => s.split(',').map((x) => {
    if (!allowed.includes(x.trim() as T)) throw new Error(`--${name}: ${x} is not one of ${allowed.join(', ')}`);
    return x.trim() as T;
  });
  const codecs = v.compression !== undefined ? list('compression', v.compression, CODECS) : v.codecs ? [...CODECS] : [];
  const partitioner = list('kafkajs-partitioner', v['kafkajs-partitioner']!, ['default', 'round-robin'] as const)[0];
  return {
    records: int('records', v.records!),
    codecRecords: int('codec-records', v['codec-records']!),
    warmupRecords: v['warmup-records'] === '0' ? 0 : int('warmup-records', v['warmup-records']!),
    repeat: int('repeat', v.repeat!),
    codecs,
    acks: list('acks', v.acks!, ['1', 'all', '-1'] as const).map((a) => (a === '1' ? 1 : -1)),
    clients: v.only ? list('only', v.only, ['kafkarx', 'kafkajs'] as const) : ['kafkarx', 'kafkajs'],
    sources: list('sources', v.sources!, ['generator', 'range'] as const),
    kafkajs: { perSend: int('kafkajs-batch', v['kafkajs-batch']!), inFlight: int('kafkajs-inflight', v['kafkajs-inflight']!), partitioner, noDelay: v['kafkajs-nodelay']! },
    cpuProf: v['cpu-prof']!,
    keepTopics: v['keep-topics']!,
  };
}

function plan(o: Options): Row[] {
  const rows: Row[] = [];
  const add = (client: Client, source: Source, acks: 1 | -1, codec: Codec, values: Values, records: number, idempotent?: boolean) =>
    rows.push({ key: `${client}/${source}/${acks}${idempotent === false ? '/no-idem' : ''}/${codec}/${values}`, client, source, acks, idempotent, codec, values, records, results: [] });
  for (const acks of o.acks) {
    if (o.clients.includes('kafkarx')) {
      for (const s of o.sources) add('kafkarx', s, acks, 'none', 'bytes100', o.records);
      // kafkarx is idempotent by default at acks=all and KafkaJS runs without: a row of like for like.
      if (acks === -1) add('kafkarx', o.sources[0], acks, 'none', 'bytes100', o.records, false);
      // The cost of transactions: the same records in transactions of 100k (10 commits per 1M).
      if (acks === -1) {
        add('kafkarx', 'generator', acks, 'none', 'bytes100', o.records);
        const row = rows[rows.length - 1];
        row.transactionSize = Math.min(100_000, o.records);
        row.key += '/txn';
      }
    }
    if (o.clients.includes('kafkajs')) add('kafkajs', 'batches', acks, 'none', 'bytes100', o.records);
  }
  // Codec rows at acks=1 with the generator source: what changes between them is the codec alone.
  for (const codec of o.codecs) {
    if (o.clients.includes('kafkarx')) add('kafkarx', 'generator', 1, codec, 'json', o.codecRecords);
    if (o.clients.includes('kafkajs')) add('kafkajs', 'batches', 1, codec, 'json', o.codecRecords);
  }
  return rows;
}

let current: ChildProcess | undefined;

/** Runs one child; resolves with its result line. */
function runChild(spec: RunSpec, timeoutMs: number): Promise<RunResult> {
  // KafkaJS 2.2.4 sets negative timeouts, which Node 24 warns about on every run.
  const nodeArgs = ['--expose-gc', '--disable-warning=TimeoutNegativeWarning', ...process.execArgv.filter((a) => !a.startsWith('--cpu-prof'))];
  if (spec.profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${spec.profileDir}`, '--cpu-prof-interval=250');
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...nodeArgs, SELF, '--child', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    current = c;
    let out = '';
    c.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', reject);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)) as RunResult);
      else reject(new Error(`${spec.client} run on ${spec.topic} failed (${signal ?? `exit ${code}`})${out ? `:\n${out.slice(-2000)}` : ''}`));
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const acksName = (a: 1 | -1) => (a === 1 ? '1' : 'all');

interface Summary { recPerSec: number; mbPerSec: number; wallS: number; cpuS: number; usPerRec: number; cores: number; rssMb: number; storedMb: number; storedRatio: number; brokerCpuS: number; otherCpuS: number }

/** CPU that neither the client nor the broker used in a run's window: other work on the machine. */
const otherCpuS = (x: RunResult): number =>
  x.machineCpuUs === undefined || x.brokerCpuUs === undefined ? NaN : Math.max(0, x.machineCpuUs - x.cpuUs - x.brokerCpuUs) / 1e6;

function summarize(r: Row): Summary {
  const m = (f: (x: RunResult) => number) => median(r.results.map(f));
  return {
    recPerSec: m((x) => x.records / (x.wallMs / 1000)),
    mbPerSec: m((x) => x.valueBytes / 1e6 / (x.wallMs / 1000)),
    wallS: m((x) => x.wallMs / 1000),
    cpuS: m((x) => x.cpuUs / 1e6),
    usPerRec: m((x) => x.cpuUs / x.records),
    cores: m((x) => x.cpuUs / 1000 / x.wallMs),
    rssMb: m((x) => x.maxRssKb / 1024),
    storedMb: m((x) => (x.storedBytes ?? NaN) / 1e6),
    storedRatio: m((x) => (x.storedBytes ?? NaN) / x.valueBytes),
    brokerCpuS: m((x) => (x.brokerCpuUs ?? NaN) / 1e6),
    otherCpuS: m(otherCpuS),
  };
}

/** kafkarx's idempotence, where it differs from KafkaJS's (off): by default at acks=all. */
const idemNote = (r: Row): string => (r.client === 'kafkarx' && r.acks === -1
  ? (r.transactionSize ? ` transactions of ${fmt(r.transactionSize)}` : r.idempotent === false ? ' idem off' : ' idempotent')
  : '');

function report(rows: Row[], o: Options): void {
  const label = (r: Row) => `${r.client} ${r.client === 'kafkajs' ? `send×${o.kafkajs.perSend}` : r.source}${idemNote(r)}`;
  const mainRows = rows.filter((r) => r.values === 'bytes100');
  const header = ['client / source', 'acks', 'records/s', 'MB/s', 'wall s', 'CPU s', 'µs CPU/rec', 'cores', 'broker CPU s', 'other CPU s', 'max RSS MB', 'stored MB', 'stored/value', 'records/s per run'];
  const line = (r: Row, first: string): string[] => {
    if (r.skipped || r.results.length === 0) return [first, acksName(r.acks), ...header.slice(2, -1).map(() => '—'), r.skipped ? 'left out (below)' : 'no result'];
    const s = summarize(r);
    const maybe = (n: number, digits: number) => (Number.isNaN(n) ? '?' : fmt(n, digits));
    return [first, acksName(r.acks), fmt(s.recPerSec), fmt(s.mbPerSec, 1), fmt(s.wallS, 2), fmt(s.cpuS, 2), fmt(s.usPerRec, 3), fmt(s.cores, 2), maybe(s.brokerCpuS, 2), maybe(s.otherCpuS, 2), fmt(s.rssMb),
      maybe(s.storedMb, 1), maybe(s.storedRatio, 2), r.results.map((x) => fmt(x.records / (x.wallMs / 1000))).join(' ')];
  };
  if (mainRows.length) {
    table(`${fmt(o.records)} keyless records of 100 random bytes, 6 partitions, no compression (median of ${o.repeat})`, header, mainRows.map((r) => line(r, label(r))));
  }
  const codecRows = rows.filter((r) => r.values === 'json');
  if (codecRows.length) {
    table(`${fmt(o.codecRecords)} keyless JSON order events (${jsonSizes}), 6 partitions, acks=1, by codec (median of ${o.repeat})`,
      ['client / codec', ...header.slice(1)], codecRows.map((r) => line(r, `${r.client} ${r.codec}`)));
  }
  for (const r of rows.filter((x) => x.skipped)) console.log(`left out: ${r.client} ${r.codec}: ${r.skipped}`);
  console.log('\nrecords/s and MB/s (value bytes, 1 MB = 10^6 B): from the first record handed over to the last acknowledged. CPU s: user + system of the\n' +
    'client process (all its threads) in that window; cores = CPU s / wall s; broker CPU s: the broker process in the same window (when local);\n' +
    'other CPU s: the rest of the machine in that window (other work: noise; the machine has ' + cpus().length + ' cores).\n' +
    'stored MB: what the broker keeps for the topic (record batches with their headers); stored/value: that over the value bytes.');
  // kafkarx / KafkaJS for every kafkarx row that has a KafkaJS row with the same acks, codec and values.
  const ratios: string[][] = [];
  for (const r of rows.filter((x) => x.client === 'kafkarx' && x.results.length)) {
    const js = rows.find((x) => x.client === 'kafkajs' && x.acks === r.acks && x.codec === r.codec && x.values === r.values && x.results.length);
    if (!js) continue;
    const a = summarize(r);
    const b = summarize(js);
    ratios.push([`${r.values === 'json' ? r.codec : r.source}${idemNote(r)}`, acksName(r.acks), r.values === 'json' ? 'JSON' : '100 B',
      `${fmt(a.recPerSec / b.recPerSec, 2)}×`, `${fmt(a.usPerRec / b.usPerRec, 2)}×`, fmt(a.usPerRec, 3), fmt(b.usPerRec, 3)]);
  }
  if (ratios.length) {
    table('kafkarx / KafkaJS (records/s: higher is better for kafkarx; CPU per record: lower is better for kafkarx)',
      ['kafkarx source / codec', 'acks', 'values', 'records/s ratio', 'CPU/rec ratio', 'kafkarx µs/rec', 'KafkaJS µs/rec'], ratios);
  }
  const budget = mainRows.filter((r) => r.client === 'kafkarx' && r.results.length).map((r) => `${r.source} acks=${acksName(r.acks)}${idemNote(r)}: ${fmt(summarize(r).usPerRec, 3)} µs`);
  if (budget.length) console.log(`\nkafkarx client CPU per record (budget < 0.5 µs): ${budget.join(', ')}`);
}

/** Sizes of the JSON values, for the codec table's title. */
let jsonSizes = '';

// ---------------------------------------------------------------------------------------------
// CPU profile: self time per function inside the measured window.

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] }

function profileReport(file: string, windowUs: [number, number]): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const root = projectRoot();
  const self = new Map<string, number>();
  const groups = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  // The profile's clock is the monotonic one process.hrtime reads; when the window does not fall
  // inside the profile (another clock), the whole profile counts rather than nothing.
  const inWindow = windowUs[0] >= p.startTime && windowUs[0] < p.startTime + p.timeDeltas.reduce((a, b) => a + b, 0);
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    // A delta is the time since the previous sample, spent where the next sample landed.
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (inWindow && (t < windowUs[0] || t > windowUs[1])) continue;
    const n = byId.get(p.samples[i])!;
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url.startsWith('file://') ? relative(root, decodeURI(url.slice(7))) : url;
    const name = `${functionName || '(anonymous)'}  ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
    self.set(name, (self.get(name) ?? 0) + dt);
    groups.set(group(where, functionName), (groups.get(group(where, functionName)) ?? 0) + dt);
    total += dt;
  }
  const pct = (us: number) => `${fmt((100 * us) / total, 1)} %`;
  const ms = (us: number) => fmt(us / 1000);
  console.log(`\nCPU profile of one kafkarx run (generator, acks=1, no compression): ${relative(root, file)}` +
    `\n${inWindow ? 'measured window only' : 'whole process (the window could not be located)'}: ${ms(total)} ms of samples`);
  table('Self time by origin', ['origin', 'ms', 'share'], [...groups].sort((a, b) => b[1] - a[1]).map(([g, us]) => [g, ms(us), pct(us)]));
  const ours = [...self].filter(([k]) => / (src|operators)\//.test(k)).sort((a, b) => b[1] - a[1]).slice(0, 25);
  table('Top self time in kafkarx (src/, operators/)', ['function  file:line', 'ms', 'share'], ours.map(([k, us]) => [k, ms(us), pct(us)]));
  const all = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  table('Top self time overall', ['function  file:line', 'ms', 'share'], all.map(([k, us]) => [k, ms(us), pct(us)]));
}

function group(where: string, fn: string): string {
  if (where.startsWith('src/')) return 'kafkarx src/';
  if (where.startsWith('operators/')) return 'kafkarx operators/';
  if (where.startsWith('test/')) return 'benchmark (test/bench)';
  if (where.includes('node_modules/rxjs/')) return 'rxjs';
  if (where.includes('node_modules/')) return 'other node_modules';
  if (where.startsWith('node:')) return 'Node.js (node:*)';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)' || fn === '(idle)' || fn === '(root)') return fn;
  return where ? 'other' : 'native / V8 builtins';
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = options();
  const rows = plan(o);
  const events = orderEventValues(POOL).map((b) => b.length);
  jsonSizes = `${fmt(events.reduce((a, b) => a + b, 0) / POOL)} bytes on average, ${Math.min(...events)}-${Math.max(...events)}`;
  const benchDir = join(workDir(), 'bench');
  let broker: TestBroker | undefined;
  let interrupted = false;
  let stopped: Promise<void> | undefined;
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  let topicsMade = false;
  // One stop for every path (the end, an error, a signal), each of which waits for the broker.
  const stop = (): Promise<void> => (stopped ??= (async () => {
    current?.kill('SIGKILL');
    if (broker?.kind === 'external' && topicsMade && !o.keepTopics) {
      // Someone else's cluster: take away the 100+ MB topics of this run, with one TopicCommand
      // (a regular expression) at the end, so no deletion competes with a measured run.
      await runJavaToolAsync(ensureKafkaJars().tools, 'org.apache.kafka.tools.TopicCommand',
        ['--bootstrap-server', broker.bootstrap, '--delete', '--topic', `kafkarx-bench-${runId}-.*`]).catch((e: Error) =>
        console.error(`kafkarx bench: could not delete the bench topics: ${e.message.split('\n')[0]}`));
    }
    if (broker && broker.kind !== 'external') {
      console.error(`kafkarx bench: stopping the ${broker.kind} broker at ${broker.bootstrap}`);
      await broker.stop();
      // 100+ MB per run: free the disk; the broker's log stays in .kafka/bench/logs.
      if (broker.kind === 'jvm') rmSync(join(benchDir, 'data'), { recursive: true, force: true });
    }
  })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      interrupted = true;
      console.error(`\nkafkarx bench: ${signal}, stopping`);
      // A broker still starting has no handle yet: its watchdog (stopWithPid) ends it once we exit.
      void stop().finally(() => process.exit(130));
    });
  }
  try {
    const started = performance.now();
    broker = await startTestBroker({ dir: benchDir, stopWithPid: process.pid, log: (l) => console.error(l) });
    // createTopic (Kafka's TopicCommand) reads the bootstrap address from KAFKA_BROKERS.
    process.env.KAFKA_BROKERS = broker.bootstrap;
    const brokerPid = listenerPid(broker.bootstrap);
    const kafkajsVersion = JSON.parse(readFileSync(join(projectRoot(), 'node_modules', 'kafkajs', 'package.json'), 'utf8')).version as string;
    console.log(`kafkarx producer benchmark — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, KafkaJS ${kafkajsVersion}`);
    console.log(`broker: ${broker.bootstrap} (${broker.kind === 'external' ? 'KAFKA_BROKERS' : broker.kind}${brokerPid ? `, pid ${brokerPid} on this machine: its CPU is measured too` : ''}); ` +
      `${rows.length} configurations × ${o.repeat} runs, interleaved, one child process per run`);
    console.log(`kafkarx: createProducer defaults (batchBytes 16384, lingerMs 5, maxInFlight 5, bufferMemory 32 MiB, idempotent at acks=all); sources: ` +
      `generator = fromPullSource(function*, producer), range = range(0, n).pipe(map(...)); both .pipe(toKafka(producer))`);
    console.log(`KafkaJS: producer.send() of ${o.kafkajs.perSend} messages, ${o.kafkajs.inFlight} sends in flight, ${o.kafkajs.partitioner} partitioner, ` +
      `Nagle ${o.kafkajs.noDelay ? 'off (TCP_NODELAY through socketFactory)' : 'on (its default)'}, ` +
      `idempotent false, allowAutoTopicCreation false, no compression unless the row says`);

    let seq = 0;
    const topicOf = () => {
      topicsMade = true;
      return `kafkarx-bench-${runId}-${seq++}`;
    };
    const spec = (r: Row, topic: string, profileDir?: string): RunSpec => ({
      client: r.client, source: r.source, acks: r.acks, idempotent: r.idempotent, transactionSize: r.transactionSize, codec: r.codec, values: r.values, records: r.records,
      topic, bootstrap: broker!.bootstrap, kafkajs: o.kafkajs, profileDir, brokerPid,
    });

    if (o.warmupRecords > 0) {
      // A broker just started runs its first requests in the JVM's interpreter: one unrecorded
      // run of each client first, so that round 1 does not pay for the broker's JIT.
      const clients = [...new Set(rows.map((r) => r.client))];
      const topics = clients.map(() => topicOf());
      await inParallel(topics, 2, (t) => createTopic(t, { partitions: 6 }));
      for (const [i, client] of clients.entries()) {
        const warm: Row = { key: 'warm-up', client, source: client === 'kafkarx' ? 'generator' : 'batches', acks: 1, codec: 'none', values: 'bytes100', records: o.warmupRecords, results: [] };
        const res = await runChild(spec(warm, topics[i]), 10 * 60_000);
        console.log(`  warm-up ${client.padEnd(42)} ${fmt(res.records / (res.wallMs / 1000)).padStart(9)} records/s (not counted)`);
      }
    }
    for (let round = 0; round < o.repeat; round++) {
      // A fresh topic per run; all of a round's topics are made before its runs, so no
      // TopicCommand JVM competes with a measured run for the 2 cores.
      const todo = rows.filter((r) => !r.skipped);
      const topics = todo.map(() => topicOf());
      await inParallel(topics, 2, (t) => createTopic(t, { partitions: 6 }));
      for (const [i, r] of todo.entries()) {
        const res = await runChild(spec(r, topics[i]), 10 * 60_000);
        if (res.skipped) {
          r.skipped = res.skipped;
          console.error(`  ${r.key}: skipped: ${res.skipped}`);
          continue;
        }
        r.results.push({ ...res, topic: topics[i] });
        console.log(`  round ${round + 1}/${o.repeat} ${r.key.padEnd(40)} ${fmt(res.records / (res.wallMs / 1000)).padStart(9)} records/s ` +
          `${fmt(res.valueBytes / 1e6 / (res.wallMs / 1000), 1).padStart(6)} MB/s  CPU ${fmt(res.cpuUs / 1e6, 2)} s = ${fmt(res.cpuUs / res.records, 3)} µs/record` +
          (res.brokerCpuUs !== undefined ? `  broker CPU ${fmt(res.brokerCpuUs / 1e6, 2)} s  other CPU ${fmt(otherCpuS(res), 2)} s` : ''));
      }
    }
    await addStoredBytes(rows, broker.bootstrap);
    report(rows, o);

    if (o.cpuProf) {
      const profileDir = join(benchDir, `profile-${runId}`);
      const topic = topicOf();
      await createTopic(topic, { partitions: 6 });
      const row: Row = { key: 'profile', client: 'kafkarx', source: 'generator', acks: 1, codec: 'none', values: 'bytes100', records: o.records, results: [] };
      const res = await runChild(spec(row, topic, profileDir), 10 * 60_000);
      console.log(`\nprofiled run (slowed by sampling): ${fmt(res.records / (res.wallMs / 1000))} records/s, ${fmt(res.cpuUs / res.records, 3)} µs CPU/record`);
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`no .cpuprofile in ${profileDir}`);
      profileReport(join(profileDir, file), res.windowUs);
    }
    console.log(`\ntotal time ${fmt((performance.now() - started) / 1000)} s`);
  } catch (e) {
    // The killed child's failure is not news after Ctrl-C; the signal handler exits once stopped.
    if (interrupted) await new Promise(() => {});
    throw e;
  } finally {
    await stop();
  }
}

/**
 * What the broker stored for each run's topic (Kafka's LogDirsCommand, once for all topics): the
 * batches as written, headers included, so it shows each client's batching and compression ratio.
 */
async function addStoredBytes(rows: Row[], bootstrap: string): Promise<void> {
  const runs = rows.flatMap((r) => r.results);
  if (runs.length === 0) return;
  try {
    const { stdout } = await runJavaToolAsync(ensureKafkaJars().tools, 'org.apache.kafka.tools.LogDirsCommand',
      ['--bootstrap-server', bootstrap, '--describe', '--topic-list', runs.map((r) => r.topic).join(',')]);
    const json = stdout.toString().split('\n').find((l) => l.startsWith('{'));
    if (!json) throw new Error('no JSON in its output');
    const described = JSON.parse(json) as { brokers: Array<{ logDirs: Array<{ partitions: Array<{ partition: string; size: number }> }> }> };
    const bytes = new Map<string, number>();
    for (const b of described.brokers) {
      for (const d of b.logDirs) {
        for (const p of d.partitions) {
          const topic = p.partition.slice(0, p.partition.lastIndexOf('-'));
          bytes.set(topic, (bytes.get(topic) ?? 0) + p.size);
        }
      }
    }
    for (const r of runs) r.storedBytes = bytes.get(r.topic!);
  } catch (e) {
    console.error(`kafkarx bench: could not read the topics' sizes: ${(e as Error).message.split('\n')[0]}`);
  }
}

async function inParallel<T>(items: T[], width: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await f(items[next++]);
  }));
}

if (process.argv[2] === '--child') {
  child(JSON.parse(process.argv[3]) as RunSpec).then(() => process.exit(0), (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  });
} else {
  main().then(() => process.exit(0), (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  });
}
