import { catchError, concat, from, lastValueFrom, map, of, throwError, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createProducer, type Producer, type ProducerConfig, type RecordMetadata } from 'kafkarx';
import { FakeKafka, runMarbles } from 'kafkarx/testing';
import { transaction, transactions } from '../../../operators/transaction.ts';
import { resolveConfig } from '../../../src/producer/config.ts';
import { ConfigError, ProducerFencedError, TransactionOutcomeUnknownError, TransactionStateError } from '../../../src/producer/errors.ts';

describe('idempotence and transaction settings, as the Java client checks them', () => {
  const base = { brokers: ['127.0.0.1:1'] };

  test('idempotence is on by default, with acks all', () => {
    const c = resolveConfig(base);
    expect([c.idempotent, c.acks, c.maxInFlight, c.transactionalId, c.transactionTimeoutMs]).toEqual([true, -1, 5, null, 60_000]);
  });

  test('left unset, idempotence gives way to acks 0/1 or maxInFlight > 5', () => {
    expect(resolveConfig({ ...base, acks: 1 }).idempotent).toBe(false);
    expect(resolveConfig({ ...base, acks: 0 }).idempotent).toBe(false);
    expect(resolveConfig({ ...base, maxInFlight: 6 }).idempotent).toBe(false);
  });

  test('set explicitly, a conflicting acks or maxInFlight is a ConfigError naming both settings', () => {
    expect(() => resolveConfig({ ...base, idempotent: true, acks: 1 })).toThrow(ConfigError);
    expect(() => resolveConfig({ ...base, idempotent: true, acks: 1 })).toThrow(/idempotent.*acks/);
    expect(() => resolveConfig({ ...base, idempotent: true, maxInFlight: 6 })).toThrow(/idempotent.*maxInFlight/);
    expect(resolveConfig({ ...base, idempotent: false, acks: 1 }).idempotent).toBe(false);
  });

  test('a transactionalId needs idempotence', () => {
    expect(() => resolveConfig({ ...base, transactionalId: 't', idempotent: false })).toThrow(/transactionalId.*idempotent/);
    expect(() => resolveConfig({ ...base, transactionalId: 't', acks: 1 })).toThrow(/transactionalId.*acks/);
    expect(() => resolveConfig({ ...base, transactionalId: '' })).toThrow(/transactionalId/);
    expect(resolveConfig({ ...base, transactionalId: 't', transactionTimeoutMs: 2000 })).toMatchObject({ transactionalId: 't', idempotent: true, transactionTimeoutMs: 2000 });
  });
});

/**
 * The scope's contract, with a real transactional producer against FakeKafka on one TestScheduler:
 * what it emits when, what it commits or aborts (the EndTxn requests and the records' states in the
 * log), and in which order scopes take their turn. Every answer takes 1 ms.
 */
let testScheduler: TestScheduler;
let fake: FakeKafka;
let producer: Producer | undefined;

function start(config: Partial<ProducerConfig> = {}): Producer {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  fake = new FakeKafka({ topics: { t: 1 }, scheduler: testScheduler, latencyMs: 1 });
  const p = createProducer({ brokers: fake.bootstrap, transport: fake.transport, scheduler: testScheduler, transactionalId: 'tx', lingerMs: 0, ...config });
  producer = p;
  return p;
}

afterEach(async () => {
  if (!producer) return;
  await producer.close();
  producer = undefined;
  expect(fake.openConnections).toBe(0);
  fake.close();
});

const where = (m: RecordMetadata) => `${m.partition}@${m.offset}`;
const values = { a: { topic: 't', value: 'a' }, b: { topic: 't', value: 'b' }, c: { topic: 't', value: 'c' } };
// The producer has its producer id at 4 (ApiVersions, FindCoordinator, ApiVersions, InitProducerId):
// a scope subscribed before begins then.

/** Each EndTxn as "<arrival> commit|abort". */
const endTxns = () => fake.requests('EndTxn').map((r) => `${r.at} ${(r.body as { committed: boolean }).committed ? 'commit' : 'abort'}`);
const states = () => fake.records('t').map((r) => `${r.value?.toString()}@${r.offset} ${r.state}`);
const named = (e: Error) => of(e.name);

test('a scope begins when subscribed and emits what its body emitted only once the commit is answered', async () => {
  const producer = start();
  // The commit takes 100 ms more than the other answers.
  fake.delayResponses('EndTxn', 100);
  await runMarbles(testScheduler, ({ cold, expectObservable, expectSubscriptions }) => {
    const body = cold('a 9ms (b|)', values);
    // Subscribed at 20, the scope begins and subscribes its body then. The records are written at
    // 21 and 30 (each acknowledged 1 ms later); the body completes at 30, so EndTxn(commit) goes
    // once the last one is acknowledged, at 31, and is answered at 132: only then the results.
    expectObservable(producer.transaction((tx) => body.pipe(tx.send(), map(where))), '20ms ^').toBe('132ms (ab|)', { a: '0@0', b: '0@1' });
    expectSubscriptions(body.subscriptions).toBe('20ms ^ 9ms !');
  });
  // Before the subscription, only what createProducer does by itself (the producer id).
  expect(fake.requests().filter((r) => r.at < 20).map((r) => r.api)).toEqual(['ApiVersions', 'FindCoordinator', 'ApiVersions', 'InitProducerId']);
  expect(fake.requests('Produce').map((r) => r.at)).toEqual([21, 30]);
  expect(endTxns()).toEqual(['31 commit']);
  expect(states()).toEqual(['a@0 committed', 'b@1 committed']);
});

test('a body that errors aborts the transaction; the scope errors with the body\'s error and emits nothing', async () => {
  const producer = start();
  const boom = new Error('boom');
  await runMarbles(testScheduler, ({ cold, expectObservable }) => {
    const body = concat(cold('a 9ms b|', values), throwError(() => boom));
    // The body starts at 4 and fails at 15, once "b" went out (at 14); the abort follows its
    // acknowledgement (15) and is answered at 16.
    expectObservable(producer.transaction((tx) => body.pipe(tx.send(), map(where)))).toBe('16ms #', undefined, boom);
  });
  expect(endTxns()).toEqual(['15 abort']);
  expect(states()).toEqual(['a@0 aborted', 'b@1 aborted']);
  expect(fake.readCommitted('t')).toEqual([]);
});

test('a commit the coordinator refuses errors the scope, which emits nothing', async () => {
  const producer = start();
  // Another producer takes over the transactional id while the body still runs.
  testScheduler.schedule(() => fake.fence('tx'), 20);
  await runMarbles(testScheduler, ({ cold, expectObservable }) => {
    const scope = producer.transaction((tx) => cold('a 49ms |', values).pipe(tx.send(), map(where)));
    // EndTxn(commit) at 54 is refused (55), and so is the new epoch it then asks for (56).
    expectObservable(scope.pipe(catchError(named))).toBe('56ms (e|)', { e: 'ProducerFencedError' });
  });
  expect(endTxns()).toEqual(['54 commit']);
  expect(fake.requests('InitProducerId').map((r) => r.at)).toEqual([3, 55]);
  expect(states()).toEqual(['a@0 aborted']);
});

test('unsubscribing mid-scope aborts', async () => {
  const producer = start();
  await runMarbles(testScheduler, ({ cold, expectObservable, expectSubscriptions }) => {
    const body = cold('a', values);
    expectObservable(producer.transaction((tx) => body.pipe(tx.send(), map(where))), '^ 50ms !').toBe('');
    expectSubscriptions(body.subscriptions).toBe('4ms ^ 46ms !');
  });
  expect(endTxns()).toEqual(['51 abort']);
  expect(states()).toEqual(['a@0 aborted']);
});

test('one transaction at a time: a second scope waits until the first one has ended', async () => {
  const producer = start();
  await runMarbles(testScheduler, ({ cold, expectObservable, expectSubscriptions }) => {
    const first = cold('a 99ms |', values);
    const second = cold('(b|)', values);
    expectObservable(producer.transaction((tx) => first.pipe(tx.send(), map(where)))).toBe('105ms (a|)', { a: '0@0' });
    // Subscribed at 0 too, its body runs only once the first commit was answered (105).
    expectObservable(producer.transaction((tx) => second.pipe(tx.send(), map(where)))).toBe('107ms (b|)', { b: '0@2' });
    expectSubscriptions(second.subscriptions).toBe('105ms (^!)');
  });
  expect(endTxns()).toEqual(['104 commit', '106 commit']);
  expect(states()).toEqual(['a@0 committed', 'b@2 committed']);
});

test('tx operators used after their scope ended fail with TransactionStateError', async () => {
  const producer = start();
  let kept: Parameters<Parameters<typeof transaction>[1]>[0] | undefined;
  await runMarbles(testScheduler, async () => {
    await lastValueFrom(transaction(producer, (tx) => {
      kept = tx;
      return of(1);
    }));
    await expect(lastValueFrom(of(1).pipe(kept!.sendOffsets({ groupId: 'g' })))).rejects.toBeInstanceOf(TransactionStateError);
    await expect(lastValueFrom(of(values.a).pipe(kept!.send()))).rejects.toBeInstanceOf(TransactionStateError);
  });
  expect(fake.requests('Produce')).toEqual([]);
  expect(fake.requests('TxnOffsetCommit')).toEqual([]);
});

/** Windows of records for transactions(): arrays, or an Observable that fails after its records. */
const window = (...vs: Array<keyof typeof values>) => vs.map((v) => values[v]);
const failing = (error: Error, ...vs: Array<keyof typeof values>): Observable<(typeof values)['a']> => concat(from(window(...vs)), throwError(() => error));
const outcome = (o: { committed: boolean; index: number; error?: unknown }) => (o.committed ? `${o.index} committed` : `${o.index} ${(o.error as Error).name}: ${(o.error as Error).message}`);

test('transactions(): in order; continueOnAbort reports an aborted one and goes on', async () => {
  const producer = start();
  const boom = new Error('boom');
  let outcomes: string[] = [];
  await runMarbles(testScheduler, async () => {
    outcomes = (await lastValueFrom(from([window('a'), failing(boom, 'b'), window('c')]).pipe(transactions(producer, { continueOnAbort: true }), toArray()))).map(outcome);
  });
  expect(outcomes).toEqual(['0 committed', '1 Error: boom', '2 committed']);
  expect(endTxns().map((e) => e.split(' ')[1])).toEqual(['commit', 'abort', 'commit']);
  expect(states()).toEqual(['a@0 committed', 'b@2 aborted', 'c@4 committed']);
});

test('transactions(): without continueOnAbort the stream ends with the first failure; later windows never begin', async () => {
  const producer = start();
  const boom = new Error('boom');
  let error: unknown;
  await runMarbles(testScheduler, () => lastValueFrom(from([window('a'), failing(boom, 'b'), window('c')]).pipe(transactions(producer), toArray())).catch((e: unknown) => (error = e)));
  expect(error).toBe(boom);
  expect(endTxns().map((e) => e.split(' ')[1])).toEqual(['commit', 'abort']);
  expect(states()).toEqual(['a@0 committed', 'b@2 aborted']);
});

test('transactions(): a fatal error ends the stream even with continueOnAbort', async () => {
  const producer = start();
  const seen: number[] = [];
  let error: unknown;
  await runMarbles(testScheduler, () => new Promise<void>((resolve) => from([window('a'), window('b'), window('c')]).pipe(transactions(producer, { continueOnAbort: true })).subscribe({
    next: (o) => {
      seen.push(o.index);
      // A newer producer with this transactional id takes over after the first transaction.
      if (o.index === 0) fake.fence('tx');
    },
    error: (e: unknown) => {
      error = e;
      resolve();
    },
    complete: resolve,
  })));
  expect(error).toBeInstanceOf(ProducerFencedError);
  expect(seen).toEqual([0]);
  // The second window's record was refused (its epoch is fenced); the third never went.
  expect(states()).toEqual(['a@0 committed']);
  expect(fake.records('t').map((r) => r.value?.toString())).not.toContain('c');
});

test('transactions() with continueOnAbort never reports a commit of unknown outcome as an abort: the stream ends with it', async () => {
  const producer = start({ maxBlockMs: 400, requestTimeoutMs: 100, retryBackoffMs: 20, retryBackoffMaxMs: 40 });
  // The coordinator commits (and answers each retry of the commit), but every answer comes too late.
  fake.delayResponses('EndTxn', 60_000, 1000);
  let error: unknown;
  await runMarbles(testScheduler, () => lastValueFrom(from([window('a'), window('b')]).pipe(transactions(producer, { continueOnAbort: true }), toArray())).catch((e: unknown) => (error = e)));
  expect(error).toBeInstanceOf(TransactionOutcomeUnknownError);
  // Only the first window began: every EndTxn is a commit of it, and "b" was never sent.
  expect(new Set(endTxns().map((e) => e.split(' ')[1]))).toEqual(new Set(['commit']));
  expect(fake.records('t').map((r) => r.value?.toString())).toEqual(['a']);
});

test('transactions() with continueOnAbort: a commit that fails for an ordinary reason (the transaction timed out) is an outcome, and the next one goes ahead', async () => {
  const producer = start({ transactionTimeoutMs: 1000 });
  let outcomes: string[] = [];
  await runMarbles(testScheduler, async ({ cold }) => {
    // The first window stays open 2 s: the coordinator aborts it at 1 s.
    const slow = cold('a 1999ms |', values);
    outcomes = (await lastValueFrom(from([slow, window('b')]).pipe(transactions(producer, { continueOnAbort: true }), toArray()))).map((o) => (o.committed ? `${o.index} committed` : `${o.index} ${(o.error as Error).name}`));
  });
  expect(outcomes).toEqual(['0 TransactionTimeoutError', '1 committed']);
  expect(states()).toEqual(['a@0 aborted', 'b@2 committed']);
});
