// `npm run demo`: a generated event flow streamed into Kafka through toKafka(), with a live
// progress line and a summary. Uses KAFKA_BROKERS, else a broker started by `npm run kafka:start`,
// else starts a local one for the run and stops it afterwards.
import { join } from 'node:path';
import { lastValueFrom, tap, reduce } from 'rxjs';
import { createProducer, json } from 'kafkarx';
import { fromPullSource, toKafka } from 'kafkarx/operators';
import { runningDevBroker, startTestBroker, type TestBroker } from '../test/broker/broker.ts';
import { createTopic } from '../test/broker/reference.ts';
import { workDir } from '../test/broker/paths.ts';

const RECORDS = Number(process.env.DEMO_RECORDS ?? 500_000);
const PARTITIONS = 6;

interface PageView {
  user: string;
  page: string;
  at: number;
  durationMs: number;
}

async function brokers(): Promise<{ bootstrap: string; started?: TestBroker }> {
  if (process.env.KAFKA_BROKERS) return { bootstrap: process.env.KAFKA_BROKERS };
  const running = runningDevBroker();
  if (running) return { bootstrap: running.bootstrap };
  console.log('demo: no broker configured; starting Apache Kafka 4.1.1 for this run…');
  const started = await startTestBroker({ dir: join(workDir(), 'demo'), stopWithPid: process.pid, log: (l) => console.log(l) });
  return { bootstrap: started.bootstrap, started };
}

function* pageViews(n: number): Generator<{ topic: string; key: string; value: PageView; headers: Record<string, string> }> {
  const pages = ['/', '/search', '/product/42', '/cart', '/checkout', '/help'];
  for (let i = 0; i < n; i++) {
    const user = `user-${(i * 7919) % 5000}`;
    yield { topic, key: user, value: { user, page: pages[i % pages.length], at: Date.now(), durationMs: (i * 37) % 4000 }, headers: { app: 'demo' } };
  }
}

const topic = `demo-page-views-${Date.now().toString(36)}`;
const { bootstrap, started } = await brokers();
process.env.KAFKA_BROKERS = bootstrap;
const stop = async () => {
  if (started) await started.stop();
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));

try {
  await createTopic(topic, { partitions: PARTITIONS });
  const producer = createProducer({ brokers: bootstrap.split(','), clientId: 'kafkarx-demo' });
  console.log(`demo: streaming ${RECORDS.toLocaleString()} page views into ${topic} (${PARTITIONS} partitions) at ${bootstrap}`);
  const t0 = performance.now();
  let acked = 0;
  let bytes = 0;
  const progress = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(`\r  ${acked.toLocaleString().padStart(9)} acknowledged  ${(acked / s).toFixed(0).padStart(7)} records/s  ${(bytes / s / 1e6).toFixed(1).padStart(6)} MB/s  buffered ${(producer.memory.used / 1024).toFixed(0).padStart(6)} KiB`);
  }, 200);
  const ends = await lastValueFrom(fromPullSource(pageViews(RECORDS), producer).pipe(
    toKafka(producer, { value: json<PageView>() }),
    tap((m) => {
      acked++;
      bytes += m.serializedValueSize;
    }),
    reduce((acc, m) => {
      acc[m.partition] = Math.max(acc[m.partition] ?? -1, m.offset);
      return acc;
    }, [] as number[]),
  ));
  clearInterval(progress);
  const seconds = (performance.now() - t0) / 1000;
  await producer.close();
  console.log(`\n\ndemo: ${acked.toLocaleString()} records in ${seconds.toFixed(2)} s — ${(acked / seconds).toFixed(0)} records/s, ${(bytes / seconds / 1e6).toFixed(1)} MB/s of values`);
  console.log('demo: last offset per partition:');
  for (let p = 0; p < PARTITIONS; p++) console.log(`  partition ${p}: ${ends[p] ?? '(none)'}`);
} finally {
  await stop();
}
