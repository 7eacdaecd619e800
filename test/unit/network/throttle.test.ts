// Broker quotas (KIP-219): a broker over a client's quota answers at once with throttleTimeMs and
// stops reading from the connection for that long; the client sends nothing on it meanwhile. A
// real producer against the scripted broker, which throttles chosen Produce answers.
import { createProducer, KafkaError, type Producer, type ProducerConfig } from '../../../src/index.ts';
import { ErrorCode } from '../../../src/protocol/errors.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { ScriptedBroker, type ScriptedRequest } from './scripted-broker.ts';
import { internals } from '../../../src/producer/internals.ts';

const brokers: ScriptedBroker[] = [];
const producers: Producer[] = [];
let baseline: Map<string, number>;

function liveResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

beforeAll(() => {
  baseline = liveResources();
});

afterAll(async () => {
  await Promise.all(producers.map((p) => p.close()));
  for (const b of brokers) await b.clientClosedAll();
  await Promise.all(brokers.map((b) => b.stop()));
  await new Promise((r) => setTimeout(r, 50));
  // The throttle's timer, among others, is gone with the producer.
  const leaked = [...liveResources()].filter(([kind, n]) => ['Timeout', 'TCPSocketWrap', 'TCPServerWrap'].includes(kind) && n > (baseline.get(kind) ?? 0));
  expect(leaked).toEqual([]);
});

/** The n-th Produce request (1-based) is answered with `ms` of throttle time. */
const throttleProduce = (n: number, ms: number) => (r: ScriptedRequest, b: ScriptedBroker) =>
  r.apiKey === ApiKey.Produce && b.requests.filter((x) => x.apiKey === ApiKey.Produce).length === n ? ms : 0;

async function setup(n: number, ms: number, config: Partial<ProducerConfig> = {}, maxVersions?: Record<number, number>): Promise<{ broker: ScriptedBroker; producer: Producer }> {
  let broker: ScriptedBroker | undefined;
  broker = await ScriptedBroker.start({ throttleTimeMs: (r) => throttleProduce(n, ms)(r, broker!), maxVersions });
  brokers.push(broker);
  const producer = createProducer({ brokers: [broker.address], clientId: 'throttle-test', lingerMs: 0, ...config });
  producers.push(producer);
  return { broker, producer };
}

const send = (p: Producer, i: number) => p.send({ topic: 'quota', value: `record-${i}` });

/** When the broker got the n-th Produce request, and the first request of any kind after it. */
function afterNthProduce(broker: ScriptedBroker, n: number): { throttledAt: number; nextAt: number; next: ScriptedRequest } {
  const i = broker.requests.findIndex((r, k) => r.apiKey === ApiKey.Produce && broker.requests.slice(0, k + 1).filter((x) => x.apiKey === ApiKey.Produce).length === n);
  const next = broker.requests[i + 1];
  return { throttledAt: broker.requests[i].at, nextAt: next.at, next };
}

test('after a Produce v12 answer with throttleTimeMs, the connection sends nothing for that long; records wait and are delivered; onThrottle reports it', async () => {
  const { broker, producer } = await setup(2, 500);
  await send(producer, 1);
  const seen: Array<[number, string]> = [];
  internals(producer).cluster.readyConnection(0)!.connection.onThrottle((ms, request) => seen.push([ms, request]));
  await send(producer, 2);
  await send(producer, 3);
  const { throttledAt, nextAt, next } = afterNthProduce(broker, 2);
  expect(next.apiKey).toBe(ApiKey.Produce);
  expect(next.apiVersion).toBe(12);
  expect(nextAt - throttledAt).toBeGreaterThanOrEqual(480);
  expect(seen).toEqual([[500, 'Produce v12']]);
});

test('the same answer at Produce v5, before KIP-219 (the broker delayed its answer itself), holds nothing back', async () => {
  const { broker, producer } = await setup(2, 500, {}, { [ApiKey.Produce]: 5 });
  await send(producer, 1);
  const seen: number[] = [];
  internals(producer).cluster.readyConnection(0)!.connection.onThrottle((ms) => seen.push(ms));
  await send(producer, 2);
  await send(producer, 3);
  const { throttledAt, nextAt, next } = afterNthProduce(broker, 2);
  expect(next.apiVersion).toBe(5);
  expect(nextAt - throttledAt).toBeLessThan(300);
  expect(seen).toEqual([]);
});

test('records wait out a throttle longer than requestTimeoutMs and are delivered', async () => {
  const { broker, producer } = await setup(1, 1200, { requestTimeoutMs: 300, deliveryTimeoutMs: 10_000 });
  await send(producer, 1);
  const started = Date.now();
  const results = await Promise.allSettled([send(producer, 2), send(producer, 3)]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  const { throttledAt, nextAt } = afterNthProduce(broker, 1);
  expect(nextAt - throttledAt).toBeGreaterThanOrEqual(1180);
});

test('a broker announcing a 24-day throttle does not hang the producer: records fail with a typed timeout by deliveryTimeoutMs, close() is prompt', async () => {
  const { broker, producer } = await setup(1, 0x7fffffff, { requestTimeoutMs: 300, deliveryTimeoutMs: 1000 });
  await send(producer, 1);
  const started = Date.now();
  const error = await send(producer, 2).then(() => undefined, (e: unknown) => e);
  const elapsed = Date.now() - started;
  expect(error).toBeInstanceOf(KafkaError);
  expect((error as KafkaError).code).toBe(ErrorCode.REQUEST_TIMED_OUT);
  expect(elapsed).toBeLessThan(1000 + 1500);
  // Nothing but the first Produce was written after the throttle.
  expect(broker.requests.filter((r) => r.apiKey === ApiKey.Produce)).toHaveLength(1);
  const closing = Date.now();
  await producer.close();
  expect(Date.now() - closing).toBeLessThan(1000);
  await broker.clientClosedAll();
});
