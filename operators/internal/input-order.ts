import type { MonoTypeOperatorFunction, OperatorFunction } from 'rxjs';
import { isBatch, type BatchOrFailure } from '../../src/producer/batch.ts';
import { isFatal, ProducerClosedError } from '../../src/producer/errors.ts';
import { Fifo } from '../../src/producer/fifo.ts';
import type { MemoryBudget } from '../../src/producer/memory.ts';
import type { RecordResult } from '../../src/producer/record.ts';
import { forward, operate } from './operate.ts';

interface Held<P, R> {
  result: RecordResult<P, R>;
  /** What it counts for in the memory budget while it waits. */
  bytes: number;
}

/**
 * toKafka's `ordered: true`, for one subscription: `track()` notes each record as given, in the
 * order it comes in, and `results()` emits one result per record in that order, holding a result
 * back until every earlier record has its own. Records are told apart by the object given (the
 * batch stage keeps it for each record); one object given twice is answered twice, in order.
 * What is held is bounded by what is in flight: a held record's key and value bytes count in the
 * producer's memory budget until its result is emitted, so sources pause (or wait in `reserve`)
 * as they do for records not yet acknowledged. The record at the head was accepted before every
 * held one, so it never waits for their room. Fatal errors skip the line: they end the stream at
 * once in either order.
 */
export class InputOrder<P> {
  private readonly accepted = new Fifo<unknown>();
  private readonly memory: MemoryBudget;

  constructor(memory: MemoryBudget) {
    this.memory = memory;
  }

  track<T>(): MonoTypeOperatorFunction<T> {
    return operate((source, subscriber) => source.subscribe(forward(subscriber, (record: T) => {
      this.accepted.push(record);
      subscriber.next(record);
    })));
  }

  results<R>(): OperatorFunction<BatchOrFailure<P>, RecordResult<P, R>> {
    const { accepted, memory } = this;
    return operate((source, subscriber) => {
      const held = new Map<unknown, Array<Held<P, R>>>();
      const place = (record: unknown, result: RecordResult<P, R>, bytes: number) => {
        if (record !== accepted.peek()) {
          if (!result.ok && isFatal(result.error) && !(result.error instanceof ProducerClosedError)) {
            subscriber.next(result);
            return;
          }
          const list = held.get(record);
          if (list) list.push({ result, bytes });
          else held.set(record, [{ result, bytes }]);
          memory.retain(bytes);
          return;
        }
        accepted.shift();
        subscriber.next(result);
        for (let head = accepted.peek(); head !== undefined; head = accepted.peek()) {
          const list = held.get(head);
          if (list === undefined) break;
          const next = list.shift()!;
          if (list.length === 0) held.delete(head);
          accepted.shift();
          memory.release(next.bytes);
          subscriber.next(next.result);
        }
      };
      const subscription = source.subscribe(forward(subscriber, (item: BatchOrFailure<P>) => {
        if (!isBatch(item)) {
          place(item.source, { ok: false, error: item.error!, record: item.source as R }, 0);
          return;
        }
        const { recordCount, error, sources, passthroughs, keySizes, valueSizes } = item;
        for (let i = 0; i < recordCount; i++) {
          const record = sources![i];
          const result: RecordResult<P, R> = error
            ? { ok: false, error: item.recordError(i)!, record: record as R }
            : { ok: true, metadata: item.metadata(i, passthroughs === null ? undefined : passthroughs[i]) };
          place(record, result, Math.max(0, keySizes[i]) + Math.max(0, valueSizes[i]));
        }
      }));
      return () => {
        subscription.unsubscribe();
        for (const list of held.values()) for (const h of list) memory.release(h.bytes);
        held.clear();
      };
    });
  }
}
