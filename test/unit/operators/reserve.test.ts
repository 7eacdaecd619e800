// The reserve stage in virtual time: records take room in the producer's memory budget, wait in
// arrival order when it is full, and fail after maxBlockMs; records that could never be sent fail
// at once.
import { map, range } from 'rxjs';
import { reserve } from '../../../operators/reserve.ts';
import { BufferExhaustedError, RecordTooLargeError } from '../../../src/producer/errors.ts';
import type { OutgoingRecord } from '../../../src/producer/record.ts';
import { RECORD_BATCH_OVERHEAD } from '../../../src/record/batch-format.ts';
import { producer, record, testScheduler } from './support.ts';
import { internals } from '../../../src/producer/internals.ts';

/** "value:ok" or "value:ErrorName", plus every error kept for closer checks. */
function outcome(errors: Error[]) {
  return (r: OutgoingRecord) => {
    if (r.error) errors.push(r.error);
    return `${r.value?.toString().slice(0, 8)}:${r.error ? r.error.name : 'ok'}`;
  };
}

const SIZE = record('t', 0, 'a').size;

test('with the budget full, records wait in order and fail with BufferExhaustedError after maxBlockMs', () => {
  const p = producer({ bufferMemory: 2 * SIZE, maxBlockMs: 10 });
  const errors: Error[] = [];
  testScheduler().run(({ cold, expectObservable }) => {
    const source = cold('abcd', { a: record('t', 0, 'a'), b: record('t', 0, 'b'), c: record('t', 0, 'c'), d: record('t', 0, 'd') });
    // a and b fit; c waits from 2 and fails at 12, d waits from 3 and fails at 13.
    expectObservable(source.pipe(reserve(p), map(outcome(errors)))).toBe('ab 10ms cd', {
      a: 'a:ok', b: 'b:ok', c: 'c:BufferExhaustedError', d: 'd:BufferExhaustedError',
    });
  });
  expect(errors).toHaveLength(2);
  for (const e of errors) {
    expect(e).toBeInstanceOf(BufferExhaustedError);
    expect(e.message).toContain('maxBlockMs (10 ms)');
    expect(e.message).toContain('"t"');
  }
  // Failed records took nothing: only a and b hold memory.
  expect(internals(p).memory.used).toBe(2 * SIZE);
});

test('records admitted at once are marked as holding their bytes', () => {
  const p = producer({ bufferMemory: 10 * SIZE });
  const a = record('t', 0, 'a');
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('a', { a }).pipe(reserve(p), map((r) => r.reserved))).toBe('a', { a: SIZE });
  });
  expect(internals(p).memory.used).toBe(SIZE);
});

test('releasing memory lets the waiting records through, in arrival order', () => {
  const p = producer({ bufferMemory: 2 * SIZE, maxBlockMs: 10 });
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    const source = cold('abcd', { a: record('t', 0, 'a'), b: record('t', 0, 'b'), c: record('t', 0, 'c'), d: record('t', 0, 'd') });
    // As if the broker acknowledged a at 5 and b at 7.
    scheduler.schedule(() => internals(p).memory.release(SIZE), 5);
    scheduler.schedule(() => internals(p).memory.release(SIZE), 7);
    expectObservable(source.pipe(reserve(p), map(outcome([])))).toBe('ab---c-d', { a: 'a:ok', b: 'b:ok', c: 'c:ok', d: 'd:ok' });
  });
  expect(internals(p).memory.used).toBe(2 * SIZE);
});

test('a small record does not overtake a large one waiting ahead of it, though it would fit', () => {
  const a = record('t', 0, 'a');
  const big = record('t', 0, 'B'.repeat(3 * SIZE));
  const c = record('t', 0, 'c');
  // One byte short of a and big together: big must wait for a's bytes.
  const p = producer({ bufferMemory: a.size + big.size - 1, maxBlockMs: 100 });
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    scheduler.schedule(() => internals(p).memory.release(a.size), 5);
    scheduler.schedule(() => internals(p).memory.release(big.size), 7);
    // Free room at 2 is big.size - 1 ≥ c.size, so c alone would fit; it waits behind big, which
    // gets a's bytes at 5, and then gets big's at 7.
    expectObservable(cold('abc', { a, b: big, c }).pipe(reserve(p), map(outcome([])))).toBe('a----b-c', {
      a: 'a:ok', b: 'BBBBBBBB:ok', c: 'c:ok',
    });
  });
});

test('a record whose batch would exceed maxRequestSize fails at once with RecordTooLargeError', () => {
  const big = record('t', 0, 'x'.repeat(300));
  const p = producer({ maxRequestSize: 300 });
  const errors: Error[] = [];
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('ab', { a: big, b: record('t', 0, 'b') }).pipe(reserve(p), map(outcome(errors)))).toBe('ab', {
      a: 'xxxxxxxx:RecordTooLargeError', b: 'b:ok',
    });
  });
  expect(errors[0]).toBeInstanceOf(RecordTooLargeError);
  expect(errors[0].message).toContain('maxRequestSize (300 bytes)');
  expect(errors[0].message).toContain(`${big.size + RECORD_BATCH_OVERHEAD} bytes`);
  expect(big.reserved).toBe(0);
  expect(internals(p).memory.used).toBe(SIZE);
});

test('a record larger than the whole bufferMemory fails at once instead of waiting forever', () => {
  const big = record('t', 0, 'x'.repeat(300));
  const p = producer({ bufferMemory: 200, maxBlockMs: 1000 });
  const errors: Error[] = [];
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('a', { a: big }).pipe(reserve(p), map(outcome(errors)))).toBe('a', { a: 'xxxxxxxx:RecordTooLargeError' });
  });
  expect(errors[0].message).toContain('bufferMemory (200 bytes)');
  expect(internals(p).memory.used).toBe(0);
});

test('a record exactly at maxRequestSize is accepted (the limit is inclusive, as in Java)', () => {
  const r = record('t', 0, 'x'.repeat(100));
  const p = producer({ maxRequestSize: r.size + RECORD_BATCH_OVERHEAD });
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('a', { a: r }).pipe(reserve(p), map(outcome([])))).toBe('a', { a: 'xxxxxxxx:ok' });
  });
});

test('records that failed upstream pass through without taking memory, even while others wait', () => {
  const p = producer({ bufferMemory: SIZE, maxBlockMs: 10 });
  const failed = record('t', 0, 'f');
  failed.error = new Error('upstream');
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    scheduler.schedule(() => internals(p).memory.release(SIZE), 4);
    // f arrives while b waits: it keeps its place behind b rather than jumping the line.
    expectObservable(cold('abf', { a: record('t', 0, 'a'), b: record('t', 0, 'b'), f: failed }).pipe(reserve(p), map(outcome([])))).toBe('a---(bf)', {
      a: 'a:ok', b: 'b:ok', f: 'f:Error',
    });
  });
  expect(internals(p).memory.used).toBe(SIZE);
});

test('completion waits for the records still waiting', () => {
  const p = producer({ bufferMemory: SIZE, maxBlockMs: 10 });
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('ab|', { a: record('t', 0, 'a'), b: record('t', 0, 'b') }).pipe(reserve(p), map(outcome([])))).toBe('a 10ms (b|)', {
      a: 'a:ok', b: 'b:BufferExhaustedError',
    });
  });
});

test('unsubscribing withdraws the waiting records from the memory line', () => {
  const p = producer({ bufferMemory: SIZE, maxBlockMs: 100 });
  const b = record('t', 0, 'b');
  const scheduler = testScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    scheduler.schedule(() => internals(p).memory.release(SIZE), 5);
    expectObservable(cold('ab', { a: record('t', 0, 'a'), b }).pipe(reserve(p), map(outcome([]))), '^--!').toBe('a', { a: 'a:ok' });
  });
  // Had b stayed in line, the release at 5 would have handed its bytes to it.
  expect(internals(p).memory.used).toBe(0);
  expect(b.reserved).toBe(0);
  expect(internals(p).memory.hasRoom).toBe(true);
});

test('records waiting for room may hold at most bufferMemory bytes; a record arriving past that fails at once, naming the limit', () => {
  const p = producer({ bufferMemory: 2 * SIZE, maxBlockMs: 100 });
  const errors: Error[] = [];
  const scheduler = testScheduler();
  const r = (v: string) => record('t', 0, v);
  scheduler.run(({ cold, expectObservable }) => {
    scheduler.schedule(() => internals(p).memory.release(2 * SIZE), 10);
    // a and b take the budget; c and d wait (2 × SIZE: the limit on waiting records); e and f come
    // while the line is full and fail at once; c and d get a's and b's bytes at 10.
    expectObservable(cold('abcdef', { a: r('a'), b: r('b'), c: r('c'), d: r('d'), e: r('e'), f: r('f') }).pipe(reserve(p), map(outcome(errors))))
      .toBe('ab--ef 4ms (cd)', { a: 'a:ok', b: 'b:ok', c: 'c:ok', d: 'd:ok', e: 'e:BufferExhaustedError', f: 'f:BufferExhaustedError' });
  });
  expect(errors).toHaveLength(2);
  expect(errors[0]).toBeInstanceOf(BufferExhaustedError);
  expect(errors[0].message).toContain(`records waiting for room already hold the most they may (${2 * SIZE} bytes`);
  expect(errors[0].message).toContain(`bufferMemory (${2 * SIZE} bytes)`);
  expect(internals(p).memory.queued).toBe(0);
});

test('a push source that outruns the brokers is bounded: what the budget holds plus as much waiting, the rest refused', () => {
  // 100,000 records of 1 KiB pushed synchronously (range) into a 256 KiB budget that nothing
  // acknowledges: without a bound all of them would wait, in memory, for maxBlockMs.
  const p = producer({ bufferMemory: 256 * 1024, maxBlockMs: 60_000 });
  const value = 'v'.repeat(1024);
  let admitted = 0;
  let refused = 0;
  let maxQueued = 0;
  const other: Error[] = [];
  const subscription = range(0, 100_000).pipe(map(() => record('t', 0, value)), reserve(p)).subscribe((rec) => {
    maxQueued = Math.max(maxQueued, internals(p).memory.queued);
    if (!rec.error) admitted++;
    else if (rec.error instanceof BufferExhaustedError) refused++;
    else other.push(rec.error);
  });
  const size = record('t', 0, value).size;
  const fit = Math.floor(internals(p).memory.limit / size);
  expect(other).toEqual([]);
  expect(admitted).toBe(fit);
  // Waiting: while less than bufferMemory waits, one more may join.
  expect(internals(p).memory.queued).toBeLessThanOrEqual(internals(p).memory.waitingLimit + size);
  expect(maxQueued).toBeLessThanOrEqual(internals(p).memory.waitingLimit + size);
  expect(internals(p).memory.waiting).toBe(1);
  expect(refused).toBe(100_000 - fit - Math.ceil(internals(p).memory.waitingLimit / size));
  subscription.unsubscribe();
  expect(internals(p).memory.queued).toBe(0);
});
