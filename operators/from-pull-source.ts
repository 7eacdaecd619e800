import type { Readable } from 'node:stream';
import { fromNodeStream } from 'ix/asynciterable/fromnodestream';
import { Observable, type Subscriber } from 'rxjs';
import { internals, type ProducerInternals } from '../src/producer/internals.ts';
import type { Producer } from '../src/producer/producer.ts';

/**
 * An Observable over a source that can wait — an Iterable, an AsyncIterable or a Node Readable
 * (read through ix's fromNodeStream, so the stream stays paused between reads) — that takes the
 * next item only while the producer's memory budget has room. This is real backpressure: nothing
 * is dropped and memory stays flat however fast the source could go.
 */
export function fromPullSource<T>(source: Iterable<T> | AsyncIterable<T> | Readable, producer: Producer): Observable<T> {
  const p = internals(producer);
  return new Observable<T>((subscriber) => {
    // Read through `closed`, not a teardown flag: downstream may unsubscribe while the first
    // synchronous run of reads is still inside this function, before a teardown is registered.
    const state = { get stopped() { return subscriber.closed; } };
    const run = isReadable(source)
      ? pullAsync((fromNodeStream(source) as unknown as AsyncIterable<T>)[Symbol.asyncIterator](), p, subscriber, state)
      : Symbol.asyncIterator in source
        ? pullAsync(source[Symbol.asyncIterator](), p, subscriber, state)
        : pullSync((source as Iterable<T>)[Symbol.iterator](), p, subscriber, state);
    run.then(() => subscriber.complete(), (e) => subscriber.error(e));
  });
}

/**
 * A synchronous source is read in a plain loop while there is room: no Promise per item. Every
 * few thousand items it yields to the event loop, so batches already closed go out while the loop
 * reads on, instead of after the whole budget was filled.
 */
async function pullSync<T>(it: Iterator<T>, producer: ProducerInternals, subscriber: Subscriber<T>, state: { stopped: boolean }): Promise<void> {
  try {
    for (;;) {
      for (let i = 0; i < YIELD_EVERY && producer.memory.hasRoom && !state.stopped; i++) {
        const next = it.next();
        if (next.done) return;
        subscriber.next(next.value);
      }
      if (state.stopped) return;
      // The producer's clock: setImmediate in real time, the scheduler's next action in virtual time.
      if (producer.memory.hasRoom) await new Promise<void>((resolve) => producer.config.clock.soon(resolve));
      else await producer.memory.whenRoom();
    }
  } finally {
    if (state.stopped) it.return?.();
  }
}

const YIELD_EVERY = 4096;

async function pullAsync<T>(it: AsyncIterator<T>, producer: ProducerInternals, subscriber: Subscriber<T>, state: { stopped: boolean }): Promise<void> {
  try {
    for (;;) {
      if (!producer.memory.hasRoom) await producer.memory.whenRoom();
      if (state.stopped) return;
      const next = await it.next();
      if (next.done || state.stopped) return;
      subscriber.next(next.value);
    }
  } finally {
    if (state.stopped) await it.return?.();
  }
}

function isReadable(source: unknown): source is Readable {
  return typeof (source as Readable).pipe === 'function' && typeof (source as Readable).read === 'function';
}
