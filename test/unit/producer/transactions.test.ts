import { from, lastValueFrom, NEVER, of, Subject, throwError, toArray, concat } from 'rxjs';
import { transaction, transactions } from '../../../operators/transaction.ts';
import type { Cluster } from '../../../src/cluster/cluster.ts';
import { resolveConfig } from '../../../src/producer/config.ts';
import { ConfigError, ProducerFencedError, TransactionOutcomeUnknownError, TransactionStateError } from '../../../src/producer/errors.ts';
import { registerInternals, type ProducerInternals } from '../../../src/producer/internals.ts';
import type { Producer } from '../../../src/producer/producer.ts';
import { TransactionManager } from '../../../src/producer/transactions.ts';
import { Flights } from '../../../src/producer/flights.ts';
import { MemoryBudget } from '../../../src/producer/memory.ts';
import { RecordBatchBuilderPool } from '../../../src/record/batch-builder.ts';

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
 * The scope's contract against a transaction manager whose protocol calls are stand-ins: what it
 * emits when, what it commits or aborts, and in which order scopes take their turn.
 */
function fakeProducer() {
  const config = resolveConfig({ brokers: ['127.0.0.1:1'], transactionalId: 'tx' });
  const manager = new TransactionManager('tx', {} as Cluster, config);
  const log: string[] = [];
  let commitGate: Promise<void> = Promise.resolve();
  let fatal: Error | undefined;
  let failNextCommit: Error | undefined;
  manager.begin = async () => {
    if (fatal) throw fatal;
    log.push('begin');
  };
  manager.commit = async () => {
    log.push('commit?');
    await commitGate;
    if (failNextCommit) {
      const e = failNextCommit;
      failNextCommit = undefined;
      log.push('aborted');
      throw e;
    }
    log.push('committed');
  };
  manager.abort = async () => {
    log.push('aborted');
    if (fatal) throw fatal;
    return undefined;
  };
  // What the send pipeline touches when its source is empty.
  const producer = {
    transactions: manager, closed: false, config, memory: new MemoryBudget(1 << 20), builders: new RecordBatchBuilderPool(),
    registerFlusher: () => () => undefined, registerEnder: () => () => undefined, flights: new Flights(), sender: { cancel: () => undefined },
  } as unknown as Producer;
  registerInternals(producer, producer as unknown as ProducerInternals);
  return {
    producer,
    log,
    gate(p: Promise<void>) { commitGate = p; },
    failCommit(e: Error) { failNextCommit = e; },
    fence(e: Error) { fatal = e; },
  };
}

const flush = () => new Promise((r) => setTimeout(r, 5));

test('a scope emits what its body emitted only after the commit succeeded', async () => {
  const f = fakeProducer();
  let open!: () => void;
  f.gate(new Promise((r) => (open = r)));
  const seen: number[] = [];
  let completed = false;
  transaction(f.producer, () => of(1, 2, 3)).subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
  await flush();
  expect(f.log).toEqual(['begin', 'commit?']);
  expect(seen).toEqual([]);
  open();
  await flush();
  expect(seen).toEqual([1, 2, 3]);
  expect(completed).toBe(true);
});

test('a body that errors aborts the transaction; the scope errors with the body\'s error and emits nothing', async () => {
  const f = fakeProducer();
  const boom = new Error('boom');
  const seen: number[] = [];
  const error = await new Promise((resolve) => transaction(f.producer, () => concat(of(1, 2), throwError(() => boom))).subscribe({ next: (v) => seen.push(v), error: resolve }));
  expect(error).toBe(boom);
  expect(seen).toEqual([]);
  expect(f.log).toEqual(['begin', 'aborted']);
});

test('a failed commit errors the scope and emits nothing', async () => {
  const f = fakeProducer();
  const failure = new Error('commit failed');
  f.failCommit(failure);
  await expect(lastValueFrom(transaction(f.producer, () => of(1)))).rejects.toBe(failure);
});

test('unsubscribing mid-scope aborts', async () => {
  const f = fakeProducer();
  const s = transaction(f.producer, () => NEVER).subscribe();
  await flush();
  s.unsubscribe();
  await flush();
  expect(f.log).toEqual(['begin', 'aborted']);
});

test('one transaction at a time: a second scope waits until the first one has ended', async () => {
  const f = fakeProducer();
  const first = new Subject<number>();
  const results: string[] = [];
  transaction(f.producer, () => first).subscribe({ complete: () => results.push('first done') });
  transaction(f.producer, () => of(2)).subscribe({ complete: () => results.push('second done') });
  await flush();
  expect(f.log).toEqual(['begin']);
  first.complete();
  await flush();
  expect(f.log).toEqual(['begin', 'commit?', 'committed', 'begin', 'commit?', 'committed']);
  expect(results).toEqual(['first done', 'second done']);
});

test('tx operators used after their scope ended fail with TransactionStateError', async () => {
  const f = fakeProducer();
  let kept: Parameters<Parameters<typeof transaction>[1]>[0] | undefined;
  await lastValueFrom(transaction(f.producer, (tx) => {
    kept = tx;
    return of(1);
  }));
  await expect(lastValueFrom(of(1).pipe(kept!.sendOffsets({ groupId: 'g' })))).rejects.toBeInstanceOf(TransactionStateError);
});

test('transactions(): in order; continueOnAbort reports an aborted one and goes on, else the stream ends with its error', async () => {
  const f = fakeProducer();
  const boom = new Error('boom');
  const inner = [from([]), throwError(() => boom), from([])];
  const outcomes = await lastValueFrom(from(inner).pipe(transactions(f.producer, { continueOnAbort: true }), toArray()));
  expect(outcomes.map((o) => [o.index, o.committed])).toEqual([[0, true], [1, false], [2, true]]);
  expect(outcomes[1]).toMatchObject({ error: boom });

  const g = fakeProducer();
  await expect(lastValueFrom(from(inner).pipe(transactions(g.producer), toArray()))).rejects.toBe(boom);
  expect(g.log.filter((l) => l === 'begin')).toHaveLength(2);
});

test('transactions(): a fatal error ends the stream even with continueOnAbort', async () => {
  const f = fakeProducer();
  const fenced = new ProducerFencedError('tx', 1, 0, 90, 'EndTxn');
  const inner = [from([]), from([]), from([])];
  let n = 0;
  const seen: number[] = [];
  const error = await new Promise((resolve) => from(inner).pipe(transactions(f.producer, { continueOnAbort: true })).subscribe({
    next: (o) => {
      seen.push(o.index);
      if (++n === 1) f.fence(fenced);
    },
    error: resolve,
  }));
  expect(error).toBe(fenced);
  expect(seen).toEqual([0]);
});

test('transactions() with continueOnAbort never reports a commit of unknown outcome as an abort: the stream ends with it', async () => {
  const f = fakeProducer();
  const unknown = new TransactionOutcomeUnknownError('tx', 'the commit was not confirmed', false, new Error('no answer'), { producerId: 1, producerEpoch: 0, partitions: [], groups: [], withheld: [] });
  f.failCommit(unknown);
  const outcome = lastValueFrom(of([], []).pipe(transactions(f.producer, { continueOnAbort: true }), toArray()));
  await expect(outcome).rejects.toBe(unknown);
  expect(f.log.filter((l) => l === 'begin')).toHaveLength(1);
  // An ordinary failed commit is still an outcome with continueOnAbort.
  const g = fakeProducer();
  g.failCommit(new Error('refused'));
  const outcomes = await lastValueFrom(of([], []).pipe(transactions(g.producer, { continueOnAbort: true }), toArray()));
  expect(outcomes.map((o) => o.committed)).toEqual([false, true]);
});
