// Start-up races and endings against the real broker: whatever stage the producer is in when a
// stream ends or the producer closes, every record accepted is acknowledged or reported failed
// exactly once, what is acknowledged is in the log (read back by Kafka's ConsoleConsumer), and
// close() leaves no socket, no timer and no unsettled promise.
import { from, Observable, interval, lastValueFrom, map, take, toArray } from 'rxjs';
import { createProducer, ProducerClosedError, type ProducerConfig, type RecordMetadata } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { leakCheck } from '../support/leaks.ts';
import { freePort, startProxyProcess } from '../support/kafka-proxy-process.ts';

const PRODUCE = 0;

const producerFor = (extra: Partial<ProducerConfig> = {}) => createProducer({ brokers: bootstrap().split(','), clientId: 'kafkarx-lifecycle', ...extra });

// One topic for the file, read once by the last test (a ConsoleConsumer run costs seconds): each
// test writes values with its own prefix and says which must be in the log.
let shared: string;
const mustBeLogged = new Map<string, string[]>();
let tests = 0;

beforeAll(async () => {
  shared = uniqueTopic('lifecycle');
  await createTopic(shared, { partitions: 1 });
}, 60_000);

/** A prefix of its own for each test, so its records can be told apart in the shared topic. */
function testTopic(): { topic: string; prefix: string } {
  return { topic: shared, prefix: `t${++tests}-` };
}

function expectLogged(prefix: string, list: string[]): void {
  mustBeLogged.set(prefix, list);
}

const values = (n: number, prefix = 'v') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);

test('send() on a fresh producer, then close() at once: the record is delivered, its promise resolves, nothing is left', async () => {
  const { topic, prefix } = testTopic();
  const leaks = leakCheck();
  const producer = producerFor();
  const sent = leaks.track(producer.send({ topic, value: `${prefix}only` }));
  await leaks.track(producer.close());
  await leaks.expectNone();
  const meta = await sent;
  expect(meta.topic).toBe(topic);
  expect(meta.offset).toBeGreaterThanOrEqual(0);
  expectLogged(prefix, [`${prefix}only`]);
}, 60_000);

test('2,000 un-awaited sends, then close(): every one resolves exactly once and all 2,000 are in the log', async () => {
  const { topic, prefix } = testTopic();
  const leaks = leakCheck();
  const producer = producerFor();
  const answers = new Map<string, number>();
  const sent = values(2000, prefix).map((value) => leaks.track(producer.send({ topic, value, passthrough: value }).then((m) => answers.set(m.passthrough!, (answers.get(m.passthrough!) ?? 0) + 1))));
  await leaks.track(producer.close());
  await leaks.expectNone();
  await Promise.all(sent);
  expect(answers.size).toBe(2000);
  expect([...answers.values()].every((n) => n === 1)).toBe(true);
  expectLogged(prefix, values(2000, prefix));
}, 60_000);

test('a toKafka stream subscribed right before close(): all 100 records are written and the stream completes', async () => {
  const { topic, prefix } = testTopic();
  const leaks = leakCheck();
  const producer = producerFor();
  const done = leaks.track(lastValueFrom(from(values(100, prefix).map((value) => ({ topic, value }))).pipe(toKafka(producer), toArray())));
  await leaks.track(producer.close());
  await leaks.expectNone();
  expect(await done).toHaveLength(100);
  expectLogged(prefix, values(100, prefix));
}, 60_000);

test('a stream still producing when close() is called: what it had accepted is written, then it ends with ProducerClosedError', async () => {
  const { topic, prefix } = testTopic();
  const leaks = leakCheck();
  const producer = producerFor();
  const emitted: RecordMetadata[] = [];
  const ended = leaks.track(new Promise<unknown>((resolve) => {
    interval(5).pipe(map((i) => ({ topic, value: `${prefix}${String(i).padStart(5, '0')}` })), toKafka(producer)).subscribe({
      next: (m) => emitted.push(m),
      error: resolve,
      complete: () => resolve('completed'),
    });
  }));
  await new Promise((r) => setTimeout(r, 300));
  await leaks.track(producer.close());
  const error = await ended;
  await leaks.expectNone();
  expect(error).toBeInstanceOf(ProducerClosedError);
  expect(emitted.length).toBeGreaterThan(0);
  // Acknowledged exactly once each, and exactly those are in the log.
  const offsets = emitted.map((m) => m.offset);
  expect(new Set(offsets).size).toBe(emitted.length);
  expectLogged(prefix, values(emitted.length, prefix));
}, 60_000);

test('a source that errors after 5 records: the 5 are written and emitted, then the source\'s own error; close() leaves nothing', async () => {
  const { topic, prefix } = testTopic();
  const leaks = leakCheck();
  const producer = producerFor();
  const boom = new Error('the source broke');
  const source = new Observable<{ topic: string; value: string }>((s) => {
    for (const value of values(5, prefix)) s.next({ topic, value });
    s.error(boom);
  });
  const emitted: RecordMetadata[] = [];
  const error = await leaks.track(new Promise<unknown>((resolve) => {
    source.pipe(toKafka(producer)).subscribe({ next: (m) => emitted.push(m), error: resolve, complete: () => resolve('completed') });
  }));
  expect(error).toBe(boom);
  const first = emitted[0].offset;
  expect(emitted.map((m) => m.offset)).toEqual([first, first + 1, first + 2, first + 3, first + 4]);
  await leaks.track(producer.close());
  await leaks.expectNone();
  expectLogged(prefix, values(5, prefix));
}, 60_000);

test('the same in the results mode: five results, then the source\'s error', async () => {
  const { topic, prefix } = testTopic();
  const producer = producerFor();
  const boom = new Error('the source broke');
  const results: unknown[] = [];
  const error = await new Promise<unknown>((resolve) => {
    new Observable<{ topic: string; value: string }>((s) => {
      for (const value of values(5, prefix)) s.next({ topic, value });
      s.error(boom);
    }).pipe(toKafka(producer, { errorMode: 'results' })).subscribe({ next: (r) => results.push(r), error: resolve });
  });
  expect(error).toBe(boom);
  expect(results.map((r) => (r as { ok: boolean }).ok)).toEqual([true, true, true, true, true]);
  await producer.close();
  expectLogged(prefix, values(5, prefix));
}, 60_000);

test('an unsubscribe right after subscribing, then close(): nothing is left, and no promise hangs', async () => {
  const { topic, prefix } = testTopic();
  const leaks = leakCheck();
  const producer = producerFor();
  const subscription = interval(1).pipe(take(1000), map((i) => ({ topic, value: `${prefix}${i}` })), toKafka(producer)).subscribe();
  await new Promise((r) => setTimeout(r, 20));
  subscription.unsubscribe();
  await leaks.track(producer.close());
  await leaks.expectNone();
}, 60_000);

test('close() of a transactional producer during its first connection (InitProducerId under way) leaves nothing', async () => {
  const leaks = leakCheck();
  const producer = producerFor({ transactionalId: uniqueTopic('lifecycle-txn') });
  const ready = leaks.track(producer.ready());
  await leaks.track(producer.close());
  await leaks.expectNone();
  await expect(ready).rejects.toBeInstanceOf(ProducerClosedError);
}, 60_000);

test('close() during an open transaction aborts it: nothing of it is readable with read_committed, the scope fails with ProducerClosedError', async () => {
  const topic = uniqueTopic('lifecycle-txn');
  await createTopic(topic, { partitions: 1 });
  const leaks = leakCheck();
  const producer = producerFor({ transactionalId: uniqueTopic('lifecycle-txn') });
  await producer.ready();
  const scope = leaks.track(lastValueFrom(producer.transaction((tx) => interval(5).pipe(take(1000), map((i) => ({ topic, value: String(i) })), tx.send()))));
  await new Promise((r) => setTimeout(r, 300));
  await leaks.track(producer.close());
  await leaks.expectNone();
  await expect(scope).rejects.toBeInstanceOf(ProducerClosedError);
  // A record written after the abort marks the end: read_committed sees only it.
  const after = producerFor();
  await after.send({ topic, value: 'after' });
  await after.close();
  const committed = await consumeWithConsoleConsumer(topic, { maxRecords: 1, isolationLevel: 'read_committed', timeoutMs: 20_000 });
  expect(committed.map((c) => c.value!.toString())).toEqual(['after']);
}, 60_000);

test('close({ timeoutMs }) while the broker\'s answers to Produce are lost: the unacknowledged records fail with ProducerClosedError after the timeout, nothing is left', async () => {
  const topic = uniqueTopic('lifecycle-forced');
  await createTopic(topic, { partitions: 1 });
  // In a child process, so its sockets are not counted as the producer's.
  const proxy = await startProxyProcess(bootstrap().split(',')[0], await freePort(), { listening: true });
  try {
    const leaks = leakCheck();
    const producer = producerFor({ brokers: [`127.0.0.1:${proxy.port}`] });
    const first = await leaks.track(producer.send({ topic, value: 'acknowledged' }));
    await proxy.lose(PRODUCE);
    const lost = values(20, 'lost-').map((value) => leaks.track(producer.send({ topic, value })).then(() => 'acknowledged', (e: unknown) => e));
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await leaks.track(producer.close({ timeoutMs: 1000 }));
    const took = Date.now() - started;
    await leaks.expectNone();
    expect(first.offset).toBe(0);
    // Without the timeout, close() would wait out requestTimeoutMs (30 s) and the retries after it.
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(10_000);
    for (const outcome of await Promise.all(lost)) {
      expect(outcome).toBeInstanceOf(ProducerClosedError);
      expect((outcome as Error).message).toMatch(/closed forcefully/);
    }
  } finally {
    await proxy.stop();
  }
}, 60_000);

test('the log holds every record the tests above saw acknowledged, each exactly once', async () => {
  const producer = producerFor();
  const marker = await producer.send({ topic: shared, value: 'marker' });
  await producer.close();
  const inLog = (await consumeWithConsoleConsumer(shared, { maxRecords: marker.offset + 1, timeoutMs: 20_000 })).map((c) => c.value!.toString());
  expect(inLog.length).toBe(new Set(inLog).size);
  expect(mustBeLogged.size).toBe(6);
  for (const [prefix, list] of mustBeLogged) expect([prefix, inLog.filter((v) => v.startsWith(prefix))]).toEqual([prefix, list]);
}, 60_000);
