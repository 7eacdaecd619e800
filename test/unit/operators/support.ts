// Shared by the operator tests: a real Producer that never touches the network, records built
// without the serialize stage, and a way to give the producer's cluster a topic's metadata.
import { TestScheduler } from 'rxjs/testing';
import { TopicInfo } from '../../../src/cluster/metadata.ts';
import type { ProducerConfig } from '../../../src/producer/config.ts';
import { codecFor } from '../../../src/codec/registry.ts';
import { isBatch, type BatchOrFailure, type ProducerBatch } from '../../../src/producer/batch.ts';
import { Producer } from '../../../src/producer/producer.ts';
import { OutgoingRecord } from '../../../src/producer/record.ts';
import { recordBatchSizeUpperBound } from '../../../src/record/batch-builder.ts';
import { BatchOffset, LOG_OVERHEAD, MAGIC_V2, RECORD_BATCH_OVERHEAD } from '../../../src/record/batch-format.ts';
import { readRecordBatch } from '../../../src/record/batch-reader.ts';
import { crc32c } from '../../../src/record/crc32c.ts';

/** Port 1 never answers; the Producer constructor opens no connection, so none is attempted. */
export function producer(config: Partial<ProducerConfig> = {}): Producer {
  return new Producer({ brokers: ['127.0.0.1:1'], ...config });
}

export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/**
 * A record as the serialize stage would hand it on: its size is the same upper bound serialize
 * computes, so reserve and batch see realistic numbers.
 */
export function record(topic: string, partition: number, value: string | null, opts: { key?: string | null; timestamp?: number; passthrough?: unknown } = {}): OutgoingRecord {
  const key = opts.key === undefined || opts.key === null ? null : Buffer.from(opts.key);
  const v = value === null ? null : Buffer.from(value);
  const size = recordBatchSizeUpperBound(key, v, []) - RECORD_BATCH_OVERHEAD;
  return new OutgoingRecord(topic, partition, key, v, [], opts.timestamp ?? 0, opts.passthrough, { topic, value }, size);
}

/** A record that as if failed in an earlier stage. */
export function failedRecord(topic: string, message: string): OutgoingRecord {
  return OutgoingRecord.failed({ topic }, topic, new Error(message));
}

/**
 * Marble values must compare by value, and a ProducerBatch holds live buffers: describe each
 * item as "topic/partition:value,value" (a batch) or "failed:message".
 */
export function describe(item: BatchOrFailure): string {
  if (!isBatch(item)) return `failed:${item.error?.message}`;
  return `${item.topic}/${item.partition}:${valuesOf(item).join(',')}`;
}

/**
 * The values of a batch's records, read back from its bytes (a batch keeps no records): from the
 * wire bytes once closed, else from its open records section, framed as a batch for the reader.
 */
export function valuesOf(b: ProducerBatch): string[] {
  let wire: Buffer;
  if (b.builder.isClosed) {
    wire = b.builder.bytes();
  } else {
    const section = b.builder.records();
    wire = Buffer.alloc(RECORD_BATCH_OVERHEAD + section.length);
    section.copy(wire, RECORD_BATCH_OVERHEAD);
    wire.writeInt32BE(wire.length - LOG_OVERHEAD, BatchOffset.LENGTH);
    wire[BatchOffset.MAGIC] = MAGIC_V2;
    wire.writeInt32BE(b.recordCount - 1, BatchOffset.LAST_OFFSET_DELTA);
    wire.writeInt32BE(b.recordCount, BatchOffset.RECORD_COUNT);
    wire.writeUInt32BE(crc32c(wire, BatchOffset.ATTRIBUTES), BatchOffset.CRC);
  }
  return readRecordBatch(wire, 0, { decompress: (id, data) => codecFor(id).decompress(data) })!.records.map((r) => r.value?.toString() ?? 'null');
}

/**
 * Seeds topic metadata without a network. Cluster keeps what its metadata requests return in a
 * private `topics` map filled by a private fetch path that needs a broker; the leanest way in is
 * to put a TopicInfo (the same class readMetadata builds, public constructor) into that map, so
 * `cluster.topic(name)` — the only thing the partition stage reads on its fast path — answers
 * exactly as after a real Metadata response. `leaders[p] = -1` marks a partition without leader.
 */
export function seedTopic(p: Producer, name: string, leaders: number[]): TopicInfo {
  const info = new TopicInfo(name, Int32Array.from(leaders), new Int32Array(leaders.length).fill(0), Date.now());
  (p.cluster as unknown as { topics: Map<string, TopicInfo> }).topics.set(name, info);
  // Guard against the private field being renamed: the seeding must be visible through the API.
  if (p.cluster.topic(name) !== info) throw new Error('seedTopic: Cluster no longer keeps metadata in `topics`');
  return info;
}
