import { concat, from, lastValueFrom, throwError, toArray } from 'rxjs';
import { createProducer, isFatal, TransactionOutcomeUnknownError, type Producer, type ProducerConfig, type RecordMetadata } from 'kafkarx';
import { ApiKey } from '../../src/protocol/messages/index.ts';
import { TransactionManager } from '../../src/producer/transactions.ts';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { KafkaProxy } from '../support/kafka-proxy.ts';

// Each test puts a proxy between the producer and the broker, which loses or delays the responses
// the test picks: the broker does what it was asked, the client cannot know.
const proxies: KafkaProxy[] = [];
const producers: Producer[] = [];
async function proxied(overrides: Partial<ProducerConfig>): Promise<{ proxy: KafkaProxy; p: Producer }> {
  const proxy = await KafkaProxy.start(bootstrap().split(',')[0]);
  proxies.push(proxy);
  const p = createProducer({ brokers: [proxy.address], clientId: 'kafkarx-txn-outcome-it', lingerMs: 1, ...overrides });
  producers.push(p);
  return { proxy, p };
}
afterEach(() => {
  TransactionManager.maxTransactionVersion = Infinity;
});
afterAll(async () => {
  await Promise.all(producers.map((p) => p.close().catch(() => undefined)));
  await Promise.all(proxies.map((p) => p.close()));
});

const errorOf = (o: Promise<unknown>) => o.then(() => { throw new Error('expected an error'); }, (e: Error) => e);
const records = (topic: string, tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ topic, key: `k${i}`, value: `${tag}-${i}` }));
const committedValues = async (topic: string, n: number) =>
  (await consumeWithConsoleConsumer(topic, { maxRecords: n, isolationLevel: 'read_committed', timeoutMs: 20_000 })).map((r) => r.value!.toString()).sort();

test('a commit whose every answer is lost is reported as outcome unknown, never failed; the next transaction confirms it first', async () => {
  const topic = uniqueTopic('txn-lost-commit');
  await createTopic(topic, { partitions: 2 });
  const { proxy, p } = await proxied({ transactionalId: uniqueTopic('tx-lost-commit'), requestTimeoutMs: 1000, maxBlockMs: 4000 });
  await p.ready();
  // The broker gets every EndTxn(commit) and commits; the producer hears nothing back.
  proxy.fate = (r) => (r.apiKey === ApiKey.EndTxn && r.committed ? 'lose' : 'forward');
  const error = await errorOf(lastValueFrom(p.transaction((tx) => from(records(topic, 'a', 20)).pipe(tx.send()))));
  expect(error).toBeInstanceOf(TransactionOutcomeUnknownError);
  expect(error.message).toMatch(/may or may not have committed/);
  expect(isFatal(error)).toBe(false);
  // It says what to reconcile: the records' metadata as written, their partitions, the producer.
  const unknown = error as TransactionOutcomeUnknownError;
  const withheld = unknown.withheld as RecordMetadata<undefined>[];
  expect(withheld).toHaveLength(20);
  expect(new Set(withheld.map((m) => `${m.topic}/${m.partition}/${m.offset}`)).size).toBe(20);
  expect(withheld.every((m) => m.topic === topic && m.offset >= 0)).toBe(true);
  expect([...unknown.partitions].sort((a, b) => a.partition - b.partition)).toEqual([...new Set(withheld.map((m) => m.partition))].sort().map((partition) => ({ topic, partition })));
  expect(unknown.producerId).toBeGreaterThanOrEqual(0);
  expect(unknown.producerEpoch).toBeGreaterThanOrEqual(0);
  // No abort was attempted: the transaction committed, as read_committed sees.
  expect(proxy.requests.filter((r) => r.apiKey === ApiKey.EndTxn).every((r) => r.committed)).toBe(true);
  expect(await committedValues(topic, 20)).toEqual(records(topic, 'a', 20).map((r) => r.value).sort());

  // The coordinator answers again: the next transaction first confirms the pending commit, then runs.
  proxy.fate = () => 'forward';
  const commitsBefore = proxy.count(ApiKey.EndTxn);
  const next = await lastValueFrom(p.transaction((tx) => from(records(topic, 'b', 10)).pipe(tx.send())).pipe(toArray()));
  expect(next).toHaveLength(10);
  // At least the confirmation of the pending commit and this transaction's commit; never an abort.
  const after = proxy.requests.filter((r) => r.apiKey === ApiKey.EndTxn).slice(commitsBefore);
  expect(after.length).toBeGreaterThanOrEqual(2);
  expect(after.every((r) => r.committed)).toBe(true);
  expect(await committedValues(topic, 30)).toEqual([...records(topic, 'a', 20), ...records(topic, 'b', 10)].map((r) => r.value).sort());
}, 90_000);

test('a commit whose answer is lost and whose producer is then fenced by a newer one is an unknown outcome, and fatal', async () => {
  const topic = uniqueTopic('txn-lost-fenced');
  await createTopic(topic, { partitions: 1 });
  const id = uniqueTopic('tx-lost-fenced');
  const { proxy, p } = await proxied({ transactionalId: id, requestTimeoutMs: 1000, maxBlockMs: 20_000 });
  await p.ready();
  proxy.fate = (r) => (r.apiKey === ApiKey.EndTxn && r.committed ? 'lose' : 'forward');
  const outcome = errorOf(lastValueFrom(p.transaction((tx) => from(records(topic, 'f', 10)).pipe(tx.send()))));
  while (proxy.count(ApiKey.EndTxn) === 0) await new Promise((r) => setTimeout(r, 50));
  // A newer producer with the same id takes over (its InitProducerId completes the commit first).
  const newer = createProducer({ brokers: bootstrap().split(','), clientId: 'kafkarx-txn-outcome-it', transactionalId: id });
  producers.push(newer);
  await newer.ready();
  proxy.fate = () => 'forward';
  const error = await outcome;
  expect(error).toBeInstanceOf(TransactionOutcomeUnknownError);
  expect(isFatal(error)).toBe(true);
  expect((error as Error & { cause?: Error }).cause).toMatchObject({ name: 'ProducerFencedError' });
  // It had committed, as read_committed sees; the producer can do no more.
  expect(await committedValues(topic, 10)).toEqual(records(topic, 'f', 10).map((r) => r.value).sort());
  await expect(lastValueFrom(p.transaction((tx) => from(records(topic, 'g', 1)).pipe(tx.send())))).rejects.toMatchObject({ name: 'ProducerFencedError' });
}, 90_000);

test('an abort whose every answer is lost fails its scope without ending the producer; the next transaction finishes the abort first', async () => {
  const topic = uniqueTopic('txn-lost-abort');
  await createTopic(topic, { partitions: 1 });
  const { proxy, p } = await proxied({ transactionalId: uniqueTopic('tx-lost-abort'), requestTimeoutMs: 1000, maxBlockMs: 3000 });
  await p.ready();
  proxy.fate = (r) => (r.apiKey === ApiKey.EndTxn && r.committed === false ? 'lose' : 'forward');
  const error = await errorOf(lastValueFrom(p.transaction((tx) => concat(from(records(topic, 'x', 5)).pipe(tx.send()), throwError(() => new Error('body failed'))))));
  expect(error.message).toMatch(/did not commit and never will/);
  expect(isFatal(error)).toBe(false);

  proxy.fate = () => 'forward';
  const endsBefore = proxy.count(ApiKey.EndTxn);
  await lastValueFrom(p.transaction((tx) => from(records(topic, 'y', 5)).pipe(tx.send())));
  const ends = proxy.requests.filter((r) => r.apiKey === ApiKey.EndTxn).slice(endsBefore).map((r) => r.committed);
  expect(ends[0]).toBe(false);
  expect(ends[ends.length - 1]).toBe(true);
  expect(await committedValues(topic, 5)).toEqual(records(topic, 'y', 5).map((r) => r.value).sort());
}, 90_000);

test('a commit answered only after requestTimeoutMs is retried, confirmed and reported committed', async () => {
  const topic = uniqueTopic('txn-slow-commit');
  await createTopic(topic, { partitions: 1 });
  const { proxy, p } = await proxied({ transactionalId: uniqueTopic('tx-slow-commit'), requestTimeoutMs: 1000, maxBlockMs: 10_000 });
  let delayed = 0;
  proxy.fate = (r) => (r.apiKey === ApiKey.EndTxn && delayed++ < 2 ? { delayMs: 1500 } : 'forward');
  const metas = await lastValueFrom(p.transaction((tx) => from(records(topic, 'c', 5)).pipe(tx.send())).pipe(toArray()));
  expect(metas).toHaveLength(5);
  // Two attempts timed out before the third was answered in time.
  expect(proxy.count(ApiKey.EndTxn)).toBeGreaterThanOrEqual(3);
  expect(await committedValues(topic, 5)).toEqual(records(topic, 'c', 5).map((r) => r.value).sort());
}, 60_000);

test('AddPartitionsToTxn never answered (classic transactions): the transaction fails within maxBlockMs and settles, and the next one commits', async () => {
  // Transaction version 2 sends no AddPartitionsToTxn: hold the producer to classic transactions.
  TransactionManager.maxTransactionVersion = 1;
  const topic = uniqueTopic('txn-lost-add');
  await createTopic(topic, { partitions: 3 });
  const { proxy, p } = await proxied({ transactionalId: uniqueTopic('tx-lost-add'), requestTimeoutMs: 1000, maxBlockMs: 3000 });
  await p.ready();
  proxy.fate = (r) => (r.apiKey === ApiKey.AddPartitionsToTxn ? 'lose' : 'forward');
  const started = Date.now();
  const error = await errorOf(lastValueFrom(p.transaction((tx) => from(records(topic, 'd', 3000)).pipe(tx.send()))));
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(error.message).toMatch(/AddPartitionsToTxn/);
  expect(error).not.toBeInstanceOf(TransactionOutcomeUnknownError);

  proxy.fate = () => 'forward';
  await lastValueFrom(p.transaction((tx) => from(records(topic, 'e', 30)).pipe(tx.send())));
  expect(await committedValues(topic, 30)).toEqual(records(topic, 'e', 30).map((r) => r.value).sort());
}, 90_000);
