import type { RecordHeader } from '../record/batch-builder.ts';
import type { ProducerBatch } from './batch.ts';
import type { Flight } from './flights.ts';
import type { RawValue } from './serializers.ts';

export type HeaderValue = string | Uint8Array | null;

/**
 * Headers as an object (a key may repeat through an array of values), or in order as a Map or any
 * iterable of [key, value] pairs (an array of pairs, a Map, a generator).
 */
export type Headers =
  | Readonly<Record<string, HeaderValue | readonly HeaderValue[]>>
  | ReadonlyMap<string, HeaderValue>
  | Iterable<readonly [string, HeaderValue]>;

/** One record for Kafka, as a user writes it. K and V are what the serializers accept. */
export interface ProducerRecord<K = RawValue, V = RawValue, P = unknown> {
  topic: string;
  key?: K;
  value: V;
  /** Wins over the partitioner when given. */
  partition?: number;
  headers?: Headers;
  /** CreateTime in ms since the epoch; now when absent. */
  timestamp?: number | Date;
  /** Rides along untouched to this record's result, to tie results back to their input. */
  passthrough?: P;
}

/** Where a record landed. `P` is the type of its record's passthrough (`undefined` when records carry none). */
export interface RecordMetadata<P = unknown> {
  topic: string;
  partition: number;
  /**
   * The record's offset in its partition; -1 when acks=0 (nothing is answered). A JavaScript number:
   * exact up to 2^53, far beyond any partition's reachable offset.
   */
  offset: number;
  /** CreateTime, or the broker's LogAppendTime when the topic uses it. */
  timestamp: number;
  serializedKeySize: number;
  serializedValueSize: number;
  /** The record's passthrough, untouched; absent when the record had none. */
  passthrough: P;
}

/**
 * The passthrough type that results of records of type `R` carry: `P` when `R` always has one,
 * `P | undefined` when it is optional, `undefined` when `R` has none.
 */
export type PassthroughOf<R> = R extends unknown
  ? 'passthrough' extends keyof R
    ? R extends { passthrough: infer P } ? P : R extends { passthrough?: infer P } ? P | undefined : never
    : undefined
  : never;

/** A record's result in the `results` error mode. */
export type RecordResult<P = unknown, R = ProducerRecord<unknown, unknown, P>> =
  | { ok: true; metadata: RecordMetadata<P> }
  | { ok: false; error: Error; record: R };

/**
 * A record between the operators: serialized once, then routed, batched and acknowledged.
 * One mutable object per record, so the stages add to it rather than allocate their own.
 */
export class OutgoingRecord<P = unknown> {
  readonly topic: string;
  /** -1 until the partition stage decides. */
  partition: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
  readonly timestamp: number;
  readonly passthrough: P | undefined;
  /** The record as the user gave it, returned with its error in the `results` mode. */
  readonly source: unknown;
  /** Upper bound of its bytes in a batch: what the memory budget and size checks count. */
  readonly size: number;
  /** Bytes reserved from the producer's memory budget; 0 until reserved. */
  reserved = 0;
  error: Error | null = null;
  /** Its stream's records in flight, which flush() and close() wait for; null once answered. */
  flight: Flight | null = null;
  /** The batch it was added to; null until then. send() reads it to tell which calls share a batch. */
  batch: ProducerBatch<P> | null = null;

  constructor(topic: string, partition: number, key: Uint8Array | null, value: Uint8Array | null, headers: readonly RecordHeader[], timestamp: number, passthrough: P | undefined, source: unknown, size: number) {
    this.topic = topic;
    this.partition = partition;
    this.key = key;
    this.value = value;
    this.headers = headers;
    this.timestamp = timestamp;
    this.passthrough = passthrough;
    this.source = source;
    this.size = size;
  }

  /** A record that failed before it could be batched; it travels on so its result keeps its place. */
  static failed<P>(source: unknown, topic: string, error: Error, passthrough?: P): OutgoingRecord<P> {
    const r = new OutgoingRecord<P>(topic, -1, null, null, [], 0, passthrough, source, 0);
    r.error = error;
    return r;
  }
}
