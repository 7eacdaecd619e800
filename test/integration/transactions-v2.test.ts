// Transaction version 2 (KIP-890) against a broker that finalizes it (Kafka 4.x's default), and
// classic transactions against the same broker with the producer held to version 1. A proxy in
// front of the broker shows which requests each protocol sends; read_committed judges the result.
import { from, lastValueFrom, mergeMap, throwError, toArray } from 'rxjs';
import { createProducer, type Producer } from 'kafkarx';
import { Apis } from '../../src/network/apis.ts';
import { BrokerConnection } from '../../src/network/broker.ts';
import { ApiKey } from '../../src/protocol/messages/index.ts';
import { TransactionManager } from '../../src/producer/transactions.ts';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { KafkaProxy } from '../support/kafka-proxy.ts';

const proxies: KafkaProxy[] = [];
const producers: Producer[] = [];
afterEach(async () => {
  TransactionManager.maxTransactionVersion = Infinity;
  await Promise.all(producers.splice(0).map((p) => p.close().catch(() => undefined)));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function proxied(transactionalId: string): Promise<{ proxy: KafkaProxy; p: Producer }> {
  const proxy = await KafkaProxy.start(bootstrap().split(',')[0]);
  proxies.push(proxy);
  const p = createProducer({ brokers: [proxy.address], clientId: 'kafkarx-txn-v2-it', transactionalId, lingerMs: 1 });
  producers.push(p);
  return { proxy, p };
}

const records = (topic: string, tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ topic, key: `k${i}`, value: `${tag}-${i}` }));
const run = (p: Producer, recs: ReturnType<typeof records>) => lastValueFrom(p.transaction((tx) => from(recs).pipe(tx.send())).pipe(toArray()));
const committedValues = async (topic: string, n: number) =>
  (await consumeWithConsoleConsumer(topic, { maxRecords: n, isolationLevel: 'read_committed', timeoutMs: 20_000 })).map((r) => r.value!.toString()).sort();
const versions = (proxy: KafkaProxy, apiKey: number) => [...new Set(proxy.requests.filter((r) => r.apiKey === apiKey).map((r) => r.version))];

test('the test broker finalizes transaction.version 2 (a new Kafka 4.x cluster)', async () => {
  const [host, port] = bootstrap().split(',')[0].split(':');
  const conn = await BrokerConnection.open(-1, { host, port: Number(port), clientId: 'kafkarx-txn-v2-it', connectTimeoutMs: 5000, requestTimeoutMs: 5000, maxInFlight: 1 });
  try {
    expect(conn.version(Apis.apiVersions)).toBeGreaterThanOrEqual(3);
    expect(conn.features.levels.get('transaction.version')).toBeGreaterThanOrEqual(2);
  } finally {
    await conn.close();
  }
});

test('transaction version 2: no AddPartitionsToTxn, Produce v12, EndTxn v5 with a new epoch each transaction, aborts included; read_committed sees exactly the committed ones', async () => {
  const topic = uniqueTopic('txn-v2');
  await createTopic(topic, { partitions: 3 });
  const { proxy, p } = await proxied(uniqueTopic('tx-v2'));
  await run(p, records(topic, 'a', 30));
  await expect(lastValueFrom(p.transaction((tx) => from(records(topic, 'x', 10)).pipe(tx.send(), toArray(), mergeMap(() => throwError(() => new Error('body failed'))))))).rejects.toThrow('body failed');
  await run(p, records(topic, 'b', 30));
  await run(p, records(topic, 'c', 30));
  expect(proxy.count(ApiKey.AddPartitionsToTxn)).toBe(0);
  expect(Math.min(...versions(proxy, ApiKey.Produce))).toBeGreaterThanOrEqual(12);
  expect(versions(proxy, ApiKey.EndTxn)).toEqual([5]);
  // Each EndTxn, commit or abort, named the epoch the one before it handed out.
  const ends = proxy.requests.filter((r) => r.apiKey === ApiKey.EndTxn);
  expect(ends.map((r) => r.committed)).toEqual([true, false, true, true]);
  const epochs = ends.map((r) => r.producerEpoch!);
  for (let i = 1; i < epochs.length; i++) expect(epochs[i]).toBe(epochs[i - 1] + 1);
  // No epoch bump by InitProducerId after the abort (or ever, once the first transaction ended): EndTxn gave the new epoch.
  const firstEnd = proxy.requests.findIndex((r) => r.apiKey === ApiKey.EndTxn);
  expect(proxy.requests.slice(firstEnd).filter((r) => r.apiKey === ApiKey.InitProducerId)).toEqual([]);
  expect(await committedValues(topic, 90)).toEqual([...records(topic, 'a', 30), ...records(topic, 'b', 30), ...records(topic, 'c', 30)].map((r) => r.value).sort());
}, 60_000);

test('classic transactions (held to version 1) on the same broker: AddPartitionsToTxn, Produce v11, EndTxn v4, one epoch', async () => {
  TransactionManager.maxTransactionVersion = 1;
  const topic = uniqueTopic('txn-v1');
  await createTopic(topic, { partitions: 3 });
  const { proxy, p } = await proxied(uniqueTopic('tx-v1'));
  await run(p, records(topic, 'a', 30));
  await run(p, records(topic, 'b', 30));
  expect(proxy.count(ApiKey.AddPartitionsToTxn)).toBeGreaterThanOrEqual(2);
  expect(versions(proxy, ApiKey.Produce)).toEqual([11]);
  expect(versions(proxy, ApiKey.EndTxn)).toEqual([4]);
  expect(new Set(proxy.requests.filter((r) => r.apiKey === ApiKey.EndTxn).map((r) => r.producerEpoch)).size).toBe(1);
  expect(await committedValues(topic, 60)).toEqual([...records(topic, 'a', 30), ...records(topic, 'b', 30)].map((r) => r.value).sort());
}, 60_000);

/** `count` transactions of `size` records one after another; transactions per second. */
async function throughput(p: Producer, topic: string, count: number, size: number): Promise<number> {
  await run(p, records(topic, 'warm', size));
  const started = Date.now();
  for (let t = 0; t < count; t++) await run(p, records(topic, `t${t}`, size));
  return (count * 1000) / (Date.now() - started);
}

test('throughput: transactions of 100 records, version 2 against classic', async () => {
  const count = Number(process.env.KAFKARX_TXN_BENCH_COUNT ?? 50);
  const rates: Record<string, number> = {};
  for (const version of [2, 1]) {
    TransactionManager.maxTransactionVersion = version;
    const topic = uniqueTopic(`txn-rate-v${version}`);
    await createTopic(topic, { partitions: 3 });
    const p = createProducer({ brokers: bootstrap().split(','), clientId: 'kafkarx-txn-v2-it', transactionalId: uniqueTopic(`tx-rate-v${version}`) });
    producers.push(p);
    rates[`v${version}`] = await throughput(p, topic, count, 100);
    expect(await consumeWithConsoleConsumer(topic, { maxRecords: (count + 1) * 100, isolationLevel: 'read_committed', timeoutMs: 20_000 })).toHaveLength((count + 1) * 100);
  }
  process.stdout.write(`\n[txn] ${count} transactions of 100 records: transaction version 2 ${rates.v2.toFixed(1)}/s, classic ${rates.v1.toFixed(1)}/s\n`);
  expect(rates.v2).toBeGreaterThan(0);
}, 180_000);
