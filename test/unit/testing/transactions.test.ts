// Transactions against kafkarx/testing's in-memory cluster: markers, read_committed, group
// offsets that count only when the transaction commits, fencing; plus sendOffsets and the scope
// behaving like RxJS operators over synchronous sources.
import { concat, first, from, lastValueFrom, map, range, take, tap, throwError, toArray } from 'rxjs';
import { createProducer, TransactionOutcomeUnknownError, type Producer, type RecordMetadata } from 'kafkarx';
import { transactions } from 'kafkarx/operators';
import { FakeKafka, type FakeRecord } from 'kafkarx/testing';

const text = (r: FakeRecord) => r.value?.toString();
const group = { groupId: 'g' };
let fake: FakeKafka;
let producer: Producer | undefined;

beforeEach(() => {
  fake = new FakeKafka({ brokers: 2, topics: { out: 2, in: 1 } });
});

afterEach(async () => {
  await producer?.close();
  producer = undefined;
  expect(fake.openConnections).toBe(0);
  fake.close();
});

const transactional = (id = 'tx-1') => createProducer({ brokers: fake.bootstrap, transport: fake.transport, transactionalId: id, lingerMs: 0 });
const consumed = (offset: number) => ({ topic: 'out', partition: 0, value: `v${offset}`, passthrough: { topic: 'in', partition: 0, offset } });

test('a transaction that commits: records become visible to read_committed, the marker takes an offset, offsets are committed', async () => {
  producer = transactional();
  const meta = await lastValueFrom(producer.transaction((tx) => from([consumed(7), consumed(8)]).pipe(tx.send(), tx.sendOffsets(group))).pipe(toArray()));
  expect(meta.map((m) => [m.partition, m.offset])).toEqual([[0, 0], [0, 1]]);
  expect(fake.records('out', 0).map((r) => [r.offset, text(r), r.state])).toEqual([[0, 'v7', 'committed'], [1, 'v8', 'committed']]);
  expect(fake.readCommitted('out').map(text)).toEqual(['v7', 'v8']);
  expect(fake.endOffset('out', 0)).toBe(3);
  expect(fake.committedOffsets('g')).toEqual([{ topic: 'in', partition: 0, offset: 9 }]);
  expect(fake.requests('EndTxn').map((r) => (r.body as { committed: boolean }).committed)).toEqual([true]);
});

test('a transaction that aborts: its records stay in the log as aborted, read_committed skips them, offsets are not committed', async () => {
  producer = transactional();
  const failure = new Error('body failed');
  await expect(lastValueFrom(producer.transaction((tx) => concat(from([consumed(1)]).pipe(tx.send(), tx.sendOffsets(group)), throwError(() => failure))))).rejects.toBe(failure);
  expect(fake.records('out', 0).map((r) => [r.offset, r.state])).toEqual([[0, 'aborted']]);
  expect(fake.readCommitted('out')).toEqual([]);
  expect(fake.committedOffsets('g')).toEqual([]);
  // The next transaction's records follow the abort marker.
  const [next] = await lastValueFrom(producer.transaction((tx) => from([consumed(2)]).pipe(tx.send())).pipe(toArray()));
  expect(next.offset).toBe(2);
  expect(fake.readCommitted('out').map(text)).toEqual(['v2']);
});

test('a commit whose every answer is lost: TransactionOutcomeUnknownError carries the producer id and epoch, the partitions, the groups and the withheld results', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, transactionalId: 'tx-unknown', lingerMs: 0, maxBlockMs: 400, requestTimeoutMs: 100, retryBackoffMs: 20, retryBackoffMaxMs: 40 });
  await producer.ready();
  // The coordinator commits (and answers each retry of the commit), but every answer comes too late.
  fake.delayResponses('EndTxn', 60_000, 1000);
  const records = [consumed(7), { ...consumed(8), partition: 1 }, consumed(9)];
  const error = await lastValueFrom(producer.transaction((tx) => from(records).pipe(tx.send(), tx.sendOffsets(group)))).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TransactionOutcomeUnknownError);
  const unknown = error as TransactionOutcomeUnknownError;
  const written = fake.records('out');
  expect(unknown.producerId).toBe(written[0].producerId);
  expect(unknown.producerEpoch).toBe(written[0].producerEpoch);
  expect([...unknown.partitions].sort((a, b) => a.partition - b.partition)).toEqual([{ topic: 'out', partition: 0 }, { topic: 'out', partition: 1 }]);
  expect(unknown.groups).toEqual(['g']);
  // The withheld results are the records' metadata as written: where to look them up.
  const withheld = unknown.withheld as RecordMetadata<unknown>[];
  // (in the order the scope got them: across partitions, as they were acknowledged)
  const byInput = [...withheld].sort((a, b) => (a.passthrough as { offset: number }).offset - (b.passthrough as { offset: number }).offset);
  expect(byInput.map((m) => [m.partition, m.offset, m.passthrough])).toEqual(records.map((r, i) => [r.partition, [0, 0, 1][i], r.passthrough]));
  expect(unknown.message).toMatch(/producer id \d+, epoch \d+; 2 partition\(s\), 3 result\(s\) withheld/);
  // Here it did commit: read_committed sees each record at the offset withheld.
  for (const m of withheld) expect(fake.readCommitted('out', m.partition).some((r) => r.offset === m.offset)).toBe(true);
  // The next scope, which must confirm that commit first and cannot, describes the same transaction.
  const next = await lastValueFrom(producer.transaction((tx) => from([consumed(10)]).pipe(tx.send()))).catch((e: unknown) => e);
  expect(next).toBeInstanceOf(TransactionOutcomeUnknownError);
  expect((next as TransactionOutcomeUnknownError).withheld).toEqual(withheld);
});

test('transactions() emits one outcome per window; an aborted one with continueOnAbort', async () => {
  producer = transactional();
  const windows = [[consumed(1)], concat(from([consumed(2)]), throwError(() => new Error('bad window'))), [consumed(3)]];
  const outcomes = await lastValueFrom(from(windows).pipe(transactions(producer, { continueOnAbort: true }), toArray()));
  expect(outcomes.map((o) => (o.committed ? 'committed' : (o.error as Error).message))).toEqual(['committed', 'bad window', 'committed']);
  // A window whose source fails still sends what it had accepted (as toKafka does), then aborts:
  // its record is in the log as aborted, and read_committed sees only the two commits.
  expect(fake.records('out', 0).map((r) => [r.offset, text(r), r.state])).toEqual([[0, 'v1', 'committed'], [2, 'v2', 'aborted'], [4, 'v3', 'committed']]);
  expect(fake.readCommitted('out').map(text)).toEqual(['v1', 'v3']);
  expect(fake.requests('EndTxn').map((r) => (r.body as { committed: boolean }).committed)).toEqual([true, false, true]);
});

test('a fenced transactional id: the next transaction fails with ProducerFencedError and its records are not committed', async () => {
  producer = transactional('fenced-id');
  await producer.ready();
  fake.fence('fenced-id');
  await expect(lastValueFrom(producer.transaction((tx) => from([consumed(1)]).pipe(tx.send())))).rejects.toMatchObject({ name: 'ProducerFencedError' });
  expect(fake.readCommitted('out')).toEqual([]);
});

test('sendOffsets and the transaction body stop reading a synchronous source the moment take() has enough', async () => {
  producer = transactional();
  let pulled = 0;
  const meta = await lastValueFrom(producer.transaction((tx) => range(0, 1e9).pipe(tap(() => pulled++), map(consumed), tx.sendOffsets<ReturnType<typeof consumed>>(group, (r) => r.passthrough), take(3), tx.send())).pipe(toArray()));
  expect(pulled).toBe(3);
  expect(meta.map((m) => m.offset)).toEqual([0, 1, 2]);
});

test('tx.send() over range(0, 1e9): the first record that fails ends the body at once, and the transaction aborts', async () => {
  producer = transactional();
  let pulled = 0;
  const started = performance.now();
  const body = producer.transaction((tx) => range(0, 1e9).pipe(tap(() => pulled++), map((i) => ({ topic: i === 0 ? '' : 'out', value: String(i) })), tx.send()));
  await expect(lastValueFrom(body)).rejects.toMatchObject({ name: 'InvalidRecordError' });
  expect(pulled).toBe(1);
  expect(performance.now() - started).toBeLessThan(2000);
  expect(fake.records('out')).toEqual([]);
});

test('transaction() and transactions() under take(1) and first() over range(0, 1e9): one item read, the scope ends at its first output', async () => {
  producer = transactional();
  for (const tail of [take<string>(1), first<string>()]) {
    let pulled = 0;
    const out = await lastValueFrom(producer.transaction((tx) => range(0, 1e9).pipe(tap(() => pulled++), map((i) => consumed(i)), tx.sendOffsets<ReturnType<typeof consumed>>(group, (r) => r.passthrough), map((r) => r.value), tail)).pipe(toArray()));
    expect(out).toEqual(['v0']);
    expect(pulled).toBe(1);
  }
  // transactions() over a synchronous source of windows: a producer without a transactional id
  // refuses each transaction at once, so take(1) has its first outcome synchronously.
  const plain = createProducer({ brokers: fake.bootstrap, transport: fake.transport });
  try {
    for (const tail of [take<string>(1), first<string>()]) {
      let pulled = 0;
      let out: string[] = [];
      const started = performance.now();
      range(0, 1e9).pipe(tap(() => pulled++), map((i) => [consumed(i)]), transactions(plain, { continueOnAbort: true }), map((o) => (o.committed ? 'committed' : (o.error as Error).name)), tail, toArray()).subscribe((x) => (out = x));
      expect(out).toEqual(['TransactionStateError']);
      expect(pulled).toBe(1);
      expect(performance.now() - started).toBeLessThan(2000);
    }
  } finally {
    await plain.close();
  }
});
