// toKafka's `ordered: true` against a real broker: failures of two kinds — refused before batching
// (RecordTooLargeError) and refused by the broker (MESSAGE_TOO_LARGE on a topic with a small
// max.message.bytes) — interleaved with successes across three partitions. Unordered, results come
// as they settle; ordered, in input order; either way Kafka's ConsoleConsumer reads each
// partition's records in input order.
import { from, lastValueFrom, map, toArray } from 'rxjs';
import type { RecordMetadata, RecordResult } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { producersFor } from './support.ts';

const producer = producersFor('kafkarx-ordered-it');
const COUNT = 60;

/** What each record is: i % 10 = 5 too large for the client, i % 7 = 3 to the small topic, else fine. */
const fate = (i: number) => (i % 10 === 5 ? 'RecordTooLargeError' : i % 7 === 3 ? 'MESSAGE_TOO_LARGE' : 'ok');

async function topics(): Promise<{ big: string; small: string }> {
  const big = uniqueTopic('ordered');
  const small = uniqueTopic('ordered-small');
  await createTopic(big, { partitions: 3 });
  await createTopic(small, { partitions: 1, configs: { 'max.message.bytes': 1000 } });
  return { big, small };
}

function records(big: string, small: string) {
  return Array.from({ length: COUNT }, (_, i) => {
    const f = fate(i);
    if (f === 'RecordTooLargeError') return { topic: big, partition: i % 3, value: 'x'.repeat(20_000), passthrough: i };
    if (f === 'MESSAGE_TOO_LARGE') return { topic: small, value: `${i}:${'y'.repeat(2000)}`, passthrough: i };
    return { topic: big, partition: i % 3, value: String(i), passthrough: i };
  });
}

const outcome = (r: RecordResult<number>) => (r.ok ? { i: r.metadata.passthrough, what: 'ok' } : { i: (r.record as { passthrough: number }).passthrough, what: r.error.name });

test("errorMode 'results': in input order with ordered, by settlement without; the log holds each partition's records in input order", async () => {
  const { big, small } = await topics();
  const p = producer({ maxRequestSize: 10_000, lingerMs: 20 });
  const ordered = (await lastValueFrom(from(records(big, small)).pipe(toKafka(p, { errorMode: 'results', ordered: true }), toArray()))).map(outcome);
  expect(ordered).toEqual(Array.from({ length: COUNT }, (_, i) => ({ i, what: fate(i) })));

  const unordered = (await lastValueFrom(from(records(big, small)).pipe(toKafka(p, { errorMode: 'results' }), toArray()))).map(outcome);
  expect([...unordered].sort((a, b) => a.i - b.i)).toEqual(ordered);
  // Without it, the records refused before batching come first, ahead of every acknowledgement.
  expect(unordered.slice(0, 6).map((o) => o.i)).toEqual([5, 15, 25, 35, 45, 55]);

  const written = Array.from({ length: COUNT }, (_, i) => i).filter((i) => fate(i) === 'ok');
  const seen = await consumeWithConsoleConsumer(big, { maxRecords: 2 * written.length });
  for (const partition of [0, 1, 2]) {
    const mine = written.filter((i) => i % 3 === partition).map(String);
    expect(seen.filter((r) => r.partition === partition).map((r) => r.value!.toString())).toEqual([...mine, ...mine]);
  }
}, 90_000);

test("errorMode 'error': metadata in input order, then the error of the first failed record in input order", async () => {
  const { big, small } = await topics();
  const p = producer({ maxRequestSize: 10_000, lingerMs: 20 });
  const emitted: number[] = [];
  const error = await lastValueFrom(from(records(big, small)).pipe(toKafka(p, { ordered: true }), map((m: RecordMetadata<number>) => emitted.push(m.passthrough)))).catch((e: Error) => e);
  // Record 3 (the small topic, refused by the broker) is the first failure in input order, though
  // record 5 failed first; every record was accepted before it, so every success is reported.
  expect((error as Error).name).toBe('MESSAGE_TOO_LARGE');
  expect(emitted).toEqual(Array.from({ length: COUNT }, (_, i) => i).filter((i) => fate(i) === 'ok'));

  const unordered: number[] = [];
  const first = await lastValueFrom(from(records(big, small)).pipe(toKafka(p), map((m: RecordMetadata<number>) => unordered.push(m.passthrough)))).catch((e: Error) => e);
  expect((first as Error).name).toBe('RecordTooLargeError');
}, 90_000);
