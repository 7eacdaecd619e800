import type { OperatorFunction } from 'rxjs';
import { coarseClock } from '../src/producer/clock.ts';
import { serializeRecord, type HeaderInjector } from '../src/producer/outgoing.ts';
import type { OutgoingRecord, ProducerRecord } from '../src/producer/record.ts';
import { raw, type RawValue, type Serializer } from '../src/producer/serializers.ts';
import { stageOperator, type StageFactory } from './internal/stage.ts';

export { checkTopic } from '../src/producer/outgoing.ts';

export interface SerializeOptions<K, V> {
  key?: Serializer<K>;
  value?: Serializer<V>;
  /**
   * Clock for records without a timestamp; tests pass a scheduler's `now`. Default: Date.now, read
   * once for up to 16 records serialized in the same synchronous run (see coarseClock).
   */
  now?: () => number;
  /** Adds headers to each serialized record; toKafka() passes the producer's trace context (tracing.propagate). */
  inject?: HeaderInjector;
}

/**
 * Checks each record and turns its key, value and headers into bytes. A record that fails does
 * not stop the stream here: it travels on as a failed record, and the sink's error mode decides.
 */
export function serialize<K = RawValue, V = RawValue, P = unknown>(options: SerializeOptions<K, V> = {}): OperatorFunction<ProducerRecord<K, V, P>, OutgoingRecord<P>> {
  return stageOperator(serializeStage<K, V, P>(options));
}

/** The serialize operator as a stage (see Stage). */
export function serializeStage<K = RawValue, V = RawValue, P = unknown>(options: SerializeOptions<K, V> = {}): StageFactory<ProducerRecord<K, V, P>, OutgoingRecord<P>> {
  const keySerializer = (options.key ?? raw()) as Serializer<K>;
  const valueSerializer = (options.value ?? raw()) as Serializer<V>;
  return (subscriber) => {
    const now = options.now ?? coarseClock();
    // Streams mostly write to a handful of topics: check each name once, not once per record.
    const legal = new Set<string>();
    return {
      next: (record) => subscriber.next(serializeRecord(record, keySerializer, valueSerializer, now, legal, options.inject)),
      complete: () => subscriber.complete(),
      teardown: () => undefined,
    };
  };
}
