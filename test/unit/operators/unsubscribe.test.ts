// Every exported operator behaves like an RxJS operator: values, errors and completion pass once,
// unsubscribing reaches the source at once, and a synchronous source stops being read the moment
// downstream has had enough (take, first) — even a source that would never end.
import { defer, finalize, first, from, map, range, take, tap, toArray, type OperatorFunction } from 'rxjs';
import { batch } from '../../../operators/batch.ts';
import { compress } from '../../../operators/compress.ts';
import { fromPullSource } from '../../../operators/from-pull-source.ts';
import { partition } from '../../../operators/partition.ts';
import { reserve } from '../../../operators/reserve.ts';
import { recordMetadata, results } from '../../../operators/results.ts';
import { send } from '../../../operators/send.ts';
import { serialize } from '../../../operators/serialize.ts';
import { toKafka } from '../../../operators/to-kafka.ts';
import { isBatch, type BatchOrFailure } from '../../../src/producer/batch.ts';
import type { Producer } from '../../../src/producer/producer.ts';
import type { OutgoingRecord, RecordResult } from '../../../src/producer/record.ts';
import { failedRecord, producer, record, seedTopic, testScheduler, valuesOf } from './support.ts';

const valueOf = (r: OutgoingRecord) => r.value?.toString() ?? 'null';
const showBatch = (b: BatchOrFailure) => (isBatch(b) ? valuesOf(b).join(',') : `failed:${b.error?.message}`);
const showResult = (r: RecordResult<unknown, unknown>) => (r.ok ? `ok:${r.metadata.offset}` : `failed:${r.error.message}`);

interface Case {
  name: string;
  /** The operator under test, with whatever turns a number into its input and its output into a string. */
  pipeline: (p: Producer) => OperatorFunction<number, string>;
  /** Input numbers each operator output stands for (a batch closed by size takes two). */
  perOutput?: number;
  /** What the producer needs first (topic metadata, for partition). */
  setup?: (p: Producer) => Promise<unknown>;
}

const cases: Case[] = [
  { name: 'serialize', pipeline: () => (s) => s.pipe(map((i) => ({ topic: 't', value: String(i) })), serialize(), map(valueOf)) },
  { name: 'reserve', pipeline: (p) => (s) => s.pipe(map((i) => record('t', 0, String(i))), reserve(p), map(valueOf)) },
  {
    name: 'partition',
    setup: (p) => seedTopic(p, 't', [1, 1]),
    pipeline: (p) => (s) => s.pipe(map((i) => record('t', -1, String(i))), partition(p, { random: () => 0 }), map(valueOf)),
  },
  // batchBytes 1: every record fills its batch, which leaves at once.
  { name: 'batch', pipeline: (p) => (s) => s.pipe(map((i) => record('t', 0, String(i))), batch(p, { batchBytes: 1 }), map(showBatch)) },
  { name: 'compress', pipeline: (p) => (s) => s.pipe(map((i) => record('t', 0, String(i))), batch(p, { batchBytes: 1 }), compress(p, { compression: 'gzip' }), map(showBatch)) },
  // Records that failed earlier pass through send without touching the network.
  { name: 'send', pipeline: (p) => (s) => s.pipe(map((i) => failedRecord('t', String(i))), send(p), map(showBatch)) },
  { name: 'results', pipeline: () => (s) => s.pipe(map((i) => failedRecord('t', String(i))), results(), map(showResult)) },
  {
    name: 'recordMetadata',
    pipeline: (p) => (s) => s.pipe(map((i) => record('t', 0, String(i))), batch(p, { batchBytes: 1 }), recordMetadata(() => undefined), map((m) => `${m.topic}:${m.offset}`)),
  },
  // An illegal topic fails in serialize and travels through every later stage to its result.
  { name: "toKafka (errorMode 'results')", pipeline: (p) => (s) => s.pipe(map((i) => ({ topic: '', value: String(i) })), toKafka(p, { errorMode: 'results' }), map((r) => (r.ok ? 'ok' : 'failed'))) },
];

describe.each(cases)('$name', ({ pipeline, setup }) => {
  /** A producer ready for the operator: everything it needs is in place before the synchronous part. */
  const ready = async () => {
    const p = producer();
    await setup?.(p);
    return p;
  };

  test('values and completion pass once; the source is unsubscribed when it completes', async () => {
    const p = await ready();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('1-2-|', { 1: 1, 2: 2 });
      const out = source.pipe(pipeline(p), map(() => 'x'));
      expectObservable(out).toBe('x-x-|');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  test('a source error passes once and ends the subscription', async () => {
    const p = await ready();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('1-#', { 1: 1 }, new Error('boom'));
      expectObservable(source.pipe(pipeline(p), map(() => 'x'))).toBe('x-#', undefined, new Error('boom'));
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  test('unsubscribing downstream unsubscribes the source at the same frame', async () => {
    const p = await ready();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('1-2-3-|', { 1: 1, 2: 2, 3: 3 });
      expectObservable(source.pipe(pipeline(p), map(() => 'x')), '^--!').toBe('x-x');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  test('take(1) unsubscribes the source at its first output', async () => {
    const p = await ready();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--1-2-|', { 1: 1, 2: 2 });
      expectObservable(source.pipe(pipeline(p), map(() => 'x'), take(1))).toBe('--(x|)');
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  test('take(n) and first() stop a synchronous range(0, 1e9) after n items', async () => {
    for (const [limit, tail] of [[3, take<string>(3)], [1, first<string>()]] as const) {
      let pulled = 0;
      let finalized = 0;
      let out: string[] = [];
      const started = performance.now();
      const p = await ready();
      range(0, 1e9).pipe(tap(() => pulled++), finalize(() => finalized++), pipeline(p), tail, toArray()).subscribe((x) => (out = x));
      expect(out).toHaveLength(limit);
      expect(pulled).toBe(limit);
      expect(finalized).toBe(1);
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });

  test('take(3) stops an infinite generator read through from(), and closes it', async () => {
    const p = await ready();
    let pulled = 0;
    let returned = false;
    function* naturals() {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield i;
        }
      } finally {
        returned = true;
      }
    }
    let out: string[] = [];
    from(naturals()).pipe(pipeline(p), take(3), toArray()).subscribe((x) => (out = x));
    expect(out).toHaveLength(3);
    expect(pulled).toBe(3);
    expect(returned).toBe(true);
  });
});

test("toKafka's default error mode stops reading at the first failed record and errors with it", () => {
  testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('a-b-|', { a: { topic: '', value: 'a' }, b: { topic: 't', value: 'b' } });
    expectObservable(source.pipe(toKafka(producer()))).toBe('#', undefined, expect.objectContaining({ name: 'InvalidRecordError' }));
    expectSubscriptions(source.subscriptions).toBe('(^!)');
  });
  let pulled = 0;
  let error: unknown;
  range(0, 1e9).pipe(tap(() => pulled++), map((i) => ({ topic: '', value: String(i) })), toKafka(producer())).subscribe({ error: (e) => (error = e) });
  expect(pulled).toBe(1);
  expect((error as Error).name).toBe('InvalidRecordError');
});

test('fromPullSource stops an infinite synchronous iterable under take(n) and first(), and closes it', () => {
  for (const [limit, tail] of [[5, take<number>(5)], [1, first<number>()]] as const) {
    let pulled = 0;
    let returned = false;
    const naturals = {
      *[Symbol.iterator]() {
        try {
          for (let i = 0; ; i++) {
            pulled++;
            yield i;
          }
        } finally {
          returned = true;
        }
      },
    };
    let out: number[] = [];
    defer(() => fromPullSource(naturals, producer())).pipe(tail, toArray()).subscribe((x: number[]) => (out = x));
    expect(out).toHaveLength(limit);
    expect(pulled).toBe(limit);
    expect(returned).toBe(true);
  }
});
