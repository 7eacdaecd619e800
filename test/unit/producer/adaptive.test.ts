// Adaptive partitioning (KIP-794): how the sticky choice of keyless records is weighted by queue
// sizes, and how a broker that stopped taking batches is left out.
import { lastValueFrom, map, take, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createProducer } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { FakeKafka, runMarbles, type FakeRecord } from 'kafkarx/testing';
import type { Cluster } from '../../../src/cluster/cluster.ts';
import type { BrokerConnection } from '../../../src/network/broker.ts';
import { resolveConfig, type ProducerConfig } from '../../../src/producer/config.ts';
import { ConfigError } from '../../../src/producer/errors.ts';
import { MemoryBudget } from '../../../src/producer/memory.ts';
import { PartitionChooser, weightedChoice } from '../../../src/producer/partitioners.ts';
import { Sender } from '../../../src/producer/sender.ts';
import { RecordBatchBuilderPool } from '../../../src/record/batch-builder.ts';
import { advance, oneBatch } from './support.ts';

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

/**
 * Two brokers on one TestScheduler: broker 1 leads partitions 0 and 2, broker 2 leads 1 and 3 and
 * answers `slowMs` later than broker 1 (1 ms). `count` keyless records, one a millisecond, each in
 * its own batch (batchBytes 1: every record makes a new sticky choice); resolves with the records
 * each partition got, as written.
 */
async function slowBroker(slowMs: number, count: number, config: Partial<ProducerConfig>): Promise<{ fake: FakeKafka; perPartition: FakeRecord[][] }> {
  const testScheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
  const fake = new FakeKafka({ brokers: 2, scheduler: testScheduler, latencyMs: 1 });
  fake.createTopic('t', 4, { leaders: [1, 2, 1, 2] });
  fake.delayBroker(2, slowMs);
  const p = createProducer({ brokers: fake.bootstrap, transport: fake.transport, scheduler: testScheduler, lingerMs: 0, batchBytes: 1, ...config });
  let r = 0;
  const random = () => ((r++ * 7919) % 100_000 + 0.5) / 100_000;
  try {
    await runMarbles(testScheduler, () => lastValueFrom(timer(0, 1, testScheduler).pipe(take(count), map((i) => ({ topic: 't', value: `v${i}` })), toKafka(p, { random }))));
  } finally {
    await p.close();
    fake.close();
  }
  return { fake, perPartition: [0, 1, 2, 3].map((partition) => fake.records('t', partition)) };
}

test('a broker that answers slowly gets fewer keyless records: its partitions\' queues are longer (KIP-794); not without partitionerAdaptive', async () => {
  const share = async (adaptive: boolean) => {
    const { perPartition } = await slowBroker(50, 1000, { partitionerAdaptive: adaptive });
    expect(perPartition.flat()).toHaveLength(1000);
    return (perPartition[1].length + perPartition[3].length) / 1000;
  };
  // Broker 2 takes about 50 times as long per request: its batches queue up while broker 1's go at once.
  expect(await share(true)).toBeLessThan(0.3);
  // Without adaptive partitioning every partition is as likely: half the records.
  expect(await share(false)).toBeGreaterThan(0.45);
});

test('with partitionerAvailabilityTimeoutMs, a broker that has taken no batch for that long gets no keyless records until it answers again', async () => {
  // Broker 2 answers its first requests (sent at about 15 ms) only 2.5 s later.
  const leftOut = async (availabilityTimeoutMs: number) => {
    const { perPartition } = await slowBroker(2500, 3000, { partitionerAvailabilityTimeoutMs: availabilityTimeoutMs });
    // Records made between 1.1 s and 2.5 s (by then broker 2 has taken nothing for over 1 s).
    const between = (records: FakeRecord[]) => records.filter((x) => x.timestamp >= 1100 && x.timestamp < 2500).length;
    return { slow: between(perPartition[1]) + between(perPartition[3]), fast: between(perPartition[0]) + between(perPartition[2]) };
  };
  const timedOut = await leftOut(1000);
  expect(timedOut.slow).toBe(0);
  expect(timedOut.fast).toBe(1400);
  // Without the timeout its long queues only weigh against it.
  expect((await leftOut(0)).slow).toBeGreaterThan(0);
  // 6,000 records in virtual time: about 3.5 s of CPU, which a loaded machine can stretch past 5 s.
}, 30_000);

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
    sender.enqueue(oneBatch(at, at % 200 === 0 ? 0 : 1), owner);
    sender.enqueue(oneBatch(at, 3), owner);
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
