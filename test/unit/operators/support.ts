// Shared by the operator tests: a real Producer whose connections go to an in-memory FakeKafka
// (kafkarx/testing), records built without the serialize stage, and topic metadata loaded the
// way the producer loads it.
import { TestScheduler } from 'rxjs/testing';
import type { TopicInfo } from '../../../src/cluster/metadata.ts';
import type { ProducerConfig } from '../../../src/producer/config.ts';
import { codecFor } from '../../../src/codec/registry.ts';
import { isBatch, type BatchOrFailure, type ProducerBatch } from '../../../src/producer/batch.ts';
import { openProducer, type Producer } from '../../../src/producer/producer.ts';
import { internals } from '../../../src/producer/internals.ts';
import { OutgoingRecord } from '../../../src/producer/record.ts';
import { recordBatchSizeUpperBound } from '../../../src/record/batch-builder.ts';
import { BatchOffset, LOG_OVERHEAD, MAGIC_V2, RECORD_BATCH_OVERHEAD } from '../../../src/record/batch-format.ts';
import { readRecordBatch } from '../../../src/record/batch-reader.ts';
import { crc32c } from '../../../src/record/crc32c.ts';
import { FakeKafka } from '../../../src/testing/fake-kafka.ts';

const fakes = new Map<Producer, FakeKafka>();

/**
 * A producer talking to its own FakeKafka of two brokers with no topics (none is created on
 * request). The constructor opens no connection: a test that loads no metadata touches no broker.
 */
export function producer(config: Partial<ProducerConfig> = {}): Producer {
  const fake = new FakeKafka({ brokers: 2, autoCreateTopics: false });
  const p = openProducer({ brokers: fake.bootstrap, transport: fake.transport, ...config });
  fakes.set(p, fake);
  return p;
}

/** The in-memory cluster behind a producer from `producer()`, for faults and inspection. */
export function fakeOf(p: Producer): FakeKafka {
  const fake = fakes.get(p);
  if (!fake) throw new Error('fakeOf: not a producer from support.ts producer()');
  return fake;
}

// Connections and the metadata refresh timer of every producer a test made go with the test.
afterEach(async () => {
  const all = [...fakes];
  fakes.clear();
  await Promise.all(all.map(async ([p, fake]) => {
    await internals(p).cluster.close();
    fake.close();
  }));
});

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
 * Creates the topic in the producer's FakeKafka with these leaders (a node id per partition, -1
 * for none, all at leader epoch 0) and waits until the producer's cluster has its metadata, as
 * the partition stage would: afterwards `cluster.topic(name)` answers at once, so records are
 * routed synchronously.
 */
export async function seedTopic(p: Producer, name: string, leaders: number[]): Promise<TopicInfo> {
  fakeOf(p).createTopic(name, leaders.length, { leaders });
  return internals(p).cluster.waitForTopic(name, 0, 5000);
}
