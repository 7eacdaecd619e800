// Cluster.updateLeaders (KIP-951): the leader a Produce answer names replaces the cached one at
// once, before any metadata round trip; stale or unusable answers change nothing.
import type { ProduceResponse } from '../../../src/protocol/messages/produce.ts';
import { ErrorCode } from '../../../src/protocol/errors.ts';
import { fakeOf, producer, seedTopic } from '../operators/support.ts';
import { internals } from '../../../src/producer/internals.ts';
import { TopicInfo, withoutStaleLeaders } from '../../../src/cluster/metadata.ts';

function answer(partitions: Array<{ index: number; leaderId: number; leaderEpoch: number }>, endpoints: Array<{ nodeId: number; port: number }> = []): ProduceResponse {
  return {
    throttleTimeMs: 0,
    nodeEndpoints: endpoints.map((e) => ({ nodeId: e.nodeId, host: '127.0.0.1', port: e.port, rack: null })),
    responses: [{
      name: 't', topicId: '',
      partitionResponses: partitions.map((p) => ({
        index: p.index, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n,
        recordErrors: [], errorMessage: null, currentLeader: { leaderId: p.leaderId, leaderEpoch: p.leaderEpoch },
      })),
    }],
  };
}

/** A cluster that knows brokers 1 and 2 (from metadata) and topic t, whose partitions 0 and 1 are led by 1 at leader epoch 0. */
async function cluster() {
  const p = producer({ retryBackoffMs: 10 });
  await seedTopic(p, 't', [1, 1]);
  return { c: internals(p).cluster, fake: fakeOf(p) };
}

/** Asks for metadata and resolves once the answer is taken. */
async function refresh(c: Awaited<ReturnType<typeof cluster>>['c'], fake: Awaited<ReturnType<typeof cluster>>['fake']): Promise<void> {
  const asked = fake.requests('Metadata').length;
  c.requestUpdate();
  while (fake.requests('Metadata').length === asked) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 20));
}

test('a newer leader epoch moves the partition to the named leader; other partitions keep theirs', async () => {
  const { c } = await cluster();
  const before = c.topic('t')!;
  c.updateLeaders(answer([{ index: 1, leaderId: 2, leaderEpoch: 1 }]));
  expect(c.leader('t', 1)).toBe(2);
  expect(c.leader('t', 0)).toBe(1);
  expect(c.topic('t')!.leaderEpochs[1]).toBe(1);
  // A new TopicInfo, as after a metadata refresh: holders of the old one are not changed under them.
  expect(c.topic('t')).not.toBe(before);
  expect(before.leaders[1]).toBe(1);
});

test('an epoch not newer than the cached one, no leader, or an unknown partition change nothing', async () => {
  const { c } = await cluster();
  const before = c.topic('t')!;
  c.updateLeaders(answer([{ index: 0, leaderId: 2, leaderEpoch: 0 }, { index: 1, leaderId: -1, leaderEpoch: 5 }, { index: 7, leaderId: 2, leaderEpoch: 5 }]));
  expect(c.topic('t')).toBe(before);
});

test('a leader the client does not know is taken with the address the response carries, and not without it', async () => {
  const { c } = await cluster();
  c.updateLeaders(answer([{ index: 0, leaderId: 3, leaderEpoch: 2 }]));
  expect(c.leader('t', 0)).toBe(1);
  c.updateLeaders(answer([{ index: 0, leaderId: 3, leaderEpoch: 2 }], [{ nodeId: 3, port: 9003 }]));
  expect(c.leader('t', 0)).toBe(3);
  // The connection to it goes to the address the response named (no such broker in the fake).
  await expect(c.connectionTo(3)).rejects.toThrow('127.0.0.1:9003');
});

// Java's Metadata.updateLatestMetadata: metadata with an older leader epoch than the one known
// changes nothing for that partition.
test('a metadata answer with an older leader epoch than a Produce answer gave keeps the newer leader; other partitions follow the answer', async () => {
  const { c, fake } = await cluster();
  c.updateLeaders(answer([{ index: 1, leaderId: 2, leaderEpoch: 3 }]));
  // The broker answering Metadata has not heard of the change: partition 1 at leader 1, epoch 1.
  fake.moveLeader('t', 1, 1);
  fake.moveLeader('t', 0, 2);
  await refresh(c, fake);
  expect(c.leader('t', 1)).toBe(2);
  expect(c.topic('t')!.leaderEpochs[1]).toBe(3);
  expect(c.leader('t', 0)).toBe(2);
  expect(c.topic('t')!.leaderEpochs[0]).toBe(1);
});

test('a metadata answer with the same or a newer leader epoch is taken', async () => {
  const { c, fake } = await cluster();
  c.updateLeaders(answer([{ index: 1, leaderId: 2, leaderEpoch: 1 }]));
  // Epoch 1 at leader 2 (the same as known), then epoch 2 back at leader 1.
  fake.moveLeader('t', 1, 2);
  await refresh(c, fake);
  expect([c.leader('t', 1), c.topic('t')!.leaderEpochs[1]]).toEqual([2, 1]);
  fake.moveLeader('t', 1, 1);
  await refresh(c, fake);
  expect([c.leader('t', 1), c.topic('t')!.leaderEpochs[1]]).toEqual([1, 2]);
});

test('a topic created again (another topic id) takes the answer whatever its epochs; no epoch in the answer takes it too', () => {
  const known = new TopicInfo('t', Int32Array.of(2, 2), Int32Array.of(7, 7), 0, 'AAAAAAAAAAAAAAAAAAAAAQ');
  const recreated = new TopicInfo('t', Int32Array.of(1, 1), Int32Array.of(0, 0), 1, 'AAAAAAAAAAAAAAAAAAAAAg');
  expect(withoutStaleLeaders(known, recreated)).toBe(recreated);
  const noEpochs = new TopicInfo('t', Int32Array.of(1, 1), Int32Array.of(-1, -1), 1, 'AAAAAAAAAAAAAAAAAAAAAQ');
  expect(withoutStaleLeaders(known, noEpochs)).toBe(noEpochs);
  const stale = new TopicInfo('t', Int32Array.of(1, 1), Int32Array.of(6, 8), 1, 'AAAAAAAAAAAAAAAAAAAAAQ');
  expect([...withoutStaleLeaders(known, stale).leaders]).toEqual([2, 1]);
});
