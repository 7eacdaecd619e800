// `npm run demo`: a generated event flow streamed into Kafka through toKafka(), with a live
// progress line and a summary. Needs KAFKA_BROKERS; `npm run demo` sets it (the cluster in
// KAFKA_BROKERS, else the broker of `npm run kafka:start`, else one started for the run). Alone:
//   KAFKA_BROKERS=127.0.0.1:9092 node --conditions=kafkarx-source examples/demo.ts
// Its topic is created with KafkaJS's admin client: kafkarx is a producer only.
import { Kafka, logLevel } from 'kafkajs';
import { lastValueFrom, tap, reduce } from 'rxjs';
import { createProducer, json } from 'kafkarx';
import { fromPullSource, toKafka } from 'kafkarx/operators';

const RECORDS = Number(process.env.DEMO_RECORDS ?? 500_000);
const PARTITIONS = 6;

interface PageView {
  user: string;
  page: string;
  at: number;
  durationMs: number;
}

function* pageViews(n: number): Generator<{ topic: string; key: string; value: PageView; headers: Record<string, string> }> {
  const pages = ['/', '/search', '/product/42', '/cart', '/checkout', '/help'];
  for (let i = 0; i < n; i++) {
    const user = `user-${(i * 7919) % 5000}`;
    yield { topic, key: user, value: { user, page: pages[i % pages.length], at: Date.now(), durationMs: (i * 37) % 4000 }, headers: { app: 'demo' } };
  }
}

const topic = `demo-page-views-${Date.now().toString(36)}`;
const bootstrap = process.env.KAFKA_BROKERS;
if (!bootstrap) {
  console.error('demo: set KAFKA_BROKERS to a broker\'s address (host:port,…); `npm run kafka:start` starts one and prints it, and `npm run demo` uses that one');
  process.exit(2);
}
const brokers = bootstrap.split(',');

const admin = new Kafka({ brokers, clientId: 'kafkarx-demo', logLevel: logLevel.ERROR }).admin();
await admin.connect();
try {
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
} finally {
  await admin.disconnect();
}

const producer = createProducer({ brokers, clientId: 'kafkarx-demo' });
console.log(`demo: streaming ${RECORDS.toLocaleString()} page views into ${topic} (${PARTITIONS} partitions) at ${bootstrap}`);
const t0 = performance.now();
let acked = 0;
let bytes = 0;
const progress = setInterval(() => {
  const s = (performance.now() - t0) / 1000;
  const buffer = producer.metrics().producer;
  const buffered = buffer['buffer-total-bytes'] - buffer['buffer-available-bytes'];
  process.stdout.write(`\r  ${acked.toLocaleString().padStart(9)} acknowledged  ${(acked / s).toFixed(0).padStart(7)} records/s  ${(bytes / s / 1e6).toFixed(1).padStart(6)} MB/s  buffered ${(buffered / 1024).toFixed(0).padStart(6)} KiB`);
}, 200);
try {
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
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n\ndemo: ${acked.toLocaleString()} records in ${seconds.toFixed(2)} s — ${(acked / seconds).toFixed(0)} records/s, ${(bytes / seconds / 1e6).toFixed(1)} MB/s of values`);
  console.log('demo: last offset per partition:');
  for (let p = 0; p < PARTITIONS; p++) console.log(`  partition ${p}: ${ends[p] ?? '(none)'}`);
} finally {
  clearInterval(progress);
  await producer.close();
}
