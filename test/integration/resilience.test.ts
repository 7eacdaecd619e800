import { interval, lastValueFrom, map, take, tap, toArray } from 'rxjs';
import { createProducer } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';

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
        const conn = producer.cluster.readyConnection(1);
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
  // Without idempotence a batch the broker wrote before the drop is written again by its retry:
  // read everything the partitions hold, duplicates included.
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
