// The last stage: settled batches (and records that failed earlier) become one result per record,
// with Java's RecordMetadata rules for offsets, timestamps and sizes.
import { from, map, toArray, type Observable } from 'rxjs';
import { recordMetadata, results } from '../../../operators/results.ts';
import { ProducerBatch, type BatchOrFailure } from '../../../src/producer/batch.ts';
import type { RecordMetadata, RecordResult } from '../../../src/producer/record.ts';
import { RecordBatchBuilder } from '../../../src/record/batch-builder.ts';
import { failedRecord, record, testScheduler } from './support.ts';

function settled(topic: string, partition: number, records: ReturnType<typeof record>[], outcome: { baseOffset?: number; logAppendTime?: number; error?: Error }) {
  const b = new ProducerBatch(topic, partition, new RecordBatchBuilder(64), 0);
  for (const r of records) {
    r.partition = partition;
    b.add(r);
  }
  b.baseOffset = outcome.baseOffset ?? -1;
  b.logAppendTime = outcome.logAppendTime ?? -1;
  b.error = outcome.error ?? null;
  return b;
}

function collect<T>(items: BatchOrFailure[], op: (s: Observable<BatchOrFailure>) => Observable<T>): T[] {
  let out: T[] = [];
  op(from(items)).pipe(toArray()).subscribe((x) => (out = x));
  return out;
}

const ok = (r: RecordResult<unknown, unknown>) => {
  if (!r.ok) throw new Error(`expected success, got ${r.error.message}`);
  return r.metadata;
};

test('offsets are baseOffset + index within the batch, in record order', () => {
  const b = settled('t', 2, [record('t', 2, 'a', { timestamp: 10 }), record('t', 2, 'b', { timestamp: 11 }), record('t', 2, 'c', { timestamp: 12 })], { baseOffset: 1000 });
  const out = collect([b], (s) => s.pipe(results())).map(ok);
  expect(out.map((m) => [m.topic, m.partition, m.offset, m.timestamp])).toEqual([['t', 2, 1000, 10], ['t', 2, 1001, 11], ['t', 2, 1002, 12]]);
});

test('offsets beyond 2^32 stay exact', () => {
  const base = 2 ** 40 + 5;
  const out = collect([settled('t', 0, [record('t', 0, 'a'), record('t', 0, 'b')], { baseOffset: base })], (s) => s.pipe(results())).map(ok);
  expect(out.map((m) => m.offset)).toEqual([base, base + 1]);
});

test('acks=0: the broker answers nothing, every offset is -1', () => {
  const out = collect([settled('t', 0, [record('t', 0, 'a'), record('t', 0, 'b')], { baseOffset: -1 })], (s) => s.pipe(results())).map(ok);
  expect(out.map((m) => m.offset)).toEqual([-1, -1]);
});

test('LogAppendTime from the broker replaces every record\'s own timestamp', () => {
  const out = collect([settled('t', 0, [record('t', 0, 'a', { timestamp: 5 }), record('t', 0, 'b', { timestamp: 6 })], { baseOffset: 0, logAppendTime: 1_700_000_000_000 })], (s) => s.pipe(results())).map(ok);
  expect(out.map((m) => m.timestamp)).toEqual([1_700_000_000_000, 1_700_000_000_000]);
});

test('records of one size, then another: each result has its own record\'s sizes', () => {
  // A batch keeps one pair of sizes while its records are alike, and every record's from the first that differs.
  const recs = [record('t', 0, 'aa'), record('t', 0, 'bb'), record('t', 0, 'cc'), record('t', 0, 'ddd', { key: 'k' }), record('t', 0, 'ee')];
  const out = collect([settled('t', 0, recs, { baseOffset: 0 })], (s) => s.pipe(results())).map(ok);
  expect(out.map((m) => [m.serializedKeySize, m.serializedValueSize])).toEqual([[-1, 2], [-1, 2], [-1, 2], [1, 3], [-1, 2]]);
});

test('serialized key and value sizes are byte counts, -1 for null', () => {
  const recs = [record('t', 0, 'ä', { key: 'kk' }), record('t', 0, null), record('t', 0, '', { key: '' })];
  const out = collect([settled('t', 0, recs, { baseOffset: 0 })], (s) => s.pipe(results())).map(ok);
  expect(out.map((m) => [m.serializedKeySize, m.serializedValueSize])).toEqual([[2, 2], [-1, -1], [0, 0]]);
});

test('passthrough rides along to the metadata, and is absent when the record had none', () => {
  const recs = [record('t', 0, 'a', { passthrough: { id: 1 } }), record('t', 0, 'b'), record('t', 0, 'c', { passthrough: 0 })];
  const out = collect([settled('t', 0, recs, { baseOffset: 0 })], (s) => s.pipe(results())).map(ok);
  expect(out[0].passthrough).toBe(recs[0].passthrough);
  expect('passthrough' in out[1]).toBe(false);
  // A falsy passthrough is still a passthrough.
  expect(out[2].passthrough).toBe(0);
});

test('a failed batch fails each of its records, with the batch\'s error and the record as given', () => {
  const error = new Error('NOT_LEADER');
  const recs = [record('t', 0, 'a'), record('t', 0, 'b')];
  const out = collect([settled('t', 0, recs, { error })], (s) => s.pipe(results()));
  expect(out).toEqual([{ ok: false, error, record: recs[0].source }, { ok: false, error, record: recs[1].source }]);
});

test('records that failed before batching become failures in their place in the stream (marbles)', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const f = failedRecord('t', 'bad record');
    const b = settled('t', 0, [record('t', 0, 'x'), record('t', 0, 'y')], { baseOffset: 7 });
    const describe = (r: RecordResult<unknown, unknown>) => (r.ok ? `${r.metadata.offset}` : `fail:${r.error.message}`);
    const out = cold('b---f|', { b, f }).pipe(results());
    expectObservable(out.pipe(map(describe))).toBe('(xy)f|', { x: '7', y: '8', f: 'fail:bad record' });
  });
});

test('recordMetadata emits bare metadata and sends each failure to onFailure, in order', () => {
  const failures: Array<[string, unknown]> = [];
  const f = failedRecord('t', 'early');
  const error = new Error('late');
  const good = settled('t', 1, [record('t', 1, 'g')], { baseOffset: 3 });
  const bad = settled('t', 0, [record('t', 0, 'h')], { error });
  const out: RecordMetadata[] = collect([f, good, bad], (s) => s.pipe(recordMetadata((e, r) => failures.push([e.message, r]))));
  expect(out).toEqual([{ topic: 't', partition: 1, offset: 3, timestamp: 0, serializedKeySize: -1, serializedValueSize: 1 }]);
  expect(failures).toEqual([['early', f.source], ['late', bad.sources![0]]]);
});
