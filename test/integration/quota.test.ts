// Broker quotas (KIP-219) against the real broker: a client quota (producer_byte_rate) for this
// test's client id, set with Kafka's ConfigCommand. The stream slows to the quota, the broker's
// throttle times reach the producer's connection (Connection.onThrottle), nothing fails, and
// ConsoleConsumer reads back every record.
import { createProducer } from 'kafkarx';
import { ensureKafkaJars } from '../broker/jars.ts';
import { runJavaToolAsync } from '../broker/java.ts';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { internals } from '../../src/producer/internals.ts';

const QUOTA = 64 * 1024;
const RECORDS = 120;
const RECORD_BYTES = 10 * 1024;
const clientId = `kafkarx-quota-${process.pid}`;

/** ConfigCommand lives in the broker's jar (kafka.admin), not in kafka-tools. */
function configCommand(args: string[]): Promise<unknown> {
  return runJavaToolAsync(ensureKafkaJars().libs, 'kafka.admin.ConfigCommand',
    ['--bootstrap-server', bootstrap(), '--entity-type', 'clients', '--entity-name', clientId, ...args]);
}

beforeAll(async () => {
  await configCommand(['--alter', '--add-config', `producer_byte_rate=${QUOTA}`]);
}, 60_000);

afterAll(async () => {
  await configCommand(['--alter', '--delete-config', 'producer_byte_rate']);
}, 60_000);

test(`${RECORDS} records of ${RECORD_BYTES / 1024} KiB under a ${QUOTA / 1024} KiB/s producer quota: slowed to the quota, none lost`, async () => {
  const topic = uniqueTopic('quota');
  await createTopic(topic, { partitions: 1 });
  const producer = createProducer({ brokers: bootstrap().split(','), clientId, lingerMs: 5 });
  const value = (i: number) => `${String(i).padStart(6, '0')}:`.padEnd(RECORD_BYTES, 'q');
  // The first record opens the connection to the leader, so that its throttle times can be watched.
  await producer.send({ topic, value: value(0) });
  const throttles: number[] = [];
  internals(producer).cluster.readyConnection(internals(producer).cluster.leader(topic, 0))!.connection.onThrottle((ms) => throttles.push(ms));

  const started = Date.now();
  const results = await Promise.allSettled(Array.from({ length: RECORDS - 1 }, (_, i) => producer.send({ topic, value: value(i + 1) })));
  const elapsed = Date.now() - started;
  await producer.close();
  expect(results.filter((r) => r.status === 'rejected')).toEqual([]);

  const bytes = (RECORDS - 1) * RECORD_BYTES;
  const rate = bytes / (elapsed / 1000);
  const throttled = throttles.reduce((a, b) => a + b, 0);
  console.log(`quota ${QUOTA} B/s: ${bytes} bytes in ${elapsed} ms (${Math.round(rate)} B/s); ${throttles.length} throttled answers, ${throttled} ms of throttle in all`);
  expect(throttles.length).toBeGreaterThan(0);
  // The producer's metrics heard the same throttle times (Java's produce-throttle-time-avg/-max).
  const metrics = producer.metrics().producer;
  expect(metrics['produce-throttle-time-max']).toBe(Math.max(...throttles));
  expect(metrics['produce-throttle-time-avg']).toBeGreaterThan(0);
  expect(metrics['record-send-total']).toBe(RECORDS);
  // The broker measures a client's rate over at least 10 one-second windows (quota.window.num 11),
  // so the first 10 s worth of quota pass at once; the rest goes at the quota.
  const shaped = (bytes - 10 * QUOTA) / QUOTA * 1000;
  expect(elapsed).toBeGreaterThan(shaped * 0.6);
  expect(rate).toBeLessThan(QUOTA * 2);

  const read = await consumeWithConsoleConsumer(topic, { maxRecords: RECORDS });
  expect(read.map((r) => r.value!.toString().slice(0, 7))).toEqual(Array.from({ length: RECORDS }, (_, i) => `${String(i).padStart(6, '0')}:`));
}, 90_000);
