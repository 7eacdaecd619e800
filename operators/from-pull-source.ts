import type { Readable } from 'node:stream';
import { from as fromAsync } from 'ix/asynciterable';
import { fromNodeStream } from 'ix/asynciterable/fromnodestream';
import { Observable } from 'rxjs';
import type { Producer } from '../src/producer/producer.ts';

/**
 * An Observable over a source that can wait — an AsyncIterable, an Iterable or a Node Readable —
 * that reads the next item only while the producer's memory budget has room. This is real
 * backpressure: nothing is dropped and memory stays flat however fast the source could go.
 */
export function fromPullSource<T>(source: AsyncIterable<T> | Iterable<T> | Readable, producer: Producer): Observable<T> {
  return new Observable<T>((subscriber) => {
    const iterable: AsyncIterable<T> = isReadable(source) ? (fromNodeStream(source) as unknown as AsyncIterable<T>) : fromAsync(source);
    const iterator = iterable[Symbol.asyncIterator]();
    let stopped = false;
    void (async () => {
      try {
        while (!stopped) {
          if (!producer.memory.hasRoom) await producer.memory.whenRoom();
          if (stopped) break;
          const next = await iterator.next();
          if (next.done || stopped) break;
          subscriber.next(next.value);
        }
        subscriber.complete();
      } catch (e) {
        subscriber.error(e);
      }
    })();
    return () => {
      stopped = true;
      void iterator.return?.();
    };
  });
}

function isReadable(source: unknown): source is Readable {
  return typeof (source as Readable).pipe === 'function' && typeof (source as Readable).read === 'function';
}
