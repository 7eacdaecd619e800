import type { OperatorFunction } from 'rxjs';
import { isBatch, type BatchOrFailure } from '../src/producer/batch.ts';
import type { RecordMetadata, RecordResult } from '../src/producer/record.ts';
import { forward, operate } from './internal/operate.ts';

/**
 * Turns settled batches (and records that failed before batching) into one result per record:
 * `{ ok: true, metadata }` or `{ ok: false, error, record }`, records of a batch in their order.
 */
export function results<P, R = unknown>(): OperatorFunction<BatchOrFailure<P>, RecordResult<P, R>> {
  return operate((source, subscriber) =>
    source.subscribe(forward(subscriber, (item: BatchOrFailure<P>) => {
      if (!isBatch(item)) {
        subscriber.next({ ok: false, error: item.error!, record: item.source as R });
        return;
      }
      const { records, error, topic, partition, baseOffset, logAppendTime } = item;
      for (let i = 0; i < records.length; i++) {
        const r = records[i];
        if (error) {
          subscriber.next({ ok: false, error, record: r.source as R });
          continue;
        }
        const metadata: RecordMetadata<P> = {
          topic,
          partition,
          offset: baseOffset < 0 ? -1 : baseOffset + i,
          timestamp: logAppendTime >= 0 ? logAppendTime : r.timestamp,
          serializedKeySize: r.key === null ? -1 : r.key.length,
          serializedValueSize: r.value === null ? -1 : r.value.length,
        };
        if (r.passthrough !== undefined) metadata.passthrough = r.passthrough;
        subscriber.next({ ok: true, metadata });
      }
    })),
  );
}
