// Authorization errors fail only the records they concern: a user may write one topic and not
// another (StandardAuthorizer ACLs, test/broker/security.ts). The records of the denied topic
// fail with TOPIC_AUTHORIZATION_FAILED; every other record is written and reported, so the set of
// records in the log equals the set reported acknowledged.
import { from, lastValueFrom, tap, toArray } from 'rxjs';
import { createProducer, KafkaError, type Producer, type RecordResult } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { consumeWithConsoleConsumer, endOffsets, secureBroker } from '../broker/reference.ts';

const s = secureBroker();
const N = 20_000;
const DENIED_AT = 5_000;
let seq = 0;
const topics = () => {
  const id = `${process.pid}-${Date.now().toString(36)}-${seq++}`;
  return { allowed: `${s.limited.allowedPrefix}${id}`, denied: `${s.limited.deniedPrefix}${id}` };
};

function limitedProducer(): Producer {
  return createProducer({
    brokers: [s.listeners.saslPlaintext], clientId: 'kafkarx-authz', lingerMs: 2, batchBytes: 4096,
    sasl: { mechanism: 'scram-sha-512', username: s.limited.username, password: s.limited.password },
  });
}

function records(t: { allowed: string; denied: string }) {
  return Array.from({ length: N + 1 }, (_, i) => i === DENIED_AT ? { topic: t.denied, value: 'denied', passthrough: -1 } : { topic: t.allowed, value: `a${i}`, passthrough: i });
}

/** Every value in the topic's log, read by Kafka's ConsoleConsumer up to the end offset. */
async function logValues(topic: string): Promise<string[]> {
  const end = (await endOffsets(topic)).get(0) ?? 0;
  if (end === 0) return [];
  return (await consumeWithConsoleConsumer(topic, { maxRecords: end, timeoutMs: 60_000 })).map((c) => c.value!.toString());
}

test('default error mode: the stream ends with TOPIC_AUTHORIZATION_FAILED after reporting every record that was written', async () => {
  const t = topics();
  const producer = limitedProducer();
  const acknowledged: string[] = [];
  let error: unknown;
  try {
    await lastValueFrom(from(records(t)).pipe(toKafka(producer), tap((m) => acknowledged.push(`a${m.passthrough}`)), toArray()));
  } catch (e) {
    error = e;
  } finally {
    await producer.close();
  }
  expect(error).toBeInstanceOf(KafkaError);
  expect((error as KafkaError).name).toBe('TOPIC_AUTHORIZATION_FAILED');
  expect((error as KafkaError).topic).toBe(t.denied);
  // Some records went before the denied one failed; which ones is up to timing.
  expect(acknowledged.length).toBeGreaterThan(0);
  expect(new Set(acknowledged).size).toBe(acknowledged.length);
  const inLog = await logValues(t.allowed);
  expect(new Set(inLog).size).toBe(inLog.length);
  expect([...inLog].sort()).toEqual([...acknowledged].sort());
}, 180_000);

test("'results' mode: only the denied topic's record fails; all 20,000 others are written and reported", async () => {
  const t = topics();
  const producer = limitedProducer();
  let results: Array<RecordResult<number>>;
  try {
    results = await lastValueFrom(from(records(t)).pipe(toKafka(producer, { errorMode: 'results' }), toArray())) as Array<RecordResult<number>>;
  } finally {
    await producer.close();
  }
  const failed = results.filter((r) => !r.ok);
  expect(failed).toHaveLength(1);
  const f = failed[0] as Extract<RecordResult<number>, { ok: false }>;
  expect(f.record.topic).toBe(t.denied);
  expect((f.error as KafkaError).name).toBe('TOPIC_AUTHORIZATION_FAILED');
  const ok = results.filter((r): r is Extract<RecordResult<number>, { ok: true }> => r.ok).map((r) => `a${r.metadata.passthrough}`);
  expect(ok).toHaveLength(N);
  const inLog = await logValues(t.allowed);
  expect(inLog).toHaveLength(N);
  expect([...inLog].sort()).toEqual([...ok].sort());
}, 180_000);

test('a topic the user may not even describe fails its records at the metadata stage only', async () => {
  const t = topics();
  const hidden = `bob-hidden-${process.pid}-${Date.now().toString(36)}`;
  const producer = limitedProducer();
  let results: Array<RecordResult<number>>;
  try {
    const input = Array.from({ length: 2001 }, (_, i) => i === 1000 ? { topic: hidden, value: 'hidden', passthrough: -1 } : { topic: t.allowed, value: `a${i}`, passthrough: i });
    results = await lastValueFrom(from(input).pipe(toKafka(producer, { errorMode: 'results' }), toArray())) as Array<RecordResult<number>>;
  } finally {
    await producer.close();
  }
  const failed = results.filter((r) => !r.ok) as Array<Extract<RecordResult<number>, { ok: false }>>;
  expect(failed.map((f) => [f.record.topic, (f.error as KafkaError).name])).toEqual([[hidden, 'TOPIC_AUTHORIZATION_FAILED']]);
  expect(results.filter((r) => r.ok)).toHaveLength(2000);
  expect(await logValues(t.allowed)).toHaveLength(2000);
}, 120_000);
