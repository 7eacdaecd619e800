import {
  catchError, concatMap, connectable, defer, finalize, from, map, Observable, of, ReplaySubject, Subscriber, Subscription, throwError, toArray,
  type MonoTypeOperatorFunction, type ObservableInput, type OperatorFunction,
} from 'rxjs';
import { isFatal, ProducerClosedError, TransactionOutcomeUnknownError, TransactionStateError } from '../src/producer/errors.ts';
import { internals } from '../src/producer/internals.ts';
import type { Producer } from '../src/producer/producer.ts';
import type { PassthroughOf, ProducerRecord, RecordMetadata } from '../src/producer/record.ts';
import type { RawValue } from '../src/producer/serializers.ts';
import type { ConsumerGroupMetadata, PartitionOffset, TransactionManager } from '../src/producer/transactions.ts';
import { sendPipeline, type ToKafkaOptions } from './to-kafka.ts';
import { forward, operate } from './internal/operate.ts';

/** toKafka's options, less the error mode: in a transaction, a failed record fails the transaction. */
export type TransactionSendOptions<K, V> = Omit<ToKafkaOptions<K, V>, 'errorMode'>;

/** Where a consumed record was: the transaction commits `offset + 1` for its partition. */
export interface ConsumedPosition {
  topic: string;
  partition: number;
  /** The consumed record's offset (KafkaJS gives it as a string). */
  offset: number | bigint | string;
  leaderEpoch?: number;
}

export type PositionSelector<T> = (item: T) => ConsumedPosition | readonly ConsumedPosition[] | null | undefined;

/** What a transaction scope's body gets: the operators that act inside the transaction. */
export interface Transaction {
  /**
   * toKafka's pipeline (serialize, reserve, partition, batch, compress, send) inside this
   * transaction. Emits each record's metadata once the broker acknowledged it, which is before
   * the commit: the scope, not this operator, holds results back until the commit.
   */
  send<K = RawValue, V = RawValue, R extends ProducerRecord<K, V, unknown> = ProducerRecord<K, V>>(options?: TransactionSendOptions<K, V>): OperatorFunction<R, RecordMetadata<PassthroughOf<R>>>;
  /**
   * Passes items through, noting the consumed position each one stands for (`select`; by default
   * the item's `passthrough`, as the metadata from `send()` carries it). When its source
   * completes, adds the highest position + 1 of each partition to the transaction as the group's
   * committed offsets (AddOffsetsToTxn, TxnOffsetCommit): the group sees them only if the
   * transaction commits. `group` may be a function, read at that moment, so a consumer's current
   * generation and member id are sent (KIP-447).
   */
  sendOffsets<T>(group: ConsumerGroupMetadata | (() => ConsumerGroupMetadata), select?: PositionSelector<T>): MonoTypeOperatorFunction<T>;
}

/**
 * One transaction as a scoped Observable. It waits for the producer's previous transaction to end
 * (one at a time per producer, in subscription order), begins, and subscribes to what `body`
 * returns. When that completes, it waits until every record sent in the scope is acknowledged,
 * commits, and only then emits everything the body emitted, and completes: nothing downstream sees
 * a result of a transaction that might still abort. When the body errors, or the scope is
 * unsubscribed, records not yet written are withdrawn, those written are settled, and the
 * transaction aborts; the scope errors with the body's error. If the commit or abort fails, the
 * scope errors with that failure: fatal errors (`isFatal`) leave the producer unusable.
 */
export function transaction<T>(producer: Producer, body: (tx: Transaction) => ObservableInput<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const manager = internals(producer).transactions;
    if (!manager) {
      subscriber.error(new TransactionStateError('transaction() needs a producer created with a transactionalId'));
      return undefined;
    }
    let phase: 'waiting' | 'open' | 'ending' | 'done' = 'waiting';
    let inner: Subscription | undefined;
    let release: (() => void) | undefined;
    let ended: Promise<void> | undefined;
    const results: T[] = [];

    const end = (commit: boolean, reason?: unknown): Promise<void> => {
      if (phase !== 'open') return ended ?? Promise.resolve();
      phase = 'ending';
      inner?.unsubscribe();
      ended = (async () => {
        try {
          if (commit) {
            await manager.commit(results);
            phase = 'done';
            for (const r of results) subscriber.next(r);
            subscriber.complete();
          } else {
            // A transaction the broker had aborted (it timed out) reports that rather than what it caused.
            const brokerAbort = await manager.abort();
            phase = 'done';
            subscriber.error(brokerAbort ?? reason);
          }
        } catch (e) {
          phase = 'done';
          subscriber.error(e);
        } finally {
          manager.scope = undefined;
          release!();
        }
      })();
      return ended;
    };

    const open = async (r: () => void) => {
      release = r;
      if (subscriber.closed) return release();
      if (producer.closed) {
        release();
        return subscriber.error(new ProducerClosedError());
      }
      try {
        await manager.begin();
      } catch (e) {
        release();
        return subscriber.error(e);
      }
      phase = 'open';
      manager.scope = { end: (why) => end(false, why) };
      if (subscriber.closed) return void end(false);
      let source: Observable<T>;
      try {
        source = from(body(scopeOperators(producer, manager, () => phase === 'open')));
      } catch (e) {
        return void end(false, e);
      }
      // Known before subscribe() returns, so an end during a synchronous body stops reading it.
      const reader = new Subscriber<T>({
        next: (v: T) => results.push(v),
        error: (e: unknown) => void end(false, e),
        complete: () => void end(true),
      });
      inner = reader;
      source.subscribe(reader);
    };
    void manager.acquire().then(open);

    return () => {
      if (phase === 'open') void end(false);
    };
  });
}

function scopeOperators(producer: Producer, manager: TransactionManager, isOpen: () => boolean): Transaction {
  const closed = () => new TransactionStateError('this transaction has ended: its operators can no longer be used');
  return {
    send<K, V, R extends ProducerRecord<K, V, unknown>>(options: TransactionSendOptions<K, V> = {}): OperatorFunction<R, RecordMetadata<PassthroughOf<R>>> {
      return (source) => defer(() => (isOpen() ? source.pipe(sendPipeline<K, V, unknown>(producer, options) as OperatorFunction<R, RecordMetadata<PassthroughOf<R>>>) : throwError(closed)));
    },
    sendOffsets<T>(group: ConsumerGroupMetadata | (() => ConsumerGroupMetadata), select: PositionSelector<T> = passthroughPosition): MonoTypeOperatorFunction<T> {
      return operate((source, subscriber) => {
        const next = new Map<string, PartitionOffset>();
        return source.subscribe(forward(subscriber, (item: T) => {
          note(next, select(item));
          subscriber.next(item);
        }, () => {
          if (!isOpen()) {
            subscriber.error(closed());
            return;
          }
          manager.sendOffsets([...next.values()], typeof group === 'function' ? group() : group).then(() => subscriber.complete(), (e) => subscriber.error(e));
        }));
      });
    },
  };
}

function passthroughPosition(item: unknown): ConsumedPosition | undefined {
  const p = (item as { passthrough?: unknown } | null)?.passthrough;
  return p !== null && typeof p === 'object' && 'topic' in p && 'partition' in p && 'offset' in p ? (p as ConsumedPosition) : undefined;
}

function note(next: Map<string, PartitionOffset>, selected: ConsumedPosition | readonly ConsumedPosition[] | null | undefined): void {
  if (selected === null || selected === undefined) return;
  for (const p of (Array.isArray(selected) ? selected : [selected]) as readonly ConsumedPosition[]) {
    let offset: bigint;
    try {
      offset = BigInt(p.offset) + 1n;
    } catch {
      offset = -1n;
    }
    if (typeof p.topic !== 'string' || !Number.isInteger(p.partition) || p.partition < 0 || offset <= 0n) {
      throw new TypeError(`sendOffsets: ${JSON.stringify(p, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))} is not a consumed position { topic, partition, offset ≥ 0 }`);
    }
    const key = `${p.topic}\0${p.partition}`;
    const known = next.get(key);
    if (!known || known.offset < offset) next.set(key, { topic: p.topic, partition: p.partition, offset, leaderEpoch: p.leaderEpoch });
  }
}

export interface TransactionsOptions<K, V> extends TransactionSendOptions<K, V> {
  /**
   * false (the default): the first transaction that fails ends the stream with its error.
   * true: a failed (aborted) transaction is emitted as `{ committed: false, error }` and the next
   * one goes ahead. Fatal errors (`isFatal`: fenced, unauthorized) always end it, and so does a
   * TransactionOutcomeUnknownError (a commit that could not be confirmed may have committed).
   */
  continueOnAbort?: boolean;
  /** Each transaction also commits the consumed offsets of its records (see `Transaction.sendOffsets`). */
  offsets?: { group: ConsumerGroupMetadata | (() => ConsumerGroupMetadata); select?: PositionSelector<RecordMetadata<any>> };
}

export type TransactionOutcome<P = unknown> =
  | { committed: true; index: number; results: RecordMetadata<P>[] }
  | { committed: false; index: number; error: unknown };

/**
 * A stream of transactions: each inner Observable (or array) of records is sent as one
 * transaction, in order, one at a time, emitting one outcome per transaction once it committed
 * (with its records' metadata) or, with `continueOnAbort`, aborted. Each inner is subscribed as
 * soon as it arrives and its records are held until its turn, so windows of a hot stream
 * (`windowCount`, `windowTime`) lose nothing while an earlier transaction commits.
 */
export function transactions<K = RawValue, V = RawValue, R extends ProducerRecord<K, V, unknown> = ProducerRecord<K, V>>(producer: Producer, options: TransactionsOptions<K, V> = {}): OperatorFunction<ObservableInput<R>, TransactionOutcome<PassthroughOf<R>>> {
  type P = PassthroughOf<R>;
  const { continueOnAbort = false, offsets, ...send } = options;
  return (source) => defer(() => {
    const held = new Subscription();
    return source.pipe(
      map((records) => {
        const replay = connectable(from(records), { connector: () => new ReplaySubject<R>(), resetOnDisconnect: false });
        const connection = replay.connect();
        held.add(connection);
        return { replay, connection };
      }),
      concatMap(({ replay, connection }, index) => transaction(producer, (tx) => {
        const sent = replay.pipe(tx.send<K, V, R>(send));
        return offsets ? sent.pipe(tx.sendOffsets(offsets.group, offsets.select)) : sent;
      }).pipe(
        toArray(),
        map((results): TransactionOutcome<P> => ({ committed: true, index, results })),
        // A transaction whose commit could not be confirmed may have committed: never an abort.
        catchError((error: unknown) => (continueOnAbort && !isFatal(error) && !(error instanceof TransactionOutcomeUnknownError)
          ? of<TransactionOutcome<P>>({ committed: false, index, error })
          : throwError(() => error))),
        finalize(() => {
          connection.unsubscribe();
          held.remove(connection);
        }),
      )),
      finalize(() => held.unsubscribe()),
    );
  });
}
