import { defer, Observable, Subject, takeUntil, throwError, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { isFatal, outsideTransaction } from '../src/producer/errors.ts';
import type { Producer } from '../src/producer/producer.ts';
import type { ProducerRecord, RecordMetadata, RecordResult } from '../src/producer/record.ts';
import type { RawValue } from '../src/producer/serializers.ts';
import { batch, type BatchOptions } from './batch.ts';
import { compress, type CompressOptions } from './compress.ts';
import { partition, type PartitionOptions } from './partition.ts';
import { reserve } from './reserve.ts';
import { recordMetadata, results } from './results.ts';
import { send } from './send.ts';
import { serialize, type SerializeOptions } from './serialize.ts';
import { forward, operate } from './internal/operate.ts';

export interface ToKafkaOptions<K, V> extends SerializeOptions<K, V>, PartitionOptions, Omit<BatchOptions, 'scheduler'>, CompressOptions {
  /**
   * 'error' (the default): the first failed record ends the stream with its KafkaError, after the
   * records already accepted are sent and their metadata emitted. 'results': every record yields
   * `{ ok: true, metadata }` or `{ ok: false, error, record }` and the stream goes on. Fatal errors
   * (authentication, authorization, fencing) end the stream in both modes.
   */
  errorMode?: 'error' | 'results';
  /** For the time-based stages (linger, buffer wait); default: the producer's `scheduler`, else real time. */
  scheduler?: SchedulerLike;
}

/**
 * The sink: serialize → reserve → partition → batch → compress → send → one result per record.
 * Cold and lazy: nothing happens until subscription; completes when the source has completed and
 * every record is acknowledged.
 */
export function toKafka<K = RawValue, V = RawValue, P = unknown>(producer: Producer, options?: ToKafkaOptions<K, V> & { errorMode?: 'error' }): OperatorFunction<ProducerRecord<K, V, P>, RecordMetadata<P>>;
export function toKafka<K = RawValue, V = RawValue, P = unknown>(producer: Producer, options: ToKafkaOptions<K, V> & { errorMode: 'results' }): OperatorFunction<ProducerRecord<K, V, P>, RecordResult<P, ProducerRecord<K, V, P>>>;
export function toKafka<K, V, P>(producer: Producer, options: ToKafkaOptions<K, V> = {}): OperatorFunction<ProducerRecord<K, V, P>, RecordMetadata<P> | RecordResult<P, ProducerRecord<K, V, P>>> {
  if (producer.transactions) {
    const id = producer.transactions.transactionalId;
    return () => throwError(() => outsideTransaction(id));
  }
  return sendPipeline<K, V, P>(producer, options);
}

/** toKafka's pipeline without the transactional check: a transaction's `tx.send()` is the same. */
export function sendPipeline<K, V, P>(producer: Producer, options: ToKafkaOptions<K, V>): OperatorFunction<ProducerRecord<K, V, P>, RecordMetadata<P> | RecordResult<P, ProducerRecord<K, V, P>>> {
  if (!options.scheduler && producer.config.scheduler) options = { ...options, scheduler: producer.config.scheduler };
  const batches = (source: Observable<ProducerRecord<K, V, P>>) => source.pipe(
    serialize<K, V, P>({ ...options, now: options.now ?? (options.scheduler ? () => options.scheduler!.now() : undefined) }),
    reserve<P>(producer, options.scheduler),
    partition<P>(producer, options),
    batch<P>(producer, options),
    compress<P>(producer, options),
    send<P>(producer),
  );
  if (options.errorMode === 'results') {
    return (source) => batches(source).pipe(results<P, ProducerRecord<K, V, P>>(), failOn(isFatal));
  }
  return (source) => defer(() => {
    // On the first failure, stop reading the source but let what was accepted finish sending.
    const stop = new Subject<void>();
    let failure: Error | undefined;
    return new Observable<RecordMetadata<P>>((subscriber) =>
      batches(source.pipe(takeUntil(stop))).pipe(recordMetadata<P, ProducerRecord<K, V, P>>((error) => {
        if (isFatal(error)) subscriber.error(error);
        else if (!failure) {
          failure = error;
          stop.next();
        }
      })).subscribe(forward(subscriber, (m: RecordMetadata<P>) => subscriber.next(m), () => (failure ? subscriber.error(failure) : subscriber.complete()))),
    );
  });
}

function failOn<T extends { ok: boolean; error?: Error }>(fatal: (e: unknown) => boolean): (source: Observable<T>) => Observable<T> {
  return operate((source, subscriber) =>
    source.subscribe(forward(subscriber, (r: T) => {
      if (!r.ok && fatal(r.error)) subscriber.error(r.error);
      else subscriber.next(r);
    })),
  );
}
