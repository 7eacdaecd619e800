// kafkarx's client CPU per record on each way in, warm and cold, against a running broker; and the
// same for other checkouts of kafkarx in the same run, to compare two versions of the hot path.
//
//   bash .ci/node24.sh node test/bench/hotpath.bench.ts --brokers 127.0.0.1:9092 \
//     [--modes pull1,pullall,send,range,subject] [--records 1000000] [--warm 1000000] [--rounds 3] \
//     [--roots .,/path/to/other/checkout] [--cold] [--cpu-prof DIR] \
//     [--partitions 6] [--spread 1] [--reuse NAME] [--value-size 100]
//
// Every run is a child process (this file with --child) that imports kafkarx from one root, sends
// `--warm` records and then `--records` more, timing the second part only (`--cold`: no warm-up,
// the first records of a fresh process). Runs are interleaved (every root and mode once per round)
// and each row prints the median. Records are 100-byte (`--value-size`) keyless values on a 6-partition topic per
// row (`--partitions`; `--spread T`: record i goes to the i % T-th of T topics), createProducer
// defaults (idempotent at acks=all). Topics with many partitions are slow to create: `--reuse NAME`
// makes every run use the topics NAME-p<partitions>-<t>, created once and kept.
//
//   pull1 / pullall   fromPullSource(function*, producer).pipe(toKafka(producer)), acks=1 / all
//   send              producer.send() in a loop, at most 50,000 unanswered, acks=1
//   range             range(0, n).pipe(map(...), toKafka(producer)), acks=1, bufferMemory 64 MiB
//   subject           a Subject fed 4,096 records per event-loop turn, acks=1
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

type Mode = 'pull1' | 'pullall' | 'send' | 'range' | 'subject';
const MODES: Mode[] = ['pull1', 'pullall', 'send', 'range', 'subject'];
const POOL = 4096;

interface ChildSpec {
  root: string;
  mode: Mode;
  brokers: string;
  topics: string[];
  warm: number;
  records: number;
  profileDir?: string;
  valueSize: number;
}

interface ChildResult {
  cpuUs: number;
  wallMs: number;
  maxRssMb: number;
  baselineRssMb: number;
  refused: number;
  requests: number;
}

async function child(spec: ChildSpec): Promise<void> {
  const baselineRssMb = process.memoryUsage().rss / 2 ** 20;
  const { createProducer } = await import(resolve(spec.root, 'src/index.ts'));
  const { toKafka, fromPullSource } = await import(resolve(spec.root, 'operators/index.ts'));
  const { lastValueFrom, map, of, range, Subject, count } = await import('rxjs');
  const values: Buffer[] = [];
  let seed = 12345;
  for (let i = 0; i < POOL; i++) {
    const v = Buffer.allocUnsafe(spec.valueSize);
    for (let j = 0; j < spec.valueSize; j++) v[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    values.push(v);
  }
  const { topics } = spec;
  const topic = topics[0];
  const spread = topics.length;
  const record = (i: number) => ({ topic: spread === 1 ? topic : topics[i % spread], value: values[i % POOL] });
  // range() cannot wait: its records may hold 2 × bufferMemory (see the README), so it gets 64 MiB.
  const producer = createProducer({ brokers: [spec.brokers], clientId: 'kafkarx-hotpath', acks: spec.mode === 'pullall' ? 'all' : 1, ...(spec.mode === 'range' ? { bufferMemory: 64 << 20 } : {}) });
  let refused = 0;
  const once = async (n: number): Promise<number> => {
    switch (spec.mode) {
      case 'pull1':
      case 'pullall': {
        function* gen() {
          for (let i = 0; i < n; i++) yield record(i);
        }
        return lastValueFrom(fromPullSource(gen(), producer).pipe(toKafka(producer), count()));
      }
      case 'range':
        return lastValueFrom(range(0, n).pipe(map(record), toKafka(producer), count()));
      case 'subject': {
        const subject = new Subject<{ topic: string; value: Buffer }>();
        const done = lastValueFrom(subject.pipe(toKafka(producer, { errorMode: 'results' }), count((r: { ok: boolean }) => {
          if (!r.ok) refused++;
          return r.ok;
        })));
        let i = 0;
        await new Promise<void>((next) => {
          const burst = () => {
            const end = Math.min(n, i + 4096);
            for (; i < end; i++) subject.next(record(i));
            if (i < n) setImmediate(burst);
            else next();
          };
          burst();
        });
        subject.complete();
        return done;
      }
      case 'send': {
        let acked = 0;
        let outstanding = 0;
        let wake: (() => void) | undefined;
        let failure: Error | undefined;
        const ok = () => {
          acked++;
          if (--outstanding <= 25_000 && wake) {
            const w = wake;
            wake = undefined;
            w();
          }
        };
        const bad = (e: Error) => {
          failure ??= e;
          ok();
        };
        for (let i = 0; i < n; i++) {
          if (outstanding >= 50_000) await new Promise<void>((r) => (wake = r));
          outstanding++;
          producer.send(record(i)).then(ok, bad);
        }
        await producer.flush();
        while (outstanding > 0) await new Promise<void>((r) => (wake = r));
        if (failure) throw failure;
        return acked;
      }
    }
  };
  await lastValueFrom(of(...topics.map((t) => ({ topic: t, value: values[0] }))).pipe(toKafka(producer)));
  if (spec.warm > 0) await once(spec.warm);
  (globalThis as { gc?: () => void }).gc?.();
  const session = spec.profileDir ? new (await import('node:inspector/promises')).Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const requests0 = producer.metrics().producer['request-total'];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const acked = await once(spec.records);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(spec.profileDir!, { recursive: true });
    writeFileSync(resolve(spec.profileDir!, `${spec.mode}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  const requests = producer.metrics().producer['request-total'] - requests0;
  await producer.close();
  if (acked + refused !== spec.records) throw new Error(`${acked} of ${spec.records} records were acknowledged`);
  const result: ChildResult = { cpuUs: cpu.user + cpu.system, wallMs, maxRssMb: process.resourceUsage().maxRSS / 1024, baselineRssMb, refused, requests };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

async function createTopics(brokers: string, names: string[], partitions: number): Promise<void> {
  const { Apis } = await import('../../src/network/apis.ts');
  const { createProducer } = await import('../../src/index.ts');
  const producer = createProducer({ brokers: [brokers], clientId: 'kafkarx-hotpath-admin' });
  try {
    // Internal API: the bench's own topics, with small segments so the broker can delete them.
    const conn = await (producer as unknown as { cluster: { anyBroker(): Promise<{ call: (api: unknown, req: unknown) => Promise<{ topics: Array<{ name: string; errorCode: number }> }> }> } }).cluster.anyBroker();
    const res = await conn.call(Apis.createTopics, {
      topics: names.map((name) => ({
        name, numPartitions: partitions, replicationFactor: 1, assignments: [],
        configs: [{ name: 'retention.bytes', value: String(64 << 20) }, { name: 'segment.bytes', value: String(16 << 20) }, { name: 'retention.ms', value: '60000' }],
      })),
      timeoutMs: 300_000,
    });
    // 36: TOPIC_ALREADY_EXISTS, a topic kept for --reuse.
    for (const t of res.topics) if (t.errorCode !== 0 && t.errorCode !== 36) throw new Error(`creating ${t.name}: error ${t.errorCode}`);
  } finally {
    await producer.close();
  }
}

function runChild(spec: ChildSpec): Promise<ChildResult> {
  const args = ['--expose-gc', '--conditions=kafkarx-source'];
  args.push(process.argv[1], '--child', JSON.stringify(spec));
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) res(JSON.parse(line.slice(7)) as ChildResult);
      else rej(new Error(`child ${spec.mode} in ${spec.root} exited with ${code}: ${out}`));
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      child: { type: 'string' }, brokers: { type: 'string' }, modes: { type: 'string', default: 'pull1,pullall,send,range' },
      records: { type: 'string', default: '1000000' }, warm: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' },
      roots: { type: 'string', default: '.' }, cold: { type: 'boolean', default: false }, 'cpu-prof': { type: 'string' },
      partitions: { type: 'string', default: '6' }, spread: { type: 'string', default: '1' }, reuse: { type: 'string' },
      'value-size': { type: 'string', default: '100' },
    },
  });
  if (v.child) return child(JSON.parse(v.child) as ChildSpec);
  const brokers = v.brokers ?? process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('--brokers or KAFKA_BROKERS: a running broker (npm run kafka:start)');
  const modes = v.modes!.split(',') as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}`);
  const roots = v.roots!.split(',').map((r) => resolve(r));
  const records = Number(v.records);
  const warm = v.cold ? 0 : Number(v.warm);
  const rounds = Number(v.rounds);
  const valueSize = Number(v['value-size']);
  if (!Number.isInteger(valueSize) || valueSize < 0) throw new Error(`--value-size ${v['value-size']}: a byte count`);
  const run = `${Date.now().toString(36)}`;
  const rows = roots.flatMap((root) => modes.map((mode) => ({ root, mode, results: [] as ChildResult[] })));
  const partitions = Number(v.partitions);
  const spread = Number(v.spread);
  const runs = rounds * rows.length;
  const topicsOf = (i: number) => Array.from({ length: spread }, (_, t) => v.reuse ? `${v.reuse}-p${partitions}-${t}` : `hotpath-${run}-${i}-${t}`);
  const topics = Array.from({ length: v.reuse ? 1 : runs }, (_, i) => topicsOf(i));
  await createTopics(brokers, topics.flat(), partitions);
  let t = 0;
  for (let r = 0; r < rounds; r++) {
    for (const row of rows) {
      const res = await runChild({ root: row.root, mode: row.mode, brokers, topics: topics[v.reuse ? 0 : t++], warm, records, profileDir: v['cpu-prof'], valueSize });
      row.results.push(res);
      console.error(`round ${r + 1} ${row.mode} ${row.root}: ${(res.cpuUs / records).toFixed(3)} µs/rec, ${Math.round(records / res.wallMs * 1000)} rec/s, ${res.requests} requests, max RSS ${res.maxRssMb.toFixed(0)} MB`);
    }
  }
  console.log(`${records} records${warm ? ` after ${warm} warm-up records` : ', cold (fresh process)'}; median of ${rounds}`);
  console.log(`${spread} topic(s) × ${partitions} partitions, ${valueSize}-byte values`);
  console.log('root | mode | µs CPU/record | records/s | requests | max RSS MB | baseline RSS MB | refused');
  for (const row of rows) {
    const us = median(row.results.map((x) => x.cpuUs / records));
    const rps = median(row.results.map((x) => records / x.wallMs * 1000));
    console.log(`${row.root} | ${row.mode} | ${us.toFixed(3)} | ${Math.round(rps)} | ${median(row.results.map((x) => x.requests))} | ${median(row.results.map((x) => x.maxRssMb)).toFixed(0)} | ${median(row.results.map((x) => x.baselineRssMb)).toFixed(0)} | ${median(row.results.map((x) => x.refused))}`);
  }
}

main().catch((e: Error) => {
  console.error(e);
  process.exit(1);
});
