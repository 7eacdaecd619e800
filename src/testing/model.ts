// The state an in-memory Kafka cluster keeps: topics and their partition logs, producer state per
// partition (for idempotence), transactions at their coordinator, and consumer groups' offsets.
import { Subject } from 'rxjs';
import * as pako from 'pako';
import * as fzstd from 'fzstd';
import { codecFor } from '../codec/registry.ts';
import { decompressLz4Frame } from '../codec/lz4.ts';
import { CompressionCodec } from '../record/batch-format.ts';
import type { DecodedRecordBatch } from '../record/batch-reader.ts';

/** Where a transactional record stands: pending until its transaction commits or aborts. */
export type RecordState = 'committed' | 'pending' | 'aborted';

/** One record as the fake broker stored it: decoded, decompressed, with its offset. */
export interface FakeRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: ReadonlyArray<{ key: string; value: Buffer | null }>;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The record's own sequence number (the batch's base sequence + its index); -1 without idempotence. */
  readonly sequence: number;
  readonly transactional: boolean;
  /** 'committed' for records outside transactions. */
  state: RecordState;
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** The last batches of one producer on one partition: the broker keeps five to spot duplicates. */
interface ProducerEntry {
  epoch: number;
  batches: Array<{ first: number; last: number; baseOffset: number }>;
}

export class PartitionLog {
  leader: number;
  leaderEpoch = 0;
  /** Next offset to assign: records and transaction markers both take one. */
  endOffset = 0;
  readonly records: FakeRecord[] = [];
  readonly producers = new Map<number, ProducerEntry>();
  /** Error codes the next Produce requests for this partition get, one per request. */
  readonly failures: number[] = [];

  readonly topic: string;
  readonly index: number;

  constructor(topic: string, index: number, leader: number) {
    this.topic = topic;
    this.index = index;
    this.leader = leader;
  }

  /** read_committed's last stable offset: the first offset of a transaction still open. */
  get lastStableOffset(): number {
    const open = this.records.find((r) => r.state === 'pending');
    return open ? open.offset : this.endOffset;
  }
}

export class Topic {
  readonly partitions: PartitionLog[] = [];
  readonly name: string;
  readonly id: string;
  readonly maxMessageBytes: number;

  constructor(name: string, id: string, maxMessageBytes: number) {
    this.name = name;
    this.id = id;
    this.maxMessageBytes = maxMessageBytes;
  }
}

export class Transaction {
  state: 'empty' | 'ongoing' = 'empty';
  readonly partitions = new Set<PartitionLog>();
  /** Offsets sent in the open transaction, per group: they count only if it commits. */
  readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  readonly transactionalId: string;
  producerId: number;
  epoch: number;
  /** transaction.timeout.ms as the producer's InitProducerId asked. */
  timeoutMs = 60_000;
  /**
   * The epoch the coordinator fenced when it aborted a timed-out transaction itself: the producer
   * may still ask for the next epoch with it (KIP-588); -1 when none may.
   */
  lastEpoch = -1;
  /** How the last transaction ended (transaction version 2 tells a retried EndTxn by it). */
  lastOutcome: 'commit' | 'abort' | undefined;
  /** Stops the timer of the open transaction's transaction.timeout.ms. */
  cancelTimeout: (() => void) | undefined;

  constructor(transactionalId: string, producerId: number, epoch: number) {
    this.transactionalId = transactionalId;
    this.producerId = producerId;
    this.epoch = epoch;
  }
}

export const FAKE_DECOMPRESS = (codec: number, data: Buffer): Uint8Array => {
  switch (codec) {
    case CompressionCodec.GZIP:
      return pako.ungzip(data);
    case CompressionCodec.SNAPPY:
      return codecFor('snappy').decompress(data);
    case CompressionCodec.LZ4:
      return decompressLz4Frame(data);
    case CompressionCodec.ZSTD:
      return fzstd.decompress(data);
    default:
      throw new Error(`unknown compression codec ${codec}`);
  }
};

/** The sequence `n` after `sequence`: after 2^31 - 1 sequences start again at 0, as Kafka's. */
export function nextSequence(sequence: number, n: number): number {
  return sequence > 0x7fffffff - n ? n - (0x7fffffff - sequence) - 1 : sequence + n;
}

export function recordsOf(batch: DecodedRecordBatch, topic: string, partition: number, baseOffset: number): FakeRecord[] {
  return batch.records.map((r, i) => ({
    topic,
    partition,
    offset: baseOffset + i,
    timestamp: r.timestamp,
    key: r.key,
    value: r.value,
    headers: r.headers.map((h) => ({ key: h.key, value: h.value })),
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    sequence: batch.baseSequence < 0 ? -1 : nextSequence(batch.baseSequence, i),
    transactional: batch.isTransactional,
    state: batch.isTransactional ? 'pending' : 'committed',
  }));
}

export type AppendedSubject = Subject<FakeRecord>;
