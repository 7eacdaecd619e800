import { TestScheduler } from 'rxjs/testing';
import type { Cluster } from '../../../src/cluster/cluster.ts';
import type { BrokerConnection } from '../../../src/network/broker.ts';
import { ErrorCode } from '../../../src/protocol/errors.ts';
import type { ProduceRequestInput, ProduceResponse } from '../../../src/protocol/messages/produce.ts';
import { RecordBatchBuilder, RecordBatchBuilderPool } from '../../../src/record/batch-builder.ts';
import { ProducerBatch } from '../../../src/producer/batch.ts';
import { resolveConfig } from '../../../src/producer/config.ts';
import { MemoryBudget } from '../../../src/producer/memory.ts';
import { OutgoingRecord } from '../../../src/producer/record.ts';
import { Sender } from '../../../src/producer/sender.ts';

// The broker side is a scripted stand-in: these tests are about when the sender retries, in
// virtual time; what goes over the wire is covered by the integration tests against Kafka.
function scripted(scheduler: TestScheduler, answers: number[], latency = 2) {
  const sends: Array<{ at: number; partitions: number[] }> = [];
  let refreshes = 0;
  const conn = {
    connection: { pending: 0, closed: false },
    call(_api: unknown, req: ProduceRequestInput): Promise<ProduceResponse> {
      const partitions = req.topicData.flatMap((t) => t.partitionData.map((p) => p.index));
      sends.push({ at: scheduler.now(), partitions });
      const errorCode = answers.shift() ?? ErrorCode.NONE;
      conn.connection.pending++;
      return new Promise((resolve) => scheduler.schedule(() => {
        conn.connection.pending--;
        resolve({
          throttleTimeMs: 0,
          nodeEndpoints: [],
          responses: req.topicData.map((t) => ({
            name: t.name!, topicId: '',
            partitionResponses: t.partitionData.map((p) => ({
              index: p.index, errorCode, baseOffset: errorCode ? -1n : 42n, logAppendTimeMs: -1n, logStartOffset: 0n,
              recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 },
            })),
          })),
        });
      }, latency));
    },
  };
  const cluster = {
    leader: () => 1,
    readyConnection: () => conn as unknown as BrokerConnection,
    connectionTo: () => Promise.resolve(conn as unknown as BrokerConnection),
    requestUpdate: () => { refreshes++; },
  } as unknown as Cluster;
  return { cluster, sends, refreshes: () => refreshes };
}

function oneBatch(createdAt: number, partition = 0): ProducerBatch {
  const builder = new RecordBatchBuilder(1024);
  const batch = new ProducerBatch('t', partition, builder, createdAt);
  const record = new OutgoingRecord('t', partition, null, Buffer.from('v'), [], createdAt, undefined, {}, 20);
  builder.append(createdAt, null, record.value, []);
  builder.close();
  batch.records.push(record);
  return batch;
}

/** Runs virtual time up to `until`, letting promise callbacks run between scheduled actions. */
async function advance(scheduler: TestScheduler, until: number) {
  for (let guard = 0; guard < 10_000; guard++) {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    const next = scheduler.actions[0];
    if (!next || next.delay > until) return;
    scheduler.maxFrames = next.delay;
    scheduler.flush();
  }
  throw new Error('virtual time did not settle');
}

function setup(answers: number[], overrides = {}) {
  const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
  const config = resolveConfig({ brokers: ['127.0.0.1:1'], retryBackoffMs: 100, retryBackoffMaxMs: 1000, ...overrides });
  const broker = scripted(scheduler, answers);
  const memory = new MemoryBudget(1 << 20);
  const sender = new Sender(broker.cluster, config, memory, new RecordBatchBuilderPool(), scheduler);
  return { scheduler, broker, sender, memory };
}

test('retriable errors are retried with exponential backoff (±20% jitter), then the batch succeeds', async () => {
  const { scheduler, broker, sender } = setup([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.REQUEST_TIMED_OUT]);
  const done: ProducerBatch[] = [];
  sender.enqueue(oneBatch(0), { done: (b) => done.push(b) });
  await advance(scheduler, 5000);
  expect(broker.sends).toHaveLength(4);
  const gaps = broker.sends.slice(1).map((s, i) => s.at - broker.sends[i].at - 2);
  // retry n waits retryBackoffMs * 2^(n-1): 100, 200, 400 ms, each within ±20%, as Java's client
  expect(gaps[0]).toBeGreaterThanOrEqual(80);
  expect(gaps[0]).toBeLessThanOrEqual(120);
  expect(gaps[1]).toBeGreaterThanOrEqual(160);
  expect(gaps[1]).toBeLessThanOrEqual(240);
  expect(gaps[2]).toBeGreaterThanOrEqual(320);
  expect(gaps[2]).toBeLessThanOrEqual(480);
  expect(done).toHaveLength(1);
  expect(done[0].error).toBeNull();
  expect(done[0].baseOffset).toBe(42);
  // NOT_LEADER_OR_FOLLOWER means stale metadata: each one asks for a refresh.
  expect(broker.refreshes()).toBeGreaterThanOrEqual(2);
});

test('backoff stops growing at retryBackoffMaxMs', async () => {
  const { scheduler, broker, sender } = setup(Array(6).fill(ErrorCode.NOT_ENOUGH_REPLICAS), { retryBackoffMaxMs: 300 });
  sender.enqueue(oneBatch(0), { done: () => undefined });
  await advance(scheduler, 10_000);
  const gaps = broker.sends.slice(1).map((s, i) => s.at - broker.sends[i].at - 2);
  expect(gaps.length).toBe(6);
  for (const g of gaps.slice(2)) {
    expect(g).toBeLessThanOrEqual(360);
    expect(g).toBeGreaterThanOrEqual(240);
  }
});

test('a non-retriable error fails the batch at once, without retrying', async () => {
  const { scheduler, broker, sender, memory } = setup([ErrorCode.INVALID_RECORD]);
  const done: ProducerBatch[] = [];
  const batch = oneBatch(0);
  memory.tryReserve(20);
  batch.records[0].reserved = 20;
  sender.enqueue(batch, { done: (b) => done.push(b) });
  await advance(scheduler, 2000);
  expect(broker.sends).toHaveLength(1);
  expect(done[0].error).toMatchObject({ name: 'INVALID_RECORD', code: ErrorCode.INVALID_RECORD, retriable: false, topic: 't', partition: 0 });
  expect(memory.used).toBe(0);
});

test('retries stop at deliveryTimeoutMs with a TimeoutError carrying the last error', async () => {
  const { scheduler, broker, sender } = setup(Array(100).fill(ErrorCode.NOT_ENOUGH_REPLICAS), { deliveryTimeoutMs: 31_000, requestTimeoutMs: 30_000, lingerMs: 0, retryBackoffMaxMs: 1000 });
  const done: ProducerBatch[] = [];
  sender.enqueue(oneBatch(0), { done: (b) => done.push(b) });
  await advance(scheduler, 40_000);
  expect(done).toHaveLength(1);
  expect(done[0].error?.message).toMatch(/NOT_ENOUGH_REPLICAS/);
  expect(broker.sends.length).toBeGreaterThan(3);
  expect(broker.sends.at(-1)!.at).toBeLessThan(31_000);
});

test('ready batches of several partitions leave together in one request', async () => {
  const { scheduler, broker, sender } = setup([]);
  for (let p = 0; p < 4; p++) sender.enqueue(oneBatch(0, p), { done: () => undefined });
  await advance(scheduler, 100);
  expect(broker.sends[0].partitions.sort()).toEqual([0, 1, 2, 3]);
});
