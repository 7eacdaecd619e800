// kafkarx's producer against kafkarx/testing's in-memory cluster: the whole stack from send() and
// toKafka() down to the connection runs unchanged; only the socket is the fake's.
import { firstValueFrom, from, lastValueFrom, take, toArray, VirtualTimeScheduler } from 'rxjs';
import { ConfigError, createProducer, type Producer } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { FakeKafka, type FakeRecord } from 'kafkarx/testing';
import { ErrorCode } from '../../../src/protocol/errors.ts';

const text = (r: FakeRecord) => r.value?.toString();
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

test('send() appends a record and resolves with the offset the broker gave it', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0 });
  const first = await producer.send({ topic: 'events', partition: 1, key: 'k', value: 'hello' });
  const second = await producer.send({ topic: 'events', partition: 1, value: 'again' });
  expect([first.partition, first.offset, second.offset]).toEqual([1, 0, 1]);
  const stored = fake.records('events', 1);
  expect(stored.map((r) => [r.offset, r.key?.toString() ?? null, text(r), r.state])).toEqual([[0, 'k', 'hello', 'committed'], [1, null, 'again', 'committed']]);
  expect(fake.records('events', 0)).toEqual([]);
  // The partition's leader got the Produce requests: broker 2 leads partition 1 of the first topic.
  expect(fake.requests('Produce').map((r) => r.broker)).toEqual([2, 2]);
});

test('toKafka() sends a stream, compressed, and emits each record’s metadata in order', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, compression: 'gzip' });
  const values = Array.from({ length: 50 }, (_, i) => `v${i}`);
  const meta = await lastValueFrom(from(values.map((value) => ({ topic: 'events', partition: 0, value }))).pipe(toKafka(producer), toArray()));
  expect(meta.map((m) => m.offset)).toEqual(values.map((_, i) => i));
  expect(fake.records('events', 0).map(text)).toEqual(values);
});

test('the appended observable sees each record as it is written', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0 });
  const seen = firstValueFrom(fake.appended.pipe(take(2), toArray()));
  await Promise.all([producer.send({ topic: 'events', partition: 2, value: 'a' }), producer.send({ topic: 'events', partition: 2, value: 'b' })]);
  expect((await seen).map((r) => `${r.topic}/${r.partition}@${r.offset}:${text(r)}`)).toEqual(['events/2@0:a', 'events/2@1:b']);
});

test('idempotence: a Produce the broker wrote but never answered is retried without a duplicate', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0, retryBackoffMs: 1 });
  fake.dropConnectionAfter('Produce');
  const m = await producer.send({ topic: 'events', partition: 0, value: 'once' });
  expect(fake.requests('Produce')).toHaveLength(2);
  expect(m.offset).toBe(0);
  expect(fake.records('events', 0).map(text)).toEqual(['once']);
});

test('idempotence: a retriable error is retried and the record is written once', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0, retryBackoffMs: 1 });
  fake.failProduce('events', 0, ErrorCode.NOT_ENOUGH_REPLICAS, 2);
  const m = await producer.send({ topic: 'events', partition: 0, value: 'x' });
  expect(m.offset).toBe(0);
  expect(fake.requests('Produce')).toHaveLength(3);
  expect(fake.records('events', 0).map((r) => [r.offset, r.sequence])).toEqual([[0, 0]]);
});

test('a non-retriable error fails the record with its code', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0 });
  fake.failProduce('events', 0, ErrorCode.INVALID_RECORD);
  await expect(producer.send({ topic: 'events', partition: 0, value: 'x' })).rejects.toMatchObject({ code: ErrorCode.INVALID_RECORD });
  expect(fake.records('events', 0)).toEqual([]);
});

test('a leader that moves: the old leader refuses, metadata is refreshed, the new one writes', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0, retryBackoffMs: 1 });
  await producer.send({ topic: 'events', partition: 0, value: 'before' });
  fake.moveLeader('events', 0, 3);
  const m = await producer.send({ topic: 'events', partition: 0, value: 'after' });
  expect(m.offset).toBe(1);
  // Broker 1 refuses until the refreshed metadata names broker 3 (once, or more on a slow machine).
  const brokers = fake.requests('Produce').map((r) => r.broker);
  expect(brokers.slice(0, 2)).toEqual([1, 1]);
  expect(brokers.at(-1)).toBe(3);
  expect(new Set(brokers.slice(1, -1))).toEqual(new Set([1]));
  expect(fake.records('events', 0).map(text)).toEqual(['before', 'after']);
});

test('a partition without a leader for a while: records wait and are written once it has one', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0, retryBackoffMs: 5 });
  fake.makeLeaderless('events', 1, 100);
  const started = Date.now();
  const m = await producer.send({ topic: 'events', partition: 1, value: 'late' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  expect(m.offset).toBe(0);
});

test('idempotence: a Produce answered after the request timeout is retried on a new connection without a duplicate', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0, retryBackoffMs: 1, requestTimeoutMs: 200 });
  fake.delayResponses('Produce', 2000);
  const started = Date.now();
  const m = await producer.send({ topic: 'events', partition: 0, value: 'slow' });
  expect(Date.now() - started).toBeLessThan(1500);
  expect(m.offset).toBe(0);
  expect(fake.requests('Produce')).toHaveLength(2);
  expect(fake.records('events', 0).map(text)).toEqual(['slow']);
});

test('delayed answers: send() resolves no sooner than the broker answers', async () => {
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0 });
  await producer.send({ topic: 'events', partition: 0, value: 'warm-up' });
  fake.delayResponses('Produce', 150);
  const started = Date.now();
  await producer.send({ topic: 'events', partition: 0, value: 'late' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
});

test('the transport setting must be a function', () => {
  expect(() => createProducer({ brokers: fake.bootstrap, transport: 'fake' as never })).toThrow(ConfigError);
});

test('an address that is not one of the fake brokers is refused like a closed port', async () => {
  producer = createProducer({ brokers: ['elsewhere:9092'], transport: fake.transport, maxBlockMs: 300, lingerMs: 0 });
  await expect(producer.send({ topic: 'events', value: 'x' })).rejects.toThrow(/ECONNREFUSED elsewhere:9092|no bootstrap broker/);
  expect(fake.requests()).toEqual([]);
});

test("with a scheduler, the fake's latency follows it: a virtual second passes at once", async () => {
  fake.close();
  const virtual = new VirtualTimeScheduler();
  fake = new FakeKafka({ topics: { events: 1 }, latencyMs: 1000, scheduler: virtual });
  producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, lingerMs: 0 });
  const started = Date.now();
  let settled = false;
  const sent = producer.send({ topic: 'events', value: 'x' }).finally(() => (settled = true));
  // The client's own timers are still real: let it write, then run the fake's answers in virtual time.
  while (!settled) {
    virtual.flush();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect((await sent).offset).toBe(0);
  expect(virtual.now()).toBeGreaterThanOrEqual(3000);
  expect(Date.now() - started).toBeLessThan(1000);
});
