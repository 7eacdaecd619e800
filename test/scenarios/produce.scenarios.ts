// Scenarios run twice: against kafkarx/testing's FakeKafka (unit group) and against the real
// broker (integration group). Both runs must give the same partitions, offsets, error codes and
// transaction outcomes: this is what keeps the fake honest.
import { from, lastValueFrom, mergeMap, of, throwError, toArray } from 'rxjs';
import { murmur2, type Producer, type ProducerConfig } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { Apis } from '../../src/network/apis.ts';
import { BrokerConnection } from '../../src/network/broker.ts';
import type { ConnectionOptions } from '../../src/network/connection.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { RecordBatchBuilder } from '../../src/record/batch-builder.ts';

export interface StoredRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
}

/** What a scenario needs from the cluster it runs against. */
export interface ScenarioTarget {
  /** A producer the target closes after the test. */
  producer(config?: Partial<ProducerConfig>): Producer;
  /** A new topic with a unique name. */
  createTopic(prefix: string, partitions: number, config?: { maxMessageBytes?: number }): Promise<string>;
  /** What a read_committed consumer reads from the start, `count` records, sorted by partition and offset. */
  readCommitted(topic: string, count: number): Promise<StoredRecord[]>;
  /** A group's committed offsets as "topic:partition" → offset. */
  groupOffsets(group: string): Promise<Record<string, number>>;
  /** Where the leader of the topic's partition 0 is, for a raw connection. */
  leaderOf(topic: string): Promise<Pick<ConnectionOptions, 'host' | 'port' | 'transport'>>;
}

/** One record in a batch stamped with the given producer id, epoch and base sequence. */
function idempotentBatch(producerId: number, epoch: number, sequence: number): Buffer {
  const b = new RecordBatchBuilder(256);
  b.append(0, null, Buffer.from(`seq ${sequence}`), []);
  b.close();
  return Buffer.from(b.stamp(producerId, epoch, sequence, false));
}

export function produceScenarios(target: () => ScenarioTarget): void {
  test('keyed records: the default partitioner picks murmur2(key) % partitions, offsets count up per partition', async () => {
    const t = target();
    const topic = await t.createTopic('sc-keyed', 3);
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    const meta = await lastValueFrom(from(keys.map((key) => ({ topic, key, value: `value-${key}`, passthrough: key }))).pipe(toKafka(t.producer()), toArray()));
    const next = [0, 0, 0];
    const expected = keys.map((key) => {
      const partition = (murmur2(Buffer.from(key)) & 0x7fffffff) % 3;
      return [key, partition, next[partition]++];
    });
    // Results come batch by batch (one per partition), so they are matched to keys by passthrough.
    const byKey = new Map(meta.map((m) => [m.passthrough, [m.passthrough, m.partition, m.offset]]));
    expect(keys.map((key) => byKey.get(key))).toEqual(expected);
    const stored = await t.readCommitted(topic, keys.length);
    expect(stored.map((r) => [r.key, r.partition, r.offset])).toEqual([...expected].sort((a, b) => (a[1] as number) - (b[1] as number) || (a[2] as number) - (b[2] as number)));
  });

  test("a batch larger than the topic's max.message.bytes fails with MESSAGE_TOO_LARGE; the other partitions' records are written", async () => {
    const t = target();
    const topic = await t.createTopic('sc-too-large', 3, { maxMessageBytes: 1024 });
    const records = [{ topic, partition: 0, value: 'small' }, { topic, partition: 1, value: 'x'.repeat(4000) }, { topic, partition: 2, value: 'small too' }];
    const results = await lastValueFrom(from(records).pipe(toKafka(t.producer({ retryBackoffMs: 10 }), { errorMode: 'results' }), toArray()));
    const outcome = (r: (typeof results)[number]) => (r.ok ? `p${r.metadata.partition}@${r.metadata.offset}` : `error ${(r.error as { code?: number }).code}`);
    expect(results.map(outcome).sort()).toEqual(['error ' + ErrorCode.MESSAGE_TOO_LARGE, 'p0@0', 'p2@0']);
    expect((await t.readCommitted(topic, 2)).map((r) => [r.partition, r.offset, r.value])).toEqual([[0, 0, 'small'], [2, 0, 'small too']]);
  });

  test('transactions: commit, abort after the record was written, commit with offsets — markers take offsets, read_committed skips the aborted record', async () => {
    const t = target();
    const topic = await t.createTopic('sc-txn', 1);
    const group = `sc-group-${topic}`;
    const p = t.producer({ transactionalId: `sc-tx-${topic}`, lingerMs: 0 });
    const first = await lastValueFrom(p.transaction((tx) => of({ topic, value: 'a' }).pipe(tx.send())).pipe(toArray()));
    const aborted = await lastValueFrom(p.transaction((tx) => of({ topic, value: 'b' }).pipe(tx.send(), mergeMap(() => throwError(() => new Error('abort after the write'))))).pipe(toArray())).then(() => 'committed', (e: Error) => e.message);
    const last = await lastValueFrom(p.transaction((tx) => of({ topic, value: 'c', passthrough: { topic, partition: 0, offset: 41 } }).pipe(tx.send(), tx.sendOffsets({ groupId: group }))).pipe(toArray()));
    expect([first.map((m) => m.offset), aborted, last.map((m) => m.offset)]).toEqual([[0], 'abort after the write', [4]]);
    expect((await t.readCommitted(topic, 2)).map((r) => [r.offset, r.value])).toEqual([[0, 'a'], [4, 'c']]);
    expect(await t.groupOffsets(group)).toEqual({ [`${topic}:0`]: 42 });
  });

  test('idempotent Produce, raw: a resent batch is acknowledged with its first offset, a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    const t = target();
    const topic = await t.createTopic('sc-seq', 1);
    const conn = await BrokerConnection.open(-1, { ...(await t.leaderOf(topic)), clientId: 'scenario', connectTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxInFlight: 1 });
    try {
      const init = await conn.call(Apis.initProducerId, { transactionalId: null, transactionTimeoutMs: 60_000 });
      const producerId = Number(init.producerId);
      const produce = async (sequence: number) => {
        const res = await conn.call(Apis.produce, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: idempotentBatch(producerId, init.producerEpoch, sequence) }] }] });
        const p = res.responses[0].partitionResponses[0];
        return [p.errorCode, Number(p.baseOffset)];
      };
      const outcomes = [];
      for (const sequence of [0, 0, 5, 1]) outcomes.push(await produce(sequence));
      expect(outcomes).toEqual([[0, 0], [0, 0], [ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, -1], [0, 1]]);
    } finally {
      await conn.close();
    }
  });

  test('idempotent Produce, raw: a producer the partition has no state of is written at whatever sequence it starts with (KIP-360); sequences wrap from 2^31 - 1 to 0', async () => {
    const t = target();
    const topic = await t.createTopic('sc-seq-start', 1);
    const conn = await BrokerConnection.open(-1, { ...(await t.leaderOf(topic)), clientId: 'scenario', connectTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxInFlight: 1 });
    try {
      const outcomes = [];
      for (const sequences of [[7, 7, 9, 8], [0x7fffffff, 0, 2, 1]]) {
        const init = await conn.call(Apis.initProducerId, { transactionalId: null, transactionTimeoutMs: 60_000 });
        for (const sequence of sequences) {
          const res = await conn.call(Apis.produce, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: idempotentBatch(Number(init.producerId), init.producerEpoch, sequence) }] }] });
          const p = res.responses[0].partitionResponses[0];
          outcomes.push([sequence, p.errorCode, Number(p.baseOffset)]);
        }
      }
      const gap = ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER;
      expect(outcomes).toEqual([[7, 0, 0], [7, 0, 0], [9, gap, -1], [8, 0, 1], [0x7fffffff, 0, 2], [0, 0, 3], [2, gap, -1], [1, 0, 4]]);
    } finally {
      await conn.close();
    }
  });
}
