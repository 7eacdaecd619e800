// Cluster.anyBroker() picks as Java's leastLoadedNode: an open connection first (the least busy),
// then a broker it can connect to now, and a broker in reconnect backoff only as the last resort.
// Two FakeKafka brokers; in most tests broker 1 refuses every connection, and its reconnect
// backoff (5 s) is far longer than the test waits.
import type { Clock } from '../../../src/clock.ts';
import { Cluster } from '../../../src/cluster/cluster.ts';
import { Apis } from '../../../src/network/apis.ts';
import type { Transport } from '../../../src/network/connection.ts';
import { FakeKafka } from '../../../src/testing/fake-kafka.ts';

const BACKOFF_MS = 5000;
let fake: FakeKafka;
let cluster: Cluster;

afterEach(async () => {
  await cluster.close();
  fake.close();
});

/** Real time, but `random` 0.999999 leaves the brokers unshuffled: broker 1 would come first. */
const clock: Clock = {
  now: Date.now,
  schedule: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  soon: (fn) => {
    const t = setImmediate(fn);
    return () => clearImmediate(t);
  },
  random: () => 0.999999,
  nanos: () => process.hrtime.bigint(),
};

/** A cluster of the fake's two brokers that bootstraps from broker 2 and knows both from metadata. */
async function makeCluster(refuseBroker1: boolean): Promise<Cluster> {
  fake = new FakeKafka({ brokers: 2, topics: { t: 2 } });
  const [first, second] = fake.bootstrap;
  const transport: Transport = (o) => fake.transport(refuseBroker1 && `${o.host}:${o.port}` === first ? { ...o, host: 'refused.invalid' } : o);
  const [host, port] = second.split(':');
  cluster = new Cluster({
    bootstrap: [{ host, port: Number(port) }],
    clientId: 'test', tls: false, sasl: undefined, connectTimeoutMs: 1000, requestTimeoutMs: 5000, maxInFlight: 5, metadataMaxAgeMs: 300_000,
    retryBackoffMs: 10, retryBackoffMaxMs: 10, reconnectBackoffMs: BACKOFF_MS, reconnectBackoffMaxMs: BACKOFF_MS,
    clock, transport,
  });
  await cluster.waitForTopic('t', 0, 2000);
  return cluster;
}

/** As makeCluster, with broker 1 refused once (so in reconnect backoff) and a connection open to broker 2 only. */
async function withBroker1InBackoff(): Promise<Cluster> {
  const c = await makeCluster(true);
  await expect(c.connectionTo(1)).rejects.toThrow();
  expect(c.readyConnection(2)).toBeDefined();
  return c;
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await p;
  return { value, ms: Date.now() - started };
}

test('an open connection wins over a broker whose connection waits out its reconnect backoff', async () => {
  const c = await withBroker1InBackoff();
  // Broker 1's connection is asked for again (it sleeps its backoff first), then broker 2's is
  // reopened: the connection being opened to broker 1 now comes first among the cluster's.
  void c.connectionTo(1).catch(() => undefined);
  await c.readyConnection(2)!.close();
  await c.connectionTo(2);
  const { value, ms } = await timed(c.anyBroker());
  expect(value).toBe(c.readyConnection(2));
  expect(ms).toBeLessThan(BACKOFF_MS / 2);
});

test('with no open connection, a broker that can be connected to at once wins over one in reconnect backoff', async () => {
  const c = await withBroker1InBackoff();
  await c.readyConnection(2)!.close();
  const { value, ms } = await timed(c.anyBroker());
  expect(value).toBe(c.readyConnection(2));
  expect(ms).toBeLessThan(BACKOFF_MS / 2);
});

test('of two open connections, the one with fewer requests waiting', async () => {
  const c = await makeCluster(false);
  // The bootstrap connection, adopted as broker 2's: the cluster's first connection.
  const two = await c.connectionTo(2);
  const one = await c.connectionTo(1);
  // A Metadata request to broker 2 stays unanswered for now.
  fake.delayResponses('Metadata', 60_000);
  void two.call(Apis.metadata, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }).catch(() => undefined);
  expect(two.connection.pending).toBe(1);
  expect(await c.anyBroker()).toBe(one);
});
