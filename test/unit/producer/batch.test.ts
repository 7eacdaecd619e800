// ProducerBatch's columns: what each record's result reads back, also after a split.
import { ProducerBatch } from '../../../src/producer/batch.ts';
import { OutgoingRecord } from '../../../src/producer/record.ts';
import { RecordBatchBuilder } from '../../../src/record/batch-builder.ts';

function batchOf(records: Array<[key: string | null, value: string | null]>): ProducerBatch {
  const b = new ProducerBatch('t', 0, new RecordBatchBuilder(256), 0, false);
  records.forEach(([k, v], i) => {
    const r = new OutgoingRecord('t', 0, k === null ? null : Buffer.from(k), v === null ? null : Buffer.from(v), [], 100 + i, undefined, null, 30);
    b.builder.append(r.timestamp, r.key, r.value, r.headers);
    b.add(r);
  });
  b.baseOffset = 10;
  return b;
}

const sizes = (b: ProducerBatch) => Array.from({ length: b.recordCount }, (_, i) => {
  const m = b.metadata(i, undefined);
  return [m.serializedKeySize, m.serializedValueSize, m.timestamp];
});

test('alike records: every result has the sizes, and a split part too', () => {
  const b = batchOf([['k', 'vv'], ['k', 'vv'], ['k', 'vv'], ['k', 'vv']]);
  expect(sizes(b)).toEqual([[1, 2, 100], [1, 2, 101], [1, 2, 102], [1, 2, 103]]);
  const part = b.slice(1, 3, new RecordBatchBuilder(256), 0);
  part.baseOffset = 0;
  expect(sizes(part)).toEqual([[1, 2, 101], [1, 2, 102]]);
});

test('records that differ from the first: each result has its own record\'s sizes, and a split part too', () => {
  const b = batchOf([[null, 'a'], [null, 'a'], ['kk', null], [null, 'a'], [null, 'bbb']]);
  expect(sizes(b)).toEqual([[-1, 1, 100], [-1, 1, 101], [2, -1, 102], [-1, 1, 103], [-1, 3, 104]]);
  const part = b.slice(1, 4, new RecordBatchBuilder(256), 0);
  part.baseOffset = 0;
  expect(sizes(part)).toEqual([[-1, 1, 101], [2, -1, 102], [-1, 1, 103]]);
});

test('timestamps before the first record\'s, and far after it, come back as given', () => {
  const b = new ProducerBatch('t', 0, new RecordBatchBuilder(256), 0, false);
  const times = [1_700_000_000_000, 1_699_999_999_000, 0, 1_800_000_000_000];
  for (const t of times) {
    const r = new OutgoingRecord('t', 0, null, Buffer.from('v'), [], t, undefined, null, 30);
    b.builder.append(t, r.key, r.value, r.headers);
    b.add(r);
  }
  b.baseOffset = 0;
  expect(times.map((_, i) => b.metadata(i, undefined).timestamp)).toEqual(times);
  expect(b.slice(1, 3, new RecordBatchBuilder(256), 0).metadata(1, undefined).timestamp).toBe(0);
});
