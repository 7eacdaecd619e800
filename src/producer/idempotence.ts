import type { ProducerBatch } from './batch.ts';

/** Epochs are int16 on the wire; past this the producer needs a new id. */
export const MAX_EPOCH = 0x7fff;

const MAX_SEQUENCE = 0x7fffffff;

/** Sequences wrap from Integer.MAX_VALUE to 0, as the broker expects. */
export function incrementSequence(sequence: number, increment: number): number {
  return sequence > MAX_SEQUENCE - increment ? increment - (MAX_SEQUENCE - sequence) - 1 : sequence + increment;
}

/**
 * One partition's sequence numbers under one producer id and epoch. Batches get their sequence
 * when first drained and keep it across retries, so a retry the broker already wrote is recognised
 * as a duplicate. The broker takes a partition's batches only in sequence order: a batch behind a
 * failed one is rejected as out of order and retried after it.
 */
export class PartitionSequences {
  producerId: number;
  epoch: number;
  /** The sequence the next new batch gets. */
  next = 0;
  /** Batches holding a sequence whose outcome is not known yet, in sequence order. */
  readonly unsettled: ProducerBatch[] = [];
  /**
   * A sequence was lost (a batch failed or expired after it was sent, or the broker forgot the
   * producer): the partition starts over at sequence 0 under a new epoch, once none of its
   * batches is on the wire.
   */
  bumpNeeded = false;

  constructor(producerId: number, epoch: number) {
    this.producerId = producerId;
    this.epoch = epoch;
  }

  assign(batch: ProducerBatch, transactional: boolean): void {
    batch.baseSequence = this.next;
    this.next = incrementSequence(this.next, batch.builder.recordCount);
    this.stamp(batch, transactional);
    this.unsettled.push(batch);
  }

  /** A retried batch may go only once every batch before it is settled: sequence order holds. */
  isFirst(batch: ProducerBatch): boolean {
    return this.unsettled[0] === batch;
  }

  onWire(): boolean {
    for (const b of this.unsettled) if (b.inRequest) return true;
    return false;
  }

  settle(batch: ProducerBatch): void {
    const i = this.unsettled.indexOf(batch);
    if (i !== -1) this.unsettled.splice(i, 1);
  }

  /**
   * A batch the broker refused whole (none of it written) is replaced by `parts`, its records in
   * order: they take its sequences, which are exactly what the broker expects next, and its place.
   */
  split(batch: ProducerBatch, parts: readonly ProducerBatch[], transactional: boolean): void {
    let sequence = batch.baseSequence;
    for (const part of parts) {
      part.baseSequence = sequence;
      part.sequenceReset = batch.sequenceReset;
      sequence = incrementSequence(sequence, part.builder.recordCount);
      part.producerId = batch.producerId;
      part.producerEpoch = batch.producerEpoch;
      part.builder.stamp(batch.producerId, batch.producerEpoch, part.baseSequence, transactional);
    }
    const i = this.unsettled.indexOf(batch);
    if (i !== -1) this.unsettled.splice(i, 1, ...parts);
  }

  /** Renumbers the unsettled batches from 0, in order, under the given identity. */
  restart(producerId: number, epoch: number, transactional: boolean): void {
    this.producerId = producerId;
    this.epoch = epoch;
    this.next = 0;
    this.bumpNeeded = false;
    for (const b of this.unsettled) {
      b.baseSequence = this.next;
      b.sequenceReset = true;
      this.next = incrementSequence(this.next, b.builder.recordCount);
      this.stamp(b, transactional);
    }
  }

  private stamp(b: ProducerBatch, transactional: boolean): void {
    b.producerId = this.producerId;
    b.producerEpoch = this.epoch;
    b.builder.stamp(this.producerId, this.epoch, b.baseSequence, transactional);
  }
}

/** The producer id and epoch that stamp every batch, and the sequences of each partition. */
export class Idempotence {
  producerId = -1;
  epoch = -1;
  readonly transactional: boolean;
  /** Each partition's sequences, by topic and partition number (kept for good, never dropped). */
  private readonly partitions = new Map<string, PartitionSequences[]>();

  constructor(transactional: boolean) {
    this.transactional = transactional;
  }

  get ready(): boolean {
    return this.producerId >= 0;
  }

  set(producerId: number, epoch: number): void {
    this.producerId = producerId;
    this.epoch = epoch;
  }

  /** Forgets the producer id: the next batch waits for a new one. */
  clear(): void {
    this.producerId = -1;
    this.epoch = -1;
  }

  partition(topic: string, partition: number): PartitionSequences {
    let byPartition = this.partitions.get(topic);
    if (byPartition === undefined) this.partitions.set(topic, (byPartition = []));
    return (byPartition[partition] ??= new PartitionSequences(this.producerId, this.epoch));
  }

  /** Whether the partition's sequences belong to an older identity than the producer's. */
  isStale(p: PartitionSequences): boolean {
    return p.producerId !== this.producerId || p.epoch !== this.epoch;
  }

  /**
   * The idempotent producer's own epoch bump (KIP-360): the broker accepts a higher epoch of a
   * known producer id when its sequences start again at 0. False when the epoch is exhausted and
   * a new producer id is needed instead.
   */
  bumpLocally(): boolean {
    if (this.epoch >= MAX_EPOCH) return false;
    this.epoch++;
    return true;
  }
}
