import { Observable, Subscriber, type OperatorFunction, type TeardownLogic } from 'rxjs';

/**
 * The plumbing every kafkarx operator shares: a cold Observable per subscription whose `init`
 * wires the source to the subscriber. Errors thrown synchronously by a handler fail the stream
 * instead of escaping into the source's emitter.
 */
export function operate<T, R>(init: (source: Observable<T>, subscriber: Subscriber<R>) => TeardownLogic): OperatorFunction<T, R> {
  return (source) => new Observable<R>((subscriber) => init(source, subscriber));
}

/** An observer of the source that forwards errors, guards `next`, and calls `complete` once. */
export function forward<T>(subscriber: Subscriber<unknown>, next: (value: T) => void, complete: () => void = () => subscriber.complete()) {
  return {
    next(value: T) {
      try {
        next(value);
      } catch (e) {
        subscriber.error(e);
      }
    },
    error: (e: unknown) => subscriber.error(e),
    complete() {
      try {
        complete();
      } catch (e) {
        subscriber.error(e);
      }
    },
  };
}
