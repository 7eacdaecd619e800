import { defer, Observable, throwError, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { isBatch, type BatchOrFailure } from '../src/producer/batch.ts';
import { isFatal, outsideTransaction, ProducerClosedError } from '../src/producer/errors.ts';
import type { Flight } from '../src/producer/flights.ts';
import { internals } from '../src/producer/internals.ts';
import type { Producer } from '../src/producer/producer.ts';
import type { OutgoingRecord, PassthroughOf, ProducerRecord, RecordMetadata, RecordResult } from '../src/producer/record.ts';
import type { RawValue } from '../src/producer/serializers.ts';
import { batchStage, OpenBatchesLink, type BatchOptions } from './batch.ts';
import { compress, type CompressOptions } from './compress.ts';
import { InputOrder } from './internal/input-order.ts';
import { forward, OperatorSubscriber } from './internal/operate.ts';
import { chain, stageOperator, type StageFactory } from './internal/stage.ts';
import { partitionStage, type PartitionOptions } from './partition.ts';
import { reserveStage } from './reserve.ts';
import { eachResult } from './results.ts';
import { send } from './send.ts';
import { serializeStage, type SerializeOptions } from './serialize.ts';

export interface ToKafkaOptions<K, V> extends SerializeOptions<K, V>, PartitionOptions, Omit<BatchOptions, 'scheduler'>, CompressOptions {
  /**
   * 'error' (the default): the first failed record ends the stream with its KafkaError, after the
   * records already accepted are sent and their metadata emitted. 'results': every record yields
   * `{ ok: true, metadata }` or `{ ok: false, error, record }` and the stream goes on. Fatal errors
   * (authentication, authorization, fencing) end the stream in both modes.
   */
  errorMode?: 'error' | 'results';
  /**
   * true: results come in the order the records came in, in both error modes. By default a
   * partition's results come in its records' order (with idempotence or one request in flight),
   * and results of different partitions in the order they are answered (a record refused before
   * batching, at once). Ordered, a result waits for every earlier record's; the records it waits
   * behind are in flight, so what waits is bounded by `bufferMemory`, in which held records' key
   * and value bytes stay counted until their result is emitted. In the 'error' mode, the error
   * that ends the stream is then that of the first failed record in input order. Fatal errors
   * still end the stream at once.
   */
  ordered?: boolean;
  /** For the time-based stages (linger, buffer wait); default: the producer's `scheduler`, else real time. */
  scheduler?: SchedulerLike;
}

/**
 * The sink: serialize → reserve → partition → batch → compress → send → one result per record.
 * Cold and lazy: nothing happens until subscription; completes when the source has completed and
 * every record is acknowledged.
 *
 * Nothing accepted is lost. When the stream ends early — a failed record in the default mode, the
 * source's own error, `producer.close()` — kafkarx stops reading the source, sends the records it
 * had accepted, emits their results, and only then ends the stream with the error (the source's
 * error as it was thrown; after close(), ProducerClosedError). A stream subscribed after close()
 * fails at once with ProducerClosedError. Only an unsubscribe withdraws what was not yet written,
 * and fatal errors end the stream at once.
 */
export function toKafka<K = RawValue, V = RawValue, R extends ProducerRecord<K, V, unknown> = ProducerRecord<K, V>>(producer: Producer, options?: ToKafkaOptions<K, V> & { errorMode?: 'error' }): OperatorFunction<R, RecordMetadata<PassthroughOf<R>>>;
export function toKafka<K = RawValue, V = RawValue, R extends ProducerRecord<K, V, unknown> = ProducerRecord<K, V>>(producer: Producer, options: ToKafkaOptions<K, V> & { errorMode: 'results' }): OperatorFunction<R, RecordResult<PassthroughOf<R>, R>>;
export function toKafka<K = RawValue, V = RawValue, R extends ProducerRecord<K, V, unknown> = ProducerRecord<K, V>>(producer: Producer, options: ToKafkaOptions<K, V>): OperatorFunction<R, RecordMetadata<PassthroughOf<R>> | RecordResult<PassthroughOf<R>, R>>;
export function toKafka<K, V, P>(producer: Producer, options: ToKafkaOptions<K, V> = {}): OperatorFunction<ProducerRecord<K, V, P>, RecordMetadata<P> | RecordResult<P, ProducerRecord<K, V, P>>> {
  const p = internals(producer);
  if (p.transactions) {
    const id = p.transactions.transactionalId;
    return () => throwError(() => outsideTransaction(id));
  }
  return sendPipeline<K, V, P>(producer, options);
}

/** toKafka's pipeline without the transactional check: a transaction's `tx.send()` is the same. */
export function sendPipeline<K, V, P>(producer: Producer, options: ToKafkaOptions<K, V>): OperatorFunction<ProducerRecord<K, V, P>, RecordMetadata<P> | RecordResult<P, ProducerRecord<K, V, P>>> {
  const p = internals(producer);
  if (!options.scheduler && p.config.scheduler) options = { ...options, scheduler: p.config.scheduler };
  const serialized = serializeStage<K, V, P>({ ...options, now: options.now ?? (options.scheduler ? () => options.scheduler!.now() : undefined), inject: p.config.instrumentation.headerInjector });
  const resultsMode = options.errorMode === 'results';
  // Only the results mode reports failed records as given, and `ordered` tells records apart by
  // them: otherwise the batches keep none.
  const stages = (input?: InputHooks) => sendStages<P, ProducerRecord<K, V, P>>(producer, options, resultsMode || options.ordered === true, serialized, input);
  return (source) => defer(() => {
    if (p.closed) return throwError(() => new ProducerClosedError());
    // What ends the stream once every accepted record is answered: it stops reading the source.
    let ending: Error | undefined;
    let stopInput: (() => void) | undefined;
    const end = (error: Error) => {
      if (ending) return;
      ending = error;
      stopInput?.();
    };
    let sourceDone = false;
    // The source, read until it ends or `end` stops it; its error ends the stream after the
    // records already accepted are answered.
    const input: InputHooks = {
      completed: () => {
        sourceDone = true;
      },
      failed: (e) => end(e as Error),
      stoppable: (stop) => {
        stopInput = stop;
      },
    };
    return new Observable<RecordMetadata<P> | RecordResult<P, ProducerRecord<K, V, P>>>((subscriber) => {
      // close() ends a stream that may still read; one whose source is done just finishes.
      const unregister = p.registerEnder((e) => {
        if (!sourceDone) end(e);
      });
      subscriber.add(unregister);
      const complete = () => (ending ? subscriber.error(ending) : subscriber.complete());
      const order = options.ordered ? new InputOrder<P>(p.memory) : undefined;
      const batches = order ? readInput(source, input).pipe(order.track(), stages()) : source.pipe(stages(input));
      if (resultsMode) {
        const result = (r: RecordResult<P, ProducerRecord<K, V, P>>) => {
          if (!r.ok && r.error instanceof ProducerClosedError) {
            subscriber.next(r);
            end(r.error);
          } else if (!r.ok && isFatal(r.error)) {
            subscriber.error(r.error);
          } else {
            subscriber.next(r);
          }
        };
        if (order) return batches.pipe(order.results<ProducerRecord<K, V, P>>()).subscribe(forward(subscriber, result, complete));
        // The results operator's work, without a subscriber of its own between the batches and the stream's.
        const ok = (metadata: RecordMetadata<P>) => result({ ok: true, metadata });
        const failedRecord = (error: Error, record: ProducerRecord<K, V, P>) => result({ ok: false, error, record });
        return batches.subscribe(forward(subscriber, (item: BatchOrFailure<P>) => eachResult(item, ok, failedRecord), complete));
      }
      const failed = (error: Error) => {
        if (isFatal(error) && !(error instanceof ProducerClosedError)) subscriber.error(error);
        else end(error);
      };
      if (order) {
        return batches.pipe(order.results<ProducerRecord<K, V, P>>()).subscribe(forward(subscriber, (r: RecordResult<P, ProducerRecord<K, V, P>>) => {
          if (r.ok) subscriber.next(r.metadata);
          else failed(r.error);
        }, complete));
      }
      // recordMetadata's work, without a subscriber of its own between the batches and the stream's.
      const ok = (metadata: RecordMetadata<P>) => subscriber.next(metadata);
      return batches.subscribe(forward(subscriber, (item: BatchOrFailure<P>) => eachResult(item, ok, failed), complete));
    });
  });
}

/**
 * The stages after serialization, shared by toKafka and `producer.send()` (whose records are
 * serialized by the same function before they come in): each record is counted as accepted (or
 * refused with ProducerClosedError once the producer is closing), reserved, partitioned, batched,
 * compressed and sent; each record of what comes out is counted as answered, so `flush()` and
 * `close()` know when every accepted record has its result. The per-record stages are chained
 * without RxJS between them (`first`, when given, ahead of them: toKafka's serialize). With
 * `input`, the stages read the source themselves (see readStages).
 */
export function sendStages<P, T = OutgoingRecord<P>>(producer: Producer, options: Omit<ToKafkaOptions<never, never>, 'key' | 'value' | 'now' | 'errorMode'>, keepSources = true, first?: StageFactory<T, OutgoingRecord<P>>, input?: InputHooks): OperatorFunction<T, BatchOrFailure<P>> {
  const p = internals(producer);
  return (source) => new Observable<BatchOrFailure<P>>((subscriber) => {
    let flight: Flight | undefined;
    // The flights of older flush generations with records still unanswered, withdrawn at the end.
    const flights: Flight[] = [];
    const accept: StageFactory<OutgoingRecord<P>, OutgoingRecord<P>> = (sink) => ({
      next: (record) => {
        if (p.closed && !record.error) record.error = new ProducerClosedError();
        const joined = p.flights.join(flight);
        if (joined !== flight) {
          flight = joined;
          for (let i = flights.length - 1; i >= 0; i--) if (flights[i].unanswered === 0) flights.splice(i, 1);
          flights.push(joined);
        }
        joined.unanswered++;
        record.flight = joined;
        sink.next(record);
      },
      complete: () => sink.complete(),
      teardown: () => undefined,
    });
    // The sticky partitioner sees the batch stage's open batches: it moves on when one is full.
    const link = new OpenBatchesLink();
    const perRecord = chain(accept, chain(reserveStage<P>(producer, options.scheduler), chain(partitionStage<P>(producer, options, link), batchStage<P>(producer, options, keepSources, link))));
    const stages = first ? chain(first, perRecord) : (perRecord as unknown as StageFactory<T, BatchOrFailure<P>>);
    const subscription = source.pipe(input ? readStages(stages, input) : stageOperator(stages), compress<P>(producer, options), send<P>(producer)).subscribe(forward(subscriber, (item: BatchOrFailure<P>) => {
      if (!isBatch(item)) answered(item);
      else for (let i = 0; i < item.flights.length; i++) item.flights[i].answered(item.flightCounts[i]);
      subscriber.next(item);
    }));
    return () => {
      subscription.unsubscribe();
      for (const f of flights) f.withdraw();
    };
  });
}

function answered(record: OutgoingRecord<unknown>): void {
  const flight = record.flight;
  if (flight === null) return;
  record.flight = null;
  flight.answered();
}

/**
 * What toKafka hears of its source: that it completed, that it failed (which is then taken as
 * its completion, so the records already accepted are still answered), and how to stop reading it.
 */
export interface InputHooks {
  completed(): void;
  failed(e: unknown): void;
  stoppable(stop: () => void): void;
}

/** The source as toKafka reads it (see InputHooks), for operators that go ahead of the stages. */
function readInput<T>(source: Observable<T>, input: InputHooks): Observable<T> {
  return source.pipe(readStages<T, T>((sink) => ({ next: (record) => sink.next(record), complete: () => sink.complete(), teardown: () => undefined }), input));
}

/**
 * stageOperator(stages) reading the source as toKafka does (see InputHooks), in one subscriber:
 * each record goes from the source straight into the first stage.
 */
function readStages<T, R>(make: StageFactory<T, R>, input: InputHooks): OperatorFunction<T, R> {
  return (source) => new Observable<R>((subscriber) => {
    const stage = make(subscriber);
    let done = false;
    const complete = () => {
      if (done) return;
      done = true;
      try {
        stage.complete();
      } catch (e) {
        subscriber.error(e);
      }
    };
    const reader = new OperatorSubscriber(subscriber, stage.next, () => {
      input.completed();
      complete();
    }, (e) => {
      input.failed(e);
      complete();
    });
    // Set before subscribing: a synchronous source may fail a record while it is being read.
    input.stoppable(() => {
      reader.unsubscribe();
      complete();
    });
    source.subscribe(reader);
    return () => {
      reader.unsubscribe();
      stage.teardown();
    };
  });
}
