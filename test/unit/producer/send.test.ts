// producer.send() against kafkarx/testing's in-memory cluster: each call answered with its own
// record's result, whatever else is waiting, and a failed pipeline answering every waiting call.
import { EMPTY, mergeMap, throwError } from 'rxjs';
import { createProducer, InvalidRecordError, type Producer, type RecordMetadata } from 'kafkarx';
import { FakeKafka } from 'kafkarx/testing';
import { sendStages } from '../../../operators/to-kafka.ts';
import { openProducer, type PipelineFactory } from '../../../src/producer/producer.ts';

let fake: FakeKafka;
let producer: Producer | undefined;

beforeEach(() => {
  fake = new FakeKafka({ brokers: 3, topics: { events: 3 } });
});

afterEach(async () => {
  await producer?.close();
  producer = undefined;
  expect(fake.openConnections).toBe(0);
  fake.close();
});

/** `n` sends spread over the 3 partitions; every third carries a passthrough naming its wave and number. */
function wave(p: Producer, name: string, n: number): Array<Promise<RecordMetadata<unknown>>> {
  return Array.from({ length: n }, (_, i) => {
    const value = `${name}-${i}`;
    return p.send(i % 3 === 0 ? { topic: 'events', partition: i % 3, value, passthrough: { name, i } } : { topic: 'events', partition: i % 3, value });
  });
}

test('each send() resolves with its own record’s metadata and passthrough, also when the calls before it have been answered', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 5 });
  const p = producer;
  // Two waves: the second reuses what the first's answered calls held, and must not see their passthroughs.
  for (const name of ['first', 'second-wave']) {
    const sent = wave(p, name, 300);
    const results = await Promise.all(sent);
    const nextOffset = [0, 0, 0];
    const base = name === 'first' ? 0 : 100;
    results.forEach((m, i) => {
      expect(m.partition).toBe(i % 3);
      expect(m.offset).toBe(base + nextOffset[i % 3]++);
      expect(m.serializedValueSize).toBe(`${name}-${i}`.length);
      if (i % 3 === 0) expect(m.passthrough).toEqual({ name, i });
      else expect('passthrough' in m).toBe(false);
    });
  }
  for (let partition = 0; partition < 3; partition++) {
    const stored = fake.records('events', partition).map((r) => r.value?.toString());
    expect(stored).toHaveLength(200);
    expect(stored[100]).toBe(`second-wave-${partition}`);
  }
});

test('an invalid record rejects at once; the calls around it are answered as if it were not there', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 5 });
  const before = producer.send({ topic: 'events', partition: 1, value: 'before' });
  const invalid = producer.send({ topic: 'events', partition: 1, value: undefined as never, passthrough: 'bad' });
  const after = producer.send({ topic: 'events', partition: 1, value: 'after', passthrough: 'good' });
  await expect(invalid).rejects.toBeInstanceOf(InvalidRecordError);
  const [b, a] = await Promise.all([before, after]);
  expect([b.offset, a.offset, a.passthrough, 'passthrough' in b]).toEqual([0, 1, 'good', false]);
});

test('a failed pipeline rejects every send() waiting in it with its error; the next send() builds a new one', async () => {
  const boom = new Error('the pipeline broke');
  let built = 0;
  // The first pipeline holds two records unanswered and fails on the third; later ones are the real stages.
  const factory: PipelineFactory = (p, records) => (built++ === 0 ? records.pipe(mergeMap((_, i) => (i === 2 ? throwError(() => boom) : EMPTY))) : records.pipe(sendStages<number>(p, {}, false)));
  producer = openProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0 }, factory);
  const waiting = [0, 1, 2].map((i) => producer!.send({ topic: 'events', partition: 0, value: `lost-${i}`, passthrough: i }).catch((e: unknown) => e));
  expect(await Promise.all(waiting)).toEqual([boom, boom, boom]);
  const m = await producer.send({ topic: 'events', partition: 0, value: 'later', passthrough: 'p' });
  expect([built, m.offset, m.passthrough]).toEqual([2, 0, 'p']);
  expect(fake.records('events', 0).map((r) => r.value?.toString())).toEqual(['later']);
});

test('close() with sends waiting: every one is answered before it resolves', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 60_000 });
  const settled: string[] = [];
  const sent = wave(producer, 'closing', 30).map((s) => s.then((m) => settled.push(`ok ${m.partition}`), (e: Error) => settled.push(e.name)));
  await producer.close();
  expect(settled).toHaveLength(30);
  expect(settled.every((s) => s.startsWith('ok '))).toBe(true);
  await Promise.all(sent);
});

test('once flush() resolves, the callbacks of every send() made before it have run', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 60_000 });
  const seen: string[] = [];
  for (let i = 0; i < 30; i++) {
    void producer.send({ topic: 'events', partition: i % 3, value: `v${i}`, ...(i === 7 ? { headers: 42 as never } : {}) }).then((m) => seen.push(`${m.partition}@${m.offset}`), (e: Error) => seen.push(e.name));
  }
  await producer.flush();
  expect(seen).toHaveLength(30);
  expect(seen.filter((s) => s === 'InvalidRecordError')).toHaveLength(1);
});

test('calls whose records waited for metadata and calls after them, in one batch, settle in the order they were made', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 60_000 });
  const order: number[] = [];
  const send = (i: number) => producer!.send({ topic: 'events', partition: 0, value: `v${i}` }).then((m) => order.push(m.offset === i ? i : -i));
  // The first ones wait for the topic's metadata; the later ones join their open batch at once.
  const sent = [0, 1, 2, 3, 4].map(send);
  await new Promise((r) => setTimeout(r, 200));
  sent.push(...[5, 6, 7, 8, 9].map(send));
  await producer.flush();
  await Promise.all(sent);
  expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(fake.requests('Produce')).toHaveLength(1);
});
