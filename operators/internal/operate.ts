import { Observable, Subscriber, type OperatorFunction, type TeardownLogic } from 'rxjs';

/**
 * The plumbing every kafkarx operator shares: a cold Observable per subscription whose `init`
 * wires the source to the subscriber, through `forward` so the two are chained. The returned
 * teardown runs once, when the subscriber errors, completes or is unsubscribed.
 */
export function operate<T, R>(init: (source: Observable<T>, subscriber: Subscriber<R>) => TeardownLogic): OperatorFunction<T, R> {
  return (source) => new Observable<R>((subscriber) => init(source, subscriber));
}

/**
 * The subscriber an operator gives its source, in the manner of RxJS's own (internal, not
 * exported) OperatorSubscriber: it is a child of the downstream `destination`, so the moment
 * downstream unsubscribes — even from inside a synchronous `next` while the source is still in
 * its `subscribe` call — it is closed, and a synchronous source (`range`, `from(iterable)`) that
 * checks `closed` stops reading. Errors thrown by a handler fail the destination instead of
 * escaping into the source's emitter; source errors go straight to the destination.
 */
export class OperatorSubscriber<T> extends Subscriber<T> {
  constructor(destination: Subscriber<unknown>, onNext: (value: T) => void, onComplete: () => void = () => destination.complete(), onError: (e: unknown) => void = (e) => destination.error(e)) {
    super(destination);
    this._next = (value: T) => {
      try {
        onNext(value);
      } catch (e) {
        destination.error(e);
      }
    };
    // The base class unsubscribes after _complete/_error run: this subscriber is then detached.
    this._complete = () => {
      try {
        onComplete();
      } catch (e) {
        destination.error(e);
      } finally {
        this.unsubscribe();
      }
    };
    this._error = (e: unknown) => {
      try {
        onError(e);
      } catch (thrown) {
        destination.error(thrown);
      } finally {
        this.unsubscribe();
      }
    };
  }
}

/** The source's subscriber for an operator: `next` guarded, `complete` once, chained to `subscriber`. */
export function forward<T>(subscriber: Subscriber<unknown>, next: (value: T) => void, complete?: () => void): OperatorSubscriber<T> {
  return new OperatorSubscriber<T>(subscriber, next, complete);
}
