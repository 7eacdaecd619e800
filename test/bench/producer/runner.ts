// The parent: a broker, the topics, interleaved rounds of child runs, what the broker stored.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startTestBroker, type TestBroker } from '../../broker/broker.ts';
import { kcatInfo } from '../../broker/kcat.ts';
import { projectRoot, workDir } from '../../broker/paths.ts';
import { listenerPid } from './measure.ts';
import { fmtN as fmt, options, plan, type Row } from './plan.ts';
import { profileReport } from './profile.ts';
import { report } from './report.ts';
import { createTopics, prime, ready, stored, type Admin } from './topics.ts';
import type { RunResult, RunSpec } from './types.ts';
import { writePayloadFile } from './values.ts';

const ENTRY = join(projectRoot(), 'test', 'bench', 'producer.bench.ts');

let current: ChildProcess | undefined;

export async function main(argv: string[]): Promise<void> {
  const o = options(argv);
  const { rows, tables } = plan(o);
  const benchDir = join(workDir(), 'bench');
  const payloadDir = join(benchDir, 'payloads');
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  let broker: TestBroker | undefined;
  let admin: Admin | undefined;
  let interrupted = false;
  let stopped: Promise<void> | undefined;
  const made: string[] = [];
  // One stop for every path (the end, an error, a signal), each of which waits for the broker.
  const stop = (): Promise<void> => (stopped ??= (async () => {
    current?.kill('SIGKILL');
    // Someone else's cluster: take this run's topics away again.
    if (broker?.kind === 'external' && made.length) await admin?.deleteTopics({ topics: made }).catch((e: Error) => console.error(`kafkarx bench: could not delete the bench topics: ${e.message}`));
    await admin?.close().catch(() => {});
    rmSync(payloadDir, { recursive: true, force: true });
    if (broker && broker.kind !== 'external') {
      console.error(`kafkarx bench: stopping the ${broker.kind} broker at ${broker.bootstrap}`);
      await broker.stop();
      // Gigabytes per run: free the disk; the broker's log stays in .kafka/bench/logs.
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
    const bootstrap = broker.bootstrap;
    const brokerPid = listenerPid(bootstrap);
    const { Admin } = await import('@platformatic/kafka');
    admin = new Admin({ clientId: 'kafkarx-bench-admin', bootstrapBrokers: [bootstrap], timeout: 120_000 });
    const kcat = rows.some((r) => r.client === 'kcat') ? kcatBanner() : 'not used';
    console.log(`kafkarx producer benchmark — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`broker: ${bootstrap} (${broker.kind === 'external' ? 'KAFKA_BROKERS' : broker.kind}${brokerPid ? `, pid ${brokerPid}: its CPU is measured too` : ''}); kcat: ${kcat}`);
    console.log(`groups: ${o.groups.join(', ')}; ${rows.length} configurations × ${o.repeat} rounds, interleaved, one process per run`);

    // Every row's topics up front, kept for all its rounds: a 6,000-partition topic is made once.
    const topicsOf = new Map<Row, string[]>();
    for (const r of rows) {
      const names = Array.from({ length: r.topicCount }, (_, i) => `kafkarx-bench-${runId}-${made.length + i}`);
      made.push(...names);
      topicsOf.set(r, names);
    }
    const warmTopic = `kafkarx-bench-${runId}-warm`;
    made.push(warmTopic);
    await createTopics(admin, [...rows.map((r) => ({ names: topicsOf.get(r)!, partitions: r.partitions })), { names: [warmTopic], partitions: 6 }]);
    // Created is not yet served: wait until every partition of every topic answers ListOffsets.
    const since = performance.now();
    for (const r of rows) await ready(admin, topicsOf.get(r)!, r.partitions);
    for (const r of rows) await prime(bootstrap, topicsOf.get(r)!, r.partitions);
    console.log(`topics: ${made.length}, ready and every partition written once in ${fmt((performance.now() - since) / 1000, 1)} s`);

    mkdirSync(payloadDir, { recursive: true });
    const payloadFor = async (r: Row): Promise<string | undefined> => {
      const whole = r.client === 'kcat';
      if (!whole && !(r.client === 'java' && r.values === 'json')) return undefined;
      const file = join(payloadDir, whole ? `${r.values}-${r.records}${r.keyed ? '-keyed' : ''}.txt` : `${r.values}-pool.txt`);
      if (!existsSync(file)) await writePayloadFile(file, r.values, whole ? r.records : undefined, r.keyed);
      return file;
    };
    const spec = async (r: Row, profileDir?: string): Promise<RunSpec> => ({
      client: r.client, mode: r.mode, acks: r.acks, idempotent: r.idempotent, codec: r.codec, values: r.values, keyed: r.keyed, records: r.records, batchBytes: r.batchBytes,
      topics: topicsOf.get(r)!, partitions: r.partitions, bootstrap, tuning: r.tuning, outstanding: r.tuning.inFlight, transactionSize: r.transactionSize,
      payloadFile: await payloadFor(r), profileDir, brokerPid,
    });

    if (o.warmupRecords > 0) {
      // A broker just started runs its first requests in the JVM's interpreter: one unrecorded
      // run first, so that round 1 does not pay for the broker's JIT.
      const warm: Row = { ...rows[0], client: 'kafkarx', mode: 'pull', acks: 1, codec: 'none', values: 'bytes100', keyed: false, records: o.warmupRecords, topicCount: 1, partitions: 6 };
      topicsOf.set(warm, [warmTopic]);
      const res = await runChild(await spec(warm), 10 * 60_000);
      console.log(`  broker warm-up: kafkarx, ${fmt(o.warmupRecords)} records, ${fmt(res.records / (res.wallMs / 1000))} records/s (not counted)`);
    }
    for (let round = 0; round < o.repeat; round++) {
      for (const r of rows) {
        if (r.skipped) continue;
        const s = await spec(r);
        const before = await stored(admin, s.topics, r.partitions);
        const res = await runChild(s, 15 * 60_000);
        if (res.skipped) {
          r.skipped = res.skipped;
          console.error(`  ${r.key}: left out: ${res.skipped}`);
          continue;
        }
        const after = await stored(admin, s.topics, r.partitions);
        r.results.push({ ...res, storedRecords: after.records - before.records, storedBytes: after.bytes - before.bytes });
        const other = res.machineCpuUs !== undefined && res.brokerCpuUs !== undefined ? Math.max(0, res.machineCpuUs - (res.processCpuUs ?? res.cpuUs) - res.brokerCpuUs) : NaN;
        console.log(`  round ${round + 1}/${o.repeat} ${r.key.padEnd(58)} ${fmt(res.records / (res.wallMs / 1000)).padStart(9)} records/s ` +
          `${fmt(res.cpuUs / res.records, 2).padStart(5)} µs/record  RSS ${fmt(res.maxRssKb / 1024)} MB  broker ${fmt((res.brokerCpuUs ?? NaN) / 1e6, 2)} s  other ${fmt(other / 1e6, 2)} s` +
          (res.startupCpuUs !== undefined ? `  (start-up ${fmt(res.startupCpuUs / 1e6, 2)} s CPU, ${fmt(res.startupWallMs!)} ms)` : '') +
          (after.records - before.records !== res.records + res.outside ? `  STORED ${after.records - before.records} RECORDS` : ''));
      }
    }
    report(tables, o.repeat, cpus().length);

    if (o.cpuProf) {
      const profileDir = join(benchDir, `profile-${runId}`);
      const row: Row = { ...rows[0], client: 'kafkarx', mode: 'pull', acks: 1, codec: 'none', values: 'bytes100', keyed: false, records: o.records, topicCount: 1, partitions: 6 };
      topicsOf.set(row, [warmTopic]);
      const res = await runChild(await spec(row, profileDir), 10 * 60_000);
      console.log(`\nprofiled run (slowed by sampling): ${fmt(res.records / (res.wallMs / 1000))} records/s, ${fmt(res.cpuUs / res.records, 3)} µs CPU/record`);
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`no .cpuprofile in ${profileDir}`);
      profileReport(join(profileDir, file), res.windowUs);
    }
    console.log(`\ntotal time ${fmt((performance.now() - started) / 1000)} s, load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } catch (e) {
    // The killed child's failure is not news after Ctrl-C; the signal handler exits once stopped.
    if (interrupted) await new Promise(() => {});
    throw e;
  } finally {
    await stop();
  }
}

function kcatBanner(): string {
  try {
    const lines = kcatInfo().banner.split('\n');
    return lines.find((l) => l.startsWith('Version')) ?? lines[0];
  } catch (e) {
    return `not usable, its rows are left out: ${(e as Error).message}`;
  }
}

/** Runs one child; resolves with its result line. */
function runChild(spec: RunSpec, timeoutMs: number): Promise<RunResult> {
  // KafkaJS 2.2.4 sets negative timeouts, which Node 24 warns about on every run.
  const nodeArgs = ['--expose-gc', '--disable-warning=TimeoutNegativeWarning', ...process.execArgv.filter((a) => !a.startsWith('--cpu-prof'))];
  if (spec.profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${spec.profileDir}`, '--cpu-prof-interval=250');
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...nodeArgs, ENTRY, '--child', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
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
      else reject(new Error(`${spec.client} ${spec.mode} run on ${spec.topics[0]} failed (${signal ?? `exit ${code}`})${out ? `:\n${out.slice(-2000)}` : ''}`));
    });
  });
}
