import type { MonoTypeOperatorFunction } from 'rxjs';
import { ASYNC_MIN_BYTES } from '../src/codec/offload.ts';
import { ConfigError } from '../src/codec/errors.ts';
import { codecFor, type CodecOptions } from '../src/codec/registry.ts';
import type { CompressionName } from '../src/codec/types.ts';
import { validateLevel } from '../src/codec/levels.ts';
import { isBatch, type BatchOrFailure } from '../src/producer/batch.ts';
import { internals } from '../src/producer/internals.ts';
import type { Producer } from '../src/producer/producer.ts';
import { forward, operate } from './internal/operate.ts';

export interface CompressOptions {
  /** Default: the producer's `compression`. */
  compression?: CompressionName;
  level?: number;
  /** gzip through node:zlib ('zlib', the default) or pako ('pako', pure JavaScript); the bytes Kafka reads are gzip either way. */
  gzipImpl?: CodecOptions['gzipImpl'];
}

/**
 * Closes each batch, compressing its records section with the chosen codec and setting the codec
 * bits of its attributes. Large batches compress off the event loop where the codec can (node:zlib's
 * thread pool); order is kept, so a batch never overtakes an earlier one.
 */
export function compress<P>(producer: Producer, options: CompressOptions = {}): MonoTypeOperatorFunction<BatchOrFailure<P>> {
  const p = internals(producer);
  const name = options.compression ?? p.config.compression;
  // codecFor treats anything but 'pako' as zlib; a misspelt choice should fail, not pass silently.
  if (options.gzipImpl !== undefined && options.gzipImpl !== 'zlib' && options.gzipImpl !== 'pako') {
    throw new ConfigError(`gzipImpl: expected 'zlib' or 'pako', got ${JSON.stringify(options.gzipImpl)}`);
  }
  const codec = codecFor(name, { gzipImpl: options.gzipImpl });
  const level = validateLevel(codec.name, options.level ?? (options.compression ? undefined : p.config.compressionLevel));
  return operate((source, subscriber) => {
    // Items behind a batch still being compressed wait here, so output order is input order.
    const queue: Array<{ item: BatchOrFailure<P>; ready: boolean }> = [];
    let sourceDone = false;
    let closed = false;

    const flush = () => {
      while (queue.length > 0 && queue[0].ready) subscriber.next(queue.shift()!.item);
      if (sourceDone && queue.length === 0) subscriber.complete();
    };

    const subscription = source.subscribe(forward(subscriber, (item: BatchOrFailure<P>) => {
      if (!isBatch(item) || codec.id === 0) {
        if (isBatch(item)) item.builder.close();
        if (queue.length === 0) subscriber.next(item);
        else queue.push({ item, ready: true });
        return;
      }
      const builder = item.builder;
      const records = builder.records();
      if (records.length < ASYNC_MIN_BYTES) {
        builder.close(codec.id, (data) => codec.compress(data, level));
        if (queue.length === 0) subscriber.next(item);
        else queue.push({ item, ready: true });
        return;
      }
      const entry = { item: item as BatchOrFailure<P>, ready: false };
      queue.push(entry);
      codec.compressAsync(records, level).then(
        (compressed) => {
          if (closed) return;
          builder.closeCompressed(codec.id, compressed);
          entry.ready = true;
          flush();
        },
        (e: Error) => subscriber.error(e),
      );
    }, () => {
      sourceDone = true;
      flush();
    }));

    return () => {
      closed = true;
      subscription.unsubscribe();
      for (const { item } of queue) {
        if (!isBatch(item)) continue;
        p.memory.release(item.reservedBytes);
        p.builders.release(item.builder);
      }
      queue.length = 0;
    };
  });
}
