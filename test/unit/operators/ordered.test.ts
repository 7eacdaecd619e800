// toKafka's `ordered: true`: one result per record, in input order, whatever order partitions are
// answered in; what is held back stays counted in the memory budget.
import { lastValueFrom, map, Observable, of, Subject, toArray } from 'rxjs';
import { createProducer, ProducerFencedError, type RecordResult } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { FakeKafka } from 'kafkarx/testing';
import { InputOrder } from '../../../operators/internal/input-order.ts';
import { ProducerBatch, type BatchOrFailure } from '../../../src/producer/batch.ts';
import { MemoryBudget } from '../../../src/producer/memory.ts';
import type { OutgoingRecord } from '../../../src/producer/record.ts';
import { RecordBatchBuilder } from '../../../src/record/batch-builder.ts';
import { record, testScheduler } from './support.ts';

function settled(partition: number, records: OutgoingRecord[], baseOffset: number, error: Error | null = null): ProducerBatch {
  const b = new ProducerBatch('t', partition, new RecordBatchBuilder(64), 0);
  for (const r of records) b.add(r);
  b.baseOffset = baseOffset;
  b.error = error;
  return b;
}

function failed(r: OutgoingRecord, message: string): OutgoingRecord {
  r.error = new Error(message);
  return r;
}

const show = (r: RecordResult<unknown, unknown>) => (r.ok ? `${r.metadata.partition}@${r.metadata.offset}` : `x:${r.error.message}`);

// Input a0 b0 c1 d2 e1 f0 across partitions 0, 1, 2 (reserved 10 bytes each); the sender answers
// partition 2 first, then a refused record, then partition 1 failing, then partition 0.
test('marbles: results wait for every earlier record, failures interleaved with successes across partitions', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const [a, b, c, d, e, f] = ['a', 'b', 'c', 'd', 'e', 'f'].map((v, i) => {
      const r = record('t', [0, 0, 1, 2, 1, 0][i], v);
      r.reserved = 10;
      return r;
    });
    const memory = new MemoryBudget(1000);
    const order = new InputOrder<unknown>(memory);
    // The stage tracks the records as given; a batch keeps each record's for its result.
    const input = cold('(abcdef|)', { a: a.source, b: b.source, c: c.source, d: d.source, e: e.source, f: f.source });
    const answers = cold<BatchOrFailure>('-w-x-y-(z|)', {
      w: settled(2, [d], 70),
      x: failed(f, 'refused'),
      y: settled(1, [c, e], -1, new Error('p1 failed')),
      z: settled(0, [a, b], 40),
    });
    // The tracked input must be subscribed for its order to be known; the answers come after.
    input.pipe(order.track()).subscribe();
    const out = answers.pipe(order.results<unknown>(), map(show));
    expectObservable(out).toBe('-------(abcdef|)', { a: '0@40', b: '0@41', c: 'x:p1 failed', d: '2@70', e: 'x:p1 failed', f: 'x:refused' });
  });
});

test("held records' key and value bytes stay counted in the memory budget until their results are emitted", () => {
  const memory = new MemoryBudget(1000);
  const order = new InputOrder<unknown>(memory);
  const [a, b, c] = [0, 1, 2].map((p) => record('t', p, 'x'.repeat(100), { key: 'k' }));
  const items = new Subject<BatchOrFailure>();
  const out: string[] = [];
  of(a.source, b.source, c.source).pipe(order.track()).subscribe();
  items.pipe(order.results<unknown>(), map(show)).subscribe((r) => out.push(r));
  items.next(settled(2, [c], 5));
  items.next(settled(1, [b], 7));
  expect(out).toEqual([]);
  expect(memory.used).toBe(2 * 101);
  items.next(settled(0, [a], 9));
  expect(out).toEqual(['0@9', '1@7', '2@5']);
  expect(memory.used).toBe(0);
});

test('a fatal error skips the line: it ends the stream at once', () => {
  const order = new InputOrder<unknown>(new MemoryBudget(1000));
  const [a, b] = [0, 1].map((p) => record('t', p, 'v'));
  const items = new Subject<BatchOrFailure>();
  const out: string[] = [];
  of(a.source, b.source).pipe(order.track()).subscribe();
  items.pipe(order.results<unknown>()).subscribe((r) => out.push(r.ok ? 'ok' : r.error.name));
  items.next(settled(1, [b], -1, new ProducerFencedError('tx', 1, 0, 90, 'Produce')));
  expect(out).toEqual(['ProducerFencedError']);
});

describe('toKafka({ ordered: true }) against FakeKafka', () => {
  let kafka: FakeKafka;
  beforeEach(() => {
    kafka = new FakeKafka({ brokers: 3, topics: { orders: 3 } });
  });
  afterEach(() => kafka.close());

  // Partition 0's leader is away for a while, partition 1 refuses its records (INVALID_RECORD,
  // not retriable), partition 2 answers at once, and a record too large fails before batching.
  function run(ordered: boolean, errorMode: 'results' | 'error'): Observable<unknown> {
    const producer = createProducer({ brokers: kafka.bootstrap, transport: kafka.transport, logger: null, lingerMs: 0, maxRequestSize: 4096 });
    const records = [0, 1, 2, 0, 1, 2, -1, 0, 2].map((partition, i) => (partition < 0
      ? { topic: 'orders', partition: 2, value: 'x'.repeat(5000), passthrough: i }
      : { topic: 'orders', partition, value: `v${i}`, passthrough: i }));
    return new Observable((subscriber) => {
      void producer.ready().then(() => {
        kafka.makeLeaderless('orders', 0, 300);
        kafka.failProduce('orders', 1, 87, 10);
        const sent = of(...records).pipe(toKafka(producer, { errorMode, ordered }));
        sent.subscribe({
          next: (r) => subscriber.next(r),
          error: (e) => void producer.close().then(() => subscriber.error(e)),
          complete: () => void producer.close().then(() => subscriber.complete()),
        });
      });
    });
  }

  const tag = (r: unknown) => {
    const result = r as RecordResult<number>;
    return result.ok ? `${result.metadata.passthrough}:ok` : `${(result.record as { passthrough: number }).passthrough}:${result.error.name}`;
  };

  test("errorMode 'results': in input order, where unordered results come as partitions answer", async () => {
    const ordered = (await lastValueFrom(run(true, 'results').pipe(toArray()))).map(tag);
    expect(ordered).toEqual(['0:ok', '1:INVALID_RECORD', '2:ok', '3:ok', '4:INVALID_RECORD', '5:ok', '6:RecordTooLargeError', '7:ok', '8:ok']);
    const unordered = (await lastValueFrom(run(false, 'results').pipe(toArray()))).map(tag);
    expect(unordered.slice().sort()).toEqual(ordered.slice().sort());
    // Without `ordered`, partition 0 (leaderless for 300 ms) comes last and the refused record first.
    expect(unordered[0]).toBe('6:RecordTooLargeError');
    expect(unordered.slice(-3)).toEqual(['0:ok', '3:ok', '7:ok']);
  }, 20_000);

  test("errorMode 'error': metadata in input order, then the first failed record's error in input order", async () => {
    const out: number[] = [];
    const error = await lastValueFrom(run(true, 'error').pipe(map((m) => out.push((m as { passthrough: number }).passthrough)))).catch((e: Error) => e);
    expect(out).toEqual([0, 2, 3, 5, 7, 8]);
    expect((error as Error).name).toBe('INVALID_RECORD');
  }, 20_000);
});
