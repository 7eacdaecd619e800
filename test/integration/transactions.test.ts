import { concat, concatWith, defer, from, ignoreElements, lastValueFrom, mergeMap, Subject, take, tap, throwError, timer, toArray } from 'rxjs';
import { createProducer, isFatal, ProducerFencedError, TransactionTimeoutError, type Producer, type ProducerConfig, type RecordMetadata } from 'kafkarx';
import { toKafka, transactions } from 'kafkarx/operators';
import { consumeTransformProduce } from '../../examples/consume-transform-produce.ts';
import { ensureKafkaJars } from '../broker/jars.ts';
import { runJavaToolAsync } from '../broker/java.ts';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic, type ConsumedRecord } from '../broker/reference.ts';

const producers: Producer[] = [];
function producer(overrides: Partial<ProducerConfig> = {}): Producer {
  const p = createProducer({ brokers: bootstrap().split(','), clientId: 'kafkarx-txn-it', lingerMs: 1, ...overrides });
  producers.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(producers.map((p) => p.close().catch(() => undefined)));
});

const values = (records: ConsumedRecord[]) => records.map((r) => r.value!.toString());
const committed = (topic: string, n: number) => consumeWithConsoleConsumer(topic, { maxRecords: n, isolationLevel: 'read_committed', timeoutMs: 30_000 });
const uncommitted = (topic: string, n: number) => consumeWithConsoleConsumer(topic, { maxRecords: n, isolationLevel: 'read_uncommitted', timeoutMs: 30_000 });
const errorOf = (o: Promise<unknown>) => o.then(() => { throw new Error('expected an error'); }, (e: Error) => e);

/** Committed offsets of a group per "topic:partition", as Kafka's consumer-group tool reports them. */
async function groupOffsets(group: string): Promise<Map<string, number | null>> {
  const { stdout } = await runJavaToolAsync(ensureKafkaJars().tools, 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
    ['--bootstrap-server', bootstrap(), '--describe', '--group', group]);
  const offsets = new Map<string, number | null>();
  for (const line of stdout.toString().split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] !== group || !/^\d+$/.test(cols[2] ?? '')) continue;
    offsets.set(`${cols[1]}:${cols[2]}`, cols[3] === '-' ? null : Number(cols[3]));
  }
  return offsets;
}

test('committed records are read once by a read_committed consumer; a scope that errors or is unsubscribed aborts', async () => {
  const topic = uniqueTopic('txn-basic');
  await createTopic(topic, { partitions: 3 });
  const p = producer({ transactionalId: uniqueTopic('tx-basic') });
  await p.ready();
  const batch = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ topic, key: `k${i}`, value: `${tag}-${i}` }));

  const first = await lastValueFrom(p.transaction((tx) => from(batch('a', 100)).pipe(tx.send())).pipe(toArray()));
  expect(first).toHaveLength(100);
  expect(new Set(first.map((m) => `${m.partition}:${m.offset}`)).size).toBe(100);

  // An error after every record was acknowledged (the body emitted their metadata): the records
  // are in the log, but aborted, and the scope emits none of what the body emitted.
  const boom = new Error('transform failed');
  const emitted: RecordMetadata[] = [];
  const thrown = await new Promise<unknown>((resolve) => p.transaction((tx) => from(batch('b', 50)).pipe(
    tx.send(),
    concatWith(throwError(() => boom)),
  )).subscribe({ next: (m) => emitted.push(m), error: resolve, complete: () => resolve('completed') }));
  expect(thrown).toBe(boom);
  expect(emitted).toEqual([]);

  // Unsubscribed once its records are acknowledged: aborted too.
  const acked = new Subject<void>();
  const subscription = p.transaction((tx) => concat(from(batch('c', 50)).pipe(tx.send(), toArray(), mergeMap(() => { acked.next(); return []; })), timer(60_000))).subscribe();
  await new Promise<void>((resolve) => acked.subscribe(() => resolve()));
  subscription.unsubscribe();

  const last = await lastValueFrom(p.transaction((tx) => from(batch('d', 100)).pipe(tx.send())).pipe(toArray()));
  expect(last).toHaveLength(100);

  // The aborted records did reach the log: a read_uncommitted consumer sees all 300.
  expect(values(await uncommitted(topic, 300)).filter((v) => /^[bc]-/.test(v))).toHaveLength(100);
  // read_committed: exactly the two committed transactions. Every partition ends with records of
  // the last transaction, so reading them all means reading past the aborted ones.
  const seen = values(await committed(topic, 200));
  expect(seen.sort()).toEqual([...batch('a', 100), ...batch('d', 100)].map((r) => r.value).sort());
}, 120_000);

test('a transactional producer refuses toKafka() and send() outside a transaction, with a typed error', async () => {
  const topic = uniqueTopic('txn-outside');
  const p = producer({ transactionalId: uniqueTopic('tx-outside') });
  const e = await errorOf(lastValueFrom(from([{ topic, value: 'x' }]).pipe(toKafka(p))));
  expect(e).toMatchObject({ name: 'TransactionStateError' });
  expect(e.message).toContain('transaction');
  expect(isFatal(e)).toBe(false);
  await expect(p.send({ topic, value: 'x' })).rejects.toMatchObject({ name: 'TransactionStateError' });
  // The producer still works inside a transaction.
  const metas = await lastValueFrom(p.transaction((tx) => from([{ topic, value: 'inside' }]).pipe(tx.send())).pipe(toArray()));
  expect(metas.map((m) => m.offset)).toEqual([0]);
}, 60_000);

test('a second producer with the same transactionalId fences the first, which fails with ProducerFencedError and sends nothing more', async () => {
  const topic = uniqueTopic('txn-fence');
  await createTopic(topic, { partitions: 2 });
  const id = uniqueTopic('tx-fence');
  const batch = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ topic, key: `k${i}`, value: `${tag}-${i}` }));
  const first = producer({ transactionalId: id });
  await first.ready();
  const acked = new Subject<void>();
  const fenced = new Subject<void>();
  const firstAcked = new Promise<void>((resolve) => acked.subscribe(() => resolve()));
  const outcome = errorOf(lastValueFrom(first.transaction((tx) => concat(
    from(batch('a1', 20)).pipe(tx.send(), toArray(), tap(() => acked.next())),
    fenced.pipe(take(1), mergeMap(() => from(batch('a2', 20)).pipe(tx.send()))),
  ))));
  await firstAcked;
  const second = producer({ transactionalId: id });
  await second.ready();
  fenced.next();
  const error = await outcome;
  expect(error).toBeInstanceOf(ProducerFencedError);
  expect(error.message).toContain(JSON.stringify(id));
  expect(isFatal(error)).toBe(true);
  // The fenced producer is done: its next transaction fails at once, before sending anything.
  const again = await errorOf(lastValueFrom(first.transaction((tx) => from(batch('a3', 20)).pipe(tx.send()))));
  expect(again).toBe(error);

  await lastValueFrom(second.transaction((tx) => from(batch('b', 10)).pipe(tx.send())));
  // In each partition the fenced producer's records come before the second one's: reading all of
  // the second one's means every written a2/a3 record would have been read too.
  const all = values(await uncommitted(topic, 30));
  expect(all.filter((v) => v.startsWith('a1-'))).toHaveLength(20);
  expect(all.filter((v) => v.startsWith('b-'))).toHaveLength(10);
  expect(values(await committed(topic, 10)).sort()).toEqual(batch('b', 10).map((r) => r.value).sort());
}, 120_000);

test('a transaction open past transactionTimeoutMs is aborted by the broker: TransactionTimeoutError, not fatal, and the same producer goes on', async () => {
  const topic = uniqueTopic('txn-timeout');
  await createTopic(topic, { partitions: 1 });
  const id = uniqueTopic('tx-timeout');
  const p = producer({ transactionalId: id, transactionTimeoutMs: 2000 });
  const late = (tag: string) => from(Array.from({ length: 10 }, (_, i) => ({ topic, value: `${tag}-${i}` })));
  // The broker looks for expired transactions every
  // transaction.abort.timed.out.transaction.cleanup.interval.ms (10 s by default).
  // Found out at the commit (EndTxn is refused):
  const atCommit = await errorOf(lastValueFrom(p.transaction((tx) => concat(late('late1').pipe(tx.send()), timer(14_000).pipe(ignoreElements())))));
  expect(atCommit).toBeInstanceOf(TransactionTimeoutError);
  expect(atCommit.message).toContain('transactionTimeoutMs (2000 ms)');
  expect((atCommit as TransactionTimeoutError).elapsedMs).toBeGreaterThan(2000);
  expect(isFatal(atCommit)).toBe(false);
  // Found out by a Produce after the timeout (its epoch is refused):
  const atProduce = await errorOf(lastValueFrom(p.transaction((tx) => concat(
    late('late2').pipe(tx.send()),
    timer(14_000).pipe(ignoreElements()),
    late('late3').pipe(tx.send()),
  ))));
  expect(atProduce).toBeInstanceOf(TransactionTimeoutError);
  expect(isFatal(atProduce)).toBe(false);

  // The same producer, on its bumped epoch:
  await lastValueFrom(p.transaction((tx) => from([{ topic, value: 'after' }]).pipe(tx.send())));
  expect(values(await uncommitted(topic, 21)).filter((v) => v.startsWith('late'))).toHaveLength(20);
  expect(values(await committed(topic, 1))).toEqual(['after']);
}, 120_000);

test('offsets sent in a transaction are committed for the group only when it commits', async () => {
  const input = uniqueTopic('txn-in');
  const output = uniqueTopic('txn-out');
  await createTopic(input, { partitions: 2 });
  await createTopic(output, { partitions: 2 });
  const group = uniqueTopic('txn-group');
  const p = producer({ transactionalId: uniqueTopic('tx-offsets') });
  // Each output record carries the position of the input record it was made from.
  const made = (partition: number, from_: number, to: number) => Array.from({ length: to - from_ + 1 }, (_, i) => ({
    topic: output, value: `${partition}/${from_ + i}`, passthrough: { topic: input, partition, offset: from_ + i },
  }));
  let duringTransaction: Map<string, number | null> | undefined;
  await lastValueFrom(p.transaction((tx) => concat(
    from([...made(0, 0, 9), ...made(1, 0, 4)]).pipe(tx.send(), tx.sendOffsets({ groupId: group })),
    defer(async () => { duringTransaction = await groupOffsets(group); }).pipe(ignoreElements()),
  )));
  expect(duringTransaction?.get(`${input}:0`) ?? null).toBeNull();
  const afterFirst = await groupOffsets(group);
  expect(afterFirst.get(`${input}:0`)).toBe(10);
  expect(afterFirst.get(`${input}:1`)).toBe(5);

  await errorOf(lastValueFrom(p.transaction((tx) => from(made(0, 10, 19)).pipe(
    tx.send(),
    tx.sendOffsets({ groupId: group }),
    concatWith(throwError(() => new Error('abort after the offsets were added'))),
  ))));
  expect(await groupOffsets(group)).toEqual(afterFirst);

  await lastValueFrom(p.transaction((tx) => from(made(0, 20, 24)).pipe(tx.send(), tx.sendOffsets(() => ({ groupId: group })))));
  const afterLast = await groupOffsets(group);
  expect(afterLast.get(`${input}:0`)).toBe(25);
  expect(afterLast.get(`${input}:1`)).toBe(5);
}, 120_000);

test('1000 transactions, about 20% aborted at random: read_committed sees exactly the committed records, in order per partition', async () => {
  const topic = uniqueTopic('txn-many');
  await createTopic(topic, { partitions: 3 });
  const p = producer({ transactionalId: uniqueTopic('tx-many'), lingerMs: 0 });
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const count = 1000;
  // The last one commits, so reading every committed record means reading past every aborted one.
  const aborted = new Set(Array.from({ length: count - 1 }, (_, t) => t).filter(() => random() < 0.2));
  const records = (t: number) => Array.from({ length: 4 }, (_, j) => ({ topic, key: `k${(t * 4 + j) % 11}`, value: `${t}:${j}` }));
  // An aborted transaction errors once its records had time to be written, so the abort has
  // something to discard.
  const body = (t: number) => aborted.has(t)
    ? concat(from(records(t)), timer(100).pipe(mergeMap(() => throwError(() => new Error(`abort ${t}`)))))
    : from(records(t));
  // Each transaction is handed over when the previous one ended, so its 100 ms run within its turn.
  const outer = new Subject<ReturnType<typeof body>>();
  const outcomes = lastValueFrom(outer.pipe(
    transactions(p, { continueOnAbort: true }),
    tap((o) => (o.index + 1 < count ? outer.next(body(o.index + 1)) : outer.complete())),
    toArray(),
  ));
  outer.next(body(0));
  const all = await outcomes;
  expect(all.map((o) => o.index)).toEqual(Array.from({ length: count }, (_, t) => t));
  expect(all.filter((o) => !o.committed).map((o) => o.index)).toEqual([...aborted]);
  expect(aborted.size).toBeGreaterThan(150);

  const expected = Array.from({ length: count }, (_, t) => t).filter((t) => !aborted.has(t)).flatMap((t) => records(t).map((r) => r.value));
  const seen = await committed(topic, expected.length);
  expect(values(seen).sort()).toEqual([...expected].sort());
  const order = (v: string) => v.split(':').map(Number);
  for (let partition = 0; partition < 3; partition++) {
    const inPartition = seen.filter((r) => r.partition === partition).sort((a, b) => a.offset - b.offset).map((r) => order(r.value!.toString()));
    expect(inPartition.length).toBeGreaterThan(0);
    for (let i = 1; i < inPartition.length; i++) {
      const [t0, j0] = inPartition[i - 1];
      const [t1, j1] = inPartition[i];
      expect(t1 > t0 || (t1 === t0 && j1 > j0)).toBe(true);
    }
  }
  // Most aborted transactions had their records written before the abort.
  const everything = values(await uncommitted(topic, expected.length + 2 * aborted.size));
  expect(everything.filter((v) => aborted.has(Number(v.split(':')[0]))).length).toBeGreaterThan(0);
}, 240_000);

test('the consume-transform-produce example: every input record appears once, transformed, and the group offsets cover the input', async () => {
  const input = uniqueTopic('ctp-in');
  const output = uniqueTopic('ctp-out');
  await createTopic(input, { partitions: 2 });
  await createTopic(output, { partitions: 2 });
  const n = 300;
  await lastValueFrom(from(Array.from({ length: n }, (_, i) => ({ topic: input, key: `k${i % 13}`, value: String(i) }))).pipe(toKafka(producer()), toArray()));
  const groupId = uniqueTopic('ctp-group');
  const pipeline = await consumeTransformProduce({
    brokers: bootstrap().split(','), input, output, groupId, transactionalId: uniqueTopic('ctp-tx'),
    transform: (v) => `doubled:${Number(v) * 2}`,
  });
  try {
    const seen = values(await committed(output, n));
    expect(seen.sort()).toEqual(Array.from({ length: n }, (_, i) => `doubled:${i * 2}`).sort());
    for (let waited = 0; pipeline.processed < n && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    expect(pipeline.processed).toBe(n);
  } finally {
    await pipeline.stop();
  }
  const offsets = await groupOffsets(groupId);
  expect((offsets.get(`${input}:0`) ?? 0) + (offsets.get(`${input}:1`) ?? 0)).toBe(n);
}, 120_000);
