// Adaptive partitioning (KIP-794): how the sticky choice of keyless records is weighted by queue
// sizes, and how a broker that stopped taking batches is left out.
import { from, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { partition } from '../../../operators/partition.ts';
import type { Cluster } from '../../../src/cluster/cluster.ts';
import type { BrokerConnection } from '../../../src/network/broker.ts';
import { ProducerBatch } from '../../../src/producer/batch.ts';
import { resolveConfig } from '../../../src/producer/config.ts';
import { ConfigError } from '../../../src/producer/errors.ts';
import { MemoryBudget } from '../../../src/producer/memory.ts';
import { PartitionChooser, weightedChoice } from '../../../src/producer/partitioners.ts';
import { OutgoingRecord } from '../../../src/producer/record.ts';
import { Sender } from '../../../src/producer/sender.ts';
import { RecordBatchBuilder, RecordBatchBuilderPool } from '../../../src/record/batch-builder.ts';
import { producer, record, seedTopic } from '../operators/support.ts';
import { internals } from '../../../src/producer/internals.ts';

test('weightedChoice: each partition counts (longest queue + 1 - its queue) times; equal queues are uniform', () => {
  // queues 0, 4, 2 weigh 5, 1, 3 out of 9
  const picks = Array.from({ length: 9 }, (_, r) => weightedChoice([0, 1, 2], [0, 4, 2], r));
  expect(picks).toEqual([0, 0, 0, 0, 0, 1, 2, 2, 2]);
  expect(Array.from({ length: 6 }, (_, r) => weightedChoice([3, 5, 7], [2, 2, 2], r))).toEqual([3, 5, 7, 3, 5, 7]);
});

test('keyless records go to partitions with short queues more often, in proportion to the weights', () => {
  let r = 0;
  const random = () => ((r++ * 7919) % 100_000 + 0.5) / 100_000;
  const chooser = new PartitionChooser('default', 1, random, () => ({ partitions: [0, 1, 2], queueSizes: [0, 9, 5] }));
  const counts = [0, 0, 0];
  // stickyBytes 1: every record makes a new sticky choice
  for (let i = 0; i < 30_000; i++) counts[chooser.choose('t', null, 10, 3, [0, 1, 2])]++;
  // weights 10, 1, 5 of 16
  expect(counts[0] / 30_000).toBeCloseTo(10 / 16, 1);
  expect(counts[1] / 30_000).toBeCloseTo(1 / 16, 1);
  expect(counts[2] / 30_000).toBeCloseTo(5 / 16, 1);
  // keyed records are not affected
  expect(chooser.choose('t', Buffer.from('foobar'), 10, 3, [0, 1, 2])).toBe(((-790332482 & 0x7fffffff) % 3));
});

test('the partition stage weighs keyless records by the sender\'s queues, unless partitionerAdaptive is false', async () => {
  const route = async (adaptive: boolean) => {
    const p = producer({ partitionerAdaptive: adaptive, batchBytes: 1 });
    await seedTopic(p, 't', [1, 1, 1]);
    // Partition 1 has 8 batches queued, the others none.
    (internals(p).sender as unknown as { partitionLoad: unknown }).partitionLoad = () => ({ partitions: [0, 1, 2], queueSizes: [0, 8, 0] });
    let r = 0;
    let out: OutgoingRecord[] = [];
    from(Array.from({ length: 3000 }, () => record('t', -1, 'v'))).pipe(partition(p, { random: () => ((r++ * 7919) % 100_000 + 0.5) / 100_000 }), toArray())
      .subscribe((x) => (out = x));
    return out.filter((x) => x.partition === 1).length / out.length;
  };
  expect(await route(true)).toBeLessThan(0.1); // 1 of 19
  expect(await route(false)).toBeGreaterThan(0.25); // 1 of 3
});

test('partitionerAdaptive and partitionerAvailabilityTimeoutMs: Java\'s defaults, and checked', () => {
  expect(resolveConfig({ brokers: ['h:1'] })).toMatchObject({ partitionerAdaptive: true, partitionerAvailabilityTimeoutMs: 0 });
  expect(() => resolveConfig({ brokers: ['h:1'], partitionerAdaptive: 'yes' as never })).toThrow(ConfigError);
  expect(() => resolveConfig({ brokers: ['h:1'], partitionerAvailabilityTimeoutMs: -1 })).toThrow(/partitionerAvailabilityTimeoutMs/);
});

/** Two brokers: 1 leads the even partitions and answers at once; 2 leads the odd ones and never answers. */
function twoBrokers(scheduler: TestScheduler) {
  const answering = (id: number) => {
    const conn = {
      nodeId: id,
      connection: { pending: 0, closed: false },
      version: () => 11,
      call(_api: unknown, req: { topicData: Array<{ name: string; partitionData: Array<{ index: number }> }> }) {
        conn.connection.pending++;
        if (id === 2) return new Promise(() => undefined);
        return new Promise((resolve) => scheduler.schedule(() => {
          conn.connection.pending--;
          resolve({
            throttleTimeMs: 0, nodeEndpoints: [],
            responses: req.topicData.map((t) => ({
              name: t.name, topicId: '',
              partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 1n, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } })),
            })),
          });
        }, 2));
      },
    };
    return conn as unknown as BrokerConnection;
  };
  const conns = new Map([[1, answering(1)], [2, answering(2)]]);
  return {
    leader: (_t: string, p: number) => (p % 2 === 0 ? 1 : 2),
    readyConnection: (id: number) => conns.get(id),
    connectionTo: (id: number) => Promise.resolve(conns.get(id)),
    requestUpdate: () => undefined,
    updateLeaders: () => undefined,
  } as unknown as Cluster;
}

function batch(partition: number, at: number): ProducerBatch {
  const builder = new RecordBatchBuilder(256);
  const b = new ProducerBatch('t', partition, builder, at);
  const r = new OutgoingRecord('t', partition, null, Buffer.from('v'), [], at, undefined, {}, 20);
  builder.append(at, null, r.value, []);
  b.add(r);
  builder.close();
  return b;
}

async function advance(scheduler: TestScheduler, until: number) {
  for (let guard = 0; guard < 10_000; guard++) {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    const next = scheduler.actions[0];
    if (!next || next.delay > until) return;
    scheduler.maxFrames = next.delay;
    scheduler.flush();
  }
}

test('a broker that has had batches waiting and taken none for partitionerAvailabilityTimeoutMs is left out; queue sizes come with the others', async () => {
  const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
  const config = resolveConfig({ brokers: ['h:1'], idempotent: false, acks: 1, maxInFlight: 1, requestTimeoutMs: 60_000, deliveryTimeoutMs: 120_000 });
  const sender = new Sender(twoBrokers(scheduler), config, new MemoryBudget(1 << 20), new RecordBatchBuilderPool(), scheduler);
  const owner = { done: () => undefined };
  // Broker 2 takes one request and never answers it; what follows for it waits.
  for (let at = 0; at <= 3000; at += 100) {
    // Virtual time moves only from one scheduled action to the next.
    scheduler.schedule(() => undefined, at - scheduler.now());
    await advance(scheduler, at);
    sender.enqueue(batch(at % 200 === 0 ? 0 : 1, at), owner);
    sender.enqueue(batch(3, at), owner);
  }
  await advance(scheduler, 3000);
  expect(sender.partitionLoad('t', [0, 1, 2, 3], 0).partitions).toEqual([0, 1, 2, 3]);
  const within = sender.partitionLoad('t', [0, 1, 2, 3], 5000);
  expect(within.partitions).toEqual([0, 1, 2, 3]);
  expect(within.queueSizes[0]).toBe(0);
  expect(within.queueSizes[1]).toBeGreaterThan(5);
  expect(within.queueSizes[3]).toBeGreaterThan(20);
  // Stalled since about t=0 (its one request went then), 3 s ago.
  expect(sender.partitionLoad('t', [0, 1, 2, 3], 2000)).toEqual({ partitions: [0, 2], queueSizes: [0, 0] });
  // With every partition's leader stalled, none is left out.
  expect(sender.partitionLoad('t', [1, 3], 2000).partitions).toEqual([1, 3]);
});
