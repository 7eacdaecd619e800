// The batch stage in virtual time: when batches close (linger, size, completion, flush), how
// partitions are kept apart, what a partition the sender cannot take yet does to its batch, and
// what happens to memory when the subscriber goes away.
import { map } from 'rxjs';
import { batch } from '../../../operators/batch.ts';
import { isBatch, ProducerBatch, type BatchOwner } from '../../../src/producer/batch.ts';
import { RecordBatchBuilder } from '../../../src/record/batch-builder.ts';
import { describe as show, failedRecord, producer, record, testScheduler } from './support.ts';
import { internals } from '../../../src/producer/internals.ts';

/** Bytes a batch of these one-letter values takes: the threshold where it counts as full. */
function batchSizeOf(values: string[]): number {
  const b = new RecordBatchBuilder(256);
  for (const v of values) b.append(0, null, Buffer.from(v), []);
  return b.sizeInBytes;
}

test('a batch goes out lingerMs after its first record, with every record that came meanwhile', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 5 });
    const source = cold('a-b 5ms c', { a: record('t', 0, 'a'), b: record('t', 0, 'b'), c: record('t', 0, 'c') });
    // a at 0 opens the batch, which leaves at 5 with b; c (at 8) opens the next, leaving at 13.
    expectObservable(source.pipe(batch(p), map(show))).toBe('5ms x 7ms y', { x: 't/0:a,b', y: 't/0:c' });
  });
});

test('the lingerMs option overrides the producer setting', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 5 });
    const source = cold('a', { a: record('t', 0, 'a') });
    expectObservable(source.pipe(batch(p, { lingerMs: 20 }), map(show))).toBe('20ms x', { x: 't/0:a' });
  });
});

test('a batch that reaches batchBytes goes out at once, without waiting for its linger', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 5, batchBytes: batchSizeOf(['a', 'b']) });
    const source = cold('ab-c', { a: record('t', 0, 'a'), b: record('t', 0, 'b'), c: record('t', 0, 'c') });
    // The second record fills the batch at frame 1; c starts a new one that lingers (3 + 5).
    expectObservable(source.pipe(batch(p), map(show))).toBe('-x 6ms y', { x: 't/0:a,b', y: 't/0:c' });
  });
});

test('a record that would overflow the open batch sends it and starts the next one', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    // One byte short of three records: a and b fit, c does not.
    const p = producer({ lingerMs: 5, batchBytes: batchSizeOf(['a', 'b', 'c']) - 1 });
    const source = cold('abc', { a: record('t', 0, 'a'), b: record('t', 0, 'b'), c: record('t', 0, 'c') });
    expectObservable(source.pipe(batch(p), map(show))).toBe('--x 4ms y', { x: 't/0:a,b', y: 't/0:c' });
  });
});

test('a record larger than batchBytes gets a batch of its own, sent at once', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 5, batchBytes: 100 });
    const big = 'x'.repeat(200);
    const source = cold('a-b', { a: record('t', 0, 'a'), b: record('t', 0, big) });
    expectObservable(source.pipe(batch(p), map(show))).toBe('--(xy)', { x: 't/0:a', y: `t/0:${big}` });
  });
});

test('partitions batch independently: each has its own linger and its own size', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 5, batchBytes: batchSizeOf(['a', 'b', 'c']) });
    const source = cold('abcde', {
      a: record('t', 0, 'a'), b: record('t', 1, 'b'), c: record('t', 1, 'c'), d: record('u', 0, 'd'), e: record('t', 1, 'e'),
    });
    // t/1 fills up at 4 (b, c, e) and leaves alone; t/0 lingers from 0, u/0 from 3.
    expectObservable(source.pipe(batch(p), map(show))).toBe('----wx--y', { w: 't/1:b,c,e', x: 't/0:a', y: 'u/0:d' });
  });
});

test('completion sends every open batch at once, then completes', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 50 });
    const source = cold('a-b-c|', { a: record('t', 0, 'a'), b: record('t', 1, 'b'), c: record('t', 0, 'c') });
    expectObservable(source.pipe(batch(p), map(show))).toBe('-----(xy|)', { x: 't/0:a,c', y: 't/1:b' });
  });
});

test('producer.flush() sends the open batches before their linger', () => {
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable, time }) => {
    const p = producer({ lingerMs: 50 });
    const source = cold('ab', { a: record('t', 0, 'a'), b: record('t', 1, 'b') });
    scheduler.schedule(() => void p.flush(), time('---|'));
    expectObservable(source.pipe(batch(p), map(show))).toBe('---(xy)', { x: 't/0:a', y: 't/1:b' });
  });
});

test('records that failed upstream pass straight through, and stay out of the batches', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 5 });
    const source = cold('a-f-b', { a: record('t', 0, 'a'), f: failedRecord('t', 'bad'), b: record('t', 0, 'b') });
    expectObservable(source.pipe(batch(p), map(show))).toBe('--f--x', { f: 'failed:bad', x: 't/0:a,b' });
  });
});

test('unsubscribing releases the memory of batches never handed on, and returns their builders', () => {
  const p = producer({ lingerMs: 50, batchBytes: batchSizeOf(['a', 'b']) });
  const reserved = (r: ReturnType<typeof record>) => {
    expect(internals(p).memory.tryReserve(r.size)).toBe(true);
    r.reserved = r.size;
    return r;
  };
  const a = reserved(record('t', 0, 'a'));
  const b = reserved(record('t', 0, 'b'));
  const c = reserved(record('t', 1, 'c'));
  const emitted: string[] = [];
  let usedBeforeUnsubscribe = -1;
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    const source = cold('abc', { a, b, c });
    const out = source.pipe(batch(p), map((x) => {
      emitted.push(show(x));
      return isBatch(x) ? x.reservedBytes : -1;
    }));
    scheduler.schedule(() => (usedBeforeUnsubscribe = internals(p).memory.used), 4);
    // t/0 (a, b) is full and handed on at 1; t/1 (c) is still open at 5, when the subscriber leaves.
    expectObservable(out, '^----!').toBe('-x', { x: a.size + b.size });
  });
  expect(emitted).toEqual(['t/0:a,b']);
  expect(usedBeforeUnsubscribe).toBe(a.size + b.size + c.size);
  // The handed-on batch is downstream's to release; only c's bytes came back.
  expect(internals(p).memory.used).toBe(a.size + b.size);
  expect(internals(p).builders.size).toBe(1);
});

test('after unsubscribing, the linger timer of an open batch does not fire', () => {
  const p = producer({ lingerMs: 5 });
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    const source = cold('a', { a: record('t', 0, 'a') });
    expectObservable(source.pipe(batch(p), map(show)), '^-!').toBe('');
  });
  expect(scheduler.actions).toHaveLength(0);
});

// A partition that cannot take a batch now: an earlier batch of it waits in the producer's sender
// (here one in retry backoff until long after the test). Its lingered batch stays open and keeps
// filling, as the Java client's accumulator does; other partitions keep their linger.
function blockPartition(p: ReturnType<typeof producer>, topic: string, partition: number): BatchOwner {
  const blocker = new ProducerBatch(topic, partition, internals(p).builders.acquire(), 0);
  blocker.retryAt = 1e9;
  const owner: BatchOwner = { done: () => undefined };
  internals(p).sender.enqueue(blocker, owner);
  return owner;
}

test('while an earlier batch of its partition waits in the sender, a lingered batch keeps filling until it is full', () => {
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 5, batchBytes: batchSizeOf(['a', 'b', 'c']), idempotent: false, scheduler });
    blockPartition(p, 't', 0);
    const source = cold('ad 8ms b 9ms c', { a: record('t', 0, 'a'), d: record('t', 1, 'd'), b: record('t', 0, 'b'), c: record('t', 0, 'c') });
    // t/1 goes at its linger (1 + 5); t/0 would have gone at 5, 15 and 25, one record each, but
    // waits and leaves full with c at 20.
    expectObservable(source.pipe(batch(p), map(show))).toBe('6ms y 13ms x', { x: 't/0:a,b,c', y: 't/1:d' });
  });
});

test('a held batch goes as soon as its partition frees up, and the next one lingers as usual', () => {
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 5, idempotent: false, scheduler });
    const owner = blockPartition(p, 't', 0);
    // The blocking batch is withdrawn at 12: the sender's queue for t/0 empties.
    scheduler.schedule(() => internals(p).sender.cancel(owner as BatchOwner<never>), 12);
    const source = cold('a--b 10ms c', { a: record('t', 0, 'a'), b: record('t', 0, 'b'), c: record('t', 0, 'c') });
    expectObservable(source.pipe(batch(p), map(show))).toBe('12ms x 6ms y', { x: 't/0:a,b', y: 't/0:c' });
  });
});

test('completion sends a held batch at once', () => {
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    const p = producer({ lingerMs: 5, idempotent: false, scheduler });
    blockPartition(p, 't', 0);
    const source = cold('a 9ms b 9ms |', { a: record('t', 0, 'a'), b: record('t', 0, 'b') });
    expectObservable(source.pipe(batch(p), map(show))).toBe('20ms (x|)', { x: 't/0:a,b' });
  });
});
