// The README's example, runnable: orders as JSON, keyed by customer, with a header.
//   KAFKA_BROKERS=127.0.0.1:9092 node --conditions=kafkarx-source examples/orders.ts
// (npm run kafka:start prints an address to use.)
import { interval, map, take } from 'rxjs';
import { createProducer, json } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';

interface Order {
  id: number;
  customerId: string;
  total: number;
}

const topic = process.env.ORDERS_TOPIC ?? 'orders';
const producer = createProducer({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'shop' });

const orders$ = interval(10).pipe(
  take(100),
  map((i): Order => ({ id: i, customerId: `customer-${i % 7}`, total: Math.round(Math.random() * 10_000) / 100 })),
);

orders$.pipe(
  map((o) => ({ topic, key: o.customerId, value: o, headers: { source: 'web' } })),
  toKafka(producer, { value: json<Order>() }),
).subscribe({
  next: (meta) => console.log(meta.topic, meta.partition, meta.offset),
  error: (e) => {
    console.error(e);
    void producer.close();
  },
  complete: () => void producer.close(),
});
