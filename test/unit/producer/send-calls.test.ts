// SendCalls, the table of send() calls waiting for their records' results: calls answered together
// settle in the order of their records, whether they share a Promise (a gate) or have their own.
import { ProducerBatch } from '../../../src/producer/batch.ts';
import { OutgoingRecord, type RecordMetadata } from '../../../src/producer/record.ts';
import { SendCalls } from '../../../src/producer/send-calls.ts';
import { RecordBatchBuilder } from '../../../src/record/batch-builder.ts';

function record(slot: number): OutgoingRecord<number> {
  return new OutgoingRecord<number>('t', 0, null, Buffer.from('v'), [], 1000, slot, {}, 20);
}

/** A batch the calls' records go into, as the batch stage adds them. */
function batch(): ProducerBatch<number> {
  return new ProducerBatch<number>('t', 0, new RecordBatchBuilder(1024), 0, false);
}

/** A call whose record went into `into` while it was made (or, with `waits`, only later, by `join`). */
function call(calls: SendCalls, into: ProducerBatch<number>, settled: string[], waits = false): { promise: Promise<unknown>; join: () => void } {
  const slot = calls.open(undefined);
  const r = record(slot);
  const join = () => into.add(r);
  if (!waits) join();
  const promise = calls.settle(slot, r.batch).then((m: RecordMetadata<unknown>) => settled.push(`ok ${m.offset}`), (e: Error) => settled.push(`failed ${e.message}`));
  return { promise, join };
}

const turns = async (n = 10) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

test('a call whose record joined a batch between others settles between them', async () => {
  const calls = new SendCalls();
  const b = batch();
  const settled: string[] = [];
  const first = [call(calls, b, settled), call(calls, b, settled)];
  const waiting = call(calls, b, settled, true);
  waiting.join();
  const last = call(calls, b, settled);
  b.baseOffset = 100;
  calls.answerBatch(b);
  await Promise.all([...first, waiting, last].map((c) => c.promise));
  expect(settled).toEqual(['ok 100', 'ok 101', 'ok 102', 'ok 103']);
});

test('calls of a batch split in two settle once both parts are answered, in order', async () => {
  const calls = new SendCalls();
  const b = batch();
  const settled: string[] = [];
  const all = [0, 1, 2, 3].map(() => call(calls, b, settled));
  const [head, tail] = [b.slice(0, 2, new RecordBatchBuilder(1024), 0), b.slice(2, 4, new RecordBatchBuilder(1024), 0)];
  tail.baseOffset = 7;
  tail.error = new Error('too old');
  calls.answerBatch(tail);
  await turns();
  expect(settled).toEqual([]);
  head.baseOffset = 5;
  calls.answerBatch(head);
  await Promise.all(all.map((c) => c.promise));
  expect(settled).toEqual(['ok 5', 'ok 6', 'failed too old', 'failed too old']);
});

test('a failure while a call is being made settles it at once; rejectAll fails the others', async () => {
  const calls = new SendCalls();
  const b = batch();
  const settled: string[] = [];
  const waiting = call(calls, b, settled, true);
  const gated = call(calls, b, settled);
  const slot = calls.open(undefined);
  calls.reject(slot, new Error('refused'));
  const refused = calls.settle(slot, null).catch((e: Error) => settled.push(`at once ${e.message}`));
  await refused;
  expect(settled).toEqual(['at once refused']);
  calls.rejectAll(new Error('pipeline'));
  await Promise.all([waiting.promise, gated.promise]);
  expect(settled).toEqual(['at once refused', 'failed pipeline', 'failed pipeline']);
  // Every slot is free again: the next call takes one of them.
  expect(calls.open(undefined)).toBeLessThan(9);
});
