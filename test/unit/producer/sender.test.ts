import { lastValueFrom, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createProducer, type Producer } from 'kafkarx';
import { FakeKafka, runMarbles, type FakeKafkaOptions } from 'kafkarx/testing';
import type { Cluster } from '../../../src/cluster/cluster.ts';
import { Apis } from '../../../src/network/apis.ts';
import type { BrokerConnection } from '../../../src/network/broker.ts';
import { ErrorCode } from '../../../src/protocol/errors.ts';
import type { ProduceRequest, ProduceRequestInput, ProduceResponse } from '../../../src/protocol/messages/produce.ts';
import { RecordBatchBuilderPool } from '../../../src/record/batch-builder.ts';
import { ProducerBatch } from '../../../src/producer/batch.ts';
import { resolveConfig, type ProducerConfig } from '../../../src/producer/config.ts';
import { Attribute, BatchOffset } from '../../../src/record/batch-format.ts';
import { MemoryBudget } from '../../../src/producer/memory.ts';
import { Sender, type TransactionHooks } from '../../../src/producer/sender.ts';
import { advance, oneBatch } from './support.ts';
import { internals } from '../../../src/producer/internals.ts';

// The sender in virtual time. Against FakeKafka (kafkarx/testing) on the same TestScheduler where
// a broker's answers show the behaviour: retries, backoff, delivery timeout, sequences the broker
// refuses as out of order or takes as duplicates, a producer whose state the broker lost, a batch
// too large for its topic. Against a scripted cluster where a test drives the Sender's transaction
// hooks directly (admitting or dooming a batch: the transaction manager's side is tested with the
// fake in transactions.test.ts). What goes over the wire is covered by the integration tests.
interface Stamp {
  partition: number;
  producerId: number;
  epoch: number;
  sequence: number;
  transactional: boolean;
  records: number;
}

function scripted(scheduler: TestScheduler, answers: number[], latency = 2, unanswered: readonly number[] = []) {
  const sends: Array<{ at: number; partitions: number[]; batches: Stamp[]; transactionalId: string | null | undefined; version: number | undefined }> = [];
  let inits = 0;
  const conn = {
    connection: { pending: 0, closed: false },
    version: () => 12,
    call(api: { key: number }, req: ProduceRequestInput, version?: number): Promise<ProduceResponse> {
      if (api.key === Apis.initProducerId.key) {
        inits++;
        return Promise.resolve({ errorCode: 0, producerId: 7n, producerEpoch: 0 }) as never;
      }
      const partitions = req.topicData.flatMap((t) => t.partitionData.map((p) => p.index));
      const batches = req.topicData.flatMap((t) => t.partitionData.map((p) => {
        const b = Buffer.from(p.records as Uint8Array);
        return {
          partition: p.index,
          producerId: Number(b.readBigInt64BE(BatchOffset.PRODUCER_ID)),
          epoch: b.readInt16BE(BatchOffset.PRODUCER_EPOCH),
          sequence: b.readInt32BE(BatchOffset.BASE_SEQUENCE),
          transactional: (b.readInt16BE(BatchOffset.ATTRIBUTES) & Attribute.TRANSACTIONAL) !== 0,
          records: b.readInt32BE(BatchOffset.RECORD_COUNT),
        };
      }));
      sends.push({ at: scheduler.now(), partitions, batches, transactionalId: req.transactionalId, version });
      const errorCode = answers.shift() ?? ErrorCode.NONE;
      conn.connection.pending++;
      return new Promise((resolve) => scheduler.schedule(() => {
        conn.connection.pending--;
        resolve({
          throttleTimeMs: 0,
          nodeEndpoints: [],
          responses: req.topicData.map((t) => ({
            name: t.name!, topicId: '',
            partitionResponses: t.partitionData.filter((p) => !unanswered.includes(p.index)).map((p) => ({
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
    anyBroker: () => Promise.resolve(conn as unknown as BrokerConnection),
    requestUpdate: () => undefined,
    updateLeaders: () => undefined,
  } as unknown as Cluster;
  return { cluster, sends, inits: () => inits };
}

function setup(answers: number[], overrides: Partial<ProducerConfig> = {}, txn?: TransactionHooks, unanswered: readonly number[] = []) {
  const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
  const config = resolveConfig({ brokers: ['127.0.0.1:1'], retryBackoffMs: 100, retryBackoffMaxMs: 1000, ...overrides });
  const broker = scripted(scheduler, answers, 2, unanswered);
  const memory = new MemoryBudget(1 << 20);
  const sender = new Sender(broker.cluster, config, memory, new RecordBatchBuilderPool(), scheduler, txn);
  return { scheduler, broker, sender, memory };
}

describe('idempotence', () => {
  test('a transactional batch that may not go (no open transaction) fails without being sent', async () => {
    const refusal = new Error('no open transaction');
    const { scheduler, broker, sender } = setup([], { transactionalId: 'tx' }, { transactionalId: 'tx', admit: () => refusal, batchFailed: () => undefined, doomed: () => undefined });
    sender.setProducerId(9, 0);
    const done: ProducerBatch[] = [];
    sender.enqueue(oneBatch(0), { done: (b) => done.push(b) });
    await advance(scheduler, 100);
    expect(broker.sends).toHaveLength(0);
    expect(done[0].error).toBe(refusal);
  });

  test('a transaction that can only abort fails every queued batch, not only the head of each partition', async () => {
    let why: Error | undefined;
    const hooks: TransactionHooks = { transactionalId: 'tx', admit: () => why ?? false, batchFailed: () => undefined, doomed: () => why };
    const { scheduler, broker, sender } = setup([], { transactionalId: 'tx' }, hooks);
    sender.setProducerId(9, 0);
    const done: ProducerBatch[] = [];
    for (const partition of [0, 0, 0, 1, 1]) sender.enqueue(oneBatch(0, partition), { done: (b) => done.push(b) });
    await advance(scheduler, 50);
    expect(done).toHaveLength(0);
    why = new Error('the transaction can only abort');
    sender.wake();
    await advance(scheduler, 60);
    expect(done).toHaveLength(5);
    expect(done.every((b) => b.error === why)).toBe(true);
    expect(sender.pending).toBe(0);
    expect(broker.sends).toHaveLength(0);
  });

  test('a batch whose partition is never added to the transaction still expires at deliveryTimeoutMs', async () => {
    const hooks: TransactionHooks = { transactionalId: 'tx', admit: () => false, batchFailed: () => undefined, doomed: () => undefined };
    const { scheduler, sender } = setup([], { transactionalId: 'tx', deliveryTimeoutMs: 40_000 }, hooks);
    sender.setProducerId(9, 0);
    const done: ProducerBatch[] = [];
    sender.enqueue(oneBatch(0), { done: (b) => done.push(b) });
    sender.enqueue(oneBatch(0), { done: (b) => done.push(b) });
    await advance(scheduler, 39_000);
    expect(done).toHaveLength(0);
    await advance(scheduler, 41_000);
    expect(done).toHaveLength(2);
    expect(done[0].error?.message).toMatch(/deliveryTimeoutMs 40000/);
  });

});

describe('against FakeKafka, in virtual time', () => {
  let testScheduler: TestScheduler;
  let fake: FakeKafka;
  let producer: Producer;

  function start(config: Partial<ProducerConfig> = {}, topics: Record<string, number> = { t: 4 }, fakeOptions: FakeKafkaOptions = {}): void {
    testScheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    // Every answer takes 2 ms.
    fake = new FakeKafka({ topics, scheduler: testScheduler, latencyMs: 2, ...fakeOptions });
    producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, scheduler: testScheduler, lingerMs: 0, retryBackoffMs: 100, retryBackoffMaxMs: 1000, ...config });
  }

  afterEach(async () => {
    await producer.close();
    fake.close();
  });

  /** When each Produce arrived, and the base sequence of each batch in it, per partition ("p:seq"). */
  const produces = () => fake.requests('Produce').map((r) => ({
    at: r.at,
    batches: (r.body as ProduceRequest).topicData.flatMap((t) => t.partitionData.map((d) => `${d.index}:${Buffer.from(d.records!).readInt32BE(BatchOffset.BASE_SEQUENCE)}`)),
  }));
  const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

  test('retriable errors are retried with exponential backoff (no jitter in virtual time), each asking for fresh metadata, then the batch succeeds', async () => {
    start();
    fake.failProduce('t', 0, ErrorCode.NOT_LEADER_OR_FOLLOWER, 2);
    fake.failProduce('t', 0, ErrorCode.REQUEST_TIMED_OUT);
    let offset = -1;
    await runMarbles(testScheduler, async () => {
      offset = (await producer.send({ topic: 't', partition: 0, value: 'v' })).offset;
    });
    // Answered 2 ms after each send; retry n waits retryBackoffMs * 2^(n-1): 100, 200, 400 ms.
    expect(gaps(produces().map((p) => p.at))).toEqual([102, 202, 402]);
    expect(offset).toBe(0);
    expect(fake.records('t', 0)).toHaveLength(1);
    // NOT_LEADER_OR_FOLLOWER means stale metadata: each one asks for a refresh.
    expect(fake.requests('Metadata').length).toBeGreaterThanOrEqual(3);
  });

  test('backoff stops growing at retryBackoffMaxMs', async () => {
    start({ retryBackoffMaxMs: 300 });
    fake.failProduce('t', 0, ErrorCode.NOT_ENOUGH_REPLICAS, 6);
    await runMarbles(testScheduler, () => producer.send({ topic: 't', partition: 0, value: 'v' }));
    expect(gaps(produces().map((p) => p.at))).toEqual([102, 202, 302, 302, 302, 302]);
  });

  test('a non-retriable error fails the record at once, without retrying, and gives back its memory', async () => {
    start();
    fake.failProduce('t', 0, ErrorCode.INVALID_RECORD);
    let error: unknown;
    await runMarbles(testScheduler, () => producer.send({ topic: 't', partition: 0, value: 'v' }).catch((e) => (error = e)));
    expect(produces()).toHaveLength(1);
    expect(error).toMatchObject({ name: 'INVALID_RECORD', code: ErrorCode.INVALID_RECORD, retriable: false, topic: 't', partition: 0 });
    expect(internals(producer).memory.used).toBe(0);
  });

  test('retries stop at deliveryTimeoutMs: the record fails with the last error once no retry fits', async () => {
    start({ deliveryTimeoutMs: 31_000, requestTimeoutMs: 30_000 });
    fake.failProduce('t', 0, ErrorCode.NOT_ENOUGH_REPLICAS, 100);
    let error: Error | undefined;
    let failedAt = -1;
    await runMarbles(testScheduler, () => producer.send({ topic: 't', partition: 0, value: 'v' }).catch((e) => {
      error = e;
      failedAt = testScheduler.now();
    }));
    expect(error?.message).toMatch(/NOT_ENOUGH_REPLICAS/);
    const sends = produces().map((p) => p.at);
    // Backoffs of 100, 200, 400, 800, then the cap of 1000 ms, each after a 2 ms answer.
    const g = gaps(sends);
    expect(g.slice(0, 4)).toEqual([102, 202, 402, 802]);
    expect(new Set(g.slice(4))).toEqual(new Set([1002]));
    // It failed with the answer to the last attempt, when the next one would have come too late.
    expect(failedAt).toBe(sends.at(-1)! + 2);
    expect(failedAt + 1000).toBeGreaterThan(31_000);
    expect(failedAt).toBeLessThan(31_000);
    expect(fake.records('t', 0)).toEqual([]);
  });

  test('ready batches of several partitions leave together in one request', async () => {
    start();
    await runMarbles(testScheduler, () => Promise.all([0, 1, 2, 3].map((partition) => producer.send({ topic: 't', partition, value: 'v' }))));
    expect(produces().map((p) => p.batches.map((b) => b.split(':')[0]).sort())).toEqual([['0', '1', '2', '3']]);
  });

  test('idempotence: a failed batch is not overtaken: the batches behind it, which the broker refused as out of order, are retried after it, one at a time, with their sequences', async () => {
    start({ batchBytes: 1 });
    const offsets: number[] = [];
    await runMarbles(testScheduler, async () => {
      // The partition knows this producer (its sequence 0), so it checks what follows: a producer
      // it has no state of would be written at any sequence (see the fake's own tests).
      await producer.send({ topic: 't', partition: 0, value: 'z' });
      fake.failProduce('t', 0, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      await Promise.all(['a', 'b', 'c'].map((value) => producer.send({ topic: 't', partition: 0, value }).then((m) => offsets.push(m.offset))));
    });
    const sent = produces().slice(1);
    // Three in flight at once (batchBytes 1: a batch per record); the broker, missing sequence 1,
    // refuses 2 and 3 as out of order; after the backoff 1, 2 and 3 go again, each after the
    // answer to the one before.
    expect(sent.flatMap((p) => p.batches)).toEqual(['0:1', '0:2', '0:3', '0:1', '0:2', '0:3']);
    expect(gaps(sent.slice(3).map((p) => p.at))).toEqual([2, 2]);
    expect(offsets).toEqual([1, 2, 3]);
    expect(fake.records('t', 0).map((r) => [r.offset, r.value?.toString(), r.sequence])).toEqual([[0, 'z', 0], [1, 'a', 1], [2, 'b', 2], [3, 'c', 3]]);
  });

  /** Each batch of each Produce as "partition:epoch:sequence". */
  const stamps = () => fake.requests('Produce').flatMap((r) => (r.body as ProduceRequest).topicData.flatMap((t) => t.partitionData.map((d) => {
    const b = Buffer.from(d.records!);
    return `${d.index}:${b.readInt16BE(BatchOffset.PRODUCER_EPOCH)}:${b.readInt32BE(BatchOffset.BASE_SEQUENCE)}`;
  })));
  const written = (partition: number) => fake.records('t', partition).map((r) => `${r.value?.toString()} ${r.producerEpoch}:${r.sequence}`);
  const send = (partition: number, value: string) => producer.send({ topic: 't', partition, value });

  test('a batch whose answer was lost is sent again and acknowledged as the duplicate it is: written once, with its first offset', async () => {
    start();
    fake.dropConnectionAfter('Produce');
    let offset = -1;
    await runMarbles(testScheduler, async () => {
      offset = (await send(0, 'a')).offset;
    });
    expect(stamps()).toEqual(['0:0:0', '0:0:0']);
    expect(offset).toBe(0);
    expect(written(0)).toEqual(['a 0:0']);
  });

  test('DUPLICATE_SEQUENCE_NUMBER (as older brokers answered a duplicate) means the broker has the batch: success, not retried', async () => {
    start();
    fake.failProduce('t', 0, ErrorCode.DUPLICATE_SEQUENCE_NUMBER);
    let error: unknown = 'none';
    await runMarbles(testScheduler, () => send(0, 'a').then(() => (error = null), (e: unknown) => (error = e)));
    expect(error).toBeNull();
    expect(stamps()).toEqual(['0:0:0']);
  });

  test('UNKNOWN_PRODUCER_ID (a broker before 2.5 that lost the producer\'s state) bumps the epoch and renumbers the partition\'s unsettled batches from 0, in order (KIP-360)', async () => {
    start({ batchBytes: 1 }, { t: 4 }, { legacyUnknownProducerId: true });
    await runMarbles(testScheduler, async () => {
      await Promise.all([send(0, 'z'), send(1, 'y')]);
      // Retention removed partition 0's batches of this producer, and with them its state there.
      fake.forgetProducers('t', 0);
      await Promise.all([send(0, 'a'), send(0, 'b'), send(1, 'c')]);
      // Every partition starts again at 0 under the new epoch.
      await send(1, 'd');
    });
    const sent = stamps().slice(1);
    // 0:0:1 and 0:0:2 are refused as of an unknown producer; the epoch goes to 1 and partition 0
    // starts again at 0, its batches in their order.
    expect(sent.filter((x) => x.startsWith('0:'))).toEqual(['0:0:1', '0:0:2', '0:1:0', '0:1:1']);
    expect(written(0)).toEqual(['z 0:0', 'a 1:0', 'b 1:1']);
    expect(written(1)).toEqual(['y 0:0', 'c 0:1', 'd 1:0']);
    // An idempotent producer bumps its epoch itself, as Java's does: no InitProducerId for it.
    expect(fake.requests('InitProducerId')).toHaveLength(1);
  });

  test('Kafka 2.5+ writes the batch of a producer it lost the state of at its sequence: nothing to recover', async () => {
    start({ batchBytes: 1 });
    await runMarbles(testScheduler, async () => {
      await send(0, 'z');
      fake.forgetProducers('t', 0);
      await Promise.all([send(0, 'a'), send(0, 'b')]);
    });
    expect(written(0)).toEqual(['z 0:0', 'a 0:1', 'b 0:2']);
    expect(fake.requests('InitProducerId')).toHaveLength(1);
  });

  test('a batch failing for good after it was sent spends its sequence: the batches behind it restart under a new epoch', async () => {
    start({ batchBytes: 1 });
    const outcomes: string[] = [];
    await runMarbles(testScheduler, async () => {
      await send(0, 'z');
      fake.failProduce('t', 0, ErrorCode.INVALID_RECORD);
      await Promise.all(['a', 'b'].map((v) => send(0, v).then(() => outcomes.push(`${v} ok`), (e: Error) => outcomes.push(`${v} ${e.name}`))));
    });
    // "a" (1) is refused for good; "b" (2), in flight with it, is out of order without it, and
    // goes again as sequence 0 of the next epoch.
    expect(stamps().slice(1)).toEqual(['0:0:1', '0:0:2', '0:1:0']);
    expect(outcomes.sort()).toEqual(['a INVALID_RECORD', 'b ok']);
    expect(written(0)).toEqual(['z 0:0', 'b 1:0']);
  });

  test('one InitProducerId; each batch gets its partition\'s next sequence when drained; up to maxInFlight batches of a partition in flight', async () => {
    start({ batchBytes: 1 });
    const offsets: number[] = [];
    await runMarbles(testScheduler, async () => {
      // The topic's metadata first, so the batches below are all ready at once (at 6).
      await send(2, 'first');
      await Promise.all([...Array.from({ length: 7 }, (_, i) => send(0, `a${i}`)), send(1, 'b')].map((sent) => sent.then((m) => offsets.push(m.offset))));
    });
    const sent = fake.requests('Produce').slice(1);
    // Five requests at once (maxInFlight 5), partition 1's batch with partition 0's first; the
    // last two when the first answers came back, 2 ms later.
    expect(sent.map((r) => r.at)).toEqual([8, 8, 8, 8, 8, 10, 10]);
    expect(stamps().slice(1)).toEqual(['0:0:0', '1:0:0', '0:0:1', '0:0:2', '0:0:3', '0:0:4', '0:0:5', '0:0:6']);
    expect(fake.requests('InitProducerId')).toHaveLength(1);
    expect(fake.records('t', 0).map((r) => `${r.value?.toString()} ${r.producerId} ${r.sequence}`)).toEqual(Array.from({ length: 7 }, (_, i) => `a${i} 1000 ${i}`));
    expect(offsets.sort()).toEqual([0, 0, 1, 2, 3, 4, 5, 6]);
  });

  test('without idempotence, batches carry no producer id, and no InitProducerId is sent', async () => {
    start({ idempotent: false });
    await runMarbles(testScheduler, () => send(0, 'a'));
    expect(fake.requests('InitProducerId')).toHaveLength(0);
    expect(fake.records('t', 0).map((r) => [r.producerId, r.producerEpoch, r.sequence])).toEqual([[-1, -1, -1]]);
  });

  test('a batch refused as MESSAGE_TOO_LARGE is split into halves that take its sequences; the batch behind waits for them', async () => {
    // Batches of up to 100 bytes: four of these records make one of 97 bytes, which the topic
    // (max.message.bytes 90) refuses; two make 79, one 70.
    start({ batchBytes: 100, lingerMs: 1000 }, {});
    fake.createTopic('t', 1, { maxMessageBytes: 90 });
    const offsets: string[] = [];
    await runMarbles(testScheduler, async () => {
      // The partition knows the producer (sequence 0), so it refuses what comes out of order.
      const first = send(0, 'z');
      await producer.flush();
      await first;
      const all = Promise.all(['v1', 'v2', 'v3', 'v4', 'v5'].map((v) => send(0, v).then((m) => offsets.push(`${v}@${m.offset}`))));
      await producer.flush();
      await all;
    });
    const sent = fake.requests('Produce').slice(1).map((r) => (r.body as ProduceRequest).topicData[0].partitionData.map((d) => {
      const b = Buffer.from(d.records!);
      return `${b.readInt32BE(BatchOffset.BASE_SEQUENCE)}+${b.readInt32BE(BatchOffset.RECORD_COUNT)}`;
    }).join());
    // 1+4 refused whole; 5+1 (in flight with it) is out of order; then 1+2, 3+2 and 5+1 again.
    expect(sent).toEqual(['1+4', '5+1', '1+2', '3+2', '5+1']);
    expect(offsets).toEqual(['v1@1', 'v2@2', 'v3@3', 'v4@4', 'v5@5']);
    expect(written(0)).toEqual(['z 0:0', 'v1 0:1', 'v2 0:2', 'v3 0:3', 'v4 0:4', 'v5 0:5']);
    expect(internals(producer).memory.used).toBe(0);
  });

  /** Each Produce as "<arrival> v<version> <transactionalId> <partition>:<epoch>:<sequence> transactional|plain". */
  const transactional = () => fake.requests('Produce').map((r) => {
    const body = r.body as ProduceRequest;
    const d = body.topicData[0].partitionData[0];
    const b = Buffer.from(d.records!);
    const bit = (b.readInt16BE(BatchOffset.ATTRIBUTES) & Attribute.TRANSACTIONAL) !== 0 ? 'transactional' : 'plain';
    return `${r.at} v${r.version} ${body.transactionalId} ${d.index}:${b.readInt16BE(BatchOffset.PRODUCER_EPOCH)}:${b.readInt32BE(BatchOffset.BASE_SEQUENCE)} ${bit}`;
  });

  test('transaction version 1: a transactional batch waits until its partition is in the transaction, carries the transactional bit and goes in Produce ≤ 11', async () => {
    start({ transactionalId: 'tx' }, { t: 1 }, { transactionVersion: 1 });
    // The coordinator takes 50 ms more to add the partition.
    fake.delayResponses('AddPartitionsToTxn', 50);
    await runMarbles(testScheduler, () => lastValueFrom(producer.transaction((tx) => of({ topic: 't', value: 'a' }).pipe(tx.send()))));
    const [added] = fake.requests('AddPartitionsToTxn');
    // Sent at 10, answered at 62: the batch leaves only then.
    expect(added.at).toBe(10);
    expect(transactional()).toEqual(['62 v11 tx 0:0:0 transactional']);
    // Its producer id is the transaction manager's: the sender asks for none of its own.
    expect(fake.requests('InitProducerId')).toHaveLength(1);
    expect(fake.readCommitted('t').map((r) => r.value?.toString())).toEqual(['a']);
  });

  test('transaction version 2: a transactional batch goes at once (the leader adds its partition), in Produce v12', async () => {
    start({ transactionalId: 'tx' }, { t: 1 });
    await runMarbles(testScheduler, () => lastValueFrom(producer.transaction((tx) => of({ topic: 't', value: 'a' }).pipe(tx.send()))));
    expect(fake.requests('AddPartitionsToTxn')).toEqual([]);
    expect(transactional()).toEqual(['10 v12 tx 0:0:0 transactional']);
    expect(fake.readCommitted('t').map((r) => r.value?.toString())).toEqual(['a']);
  });
});

test('the drain rotates its starting partition, so no partition starves when requests fill before every partition is walked', async () => {
  // Each request fits two of the four partitions' batches, one request in flight at a time, and
  // every partition always has a backlog (its stream refills it as batches complete): walking the
  // partitions from the same start every time would send partitions 0 and 1 only.
  const size = oneBatch(0).builder.sizeInBytes;
  const { scheduler, broker, sender } = setup([], { acks: 1, maxInFlight: 1, maxRequestSize: 2 * size + size / 2 });
  const owner = { done: (b: ProducerBatch) => sender.enqueue(oneBatch(scheduler.now(), b.partition), owner) };
  for (let p = 0; p < 4; p++) for (let i = 0; i < 3; i++) sender.enqueue(oneBatch(0, p), owner);
  await advance(scheduler, 40);
  const sent = broker.sends.map((s) => s.partitions);
  expect(sent.length).toBeGreaterThanOrEqual(8);
  expect(sent.every((p) => p.length === 2)).toBe(true);
  const counts = [0, 1, 2, 3].map((p) => sent.slice(0, 8).filter((s) => s.includes(p)).length);
  // Eight requests of two batches: each partition gets its turn, four times.
  expect(counts).toEqual([4, 4, 4, 4]);
});

test.each([3, 40])('each batch of a request of %i partitions gets its own partition\'s answer; one the response leaves out fails', async (partitions) => {
  const { scheduler, broker, sender } = setup([], { acks: 1 }, undefined, [1]);
  const settled = new Map<number, ProducerBatch>();
  const owner = { done: (b: ProducerBatch) => settled.set(b.partition, b) };
  for (let p = 0; p < partitions; p++) sender.enqueue(oneBatch(0, p), owner);
  await advance(scheduler, 40);
  expect(broker.sends).toHaveLength(1);
  expect(broker.sends[0].partitions).toHaveLength(partitions);
  expect(settled.size).toBe(partitions);
  for (const [p, b] of settled) {
    if (p === 1) {
      expect(b.error?.message).toBe('the produce response has no answer for t-1');
      continue;
    }
    expect(b.error).toBeNull();
    expect(b.baseOffset).toBe(42);
  }
});
