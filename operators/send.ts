import type { MonoTypeOperatorFunction } from 'rxjs';
import { isBatch, type BatchOrFailure, type BatchOwner, type ProducerBatch } from '../src/producer/batch.ts';
import { internals } from '../src/producer/internals.ts';
import type { Producer } from '../src/producer/producer.ts';
import { forward, operate } from './internal/operate.ts';

/**
 * Hands each closed batch to the producer's sender, which drains ready batches per broker into
 * ProduceRequests and retries what fails retriably; emits each batch again once it is acknowledged
 * or has failed for good (its `baseOffset` or `error` set). Completes when the source has
 * completed and every batch it handed over is settled. Unsubscribing withdraws the batches not yet
 * written; a request already written is left to finish, never cut in half.
 */
export function send<P>(producer: Producer): MonoTypeOperatorFunction<BatchOrFailure<P>> {
  const p = internals(producer);
  return operate((source, subscriber) => {
    let outstanding = 0;
    let sourceDone = false;
    const owner: BatchOwner<P> = {
      done(batch: ProducerBatch<P>) {
        outstanding--;
        subscriber.next(batch);
        if (sourceDone && outstanding === 0) subscriber.complete();
      },
      split(_batch, parts) {
        outstanding += parts - 1;
      },
    };
    const subscription = source.subscribe(forward(subscriber, (item: BatchOrFailure<P>) => {
      if (!isBatch(item)) {
        subscriber.next(item);
        return;
      }
      outstanding++;
      p.sender.enqueue(item, owner);
    }, () => {
      sourceDone = true;
      if (outstanding === 0) subscriber.complete();
    }));
    return () => {
      subscription.unsubscribe();
      p.sender.cancel(owner as BatchOwner<never>);
    };
  });
}
