import { lastValueFrom, reduce } from 'rxjs';
import { createProducer } from 'kafkarx';
import { fromPullSource, toKafka } from 'kafkarx/operators';
import { bootstrap, createTopic, uniqueTopic } from '../broker/reference.ts';
import { internals } from '../../src/producer/internals.ts';

test('an AsyncIterable far faster than the broker is paused: memory stays within bufferMemory, nothing is lost', async () => {
  const topic = uniqueTopic('backpressure');
  await createTopic(topic, { partitions: 3 });
  const bufferMemory = 4 * 1024 * 1024;
  const producer = createProducer({ brokers: bootstrap().split(','), acks: 'all', bufferMemory });
  const n = 150_000;
  const value = Buffer.alloc(1000, 'v');

  // How fast could the source go on its own?
  const t0 = performance.now();
  let produced = 0;
  async function* source(limit: number) {
    for (let i = 0; i < limit; i++) {
      produced++;
      yield { topic, key: `k${i % 100}`, value, passthrough: i };
    }
  }
  for await (const _ of source(n)) { /* drain */ }
  const sourceRate = n / (performance.now() - t0);

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  let peakBuffered = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    peakBuffered = Math.max(peakBuffered, internals(producer).memory.used);
  }, 5);
  produced = 0;
  const t1 = performance.now();
  const summary = await lastValueFrom(fromPullSource(source(n), producer).pipe(
    toKafka(producer),
    reduce((acc, m) => {
      acc.count++;
      acc.ends[m.partition] = Math.max(acc.ends[m.partition] ?? 0, m.offset + 1);
      return acc;
    }, { count: 0, ends: [] as number[] }),
  ));
  const producerRate = n / (performance.now() - t1);
  clearInterval(sampler);
  await producer.close();

  expect(summary.count).toBe(n);
  expect(summary.ends.reduce((a, b) => a + b, 0)).toBe(n);
  // The broker, not the source, set the pace.
  expect(sourceRate).toBeGreaterThan(producerRate * 20);
  // The budget filled up (so backpressure was exercised) but never overflowed.
  expect(peakBuffered).toBeGreaterThan(bufferMemory * 0.75);
  expect(peakBuffered).toBeLessThanOrEqual(bufferMemory);
  // 150 MB went through; the process grew by no more than the budget plus a bounded overhead.
  expect(peakRss - rssBefore).toBeLessThan(bufferMemory + 96 * 1024 * 1024);
}, 180_000);
