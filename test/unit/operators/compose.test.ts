// The stages composed by hand, as a user may, with only what kafkarx/operators exports: the types
// each stage hands the next are public, and the composition delivers like toKafka().
import { from, lastValueFrom, map, toArray, type Observable, type OperatorFunction } from 'rxjs';
import { createProducer, type RecordResult } from 'kafkarx';
import {
  batch, compress, isBatch, partition, reserve, results, send, serialize,
  type BatchOrFailure, type OutgoingRecord, type ProducerBatch,
} from 'kafkarx/operators';
import { FakeKafka } from 'kafkarx/testing';

test('serialize → reserve → partition → batch → compress → send → results, typed at every step', async () => {
  const fake = new FakeKafka({ brokers: 1, topics: { orders: 2 } });
  const producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 5 });
  const sizes: number[] = [];
  // A stage of the user's own between send and results: it sees batches, typed.
  const countBatches: OperatorFunction<BatchOrFailure<{ n: number }>, BatchOrFailure<{ n: number }>> = map((item) => {
    if (isBatch(item)) {
      const b: ProducerBatch<{ n: number }> = item;
      sizes.push(b.recordCount);
    }
    return item;
  });
  const outgoing: Observable<OutgoingRecord<{ n: number }>> = from(Array.from({ length: 20 }, (_, n) => ({ topic: 'orders', key: `k${n % 4}`, value: n, passthrough: { n } })))
    .pipe(serialize<string, number, { n: number }>({ value: (v) => Buffer.from(String(v)) }));
  const out: RecordResult<{ n: number }>[] = await lastValueFrom(outgoing.pipe(
    reserve(producer), partition(producer), batch(producer), compress(producer, { compression: 'gzip' }), send(producer), countBatches, results(), toArray(),
  ));
  await producer.close();
  expect(out).toHaveLength(20);
  expect(out.every((r) => r.ok)).toBe(true);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(20);
  const stored = [...fake.records('orders', 0), ...fake.records('orders', 1)].map((r) => Number(r.value!.toString())).sort((a, b) => a - b);
  expect(stored).toEqual(Array.from({ length: 20 }, (_, n) => n));
  fake.close();
});
