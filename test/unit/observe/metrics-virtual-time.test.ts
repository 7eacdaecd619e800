// Metrics in virtual time: with a scheduler, every timestamp the metrics take (rates and their
// windows, request latency, buffer wait, the snapshot's own time) is the producer's clock, so under
// a TestScheduler they are exact numbers.
import { lastValueFrom, map, take, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createProducer, type Producer, type ProducerConfig } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { FakeKafka, runMarbles } from 'kafkarx/testing';

let testScheduler: TestScheduler;
let fake: FakeKafka;
let producer: Producer;

function start(config: Partial<ProducerConfig> = {}): void {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  // Every answer takes 5 ms.
  fake = new FakeKafka({ topics: { t: 1 }, scheduler: testScheduler, latencyMs: 5 });
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, scheduler: testScheduler, lingerMs: 0, ...config });
}

afterEach(async () => {
  await producer.close();
  fake.close();
});

test('a record every 100 ms from 0 to 59.9 s: record-send-rate is exactly 10/s over the last 30 s sample, request latency exactly 5 ms', async () => {
  start();
  const records = timer(0, 100, testScheduler).pipe(take(600), map((i) => ({ topic: 't', value: `v${i}` })));
  const [snapshot] = await runMarbles(testScheduler, () => Promise.all([
    lastValueFrom(producer.metrics$(60_000).pipe(take(1))),
    lastValueFrom(records.pipe(toKafka(producer))),
  ]));
  expect(snapshot.timestamp).toBe(60_000);
  expect(snapshot.producer['record-send-total']).toBe(600);
  // At 60 s the first 30 s sample has left the window; the second holds the 300 records sent since 30 s.
  expect(snapshot.producer['record-send-rate']).toBe(10);
  // The topic's sensors start with its first batch, at 15 (after three 5 ms round trips), so at
  // 60 s their first sample is still in the window: 600 records in 59.985 s.
  expect(snapshot.topics.t['record-send-rate']).toBe(600_000 / 59_985);
  expect(snapshot.producer['request-latency-avg']).toBe(5);
  expect(snapshot.producer['request-latency-max']).toBe(5);
  // lingerMs 0 and nothing ahead of it: each batch went the moment it was made.
  expect(snapshot.producer['record-queue-time-max']).toBe(0);
  expect(producer.metrics().timestamp).toBe(testScheduler.now());
});

test('before the first sample is full, Java\'s rate counts the elapsed time plus a whole sample: 100 records in 10 s read 2.5/s', async () => {
  start();
  const records = timer(0, 100, testScheduler).pipe(take(100), map((i) => ({ topic: 't', value: `v${i}` })));
  const [snapshot] = await runMarbles(testScheduler, () => Promise.all([
    lastValueFrom(producer.metrics$(10_000).pipe(take(1))),
    lastValueFrom(records.pipe(toKafka(producer))),
  ]));
  expect(snapshot.timestamp).toBe(10_000);
  expect(snapshot.producer['record-send-rate']).toBe(2.5);
});

test('bufferpool-wait-time-ns-total counts virtual time: a record that waits 5 ms for room adds exactly 5 ms', async () => {
  // Room for one record only: the second waits until the first is acknowledged.
  start({ bufferMemory: 40 });
  await runMarbles(testScheduler, async () => {
    // The topic's metadata first, so both records below can go at once.
    await producer.send({ topic: 't', value: 'zero' });
    const started = testScheduler.now();
    await Promise.all([producer.send({ topic: 't', value: 'one' }), producer.send({ topic: 't', value: 'two' })]);
    // The first answered 5 ms after it went, the second 5 ms later.
    expect(testScheduler.now() - started).toBe(10);
  });
  expect(producer.metrics().producer['bufferpool-wait-time-ns-total']).toBe(5_000_000);
});

test('metrics$() runs on the producer\'s scheduler by default: a snapshot each virtual second', async () => {
  start();
  const taken: number[] = [];
  // Subscribed outside runMarbles: only the producer's scheduler can drive it.
  const subscription = producer.metrics$(1000).pipe(take(3)).subscribe((s) => taken.push(s.timestamp));
  await runMarbles(testScheduler, () => undefined);
  expect(taken).toEqual([1000, 2000, 3000]);
  subscription.unsubscribe();
});
