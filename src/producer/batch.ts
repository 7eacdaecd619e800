import type { RecordBatchBuilder } from '../record/batch-builder.ts';
import type { OutgoingRecord } from './record.ts';

/**
 * Records bound for one partition, encoded into one RecordBatch. Created by the batch operator,
 * closed (and maybe compressed) by the compress operator, stamped and sent by the sender, which
 * also writes its outcome here.
 */
export class ProducerBatch<P = unknown> {
  readonly topic: string;
  readonly partition: number;
  readonly builder: RecordBatchBuilder;
  readonly records: OutgoingRecord<P>[] = [];
  readonly createdAt: number;
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

  constructor(topic: string, partition: number, builder: RecordBatchBuilder, createdAt: number) {
    this.topic = topic;
    this.partition = partition;
    this.builder = builder;
    this.createdAt = createdAt;
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
