// The reconnect backoff of Cluster.open: Java's ExponentialBackoff (reconnect.backoff.ms doubling
// to reconnect.backoff.max.ms, ±20 % jitter applied before the cap), so the maximum is a true
// maximum. Seen through the waits the cluster schedules before each new attempt on an address
// that refuses every connection, with a clock whose random factor is at either end.
import type { Clock } from '../../../src/clock.ts';
import { Cluster } from '../../../src/cluster/cluster.ts';
import { FakeKafka } from '../../../src/testing/fake-kafka.ts';

const CONNECT_TIMEOUT_MS = 77_777;

/** The waits scheduled before reconnect attempts 2..n+1, on a clock with this `random`. */
async function reconnectWaits(random: number, attempts: number): Promise<number[]> {
  let now = 0;
  const waits: number[] = [];
  const clock: Clock = {
    now: () => now,
    schedule: (fn, ms) => {
      waits.push(ms);
      const t = setImmediate(() => {
        now += ms;
        fn();
      });
      return () => clearImmediate(t);
    },
    soon: (fn) => {
      const t = setImmediate(fn);
      return () => clearImmediate(t);
    },
    random: () => random,
    nanos: () => BigInt(now) * 1_000_000n,
  };
  const fake = new FakeKafka({ brokers: 1 });
  const cluster = new Cluster({
    // No broker of the fake listens there: every connection is refused.
    bootstrap: [{ host: '127.0.0.1', port: 1 }],
    clientId: 'test', tls: false, sasl: undefined, connectTimeoutMs: CONNECT_TIMEOUT_MS, requestTimeoutMs: 30_000, maxInFlight: 5, metadataMaxAgeMs: 300_000,
    retryBackoffMs: 100, retryBackoffMaxMs: 1000, reconnectBackoffMs: 50, reconnectBackoffMaxMs: 1000,
    clock, transport: fake.transport,
  });
  try {
    for (let i = 0; i <= attempts; i++) await expect(cluster.anyBroker()).rejects.toThrow(/no bootstrap broker answered/);
  } finally {
    await cluster.close();
    fake.close();
  }
  // Each attempt also arms its connect timeout: not a backoff.
  return waits.filter((ms) => ms !== CONNECT_TIMEOUT_MS);
}

test('at the top of the jitter, reconnect waits grow to reconnectBackoffMaxMs and never pass it', async () => {
  // 50, 100, …, 800 × 1.2 (floored), then the cap.
  expect(await reconnectWaits(0.999999, 7)).toEqual([59, 119, 239, 479, 959, 1000, 1000]);
});

test('at the bottom of the jitter, waits at the cap still spread below it', async () => {
  expect(await reconnectWaits(0, 7)).toEqual([40, 80, 160, 320, 640, 800, 800]);
});
