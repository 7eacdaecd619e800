// How a user tests a toKafka() pipeline with kafkarx/testing: marble diagrams in virtual time.
// The producer talks to FakeKafka, an in-memory cluster, instead of a broker; both run on the
// TestScheduler (`scheduler`), so linger, request latency, retry backoff and every timeout are
// exact frames, and the whole file runs in milliseconds. runMarbles is TestScheduler.run() for
// code that awaits between timers, as a producer does (see src/testing/virtual-time.ts).
import { map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createProducer, json, type Producer, type ProducerConfig, type RecordMetadata } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { FakeKafka, runMarbles } from 'kafkarx/testing';

// ---- the code under test: what a user's application would export ----
interface Order {
  id: number;
  customerId: string;
  total: number;
}

function publishOrders(producer: Producer, orders$: Observable<Order>): Observable<RecordMetadata> {
  return orders$.pipe(
    map((order) => ({ topic: 'orders', key: order.customerId, value: order })),
    toKafka(producer, { value: json<Order>(), lingerMs: 50 }),
  );
}

function publishInvoiceBatch(producer: Producer, orders$: Observable<Order>): Observable<RecordMetadata> {
  return producer.transaction((tx) => orders$.pipe(
    map((order) => {
      if (order.total < 0) throw new Error(`order ${order.id} has a negative total`);
      return { topic: 'invoices', key: order.customerId, value: JSON.stringify(order) };
    }),
    tx.send(),
  ));
}

// ---- the tests ----
const orders = {
  a: { id: 1, customerId: 'c1', total: 10 },
  b: { id: 2, customerId: 'c2', total: 20 },
  c: { id: 3, customerId: 'c1', total: 30 },
  x: { id: 4, customerId: 'c2', total: -5 },
};
/** Where each record landed, `partition@offset`: marble values compare by value. */
const where = (m: RecordMetadata) => `${m.partition}@${m.offset}`;

let testScheduler: TestScheduler;
let kafka: FakeKafka;
let producer: Producer;

function start(config: Partial<ProducerConfig> = {}): void {
  producer = createProducer({ brokers: kafka.bootstrap, transport: kafka.transport, scheduler: testScheduler, ...config });
}

beforeEach(() => {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  kafka = new FakeKafka({ topics: { orders: 1, invoices: 1 }, scheduler: testScheduler });
});

afterEach(async () => {
  await producer.close();
  kafka.close();
});

test('orders within the linger time go out together, 50 ms after the first; the source completing sends the rest at once', async () => {
  start();
  await runMarbles(testScheduler, ({ cold, expectObservable, expectSubscriptions }) => {
    const orders$ = cold('a 9ms b 99ms c|', orders);
    expectObservable(publishOrders(producer, orders$).pipe(map(where))).toBe('50ms (ab) 57ms (c|)', { a: '0@0', b: '0@1', c: '0@2' });
    expectSubscriptions(orders$.subscriptions).toBe('^ 110ms !');
  });
  expect(kafka.requests('Produce')).toHaveLength(2);
  expect(kafka.records('orders').map((r) => JSON.parse(r.value!.toString()).id)).toEqual([1, 2, 3]);
});

test('a retriable error is retried after retryBackoffMs, and the order is written once', async () => {
  start({ retryBackoffMs: 100 });
  kafka.failProduce('orders', 0, 19 /* NOT_ENOUGH_REPLICAS */);
  // Both Produce answers take 2 ms: the batch leaves at 50 (linger), fails at 52, goes again at
  // 152 (no jitter in virtual time), succeeds at 154; the source completed at 100.
  kafka.delayResponses('Produce', 2, 2);
  await runMarbles(testScheduler, ({ cold, expectObservable, expectSubscriptions }) => {
    const orders$ = cold('a 99ms |', orders);
    expectObservable(publishOrders(producer, orders$).pipe(map(where))).toBe('154ms (a|)', { a: '0@0' });
    expectSubscriptions(orders$.subscriptions).toBe('^ 99ms !');
  });
  expect(kafka.requests('Produce')).toHaveLength(2);
  expect(kafka.records('orders').map((r) => r.offset)).toEqual([0]);
});

test('a transaction whose body fails aborts at once: nothing reaches a read_committed consumer', async () => {
  start({ transactionalId: 'invoicer', lingerMs: 0 });
  await runMarbles(testScheduler, ({ cold, expectObservable, expectSubscriptions }) => {
    // The bad order comes 100 ms after the good one, which by then is written (inside the transaction).
    const orders$ = cold('a 99ms x', orders);
    expectObservable(publishInvoiceBatch(producer, orders$)).toBe('100ms #', undefined, new Error('order 4 has a negative total'));
    expectSubscriptions(orders$.subscriptions).toBe('^ 99ms !');
  });
  expect(kafka.readCommitted('invoices')).toEqual([]);
  expect(kafka.records('invoices').map((r) => [r.offset, r.key?.toString(), r.state])).toEqual([[0, 'c1', 'aborted']]);
  expect(kafka.requests('EndTxn').map((r) => (r.body as { committed: boolean }).committed)).toEqual([false]);
});

test('a transaction that commits emits its results only after the commit', async () => {
  start({ transactionalId: 'invoicer', lingerMs: 0 });
  // EndTxn takes 30 ms: the results come with the commit, not with the acknowledgements.
  kafka.delayResponses('EndTxn', 30);
  await runMarbles(testScheduler, ({ cold, expectObservable }) => {
    expectObservable(publishInvoiceBatch(producer, cold('a 9ms b|', orders)).pipe(map(where))).toBe('41ms (ab|)', { a: '0@0', b: '0@1' });
  });
  expect(kafka.readCommitted('invoices').map((r) => r.offset)).toEqual([0, 1]);
});
