// The sticky choice of keyless records with the batch stage's open batches in view: it moves on
// only when the partition's batch is full, so a switch leaves no partial batch lingering behind.
import { lastValueFrom, range, map } from 'rxjs';
import { PartitionChooser, type OpenBatches } from '../../../src/producer/partitioners.ts';
import { sendStages } from '../../../operators/to-kafka.ts';
import type { ProducerBatch } from '../../../src/producer/batch.ts';
import { internals } from '../../../src/producer/internals.ts';
import { OutgoingRecord } from '../../../src/producer/record.ts';
import { producer, seedTopic } from '../operators/support.ts';
import { TestScheduler } from 'rxjs/testing';
import type { Cluster } from '../../../src/cluster/cluster.ts';
import { ProducerBatch as Batch } from '../../../src/producer/batch.ts';
import { resolveConfig } from '../../../src/producer/config.ts';
import { MemoryBudget } from '../../../src/producer/memory.ts';
import { Sender } from '../../../src/producer/sender.ts';
import { RecordBatchBuilderPool } from '../../../src/record/batch-builder.ts';

test('with open batches in view, a keyless record stays on its partition while the open batch has room, then seals it and moves on', () => {
  const rooms = new Map<number, number>();
  const sealed: number[] = [];
  const batches: OpenBatches = { room: (_t, p) => rooms.get(p), seal: (_t, p) => sealed.push(p) };
  let r = 0;
  const chooser = new PartitionChooser('default', 100, () => [0.1, 0.6][r++ % 2], undefined, batches);
  const first = chooser.choose('t', null, 30, 600, [...Array(600).keys()]);
  // 300 bytes went to it, three times stickyBytes: its open batch still has room, so it stays.
  for (let i = 0; i < 10; i++) {
    rooms.set(first, 1000);
    expect(chooser.choose('t', null, 30, 600, [...Array(600).keys()])).toBe(first);
  }
  expect(sealed).toEqual([]);
  // The next record does not fit: the batch goes now and the choice moves on.
  rooms.set(first, 29);
  const second = chooser.choose('t', null, 30, 600, [...Array(600).keys()]);
  expect(second).not.toBe(first);
  expect(sealed).toEqual([first]);
  // Its batch went on its linger (none open) and stickyBytes went to it: it moves on without sealing.
  for (let i = 0; i < 3; i++) chooser.choose('t', null, 30, 600, [...Array(600).keys()]);
  expect(chooser.choose('t', null, 30, 600, [...Array(600).keys()])).not.toBe(second);
  expect(sealed).toEqual([first]);
});

test('toKafka\'s stages: keyless records over 600 partitions make full batches, one partition at a time', async () => {
  const p = producer({ batchBytes: 1024, lingerMs: 1_000_000, idempotent: false, acks: 1 });
  await seedTopic(p, 't', Array(600).fill(1));
  // No sender: the batches are collected as the batch stage hands them on.
  const out: ProducerBatch[] = [];
  const sender = internals(p).sender as unknown as { enqueue: (b: ProducerBatch) => void };
  sender.enqueue = (b) => out.push(b);
  const records = range(0, 2000).pipe(map(() => new OutgoingRecord('t', -1, null, Buffer.alloc(100), [], 0, undefined, {}, 125)));
  const subscription = records.pipe(sendStages(p, {})).subscribe();
  subscription.unsubscribe();
  expect(out.length).toBeGreaterThan(100);
  // Every batch but the last is full (another 100-byte record would not fit), none is a remnant.
  for (const b of out.slice(0, -1)) expect(b.builder.sizeInBytes).toBeGreaterThan(1024 - 125);
});

test('partitionLoad of a topic with thousands of partitions looks up only the queued ones, with the same answer', () => {
  const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
  const config = resolveConfig({ brokers: ['h:1'], idempotent: false, acks: 1 });
  const builders = new RecordBatchBuilderPool();
  // Nothing drains: the scheduler is never flushed.
  const sender = new Sender({} as Cluster, config, new MemoryBudget(1 << 20), builders, scheduler);
  const queued = { 2: 3, 4000: 1, 5999: 2 } as Record<number, number>;
  for (const [partition, n] of Object.entries(queued)) {
    for (let i = 0; i < n; i++) sender.enqueue(new Batch('t', Number(partition), builders.acquire(), 0), { done: () => undefined });
  }
  sender.enqueue(new Batch('other', 7, builders.acquire(), 0), { done: () => undefined });
  const all = [...Array(6000).keys()];
  const load = sender.partitionLoad('t', all, 0);
  expect(load.partitions).toBe(all);
  expect(load.queueSizes).toEqual(all.map((p) => queued[p] ?? 0));
  // Fewer candidates than queues: looked up one by one.
  expect(sender.partitionLoad('t', [1, 2, 5999], 0)).toEqual({ partitions: [1, 2, 5999], queueSizes: [0, 3, 2] });
});
