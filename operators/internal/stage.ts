import type { OperatorFunction } from 'rxjs';
import { forward, operate } from './operate.ts';

/** Where a stage hands on what it makes: the next stage, or the operator's RxJS subscriber. */
export interface Sink<T> {
  next(value: T): void;
  complete(): void;
  error(e: unknown): void;
}

/**
 * A per-record operator as a plain object, so that toKafka can chain several with direct calls
 * instead of an RxJS subscriber (and its guards) between each two; the operator of the same name
 * wraps the same stage for use on its own. `complete`: the input has ended (the stage completes
 * its sink once it is done with what it holds); `teardown`: unsubscribed, give everything back.
 * The three are called detached from the object (see chain): they must not use `this`.
 */
export interface Stage<T> {
  next(value: T): void;
  complete(): void;
  teardown(): void;
}

export type StageFactory<T, R> = (sink: Sink<R>) => Stage<T>;

/** The operator of a stage: one stage per subscription, fed by the source. */
export function stageOperator<T, R>(make: StageFactory<T, R>): OperatorFunction<T, R> {
  return operate((source, subscriber) => {
    const stage = make(subscriber);
    const subscription = source.subscribe(forward(subscriber, stage.next, stage.complete));
    return () => {
      subscription.unsubscribe();
      stage.teardown();
    };
  });
}

/**
 * Two stages as one, the first's output going straight into the second: the first is given the
 * second's own `next` and `complete` (stages do not use `this`), so a record crosses a chain of
 * stages in one direct call per stage, each call site seeing a single target. Once torn down,
 * whatever the first still hands on is dropped, as a closed RxJS subscriber would drop it.
 */
export function chain<A, B, C>(first: StageFactory<A, B>, second: StageFactory<B, C>): StageFactory<A, C> {
  return (sink) => {
    const b = second(sink);
    const link: Sink<B> = { next: b.next, complete: b.complete, error: (e) => sink.error(e) };
    const a = first(link);
    return {
      next: a.next,
      complete: a.complete,
      teardown: () => {
        link.next = drop;
        link.complete = drop;
        a.teardown();
        b.teardown();
      },
    };
  };
}

function drop(): void {}
