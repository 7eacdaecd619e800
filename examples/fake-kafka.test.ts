// How a user tests a toKafka() pipeline with kafkarx/testing: the producer talks to FakeKafka, an
// in-memory cluster, instead of a broker; the test injects faults and inspects what was written.
// Runs in real time (a few hundred ms): see the README for what virtual time does not cover yet.
import { from, lastValueFrom, map, Subject, timer, toArray, zip, type Observable } from 'rxjs';
import { createProducer, json, type Producer, type RecordMetadata } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { FakeKafka } from 'kafkarx/testing';

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
let kafka: FakeKafka;
let producer: Producer;

beforeEach(() => {
  kafka = new FakeKafka({ topics: { orders: 1, invoices: 1 } });
});

afterEach(async () => {
  await producer.close();
  kafka.close();
});

test('orders that arrive within the linger time go out in one Produce request', async () => {
  producer = createProducer({ brokers: kafka.bootstrap, transport: kafka.transport });
  const orders$ = new Subject<Order>();
  const done = lastValueFrom(publishOrders(producer, orders$).pipe(toArray()));
  orders$.next({ id: 1, customerId: 'c1', total: 10 });
  orders$.next({ id: 2, customerId: 'c2', total: 20 });
  // The third order comes after the first batch's 50 ms linger: a second request.
  await lastValueFrom(timer(150));
  orders$.next({ id: 3, customerId: 'c1', total: 30 });
  orders$.complete();
  const meta = await done;
  expect(meta.map((m) => m.offset)).toEqual([0, 1, 2]);
  expect(kafka.requests('Produce')).toHaveLength(2);
  expect(kafka.records('orders').map((r) => JSON.parse(r.value!.toString()).id)).toEqual([1, 2, 3]);
});

test('a retriable error from the broker is retried, and the order is written once', async () => {
  producer = createProducer({ brokers: kafka.bootstrap, transport: kafka.transport, retryBackoffMs: 10 });
  kafka.failProduce('orders', 0, 19 /* NOT_ENOUGH_REPLICAS */);
  const meta = await lastValueFrom(publishOrders(producer, from([{ id: 1, customerId: 'c1', total: 10 }])).pipe(toArray()));
  expect(meta.map((m) => m.offset)).toEqual([0]);
  expect(kafka.requests('Produce')).toHaveLength(2);
  expect(kafka.records('orders')).toHaveLength(1);
});

test('a transaction whose body fails aborts: nothing reaches a read_committed consumer', async () => {
  producer = createProducer({ brokers: kafka.bootstrap, transport: kafka.transport, transactionalId: 'invoicer', lingerMs: 0 });
  // The bad order comes 100 ms after the good one, which by then is written (inside the transaction).
  const orders$ = zip(from([{ id: 1, customerId: 'c1', total: 10 }, { id: 2, customerId: 'c2', total: -5 }]), timer(0, 100)).pipe(map(([order]) => order));
  await expect(lastValueFrom(publishInvoiceBatch(producer, orders$))).rejects.toThrow('order 2 has a negative total');
  expect(kafka.readCommitted('invoices')).toEqual([]);
  expect(kafka.records('invoices').map((r) => [r.offset, r.key?.toString(), r.state])).toEqual([[0, 'c1', 'aborted']]);
  expect(kafka.requests('EndTxn').map((r) => (r.body as { committed: boolean }).committed)).toEqual([false]);
});
