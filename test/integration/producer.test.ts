import { from, interval, lastValueFrom, map, takeWhile, toArray } from 'rxjs';
import { json, murmur2, type RecordMetadata } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { addPartitions, bootstrap, consumeWithConsoleConsumer, createTopic, produceWithConsoleProducer, uniqueTopic } from '../broker/reference.ts';
import { producersFor } from './support.ts';

const producer = producersFor('kafkarx-it');

const javaPartition = (key: string, partitions: number) => (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;

test('100k keyed records with headers: ConsoleConsumer reads back every key, value, header, timestamp and partition', async () => {
  const topic = uniqueTopic('keyed');
  await createTopic(topic, { partitions: 6 });
  const n = 100_000;
  const base = Date.now() - 200_000;
  const records = Array.from({ length: n }, (_, i) => ({
    topic,
    key: `customer-${i % 997}`,
    value: { order: i, amount: (i * 7) % 1000 },
    headers: { source: 'web', seq: String(i) },
    timestamp: base + i,
    passthrough: i,
  }));
  const metas = await lastValueFrom(from(records).pipe(toKafka(producer(), { value: json() }), toArray()));
  expect(metas).toHaveLength(n);
  const byIndex = new Map<number, RecordMetadata<number>>(metas.map((m) => [m.passthrough!, m]));
  expect(byIndex.size).toBe(n);

  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: n, timeoutMs: 60_000 });
  expect(consumed).toHaveLength(n);
  const seen = new Set<number>();
  for (const c of consumed) {
    const seq = Number(c.headers.find(([k]) => k === 'seq')![1]!.toString());
    const sent = records[seq];
    seen.add(seq);
    expect(c.key!.toString()).toBe(sent.key);
    expect(JSON.parse(c.value!.toString())).toEqual(sent.value);
    expect(c.headers.map(([k, v]) => [k, v?.toString()])).toEqual([['source', 'web'], ['seq', String(seq)]]);
    expect(c.timestampType).toBe('CreateTime');
    expect(c.timestamp).toBe(sent.timestamp);
    expect(c.partition).toBe(javaPartition(sent.key, 6));
    const meta = byIndex.get(seq)!;
    expect([meta.partition, meta.offset, meta.timestamp]).toEqual([c.partition, c.offset, sent.timestamp]);
  }
  expect(seen.size).toBe(n);
  // Within a partition, records arrive in the order they were sent.
  for (let p = 0; p < 6; p++) {
    const seqs = consumed.filter((c) => c.partition === p).sort((a, b) => a.offset - b.offset).map((c) => Number(c.headers[1][1]!.toString()));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  }
}, 240_000);

test("a key lands on the same partition whether Kafka's ConsoleProducer or kafkarx wrote it", async () => {
  const topic = uniqueTopic('same-partition');
  await createTopic(topic, { partitions: 7 });
  const keys = Array.from({ length: 200 }, (_, i) => `user-${i * 31}-${'x'.repeat(i % 13)}`);
  await produceWithConsoleProducer(topic, keys.map((key) => ({ key, value: 'java' })));
  await lastValueFrom(from(keys.map((key) => ({ topic, key, value: 'kafkarx' }))).pipe(toKafka(producer()), toArray()));
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: 400 });
  const partitionOf = new Map<string, Map<string, number>>([['java', new Map()], ['kafkarx', new Map()]]);
  for (const c of consumed) partitionOf.get(c.value!.toString())!.set(c.key!.toString(), c.partition);
  expect(partitionOf.get('java')!.size).toBe(200);
  expect(partitionOf.get('kafkarx')).toEqual(partitionOf.get('java'));
  expect(new Set(partitionOf.get('java')!.values()).size).toBeGreaterThan(1);
}, 120_000);

test.each([
  ['0', 0],
  ['1', 1],
  ['all', 'all'],
] as const)('acks=%s: every record arrives', async (_name, acks) => {
  const topic = uniqueTopic(`acks-${_name}`);
  await createTopic(topic, { partitions: 3 });
  if (acks === 0) {
    // With acks=0 a broker that has not loaded a new partition yet drops the write unanswered
    // (as for Java's client): wait until every partition takes acknowledged writes.
    await lastValueFrom(from([0, 1, 2].map((partition) => ({ topic, partition, value: `warm-${partition}` }))).pipe(toKafka(producer({ acks: 'all' })), toArray()));
  }
  const metas = await lastValueFrom(from(Array.from({ length: 2000 }, (_, i) => ({ topic, value: `v${i}` }))).pipe(toKafka(producer({ acks })), toArray()));
  expect(metas).toHaveLength(2000);
  if (acks === 0) expect(metas.every((m) => m.offset === -1)).toBe(true);
  else expect(new Set(metas.map((m) => `${m.partition}:${m.offset}`)).size).toBe(2000);
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: acks === 0 ? 2003 : 2000 });
  expect(new Set(consumed.map((c) => c.value!.toString()).filter((v) => !v.startsWith('warm')))).toEqual(new Set(metas.map((_m, i) => `v${i}`)));
}, 120_000);

test('partitions added while a stream runs are used once metadata refreshes', async () => {
  const topic = uniqueTopic('grow');
  await createTopic(topic, { partitions: 2 });
  const p = producer({ metadataMaxAgeMs: 500 });
  // One stream of keyed records, a few ms apart; the topic grows from 2 to 5 partitions under it.
  let grown = false;
  let sent = 0;
  let grownAt = Infinity;
  const growing = addPartitions(topic, 5).then(() => {
    grown = true;
    grownAt = sent;
  });
  const metas = await lastValueFrom(interval(2).pipe(
    // Go on for 1000 records past the growth: several metadata refreshes (every 500 ms).
    takeWhile((i) => (sent = i) < grownAt + 1000),
    map((i) => ({ topic, key: `k-${i}`, value: String(i), passthrough: { i, grown } })),
    toKafka(p),
    toArray(),
  ));
  await growing;
  // The partition tool's exit is seen some time after the broker grew the topic, so the flag only
  // bounds the switch from above. What must hold: each record goes where Java would put it among
  // 2 or among 5 partitions, and the partitioner switches once, in input order, from 2 to 5.
  metas.sort((a, b) => a.passthrough!.i - b.passthrough!.i);
  const telling = metas.filter((m) => javaPartition(`k-${m.passthrough!.i}`, 2) !== javaPartition(`k-${m.passthrough!.i}`, 5));
  const mapping = telling.map((m) => {
    const key = `k-${m.passthrough!.i}`;
    if (m.partition === javaPartition(key, 2)) return 2;
    expect(m.partition).toBe(javaPartition(key, 5));
    return 5;
  });
  const switchAt = mapping.indexOf(5);
  expect(switchAt).toBeGreaterThan(0);
  expect(mapping.slice(switchAt).every((n) => n === 5)).toBe(true);
  // Records sent well after the growth (more than one metadata refresh later) all use 5 partitions.
  const late = metas.filter((m) => m.passthrough!.grown && m.passthrough!.i > grownAt + 500);
  expect(late.length).toBeGreaterThan(100);
  for (const m of late) expect(m.partition).toBe(javaPartition(`k-${m.passthrough!.i}`, 5));
  expect(Math.max(...late.map((m) => m.partition))).toBeGreaterThanOrEqual(2);
}, 120_000);

test('a topic with LogAppendTime: each record reports the time the broker appended it, as ConsoleConsumer reads it', async () => {
  const topic = uniqueTopic('log-append-time');
  await createTopic(topic, { partitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } });
  const old = Date.now() - 3_600_000;
  const metas = await lastValueFrom(from(Array.from({ length: 20 }, (_, i) => ({ topic, value: `v${i}`, timestamp: old }))).pipe(toKafka(producer()), toArray()));
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: 20 });
  expect(consumed.every((c) => c.timestampType === 'LogAppendTime')).toBe(true);
  for (const m of metas) {
    expect(m.timestamp).toBeGreaterThan(old + 3_000_000);
    expect(m.timestamp).toBe(consumed.find((c) => c.offset === m.offset)!.timestamp);
  }
}, 60_000);

test('one oversized record among 1000 fails alone; the 999 others arrive', async () => {
  const topic = uniqueTopic('oversized');
  await createTopic(topic, { partitions: 2 });
  const big = 'x'.repeat(1024 * 1024 + 10);
  const input = Array.from({ length: 1000 }, (_, i) => ({ topic, value: i === 500 ? big : `small-${i}`, passthrough: i }));
  const results = await lastValueFrom(from(input).pipe(toKafka(producer(), { errorMode: 'results' }), toArray()));
  expect(results).toHaveLength(1000);
  const failed = results.filter((r) => !r.ok);
  expect(failed).toHaveLength(1);
  const f = failed[0] as Extract<(typeof results)[number], { ok: false }>;
  expect(f.record.passthrough).toBe(500);
  expect(f.error.name).toBe('RecordTooLargeError');
  expect(f.error.message).toMatch(/larger than maxRequestSize/);
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: 999 });
  expect(new Set(consumed.map((c) => c.value!.toString()))).toEqual(new Set(input.filter((_r, i) => i !== 500).map((r) => r.value)));
}, 120_000);

test('the default error mode ends the stream with the typed error, after sending what it had accepted', async () => {
  const topic = uniqueTopic('error-mode');
  await createTopic(topic, { partitions: 1 });
  const input = [
    { topic, value: 'a' },
    { topic, value: 'b' },
    { topic, value: { not: 'bytes' } as unknown as string },
    { topic, value: 'after' },
  ];
  const emitted: RecordMetadata[] = [];
  const error = await new Promise<Error>((resolve, reject) => {
    from(input).pipe(toKafka(producer())).subscribe({ next: (m) => emitted.push(m), error: resolve, complete: () => reject(new Error('completed')) });
  });
  expect(error.name).toBe('SerializationError');
  expect(error.message).toContain(topic);
  expect(error.message).toContain('value');
  expect(emitted.map((m) => m.offset)).toEqual([0, 1]);
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: 2 });
  expect(consumed.map((c) => c.value!.toString())).toEqual(['a', 'b']);
}, 60_000);

test('bad input fails before the network with a typed error naming the record; the rest arrive', async () => {
  const topic = uniqueTopic('bad-input');
  await createTopic(topic, { partitions: 2 });
  const input = [
    { topic, value: 'ok-1' },
    { topic: 'bad topic!', value: 'x' },
    { topic: 'y'.repeat(250), value: 'x' },
    { topic, value: 'x', partition: -1 },
    { topic, value: 'x', partition: 7 },
    { topic, key: 12 as unknown as string, value: 'x' },
    { topic, value: 'ok-2' },
  ];
  const results = await lastValueFrom(from(input).pipe(toKafka(producer(), { errorMode: 'results' }), toArray()));
  const errors = results.filter((r) => !r.ok).map((r) => (r.ok ? undefined : [r.error.name, r.error.message]));
  expect(errors).toEqual([
    ['InvalidRecordError', expect.stringContaining('"bad topic!" is illegal')],
    ['InvalidRecordError', expect.stringContaining('at most 249')],
    ['InvalidRecordError', expect.stringContaining('partition -1')],
    ['SerializationError', expect.stringMatching(/key .*no serializer given for a value of type number/)],
    ['UNKNOWN_TOPIC_OR_PARTITION', expect.stringContaining(`partition 7 of topic "${topic}" does not exist`)],
  ]);
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: 2 });
  expect(consumed.map((c) => c.value!.toString()).sort()).toEqual(['ok-1', 'ok-2']);
}, 60_000);

test('send() resolves one record at a time; flush() and close() finish what is buffered', async () => {
  const topic = uniqueTopic('send');
  const p = producer({ lingerMs: 50 });
  const sent = await Promise.all(Array.from({ length: 50 }, (_, i) => p.send({ topic, key: `k${i}`, value: `v${i}`, passthrough: i })));
  expect(sent.map((m) => m.passthrough)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  const late = p.send({ topic, value: 'late' });
  await p.flush();
  expect((await late).topic).toBe(topic);
  await p.close();
  await expect(p.send({ topic, value: 'closed' })).rejects.toThrow(/closed/);
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: 51 });
  expect(consumed).toHaveLength(51);
}, 60_000);
