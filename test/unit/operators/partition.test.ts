// The partition stage with topic metadata loaded from the producer's FakeKafka first (seedTopic in
// ./support.ts), so every record is routed synchronously and no broker is asked meanwhile.
import { from, map, toArray } from 'rxjs';
import { partition, type PartitionOptions } from '../../../operators/partition.ts';
import { InvalidRecordError } from '../../../src/producer/errors.ts';
import type { PartitionInput } from '../../../src/producer/partitioners.ts';
import type { Producer } from '../../../src/producer/producer.ts';
import type { OutgoingRecord } from '../../../src/producer/record.ts';
import { fakeOf, producer, record, seedTopic, testScheduler } from './support.ts';
import { internals } from '../../../src/producer/internals.ts';

/** Routes records synchronously (their topics are known) and returns them. */
function route(p: Producer, records: OutgoingRecord[], options: PartitionOptions = {}): OutgoingRecord[] {
  let out: OutgoingRecord[] | undefined;
  from(records).pipe(partition(p, options), toArray()).subscribe((x) => (out = x));
  // Known topics never wait: if this fails, the stage asked the network.
  if (!out) throw new Error('the partition stage did not complete synchronously');
  return out;
}

/**
 * Feeds the sticky choice exact 31-bit integers: Java picks `toPositive(nextInt()) % available`,
 * and PartitionChooser turns random() into that integer as floor(random() * 0x7fffffff).
 */
function randomInts(ints: number[]) {
  const calls = { count: 0 };
  const fn = () => {
    const n = ints[calls.count++];
    if (n === undefined) throw new Error('random() called more often than expected');
    return (n + 0.5) / 0x7fffffff;
  };
  return { fn, calls };
}

const keyed = (key: string, topic = 't') => record(topic, -1, 'v', { key });
const keyless = (topic = 't') => record(topic, -1, 'v');

// murmur2 hashes from Kafka's UtilsTest (the Java client), and Java's partitionForKey:
// toPositive(murmur2(key)) % numPartitions, where toPositive masks the sign bit.
const JAVA_MURMUR2: Array<[string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];
const javaPartition = (hash: number, count: number) => (hash & 0x7fffffff) % count;

describe('explicit partitions', () => {
  test('a partition named on the record wins over key and partitioner', async () => {
    const p = producer();
    await seedTopic(p, 't', [1, 1, 1, 1]);
    let calls = 0;
    const [a] = route(p, [record('t', 3, 'v', { key: 'foobar' })], { partitioner: () => { calls++; return 0; } });
    expect(a.partition).toBe(3);
    expect(a.error).toBeNull();
    expect(calls).toBe(0);
  });

  test('a partition without a leader is still honoured when named explicitly', async () => {
    const p = producer();
    await seedTopic(p, 't', [1, -1]);
    expect(route(p, [record('t', 1, 'v')])[0].partition).toBe(1);
  });
});

describe('keyed records (default partitioner)', () => {
  test.each([3, 4, 7, 100])('follow murmur2 like the Java client, with %i partitions', async (count) => {
    const p = producer();
    await seedTopic(p, 't', Array(count).fill(1));
    const out = route(p, JAVA_MURMUR2.map(([key]) => keyed(key)));
    expect(out.map((r) => r.partition)).toEqual(JAVA_MURMUR2.map(([, hash]) => javaPartition(hash, count)));
  });

  test('ignore leader availability, as Java: the key decides even for a partition without leader', async () => {
    const p = producer();
    const count = 4;
    const target = javaPartition(-790332482, count); // 'foobar'
    await seedTopic(p, 't', Array.from({ length: count }, (_, i) => (i === target ? -1 : 1)));
    expect(route(p, [keyed('foobar')])[0].partition).toBe(target);
  });

  test('an empty key is a key (hashed), not a missing one', async () => {
    const p = producer();
    await seedTopic(p, 't', Array(8).fill(1));
    const { fn, calls } = randomInts([]);
    route(p, [record('t', -1, 'v', { key: '' })], { random: fn });
    expect(calls.count).toBe(0);
  });
});

describe('keyless records (sticky partitioner)', () => {
  const SIZE = keyless().size;

  test('stay on one partition until stickyBytes (batchBytes) have gone to it, then switch, only among available partitions', async () => {
    const p = producer({ batchBytes: 3 * SIZE });
    await seedTopic(p, 't', [1, -1, 1, 1]); // partition 1 has no leader: available are [0, 2, 3]
    const { fn, calls } = randomInts([1, 5, 3]); // → available[1]=2, available[5%3]=3, available[3%3]=0
    const out = route(p, Array.from({ length: 7 }, () => keyless()), { random: fn });
    expect(out.map((r) => r.partition)).toEqual([2, 2, 2, 3, 3, 3, 0]);
    expect(calls.count).toBe(3);
  });

  test('never picks a partition without leader, whatever random says', async () => {
    const p = producer({ batchBytes: SIZE });
    await seedTopic(p, 't', [-1, 1, -1, -1, 1]);
    const ints = Array.from({ length: 50 }, (_, i) => i * 7919);
    const out = route(p, Array.from({ length: 49 }, () => keyless()), { random: randomInts(ints).fn });
    expect(new Set(out.map((r) => r.partition))).toEqual(new Set([1, 4]));
  });

  test('with no partition available, picks among all partitions', async () => {
    const p = producer({ batchBytes: SIZE });
    await seedTopic(p, 't', [-1, -1, -1]);
    const out = route(p, [keyless(), keyless()], { random: randomInts([4, 5, 6]).fn });
    expect(out.map((r) => r.partition)).toEqual([4 % 3, 5 % 3]);
  });

  test('keyed records in between neither move nor count toward the sticky partition', async () => {
    const p = producer({ batchBytes: 2 * SIZE });
    await seedTopic(p, 't', [1, 1, 1, 1]);
    const { fn, calls } = randomInts([1, 2]);
    const out = route(p, [keyless(), keyed('foobar'), keyed('abc'), keyless(), keyless()], { random: fn });
    expect(out.map((r) => r.partition)).toEqual([1, javaPartition(-790332482, 4), javaPartition(479470107, 4), 1, 2]);
    expect(calls.count).toBe(2);
  });

  test('each topic has its own sticky partition', async () => {
    const p = producer({ batchBytes: 10 * SIZE });
    await seedTopic(p, 't', [1, 1, 1, 1]);
    await seedTopic(p, 'u', [1, 1, 1, 1]);
    const out = route(p, [keyless('t'), keyless('u'), keyless('t'), keyless('u')], { random: randomInts([1, 3]).fn });
    expect(out.map((r) => `${r.topic}/${r.partition}`)).toEqual(['t/1', 'u/3', 't/1', 'u/3']);
  });
});

describe('named partitioners', () => {
  test('round-robin cycles through the available partitions, keys or not, per topic', async () => {
    const p = producer({ partitioner: 'round-robin' });
    await seedTopic(p, 't', [1, -1, 1, 1]);
    await seedTopic(p, 'u', [1, 1]);
    const out = route(p, [keyless(), keyed('foobar'), keyless('u'), keyless(), keyless(), keyed('abc'), keyless('u')]);
    expect(out.map((r) => `${r.topic}/${r.partition}`)).toEqual(['t/0', 't/2', 'u/0', 't/3', 't/0', 't/2', 'u/1']);
  });

  test('the stream option overrides the producer\'s partitioner', async () => {
    const p = producer({ partitioner: 'round-robin' });
    await seedTopic(p, 't', Array(5).fill(1));
    const out = route(p, JAVA_MURMUR2.map(([key]) => keyed(key)), { partitioner: 'murmur2' });
    expect(out.map((r) => r.partition)).toEqual(JAVA_MURMUR2.map(([, hash]) => javaPartition(hash, 5)));
  });

  test('murmur3 hashes keys with MurmurHash3 x86_32 (seed 0)', async () => {
    const p = producer({ partitioner: 'murmur3' });
    await seedTopic(p, 't', Array(1000).fill(1));
    // Published MurmurHash3_x86_32 vectors: "hello" → 0x248bfa47, the quick brown fox → 0x2e4ff723.
    const out = route(p, [keyed('hello'), keyed('The quick brown fox jumps over the lazy dog')]);
    expect(out.map((r) => r.partition)).toEqual([0x248bfa47 % 1000, 0x2e4ff723 % 1000]);
  });
});

describe('custom partitioner functions', () => {
  test('see the record and the topic, and their answer is the partition', async () => {
    const p = producer();
    await seedTopic(p, 't', [1, -1, 1]);
    const seen: PartitionInput[] = [];
    const source = { topic: 't', key: { id: 7 }, value: { total: 3 } };
    const r = record('t', -1, 'v', { key: 'k7' });
    (r as { source: unknown }).source = source;
    const [out] = route(p, [r], { partitioner: (input) => { seen.push(input); return 2; } });
    expect(out.partition).toBe(2);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual({ topic: 't', key: { id: 7 }, keyBytes: r.key, value: { total: 3 }, partitionCount: 3, availablePartitions: [0, 2] });
  });

  test.each([3, -1, 1.5, NaN])('an answer of %p fails the record with InvalidRecordError and gives back its memory', async (answer) => {
    const p = producer();
    await seedTopic(p, 't', [1, 1, 1]);
    const bad = record('t', -1, 'v');
    const good = record('t', -1, 'w');
    for (const r of [bad, good]) {
      expect(internals(p).memory.tryReserve(r.size)).toBe(true);
      r.reserved = r.size;
    }
    const out = route(p, [bad, good], { partitioner: ({ value }) => (value === (bad.source as { value: unknown }).value ? answer : 1) });
    expect(out[0].error).toBeInstanceOf(InvalidRecordError);
    expect(out[0].error!.message).toContain(`partition ${String(answer)}`);
    expect(out[0].error!.message).toContain('which has 3 partitions');
    expect(out[0].reserved).toBe(0);
    // The stream goes on with the next record.
    expect(out[1].error).toBeNull();
    expect(out[1].partition).toBe(1);
    expect(internals(p).memory.used).toBe(good.size);
  });

  test('a partitioner that throws fails only that record, with its error', async () => {
    const p = producer();
    await seedTopic(p, 't', [1, 1]);
    const boom = new Error('partitioner broke');
    let n = 0;
    const out = route(p, [keyless(), keyless()], { partitioner: () => { if (n++ === 0) throw boom; return 0; } });
    expect(out[0].error).toBe(boom);
    expect(out[1].error).toBeNull();
  });
});

test('records that failed upstream pass through untouched (marbles)', async () => {
  const p = producer();
  await seedTopic(p, 't', [1, 1]);
  testScheduler().run(({ cold, expectObservable }) => {
    const failed = record('t', -1, 'f');
    failed.error = new Error('upstream');
    const source = cold('a-f-b|', { a: record('t', 0, 'a'), f: failed, b: record('t', 1, 'b') });
    expectObservable(source.pipe(partition(p), map((r) => `${r.partition}:${r.error?.message ?? 'ok'}`))).toBe('a-f-b|', { a: '0:ok', f: '-1:upstream', b: '1:ok' });
  });
});

test('a record for a partition beyond the known count waits for fresh metadata with the records behind it, then fails after maxBlockMs', async () => {
  // Metadata answers no longer come in time, so the refresh cannot succeed: the wait ends with the
  // metadata timeout.
  const p = producer({ maxBlockMs: 200, retryBackoffMs: 20, reconnectBackoffMs: 20 });
  await seedTopic(p, 't', [1, 1]);
  await seedTopic(p, 'other', [1]);
  fakeOf(p).delayResponses('Metadata', 60_000, 100);
  const late = record('t', 5, 'late');
  late.reserved = late.size;
  expect(internals(p).memory.tryReserve(late.size)).toBe(true);
  const seen: string[] = [];
  const started = Date.now();
  try {
    await new Promise<void>((resolve, reject) => {
      from([late, record('t', 0, 'behind'), record('other', 0, 'free')]).pipe(partition(p)).subscribe({
        next: (r) => seen.push(`${r.value?.toString()}:${r.error ? r.error.name : r.partition}`),
        error: reject,
        complete: resolve,
      });
    });
  } finally {
    await p.close();
  }
  // Another topic is not held up; the records of t keep their order and fail together.
  expect(seen).toEqual(['free:0', 'late:TimeoutError', 'behind:TimeoutError']);
  expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  expect(internals(p).memory.used).toBe(0);
});
