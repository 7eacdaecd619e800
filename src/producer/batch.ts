import type { RecordBatchBuilder } from '../record/batch-builder.ts';
import type { Flight } from './flights.ts';
import type { OutgoingRecord, RecordMetadata } from './record.ts';

/**
 * Records bound for one partition, encoded into one RecordBatch. Created by the batch operator,
 * closed (and maybe compressed) by the compress operator, stamped and sent by the sender, which
 * also writes its outcome here.
 */
export class ProducerBatch<P = unknown> {
  readonly topic: string;
  readonly partition: number;
  readonly builder: RecordBatchBuilder;
  readonly createdAt: number;
  /**
   * Its records, column by column: what each record's result needs once the batch is settled,
   * kept without the records themselves (their bytes are in the builder), so nothing per record
   * outlives the batch stage but a few numbers.
   */
  recordCount = 0;
  /**
   * Each record's timestamp less the first record's: small integers, which an array keeps more
   * cheaply than timestamps themselves (doubles).
   */
  readonly timestampDeltas: number[] = [];
  /** The first record's timestamp; -1 while empty. */
  firstTimestamp = -1;
  /**
   * -1 for a null key or value. While every record's key and value sizes are the first record's
   * (`sameSizes`), only the first's are kept: streams of alike records push nothing per record.
   */
  readonly keySizes: number[] = [];
  readonly valueSizes: number[] = [];
  sameSizes = true;
  /** Each record's passthrough; null while none of them has one. */
  passthroughs: Array<P | undefined> | null = null;
  /** Each record as given, for the results of a batch that fails; null when its stream reports no records. */
  sources: unknown[] | null;
  /** Records the broker refused themselves (KIP-467), by index in the batch. */
  recordErrors: Map<number, Error> | null = null;
  /** The flights (see Flights) its records count in, in order, and how many records each. */
  readonly flights: Flight[] = [];
  readonly flightCounts: number[] = [];
  /** Values of the traceparent headers of its first records (up to MAX_TRACEPARENTS), for span links. */
  traceparents: Uint8Array[] | null = null;
  /** Position in the sender's intake, which orders a partition's batches. */
  order = 0;
  /** The room it has in that order before the next batch: the parts of a split batch share it. */
  orderSpan = 1;
  /**
   * Idempotence: the first record's sequence number, assigned when the batch is first drained into
   * a request and kept across retries; -1 until then. `producerId` and `producerEpoch` are the
   * identity it was stamped with.
   */
  baseSequence = -1;
  producerId = -1;
  producerEpoch = -1;
  /** Its sequence was renumbered under a new epoch after it was first sent. */
  sequenceReset = false;
  /** Written in a request whose answer has not come yet. */
  inRequest = false;
  /** Its last attempt was refused for its sequence, so the broker has certainly not written it. */
  rejected = false;
  /** Sends so far; a retry keeps the batch (and, with idempotence, its sequence). */
  attempts = 0;
  /** Filled in when the broker acknowledges: the first record's offset (-1 for acks=0). */
  baseOffset = -1;
  /** The broker's LogAppendTime, or -1 when the topic keeps CreateTime. */
  logAppendTime = -1;
  error: Error | null = null;
  /** The retriable error of the last attempt, reported if the batch then times out. */
  lastError: Error | null = null;
  /** Not before this time (ms) may a retry go out. */
  retryAt = 0;
  /** Who hears of the outcome: the send stage that handed the batch to the sender. */
  owner: BatchOwner<P> | null = null;

  /** `keepSources`: false when nobody will ask for the records of a failed batch as given. */
  constructor(topic: string, partition: number, builder: RecordBatchBuilder, createdAt: number, keepSources = true) {
    this.topic = topic;
    this.partition = partition;
    this.builder = builder;
    this.createdAt = createdAt;
    this.sources = keepSources ? [] : null;
  }

  /** Notes a record the builder has just encoded (the caller appends it to the builder). */
  add(record: OutgoingRecord<P>): void {
    const i = this.recordCount++;
    record.batch = this;
    if (i === 0) this.firstTimestamp = record.timestamp;
    this.timestampDeltas.push(record.timestamp - this.firstTimestamp);
    const keySize = record.key === null ? -1 : record.key.length;
    const valueSize = record.value === null ? -1 : record.value.length;
    if (i === 0 || !this.sameSizes) {
      this.keySizes.push(keySize);
      this.valueSizes.push(valueSize);
    } else if (keySize !== this.keySizes[0] || valueSize !== this.valueSizes[0]) {
      this.sameSizes = false;
      for (let j = 1; j < i; j++) {
        this.keySizes.push(this.keySizes[0]);
        this.valueSizes.push(this.valueSizes[0]);
      }
      this.keySizes.push(keySize);
      this.valueSizes.push(valueSize);
    }
    if (record.passthrough !== undefined) {
      if (this.passthroughs === null) this.passthroughs = new Array<P | undefined>(i).fill(undefined);
      this.passthroughs.push(record.passthrough);
    } else if (this.passthroughs !== null) {
      this.passthroughs.push(undefined);
    }
    if (this.sources !== null) this.sources.push(record.source);
    this.reservedBytes += record.reserved;
    if (record.size > this.largestRecord) this.largestRecord = record.size;
    const flight = record.flight;
    if (flight !== null) {
      const last = this.flights.length - 1;
      if (last >= 0 && this.flights[last] === flight) this.flightCounts[last]++;
      else {
        this.flights.push(flight);
        this.flightCounts.push(1);
      }
    }
    if (record.headers.length > 0 && (this.traceparents === null || this.traceparents.length < MAX_TRACEPARENTS)) {
      for (const h of record.headers) {
        if (h.key !== 'traceparent' || h.value === null) continue;
        (this.traceparents ??= []).push(h.value);
        break;
      }
    }
  }

  /**
   * Its records from `from` to `to` as a new batch on `builder`, for a batch split in parts: the
   * caller encodes the records into the builder. Their memory and flights go with them.
   */
  slice(from: number, to: number, builder: RecordBatchBuilder, reservedBytes: number): ProducerBatch<P> {
    const part = new ProducerBatch<P>(this.topic, this.partition, builder, this.createdAt, this.sources !== null);
    part.recordCount = to - from;
    part.firstTimestamp = this.firstTimestamp;
    part.timestampDeltas.push(...this.timestampDeltas.slice(from, to));
    if (this.sameSizes) {
      part.keySizes.push(this.keySizes[0]);
      part.valueSizes.push(this.valueSizes[0]);
    } else {
      part.keySizes.push(...this.keySizes.slice(from, to));
      part.valueSizes.push(...this.valueSizes.slice(from, to));
      part.sameSizes = false;
    }
    part.passthroughs = this.passthroughs?.slice(from, to) ?? null;
    if (this.sources !== null) part.sources = this.sources.slice(from, to);
    part.traceparents = this.traceparents;
    part.reservedBytes = reservedBytes;
    part.largestRecord = this.largestRecord;
    let at = 0;
    for (let f = 0; f < this.flights.length; f++) {
      const n = Math.min(this.flightCounts[f] + at, to) - Math.max(at, from);
      if (n > 0) {
        part.flights.push(this.flights[f]);
        part.flightCounts.push(n);
      }
      at += this.flightCounts[f];
    }
    return part;
  }

  /** The metadata of the acknowledged record at `index`, carrying `passthrough` when it is defined. */
  metadata<T>(index: number, passthrough: T | undefined): RecordMetadata<T> {
    // `passthrough` is set only when the record had one: a record without reads it as undefined.
    const metadata = {
      topic: this.topic,
      partition: this.partition,
      offset: this.baseOffset < 0 ? -1 : this.baseOffset + index,
      timestamp: this.logAppendTime >= 0 ? this.logAppendTime : this.firstTimestamp + this.timestampDeltas[index],
      serializedKeySize: this.keySizes[this.sameSizes ? 0 : index],
      serializedValueSize: this.valueSizes[this.sameSizes ? 0 : index],
    } as RecordMetadata<T>;
    if (passthrough !== undefined) metadata.passthrough = passthrough;
    return metadata;
  }

  /** The error of the record at `index` in a failed batch: its own, if the broker named it. */
  recordError(index: number): Error | null {
    return this.recordErrors?.get(index) ?? this.error;
  }

  /** Bytes its records hold in the producer's memory budget, given back once when it settles. */
  reservedBytes = 0;
  /** The size of its largest record (for the record-size-max metric), kept as records are added. */
  largestRecord = 0;
}

export interface BatchOwner<P = unknown> {
  done(batch: ProducerBatch<P>): void;
  /** The sender split a batch the broker found too large into `parts` batches, each to be done. */
  split?(batch: ProducerBatch<P>, parts: number): void;
}

/** What flows out of the batching stage: a batch, or a record that failed before it. */
export type BatchOrFailure<P = unknown> = ProducerBatch<P> | OutgoingRecord<P>;

export const isBatch = <P>(item: BatchOrFailure<P>): item is ProducerBatch<P> => item instanceof ProducerBatch;

/** How many traceparent headers a batch keeps for its span's links (the tracing keeps 128). */
const MAX_TRACEPARENTS = 128;
