import type { OperatorFunction } from 'rxjs';
import { isBatch, type BatchOrFailure } from '../src/producer/batch.ts';
import type { ProducerRecord, RecordMetadata, RecordResult } from '../src/producer/record.ts';
import { forward, operate } from './internal/operate.ts';

/**
 * Turns settled batches (and records that failed before batching) into one result per record:
 * `{ ok: true, metadata }` or `{ ok: false, error, record }`, records of a batch in their order.
 */
export function results<P, R = ProducerRecord<unknown, unknown, P>>(): OperatorFunction<BatchOrFailure<P>, RecordResult<P, R>> {
  return operate((source, subscriber) =>
    source.subscribe(forward(subscriber, (item: BatchOrFailure<P>) => {
      eachResult<P, R>(item, (metadata) => subscriber.next({ ok: true, metadata }), (error, record) => subscriber.next({ ok: false, error, record }));
    })),
  );
}

/**
 * One RecordMetadata per acknowledged record, without a result wrapper; each failed record goes
 * to `onFailure` instead (the default error mode of toKafka decides what that means), with the
 * record as given (undefined when the batch stage was told not to keep it).
 */
export function recordMetadata<P, R = unknown>(onFailure: (error: Error, record: R) => void): OperatorFunction<BatchOrFailure<P>, RecordMetadata<P>> {
  return operate((source, subscriber) =>
    source.subscribe(forward(subscriber, (item: BatchOrFailure<P>) => {
      eachResult<P, R>(item, (metadata) => subscriber.next(metadata), onFailure);
    })),
  );
}

/** Each record's result of a settled batch (or of a record that failed before batching), in order. */
export function eachResult<P, R>(item: BatchOrFailure<P>, ok: (metadata: RecordMetadata<P>) => void, failed: (error: Error, record: R) => void): void {
  if (!isBatch(item)) {
    failed(item.error!, item.source as R);
    return;
  }
  const { recordCount, error, sources } = item;
  if (error) {
    // A record the broker named as the reason its batch failed has its own error.
    for (let i = 0; i < recordCount; i++) failed(item.recordError(i)!, (sources === null ? undefined : sources[i]) as R);
    return;
  }
  const passthroughs = item.passthroughs;
  for (let i = 0; i < recordCount; i++) ok(item.metadata(i, passthroughs === null ? undefined : passthroughs[i]));
}
