// Recovery when a real broker takes over the address: a proxy in front of the real Kafka broker
// spoils the first answers of one step of the producer's start (ApiVersions, Metadata,
// InitProducerId or Produce) with malformed frames, silence or a close, then forwards faithfully.
// The producer must ride it out (no crash, the records wait) and every record must be in the log
// exactly once, in order per partition, as Kafka's ConsoleConsumer reads it.
import { createProducer } from 'kafkarx';
import { ApiKey } from '../../src/protocol/messages/index.ts';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { KafkaProxy, type Spoil } from '../support/kafka-proxy.ts';

const SPOILS: Spoil[] = ['zero-length', '2-GiB-length', 'wrong-correlation-id', 'garbage-body', 'close-mid-frame', 'silence'];
const RECORDS = 300;

const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => uncaught.push(e);
beforeAll(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
afterAll(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  expect(uncaught).toEqual([]);
});

test.each([
  ['ApiVersions', ApiKey.ApiVersions],
  ['Metadata', ApiKey.Metadata],
  ['InitProducerId', ApiKey.InitProducerId],
  ['Produce', ApiKey.Produce],
] as const)('%s answers spoiled six ways, then faithful: every record is written once, in order', async (step, apiKey) => {
  const topic = uniqueTopic(`hostile-${step}`);
  await createTopic(topic, { partitions: 2 });
  const proxy = await KafkaProxy.start(bootstrap().split(',')[0]);
  // The first answers of the step are spoiled, one way each; every later answer is faithful.
  const applied: Spoil[] = [];
  proxy.fate = (r) => {
    if (r.apiKey !== apiKey || applied.length === SPOILS.length) return 'forward';
    const spoil = SPOILS[applied.length];
    applied.push(spoil);
    return { spoil };
  };
  try {
    const producer = createProducer({
      brokers: [proxy.address],
      clientId: 'kafkarx-hostile-recovery',
      requestTimeoutMs: 1500,
      retryBackoffMs: 50,
      retryBackoffMaxMs: 200,
      reconnectBackoffMs: 50,
      reconnectBackoffMaxMs: 200,
    });
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: RECORDS }, (_, i) => producer.send({ topic, key: `k${i % 7}`, value: `${step}-${i}` })));
    const elapsed = Date.now() - started;
    await producer.close();
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    // Every spoil reached the producer: it recovered from each.
    expect(applied).toEqual(SPOILS);
    console.log(`${step}: ${SPOILS.length} spoiled answers, ${RECORDS} records acknowledged after ${elapsed} ms`);
    // Nothing written twice: per partition, the acknowledged offsets are exactly 0..n-1, so the
    // log holds these records and no others.
    const metas = results.map((r) => (r as PromiseFulfilledResult<{ partition: number; offset: number }>).value);
    for (const p of [0, 1]) {
      const offsets = metas.filter((m) => m.partition === p).map((m) => m.offset).sort((a, b) => a - b);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }

    const read = await consumeWithConsoleConsumer(topic, { maxRecords: RECORDS });
    const values = read.map((r) => r.value!.toString());
    expect([...values].sort()).toEqual(Array.from({ length: RECORDS }, (_, i) => `${step}-${i}`).sort());
    for (const p of [0, 1]) {
      const order = read.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset).map((r) => Number(r.value!.toString().split('-').pop()));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  } finally {
    await proxy.close();
  }
}, 120_000);
