// close({ timeoutMs }), as the Java client's close(Duration): after the timeout the producer stops
// delivering, every record not yet acknowledged fails with ProducerClosedError ("closed
// forcefully"), every promise settles and nothing is left. Against FakeKafka (kafkarx/testing)
// in real time, so the leak check sees the producer's real timers.
import { lastValueFrom, NEVER, concat, of, toArray } from 'rxjs';
import { createProducer, ProducerClosedError, TransactionOutcomeUnknownError, type ProducerConfig } from 'kafkarx';
import { FakeKafka } from 'kafkarx/testing';
import { leakCheck } from '../../support/leaks.ts';

jest.setTimeout(20_000);

let fake: FakeKafka;
beforeEach(() => {
  fake = new FakeKafka({ brokers: 1, topics: { t: 2 } });
});
afterEach(() => fake.close());

const producerFor = (extra: Partial<ProducerConfig> = {}) => createProducer({ brokers: fake.bootstrap, transport: fake.transport, logger: null, ...extra });

async function outcome(p: Promise<unknown>): Promise<{ ok: boolean; error?: unknown }> {
  try {
    await p;
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

test('a record for a leaderless partition: close({ timeoutMs }) fails it after the timeout, not after deliveryTimeoutMs; nothing is left', async () => {
  const leaks = leakCheck();
  const producer = producerFor();
  await producer.send({ topic: 't', partition: 1, value: 'delivered' });
  fake.makeLeaderless('t', 0);
  const stuck = outcome(leaks.track(producer.send({ topic: 't', partition: 0, value: 'stuck' })));
  // Let it reach the sender, which waits for a leader (deliveryTimeoutMs: 120 s).
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await leaks.track(producer.close({ timeoutMs: 300 }));
  const took = Date.now() - started;
  // The fake is the peer: its own timers are not the producer's.
  fake.close();
  await leaks.expectNone();
  expect(took).toBeGreaterThanOrEqual(250);
  expect(took).toBeLessThan(5000);
  const result = await stuck;
  expect(result.ok).toBe(false);
  expect(result.error).toBeInstanceOf(ProducerClosedError);
  expect((result.error as Error).message).toMatch(/closed forcefully.*300 ms/);
  expect(fake.records('t', 0)).toHaveLength(0);
  expect(fake.records('t', 1).map((r) => r.value?.toString())).toEqual(['delivered']);
});

test('close({ timeoutMs: 0 }) with a Produce in flight whose answer is late: the record fails at once, the connection is closed', async () => {
  const leaks = leakCheck();
  const producer = producerFor();
  await producer.send({ topic: 't', partition: 0, value: 'first' });
  fake.delayResponses('Produce', 60_000);
  const late = outcome(leaks.track(producer.send({ topic: 't', partition: 0, value: 'late' })));
  while (fake.requests('Produce').length < 2) await new Promise((r) => setTimeout(r, 5));
  const started = Date.now();
  await leaks.track(producer.close({ timeoutMs: 0 }));
  expect(Date.now() - started).toBeLessThan(2000);
  fake.close();
  await leaks.expectNone();
  const result = await late;
  expect(result.error).toBeInstanceOf(ProducerClosedError);
  expect((result.error as Error).message).toMatch(/closed forcefully/);
  expect(fake.connections().every((c) => c.closedAt !== undefined)).toBe(true);
});

test('a close() already waiting is cut short by a later close({ timeoutMs: 0 })', async () => {
  const leaks = leakCheck();
  const producer = producerFor();
  await producer.ready();
  fake.makeLeaderless('t', 0);
  const stuck = outcome(leaks.track(producer.send({ topic: 't', partition: 0, value: 'stuck' })));
  await new Promise((r) => setTimeout(r, 50));
  const graceful = leaks.track(producer.close());
  let gracefulDone = false;
  void graceful.then(() => (gracefulDone = true));
  await new Promise((r) => setTimeout(r, 200));
  expect(gracefulDone).toBe(false);
  await leaks.track(producer.close({ timeoutMs: 0 }));
  await graceful;
  fake.close();
  await leaks.expectNone();
  expect((await stuck).error).toBeInstanceOf(ProducerClosedError);
});

test('a close timeout that does not run out changes nothing: the records are delivered, its timer goes with close()', async () => {
  const leaks = leakCheck();
  const producer = producerFor();
  const sent = leaks.track(producer.send({ topic: 't', partition: 0, value: 'v' }));
  await leaks.track(producer.close({ timeoutMs: 10_000 }));
  fake.close();
  await leaks.expectNone();
  expect((await sent).offset).toBe(0);
});

test('an open transaction whose records cannot be delivered: close({ timeoutMs }) ends its scope and settles everything', async () => {
  const leaks = leakCheck();
  const producer = producerFor({ transactionalId: 'tx-close' });
  await producer.ready();
  fake.makeLeaderless('t', 0);
  const scope = outcome(leaks.track(lastValueFrom(producer.transaction((tx) => concat(of({ topic: 't', partition: 0, value: 'x' }), NEVER).pipe(tx.send(), toArray())))));
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await leaks.track(producer.close({ timeoutMs: 300 }));
  expect(Date.now() - started).toBeLessThan(5000);
  fake.close();
  await leaks.expectNone();
  const result = await scope;
  expect(result.ok).toBe(false);
  expect(result.error).toBeInstanceOf(ProducerClosedError);
  expect(fake.readCommitted('t', 0)).toHaveLength(0);
});

test('close({ timeoutMs }) while a commit waits for its answer: the scope fails with TransactionOutcomeUnknownError (it may have committed), never as aborted', async () => {
  const leaks = leakCheck();
  const producer = producerFor({ transactionalId: 'tx-commit-close', lingerMs: 0 });
  await producer.ready();
  // The coordinator commits; its answer would come in a minute.
  fake.delayResponses('EndTxn', 60_000);
  const scope = leaks.track(lastValueFrom(producer.transaction((tx) => of({ topic: 't', partition: 0, value: 'c' }).pipe(tx.send(), toArray()))));
  const failure = outcome(scope);
  while (fake.requests('EndTxn').length === 0) await new Promise((r) => setTimeout(r, 5));
  await leaks.track(producer.close({ timeoutMs: 200 }));
  fake.close();
  await leaks.expectNone();
  const result = await failure;
  expect(result.error).toBeInstanceOf(TransactionOutcomeUnknownError);
  expect((result.error as Error).message).toMatch(/the producer was closed before the commit was confirmed/);
  expect((result.error as TransactionOutcomeUnknownError).withheld).toHaveLength(1);
  expect(fake.readCommitted('t', 0).map((r) => r.value?.toString())).toEqual(['c']);
});

test('a timeoutMs that is not a number ≥ 0 is refused, and the producer is not closed by it', async () => {
  const producer = producerFor();
  await expect(producer.close({ timeoutMs: -1 })).rejects.toThrow(RangeError);
  await expect(producer.close({ timeoutMs: Number.NaN })).rejects.toThrow(/timeoutMs/);
  expect(producer.closed).toBe(false);
  await producer.close();
});
