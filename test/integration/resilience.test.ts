import { from, interval, lastValueFrom, map, take, tap, toArray } from 'rxjs';
import { createProducer, murmur2 } from 'kafkarx';
import { fromPullSource, toKafka } from 'kafkarx/operators';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { internals } from '../../src/producer/internals.ts';

test('a connection dropped mid-stream: in-flight batches are retried on a new connection and every record arrives', async () => {
  const topic = uniqueTopic('dropped');
  await createTopic(topic, { partitions: 2 });
  const producer = createProducer({ brokers: bootstrap().split(','), lingerMs: 2 });
  const n = 3000;
  let drops = 0;
  const metas = await lastValueFrom(interval(0).pipe(
    take(n),
    map((i) => ({ topic, key: `k${i % 50}`, value: `v${i}` })),
    tap((r) => {
      // Cut the connection to the leader three times while records are in flight.
      if (r.value === 'v1000' || r.value === 'v2000' || r.value === 'v2500') {
        const conn = internals(producer).cluster.readyConnection(1);
        if (conn) {
          drops++;
          void conn.connection.close();
        }
      }
    }),
    toKafka(producer),
    toArray(),
  ));
  await producer.close();
  expect(drops).toBe(3);
  expect(metas).toHaveLength(n);
  // Read everything the partitions hold, so a record written twice could not hide a missing one.
  const ends = [0, 1].map((p) => Math.max(...metas.filter((m) => m.partition === p).map((m) => m.offset)) + 1);
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: ends[0] + ends[1] });
  expect(consumed.length).toBeGreaterThanOrEqual(n);
  const values = new Set(consumed.map((c) => c.value!.toString()));
  for (let i = 0; i < n; i++) expect(values.has(`v${i}`)).toBe(true);
}, 120_000);

test('a topic that does not exist yet is auto-created and waited for within maxBlockMs', async () => {
  const topic = uniqueTopic('auto-created');
  const producer = createProducer({ brokers: bootstrap().split(',') });
  const metas = await lastValueFrom(interval(0).pipe(take(10), map((i) => ({ topic, value: `v${i}` })), toKafka(producer), toArray()));
  await producer.close();
  expect(metas.map((m) => m.offset).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('records for a topic that never appears fail with a TimeoutError after maxBlockMs', async () => {
  // Kafka will not auto-create a topic whose name collides with an existing one once '.' and '_'
  // are equated: metadata keeps answering UNKNOWN_TOPIC_OR_PARTITION for it.
  const base = uniqueTopic('collide');
  await createTopic(`${base}.x`);
  const producer = createProducer({ brokers: bootstrap().split(','), maxBlockMs: 2000 });
  const started = Date.now();
  const results = await lastValueFrom(interval(0).pipe(take(2), map((i) => ({ topic: `${base}_x`, value: `v${i}` })), toKafka(producer, { errorMode: 'results' }), toArray()));
  const elapsed = Date.now() - started;
  await producer.close();
  expect(results).toHaveLength(2);
  for (const r of results) {
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ name: 'TimeoutError', topic: `${base}_x` });
      expect(r.error.message).toContain('not present in metadata after 2000 ms');
      expect(r.error.message).toContain('UNKNOWN_TOPIC_OR_PARTITION');
    }
  }
  expect(elapsed).toBeGreaterThanOrEqual(1900);
  expect(elapsed).toBeLessThan(8000);
}, 30_000);

test('unsubscribing mid-stream withdraws what was not written, frees the buffer, and leaves the producer usable', async () => {
  const topic = uniqueTopic('unsubscribe');
  await createTopic(topic, { partitions: 2 });
  const producer = createProducer({ brokers: bootstrap().split(','), bufferMemory: 1024 * 1024 });
  const n = 200_000;
  const key = (i: number) => `k${i % 10}`;
  function* records() {
    for (let i = 0; i < n; i++) yield { topic, key: key(i), value: String(i) };
  }
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    const subscription = fromPullSource(records(), producer).pipe(toKafka(producer)).subscribe({
      next: () => {
        if (++seen === 20_000) {
          subscription.unsubscribe();
          resolve();
        }
      },
      error: reject,
    });
  });
  await internals(producer).sender.whenIdle();
  expect(internals(producer).memory.used).toBe(0);
  expect(internals(producer).sender.pending).toBe(0);
  // The producer goes on working; the markers also tell where each partition ends.
  const markers = await lastValueFrom(from([0, 1].map((partition) => ({ topic, partition, value: 'end' }))).pipe(toKafka(producer), toArray()));
  await producer.close();
  const total = markers.reduce((sum, m) => sum + m.offset + 1, 0);
  expect(total).toBeGreaterThanOrEqual(20_000 + 2);
  expect(total).toBeLessThan(n);
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: total });
  // Per partition, what reached the broker is a prefix of what was sent to it: nothing skipped.
  for (const p of [0, 1]) {
    const got = consumed.filter((c) => c.partition === p).sort((a, b) => a.offset - b.offset).map((c) => c.value!.toString()).filter((v) => v !== 'end');
    const sentToP: number[] = [];
    for (let i = 0; i < n; i++) if ((murmur2(Buffer.from(key(i))) & 0x7fffffff) % 2 === p) sentToP.push(i);
    expect(got).toEqual(sentToP.slice(0, got.length).map(String));
  }
}, 120_000);
