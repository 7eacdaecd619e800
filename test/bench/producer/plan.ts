// Flags, groups and the rows each group measures. A row is one configuration; rows shared by two
// groups (kafkarx's pull path is every group's reference) run once per round.
import { parseArgs } from 'node:util';
import type { Acks, Client, Codec, Mode, RunResult, Tuning, Values, Workload } from './types.ts';

export const GROUPS = ['peers', 'sources', 'cold', 'scale', 'keyed', 'sizes', 'codecs', 'txn', 'sweep'] as const;
export type Group = (typeof GROUPS)[number];
const CLIENTS: readonly Client[] = ['kafkarx', 'kafkajs', 'platformatic', 'java', 'kcat'];
const CODECS: readonly Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
/** librdkafka's default batch.size, for rows that give the other clients the same. */
const RDKAFKA_BATCH = 1_000_000;

export interface Options {
  groups: Group[];
  records: number;
  codecRecords: number;
  warmupRecords: number;
  repeat: number;
  acks: Acks[];
  clients: Client[];
  compression: Codec[];
  kafkajs: Tuning;
  platformatic: { mode: Mode; tuning: Tuning };
  outstanding: number;
  cpuProf: boolean;
}

export const USAGE = `npm run bench -- [--groups ${GROUPS.join(',')}] [--all]
  --groups     what to measure (default: peers); --all: every group but sweep
  --records N (1000000)  --repeat N (3)  --acks 1,all  --only ${CLIENTS.join(',')}
  --codec-records N (500000)  --compression lz4,zstd (codecs group)  --warmup-records N (500000, 0: none)
  --kafkajs-batch N (2000)  --kafkajs-inflight N (2)  --platformatic lanes|stream:perSend:inFlight (lanes:1000:4)
  --outstanding N (50000: kafkarx send() loop)  --cpu-prof (a profiled kafkarx run at the end)`;

export function options(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      groups: { type: 'string', default: 'peers' },
      all: { type: 'boolean', default: false },
      records: { type: 'string', default: '1000000' },
      'codec-records': { type: 'string', default: '500000' },
      'warmup-records': { type: 'string', default: '500000' },
      repeat: { type: 'string', default: '3' },
      acks: { type: 'string', default: '1,all' },
      only: { type: 'string' },
      compression: { type: 'string', default: 'lz4,zstd' },
      'kafkajs-batch': { type: 'string', default: '2000' },
      'kafkajs-inflight': { type: 'string', default: '2' },
      platformatic: { type: 'string', default: 'lanes:1000:4' },
      outstanding: { type: 'string', default: '50000' },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, s: string, min = 1): number => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}, got ${s}`);
    return n;
  };
  const list = <T extends string>(name: string, s: string, allowed: readonly T[]): T[] => s.split(',').map((x) => {
    if (!allowed.includes(x.trim() as T)) throw new Error(`--${name}: ${x} is not one of ${allowed.join(', ')}`);
    return x.trim() as T;
  });
  const [pMode, pPer, pIn] = v.platformatic!.split(':');
  if ((pMode !== 'lanes' && pMode !== 'stream') || pIn === undefined) throw new Error(`--platformatic: expected lanes|stream:perSend:inFlight, got ${v.platformatic}`);
  return {
    groups: v.all ? GROUPS.filter((g) => g !== 'sweep') : list('groups', v.groups!, GROUPS),
    records: int('records', v.records!),
    codecRecords: int('codec-records', v['codec-records']!),
    warmupRecords: int('warmup-records', v['warmup-records']!, 0),
    repeat: int('repeat', v.repeat!),
    acks: list('acks', v.acks!, ['1', 'all', '-1'] as const).map((a) => (a === '1' ? 1 : -1)),
    clients: v.only ? list('only', v.only, CLIENTS) : [...CLIENTS],
    compression: list('compression', v.compression!, CODECS),
    kafkajs: { perSend: int('kafkajs-batch', v['kafkajs-batch']!), inFlight: int('kafkajs-inflight', v['kafkajs-inflight']!) },
    platformatic: { mode: pMode, tuning: { perSend: int('platformatic', pPer), inFlight: int('platformatic', pIn) } },
    outstanding: int('outstanding', v.outstanding!),
    cpuProf: v['cpu-prof']!,
  };
}

export interface Row extends Workload {
  key: string;
  label: string;
  topicCount: number;
  partitions: number;
  tuning: Tuning;
  transactionSize?: number;
  results: RunResult[];
  skipped?: string;
}

/** A line of a group's table: a row, its name there, and the kafkarx row it is compared with. */
export interface Entry {
  row: Row;
  label: string;
  reference?: Row;
}

export interface GroupTable {
  group: Group;
  title: string;
  entries: Entry[];
}

type RowSpec = Partial<Omit<Row, 'key' | 'results'>> & Pick<Row, 'client' | 'acks'>;

export function plan(o: Options): { rows: Row[]; tables: GroupTable[] } {
  const byKey = new Map<string, Row>();
  const row = (s: RowSpec): Row | undefined => {
    if (!o.clients.includes(s.client)) return undefined;
    const r: Row = {
      label: s.client, mode: 'tool', codec: 'none', values: 'bytes100', keyed: false, records: o.records, topicCount: 1, partitions: 6,
      tuning: { perSend: 0, inFlight: 0 }, ...s, key: '', results: [],
    };
    if (r.client === 'kafkarx' && r.mode === 'tool') r.mode = 'pull';
    if (r.client === 'kafkajs') Object.assign(r, { mode: 'lanes', tuning: s.tuning ?? o.kafkajs });
    if (r.client === 'platformatic' && r.mode === 'tool') Object.assign(r, { mode: o.platformatic.mode, tuning: s.tuning ?? o.platformatic.tuning });
    if (r.client === 'kafkarx' && r.mode === 'send') r.tuning = { perSend: 1, inFlight: o.outstanding };
    r.key = [r.client, r.mode, r.acks, r.idempotent, r.codec, r.values, r.keyed, r.records, r.topicCount, r.partitions, r.tuning.perSend, r.tuning.inFlight, r.transactionSize, r.batchBytes].join('/');
    const existing = byKey.get(r.key);
    if (existing) return existing;
    byKey.set(r.key, r);
    return r;
  };
  const tables: GroupTable[] = [];
  const table = (group: Group, title: string, specs: RowSpec[], reference?: (r: Row) => RowSpec): void => {
    const entries: Entry[] = [];
    for (const s of specs) {
      const r = row(s);
      if (r) entries.push({ row: r, label: s.label ?? r.client, reference: undefined });
    }
    // The kafkarx row of the same acks: the table's first one unless the group names another.
    for (const e of entries) e.reference = reference ? row(reference(e.row)) : entries.find((x) => x.row.client === 'kafkarx' && x.row.acks === e.row.acks)?.row;
    tables.push({ group, title, entries });
  };
  const n = o.records;
  const per = (acks: Acks) => o.acks.includes(acks);
  const acksList = o.acks;
  const pTuning = (t: Tuning) => `${t.perSend}×${t.inFlight}`;
  for (const g of o.groups) {
    switch (g) {
      case 'peers':
        table(g, `Peers: ${fmtN(n)} keyless 100-byte records, 6 partitions, no compression`, acksList.flatMap((acks): RowSpec[] => [
          { client: 'kafkarx', acks, label: 'kafkarx fromPullSource(…).pipe(toKafka())' },
          { client: 'kafkarx', acks, mode: 'send', label: `kafkarx producer.send() loop (≤ ${fmtN(o.outstanding)} outstanding)` },
          { client: 'platformatic', acks, label: `@platformatic/kafka ${o.platformatic.mode} ${pTuning(o.platformatic.tuning)}${acks === -1 ? ', idempotent' : ''}` },
          { client: 'kafkajs', acks, label: `KafkaJS send() ${pTuning(o.kafkajs)}${acks === -1 ? ', not idempotent' : ''}` },
          { client: 'java', acks, label: `Java ProducerPerformance${acks === -1 ? ', idempotent' : ''}` },
          { client: 'kcat', acks, label: `librdkafka (kcat -P)${acks === -1 ? ', idempotent' : ''}` },
          // The defaults differ 60-fold: librdkafka's batch.size is 1,000,000, Java's and kafkarx's 16,384.
          { client: 'kafkarx', acks, batchBytes: RDKAFKA_BATCH, label: `kafkarx fromPullSource(…), batchBytes ${fmtN(RDKAFKA_BATCH)} (librdkafka's default)` },
          { client: 'java', acks, batchBytes: RDKAFKA_BATCH, label: `Java ProducerPerformance, batch.size ${fmtN(RDKAFKA_BATCH)}${acks === -1 ? ', idempotent' : ''}` },
        ]));
        break;
      case 'sources':
        table(g, `Sources: kafkarx, ${fmtN(n)} keyless 100-byte records, push sources and send() against the pull path`, acksList.flatMap((acks): RowSpec[] => [
          { client: 'kafkarx', acks, label: 'fromPullSource(generator)' },
          { client: 'kafkarx', acks, mode: 'range', label: 'range(0, n).pipe(map(…)) (bufferMemory 64 MiB)' },
          { client: 'kafkarx', acks, mode: 'subject', label: 'Subject, 1,000 next() per macrotask' },
          { client: 'kafkarx', acks, mode: 'interval', label: `interval(5 ms), bursts of 10,000 (bufferMemory 64 MiB)` },
          { client: 'kafkarx', acks, mode: 'send', label: `producer.send() loop (≤ ${fmtN(o.outstanding)} outstanding)` },
        ]));
        break;
      case 'cold':
        table(g, `Cold process: kafkarx's first ${fmtN(n)} records in a fresh process against ${fmtN(n)} more after ${fmtN(n)}`, acksList.flatMap((acks): RowSpec[] => [
          { client: 'kafkarx', acks, label: 'cold: a fresh process' },
          { client: 'kafkarx', acks, mode: 'warm', label: `warm: the same process, the next ${fmtN(n)}` },
        ]));
        break;
      case 'scale':
        if (!per(1)) break;
        table(g, `Scale: ${fmtN(n)} keyless 100-byte records, acks=1, by partitions and topics`, [6, 600, 6000].flatMap((partitions): RowSpec[] => [
          { client: 'kafkarx', acks: 1, partitions, label: `kafkarx, 1 topic × ${fmtN(partitions)} partitions` },
          { client: 'kcat', acks: 1, partitions, label: `kcat, 1 topic × ${fmtN(partitions)} partitions` },
        ]).concat([{ client: 'kafkarx', acks: 1, topicCount: 100, label: 'kafkarx, 100 topics × 6 partitions' }]),
        // kcat against kafkarx at the same partition count; kafkarx's own flatness is its µs column.
        (r) => ({ client: 'kafkarx', acks: 1, partitions: r.partitions, topicCount: r.topicCount }));
        break;
      case 'keyed':
        table(g, `Keyed: ${fmtN(n)} 100-byte records with keys (4,096 user ids, murmur2), 6 partitions`, acksList.flatMap((acks): RowSpec[] => [
          { client: 'kafkarx', acks, keyed: true, label: 'kafkarx keyed' },
          { client: 'platformatic', acks, keyed: true, label: 'platformatic keyed' },
          { client: 'kcat', acks, keyed: true, label: 'kcat keyed (partitioner=murmur2_random)' },
        ]));
        break;
      case 'sizes':
        if (!per(1)) break;
        table(g, 'Sizes: 1 KiB and 10 KiB values (about 205 MB per run), acks=1, 6 partitions', (['bytes1k', 'bytes10k'] as const).flatMap((values): RowSpec[] => {
          const records = Math.max(1, Math.round(values === 'bytes1k' ? n / 5 : n / 50));
          const size = values === 'bytes1k' ? '1 KiB' : '10 KiB';
          return [
            { client: 'kafkarx', acks: 1, values, records, label: `kafkarx ${size}` },
            { client: 'kcat', acks: 1, values, records, label: `kcat ${size}` },
            { client: 'java', acks: 1, values, records, label: `Java ${size}` },
            { client: 'kafkarx', acks: 1, values, records, batchBytes: RDKAFKA_BATCH, label: `kafkarx ${size}, batchBytes ${fmtN(RDKAFKA_BATCH)}` },
            { client: 'java', acks: 1, values, records, batchBytes: RDKAFKA_BATCH, label: `Java ${size}, batch.size ${fmtN(RDKAFKA_BATCH)}` },
          ];
        }), (r) => ({ client: 'kafkarx', acks: 1, values: r.values, records: r.records }));
        break;
      case 'codecs':
        if (!per(1)) break;
        table(g, `Codecs: ${fmtN(o.codecRecords)} JSON order events, acks=1, 6 partitions`, (['none', ...o.compression.filter((c) => c !== 'none')] as Codec[]).flatMap((codec): RowSpec[] => [
          { client: 'kafkarx', acks: 1, codec, values: 'json', records: o.codecRecords, label: `kafkarx ${codec}` },
          { client: 'java', acks: 1, codec, values: 'json', records: o.codecRecords, label: `Java ${codec}` },
          { client: 'kcat', acks: 1, codec, values: 'json', records: o.codecRecords, label: `kcat ${codec}` },
          { client: 'kafkajs', acks: 1, codec, values: 'json', records: o.codecRecords, label: `KafkaJS ${codec}` },
        ]), (r) => ({ client: 'kafkarx', acks: 1, codec: r.codec, values: 'json', records: o.codecRecords }));
        break;
      case 'txn':
        if (!per(-1)) break;
        table(g, `Idempotence and transactions: kafkarx, ${fmtN(n)} keyless 100-byte records, acks=all`, [
          { client: 'kafkarx', acks: -1, label: 'kafkarx idempotent (default)' },
          { client: 'kafkarx', acks: -1, idempotent: false, label: 'kafkarx idempotence off' },
          { client: 'kafkarx', acks: -1, mode: 'txn', transactionSize: Math.min(100_000, n), label: `kafkarx transactions of ${fmtN(Math.min(100_000, n))}` },
        ]);
        break;
      case 'sweep':
        table(g, `Sweep of @platformatic/kafka's and KafkaJS's settings, ${fmtN(n)} 100-byte records`, acksList.flatMap((acks): RowSpec[] => [
          { client: 'kafkarx', acks, label: 'kafkarx fromPullSource' },
          ...([[1000, 4], [4000, 2], [4000, 4], [16_000, 2]] as const).map(([perSend, inFlight]): RowSpec =>
            ({ client: 'platformatic', acks, mode: 'lanes', tuning: { perSend, inFlight }, label: `platformatic lanes ${perSend}×${inFlight}` })),
          ...([[1000, 4], [10_000, 2]] as const).map(([perSend, inFlight]): RowSpec =>
            ({ client: 'platformatic', acks, mode: 'stream', tuning: { perSend, inFlight }, label: `platformatic stream batch ${perSend}, hwm ${perSend * inFlight}` })),
          ...([[1000, 4], [2000, 2], [10_000, 2]] as const).map(([perSend, inFlight]): RowSpec =>
            ({ client: 'kafkajs', acks, tuning: { perSend, inFlight }, label: `KafkaJS send() ${perSend}×${inFlight}` })),
        ]));
        break;
    }
  }
  return { rows: [...byKey.values()], tables };
}

export const fmtN = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
