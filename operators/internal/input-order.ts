import { Subject, type MonoTypeOperatorFunction, type OperatorFunction } from 'rxjs';
import { isBatch, type BatchOrFailure } from '../../src/producer/batch.ts';
import { isFatal, ProducerClosedError } from '../../src/producer/errors.ts';
import { Fifo } from '../../src/producer/fifo.ts';
import type { MemoryBudget } from '../../src/producer/memory.ts';
import type { OutgoingRecord, RecordResult } from '../../src/producer/record.ts';
import { results } from '../results.ts';
import { forward, operate } from './operate.ts';

/**
 * toKafka's `ordered: true`, for one subscription: `track()` notes each record as it enters the
 * stages, and `results()` emits one result per record in that order, holding a result back until
 * every earlier record has its own. What is held is bounded by what is in flight: a held record's
 * bytes stay counted in the producer's memory budget until its result is emitted, so sources
 * pause (or wait in `reserve`) as they do for records not yet acknowledged. The record at the head
 * was accepted before every held one, so it never waits for their room. Fatal errors skip the
 * line: they end the stream at once in either order.
 */
export class InputOrder<P> {
  private readonly accepted = new Fifo<OutgoingRecord<P>>();
  private readonly memory: MemoryBudget;

  constructor(memory: MemoryBudget) {
    this.memory = memory;
  }

  track(): MonoTypeOperatorFunction<OutgoingRecord<P>> {
    return operate((source, subscriber) => source.subscribe(forward(subscriber, (record: OutgoingRecord<P>) => {
      this.accepted.push(record);
      subscriber.next(record);
    })));
  }

  results<R>(): OperatorFunction<BatchOrFailure<P>, RecordResult<P, R>> {
    const { accepted, memory } = this;
    return operate((source, subscriber) => {
      const held = new Map<OutgoingRecord<P>, RecordResult<P, R>>();
      // results() answers an item's records synchronously and in the item's order: this pairs
      // each result it emits with its record.
      const answering = new Fifo<OutgoingRecord<P>>();
      const items = new Subject<BatchOrFailure<P>>();
      const place = (result: RecordResult<P, R>) => {
        const record = answering.shift()!;
        if (record !== accepted.peek()) {
          if (!result.ok && isFatal(result.error) && !(result.error instanceof ProducerClosedError)) {
            subscriber.next(result);
            return;
          }
          held.set(record, result);
          memory.retain(record.reserved);
          return;
        }
        accepted.shift();
        subscriber.next(result);
        for (let head = accepted.peek(); head !== undefined; head = accepted.peek()) {
          const next = held.get(head);
          if (next === undefined) break;
          held.delete(head);
          accepted.shift();
          memory.release(head.reserved);
          subscriber.next(next);
        }
      };
      const answered = items.pipe(results<P, R>()).subscribe(place);
      const subscription = source.subscribe(forward(subscriber, (item: BatchOrFailure<P>) => {
        if (isBatch(item)) for (const r of item.records) answering.push(r);
        else answering.push(item);
        items.next(item);
      }));
      return () => {
        subscription.unsubscribe();
        answered.unsubscribe();
        for (const record of held.keys()) memory.release(record.reserved);
        held.clear();
      };
    });
  }
}
