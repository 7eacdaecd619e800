// Whole producers in virtual time: with the same TestScheduler for the producer and FakeKafka,
// every timeout and backoff is an exact marble frame (runMarbles drains Promise callbacks
// between virtual actions). Also the fake's transaction timeouts, transaction versions, and what
// it observes of connections, flushes and closes.
import { catchError, map, of, take, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createProducer, type Producer, type ProducerConfig, type RecordMetadata } from 'kafkarx';
import { fromPullSource, toKafka } from 'kafkarx/operators';
import { FakeKafka, runMarbles, type FakeKafkaOptions } from 'kafkarx/testing';

let testScheduler: TestScheduler;
let fake: FakeKafka;
let producer: Producer;
const where = (m: RecordMetadata) => `${m.partition}@${m.offset}`;
const named = (e: Error) => of(e.name);

function* numbers(): Generator<number> {
  for (let i = 0; ; i++) yield i;
}

function start(fakeOptions: FakeKafkaOptions = {}, config: Partial<ProducerConfig> = {}): void {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  fake = new FakeKafka({ topics: { t: 1 }, scheduler: testScheduler, ...fakeOptions });
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, scheduler: testScheduler, lingerMs: 0, ...config });
}

afterEach(async () => {
  await producer.close();
  expect(fake.openConnections).toBe(0);
  fake.close();
});

test('request latency is exact: three round trips of 10 ms before the first Produce, one more for its answer', async () => {
  start({ latencyMs: 10 });
  await runMarbles(testScheduler, ({ cold, expectObservable }) => {
    // ApiVersions (10), Metadata (20), InitProducerId (30): the Produce goes at 30, answered at 40.
    expectObservable(cold('a|', { a: { topic: 't', value: 'x' } }).pipe(toKafka(producer), map(where))).toBe('40ms (a|)', { a: '0@0' });
  });
  expect(fake.requests().map((r) => `${r.at} ${r.api}`)).toEqual(['0 ApiVersions', '10 Metadata', '20 InitProducerId', '30 Produce']);
});

test('a request timeout in virtual time: the Produce is retried on a new connection after requestTimeoutMs, without a duplicate', async () => {
  start({}, { requestTimeoutMs: 200, retryBackoffMs: 50 });
  fake.delayResponses('Produce', 10_000);
  await runMarbles(testScheduler, ({ cold, expectObservable }) => {
    // Timed out at 200, retried after 50 ms of backoff on a new connection, answered at once.
    expectObservable(cold('a|', { a: { topic: 't', value: 'x' } }).pipe(toKafka(producer), map(where))).toBe('250ms (a|)', { a: '0@0' });
  });
  expect(fake.requests('Produce').map((r) => r.at)).toEqual([0, 250]);
  expect(fake.records('t').map((r) => r.offset)).toEqual([0]);
  // The timed-out connection was closed by the client; the fake's late answer found nobody.
  expect(fake.connections().filter((c) => c.closedBy === 'client').map((c) => c.closedAt)).toContain(200);
});

test('the metadata wait for a topic that never comes ends at exactly maxBlockMs', async () => {
  start({ autoCreateTopics: false }, { maxBlockMs: 500 });
  await runMarbles(testScheduler, ({ cold, expectObservable }) => {
    const out = cold('a', { a: { topic: 'missing', value: 'x' } }).pipe(toKafka(producer), map(where), catchError(named));
    expectObservable(out).toBe('500ms (e|)', { e: 'TimeoutError' });
  });
});

test('retry backoff has no jitter in virtual time: 100, 200 and 400 ms', async () => {
  start({}, { retryBackoffMs: 100 });
  fake.failProduce('t', 0, 19 /* NOT_ENOUGH_REPLICAS */, 3);
  await runMarbles(testScheduler, ({ cold, expectObservable }) => {
    expectObservable(cold('a|', { a: { topic: 't', value: 'x' } }).pipe(toKafka(producer), map(where))).toBe('700ms (a|)', { a: '0@0' });
  });
  expect(fake.requests('Produce').map((r) => r.at)).toEqual([0, 100, 300, 700]);
});

test('fromPullSource yields through the scheduler: an endless synchronous source is read in turns with the network, all at frame 0', async () => {
  start();
  let read = 0;
  await runMarbles(testScheduler, ({ expectObservable }) => {
    const records = fromPullSource(numbers(), producer).pipe(tap(() => read++), map((i) => ({ topic: 't', value: String(i) })));
    expectObservable(records.pipe(toKafka(producer), take(1), map(where))).toBe('(a|)', { a: '0@0' });
  });
  // Between its turns the requests went out; take(1) stopped the source at the first result.
  expect(read).toBeGreaterThan(0);
  expect(read).toBeLessThan(100_000);
});

test('fromPullSource takes its turns on the producer\'s scheduler: while nobody runs virtual time it stops at its first yield', async () => {
  start();
  let read = 0;
  const subscription = fromPullSource(numbers(), producer).pipe(tap(() => read++)).subscribe();
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  // One run of reads (4096 items) and then a turn that only the scheduler can give.
  expect(read).toBe(4096);
  subscription.unsubscribe();
});

describe.each([1, 2] as const)('transaction version %i', (transactionVersion) => {
  const transactional = (config: Partial<ProducerConfig> = {}) => start({ transactionVersion }, { transactionalId: 'tx', ...config });

  test('the fake offers the versions of its transaction version, and the producer uses them', async () => {
    transactional();
    await runMarbles(testScheduler, ({ cold, expectObservable }) => {
      expectObservable(producer.transaction((tx) => cold('a|', { a: { topic: 't', value: 'x' } }).pipe(tx.send(), map(where)))).toBe('-(a|)', { a: '0@0' });
    });
    const produce = fake.requests('Produce').map((r) => r.version);
    const endTxn = fake.requests('EndTxn').map((r) => r.version);
    if (transactionVersion === 1) {
      expect(produce).toEqual([11]);
      expect(endTxn).toEqual([4]);
      expect(fake.requests('AddPartitionsToTxn')).toHaveLength(1);
    } else {
      expect(produce).toEqual([12]);
      expect(endTxn).toEqual([5]);
      expect(fake.requests('AddPartitionsToTxn')).toHaveLength(0);
    }
    expect(fake.readCommitted('t').map((r) => r.offset)).toEqual([0]);
  });

  test('transaction.timeout.ms: the fake aborts the open transaction; the scope fails with TransactionTimeoutError and the next one commits', async () => {
    transactional({ transactionTimeoutMs: 1000 });
    await runMarbles(testScheduler, ({ cold, expectObservable }) => {
      const slow = producer.transaction((tx) => cold('a 1999ms |', { a: { topic: 't', value: 'late' } }).pipe(tx.send(), map(where))).pipe(catchError(named));
      const next = producer.transaction((tx) => cold('b|', { b: { topic: 't', value: 'next' } }).pipe(tx.send(), map(where)));
      // The first transaction's body ends at 2000, after the broker aborted it at 1000.
      expectObservable(slow).toBe('2000ms (e|)', { e: 'TransactionTimeoutError' });
      // The second waits its turn, then commits at once: the record follows the abort marker.
      expectObservable(next).toBe('2000ms -(b|)', { b: '0@2' });
    });
    expect(fake.records('t').map((r) => [r.offset, r.value?.toString(), r.state])).toEqual([[0, 'late', 'aborted'], [2, 'next', 'committed']]);
    expect(fake.readCommitted('t').map((r) => r.value?.toString())).toEqual(['next']);
  });
});

test('closes and flushes observed: every connection closed by the client once close() resolves', async () => {
  start({}, { lingerMs: 1000 });
  const calls = fake.observe(producer);
  let flushed = false;
  await runMarbles(testScheduler, async () => {
    const sent = producer.send({ topic: 't', value: 'x' });
    await producer.flush();
    flushed = true;
    // flush() sent the batch at once instead of after 1000 ms of linger.
    expect(testScheduler.now()).toBe(0);
    await sent;
  });
  expect(flushed).toBe(true);
  expect(calls).toMatchObject({ flushes: 1, flushed: 1, closes: 0, closed: false });
  expect(fake.closedByClient()).toBe(false);
  await producer.close();
  expect(calls).toMatchObject({ closes: 1, closed: true });
  expect(fake.closedByClient('kafkarx')).toBe(true);
  expect(fake.connections().every((c) => c.clientId === 'kafkarx' && c.closedBy === 'client')).toBe(true);
});

test('runMarbles rejects with a failed expectation', async () => {
  start();
  await expect(runMarbles(testScheduler, ({ cold, expectObservable }) => {
    expectObservable(cold('a|', { a: { topic: 't', value: 'x' } }).pipe(toKafka(producer), map(where))).toBe('5ms (a|)', { a: '0@0' });
  })).rejects.toThrow(/frame/);
});

test('delayBroker: every answer from the slow broker comes that much later, the other broker\'s do not; 0 makes it fast again', async () => {
  start({ brokers: 2, topics: {}, latencyMs: 1 });
  fake.createTopic('two', 2, { leaders: [1, 2] });
  fake.delayBroker(2, 30);
  const answered: number[] = [];
  const send = (partition: number) => producer.send({ topic: 'two', partition, value: 'x' }).then(() => void (answered[partition] = testScheduler.now()));
  await runMarbles(testScheduler, () => Promise.all([send(0), send(1)]));
  const produceTo = (broker: number) => fake.requests('Produce').filter((r) => r.broker === broker).map((r) => r.at);
  expect(answered[0] - produceTo(1)[0]).toBe(1);
  expect(answered[1] - produceTo(2)[0]).toBe(31);
  fake.delayBroker(2, 0);
  await runMarbles(testScheduler, () => send(1));
  expect(answered[1] - produceTo(2)[1]).toBe(1);
});

test.each([false, true])('forgetProducers, legacyUnknownProducerId %s: the next batch is written at its sequence (Kafka 2.5+), or refused as of an unknown producer (before 2.5)', async (legacyUnknownProducerId) => {
  start({ legacyUnknownProducerId });
  await runMarbles(testScheduler, async () => {
    await producer.send({ topic: 't', value: 'a' });
    fake.forgetProducers('t', 0);
    await producer.send({ topic: 't', value: 'b' });
  });
  // Kafka 2.5+: "b" (sequence 1) is written as it is. Before: UNKNOWN_PRODUCER_ID, and the
  // producer starts the partition again at 0 under its next epoch.
  expect(fake.records('t').map((r) => `${r.value?.toString()} ${r.producerEpoch}:${r.sequence}`)).toEqual(legacyUnknownProducerId ? ['a 0:0', 'b 1:0'] : ['a 0:0', 'b 0:1']);
  expect(fake.requests('Produce')).toHaveLength(legacyUnknownProducerId ? 3 : 2);
});
