import diagnostics from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import { from, lastValueFrom, take, toArray } from 'rxjs';
import { AuthenticationError, createProducer, type LogFields, type Logger, type ProducerConfig } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { createTopic, endOffsets, secureBroker, uniqueTopic } from '../broker/reference.ts';
import { secrets } from './security-support.ts';
import { producersFor } from './support.ts';

jest.setTimeout(120_000);

const producer = producersFor('observability-test');

/** Every level, rendered as a logger would write it (JSON of the fields and util.inspect). */
function everything(): Logger & { lines: Array<{ level: string; message: string; fields: LogFields }>; text(): string } {
  const lines: Array<{ level: string; message: string; fields: LogFields }> = [];
  const at = (level: string) => (message: string, fields: LogFields) => void lines.push({ level, message, fields });
  return {
    lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
    text: () => lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields)} ${inspect(l.fields, { depth: 10 })}`).join('\n'),
  };
}

test('record-send-total equals the records sent, per producer and per topic; node, request and buffer metrics describe the traffic', async () => {
  const a = uniqueTopic('metrics-a');
  const b = uniqueTopic('metrics-b');
  await createTopic(a, { partitions: 3 });
  await createTopic(b, { partitions: 1 });
  const p = producer({ logger: null, compression: 'gzip', lingerMs: 20 });
  const before = p.metrics();
  expect(before.producer['record-send-total']).toBe(0);
  expect(before.producer['buffer-available-bytes']).toBe(before.producer['buffer-total-bytes']);
  const records = Array.from({ length: 1500 }, (_, i) => ({ topic: i % 3 === 0 ? b : a, key: `k${i}`, value: `value ${i} `.repeat(10) }));
  const results = await lastValueFrom(from(records).pipe(toKafka(p), toArray()));
  expect(results).toHaveLength(1500);
  const m = p.metrics();
  // As Java, a batch retried (a fresh topic's leader may still be moving) is counted again.
  expect(m.producer['record-send-total']).toBe(1500 + m.producer['record-retry-total']);
  expect(m.topics[a]['record-send-total']).toBe(1000 + m.topics[a]['record-retry-total']);
  expect(m.topics[b]['record-send-total']).toBe(500 + m.topics[b]['record-retry-total']);
  expect(m.producer['record-retry-total']).toBe(m.topics[a]['record-retry-total'] + m.topics[b]['record-retry-total']);
  // What the broker holds agrees.
  const ends = await endOffsets(a);
  expect([...ends.values()].reduce((x, y) => x + y, 0)).toBe(1000);
  expect(m.producer['record-error-total']).toBe(0);
  expect(m.producer['record-send-rate']).toBeGreaterThan(0);
  expect(m.producer['records-per-request-avg']).toBeGreaterThan(1);
  expect(m.producer['batch-size-avg']).toBeGreaterThan(0);
  expect(m.producer['batch-size-max']).toBeGreaterThanOrEqual(m.producer['batch-size-avg']);
  expect(m.producer['record-size-max']).toBeGreaterThanOrEqual(m.producer['record-size-avg']);
  expect(m.producer['record-size-avg']).toBeGreaterThan(100);
  // Repetitive values compress well with gzip.
  expect(m.producer['compression-rate-avg']).toBeLessThan(0.5);
  expect(m.topics[a]['compression-rate']).toBeLessThan(0.5);
  expect(m.producer['request-latency-avg']).toBeGreaterThan(0);
  expect(m.producer['request-latency-max']).toBeGreaterThanOrEqual(m.producer['request-latency-avg']);
  expect(m.producer['request-total']).toBeGreaterThan(2);
  expect(m.producer['outgoing-byte-total']).toBeGreaterThan(m.topics[a]['byte-total'] + m.topics[b]['byte-total']);
  // A metadata refresh may be on its way.
  expect(m.producer['response-total']).toBeGreaterThan(0);
  expect(m.producer['response-total']).toBeLessThanOrEqual(m.producer['request-total']);
  expect(m.producer['connection-count']).toBeGreaterThanOrEqual(1);
  expect(m.producer['buffer-available-bytes']).toBe(m.producer['buffer-total-bytes']);
  expect(m.producer['waiting-records']).toBe(0);
  const nodes = Object.keys(m.nodes);
  expect(nodes.some((n) => /^node-\d+$/.test(n))).toBe(true);
  const node = m.nodes[nodes.find((n) => n !== 'node--1')!];
  expect(node['request-total']).toBeGreaterThan(0);
  expect(node['request-latency-avg']).toBeGreaterThan(0);
});

test('metrics$ emits snapshots at its interval and completes when the producer closes, leaving no connection counted', async () => {
  const topic = uniqueTopic('metrics-stream');
  const p = createProducer({ brokers: [process.env.KAFKA_BROKERS!.split(',')[0]], logger: null });
  const firstTwo = lastValueFrom(p.metrics$(30).pipe(take(2), toArray()));
  await p.send({ topic, value: 'one' });
  const snapshots = await firstTwo;
  expect(snapshots).toHaveLength(2);
  expect(snapshots[1].timestamp).toBeGreaterThan(snapshots[0].timestamp);
  const all: number[] = [];
  const done = new Promise<void>((resolve) => p.metrics$(20).subscribe({ next: (s) => all.push(s.producer['record-send-total'] - s.producer['record-retry-total']), complete: resolve }));
  await new Promise((r) => setTimeout(r, 100));
  await p.close();
  await done;
  expect(all.at(-1)).toBe(1);
  expect(p.metrics().producer['connection-count']).toBe(0);
  expect(() => p.metrics$(0)).toThrow(RangeError);
});

describe('no credential in any log line, at any level', () => {
  const s = () => secureBroker();
  const WRONG = 'Wr0ng-Passw0rd-that-must-not-leak';
  const cases: Array<{ name: string; config: () => Partial<ProducerConfig>; fails: boolean }> = [
    { name: 'SCRAM-SHA-512, wrong password', config: () => ({ brokers: [s().listeners.saslPlaintext], sasl: { mechanism: 'scram-sha-512', username: s().users.alice.username, password: WRONG } }), fails: true },
    { name: 'PLAIN, wrong password', config: () => ({ brokers: [s().listeners.saslPlaintext], sasl: { mechanism: 'plain', username: s().users.alice.username, password: WRONG } }), fails: true },
    { name: 'SCRAM-SHA-256, right password, records sent', config: () => ({ brokers: [s().listeners.saslPlaintext], sasl: { mechanism: 'scram-sha-256', ...s().users.alice } }), fails: false },
    { name: 'PLAIN, right password, records sent', config: () => ({ brokers: [s().listeners.saslPlaintext], sasl: { mechanism: 'plain', ...s().users.admin } }), fails: false },
  ];
  test.each(cases)('$name', async ({ config, fails }) => {
    const logger = everything();
    const p = createProducer({ ...config(), clientId: 'log-secrets', logger, maxBlockMs: 10_000 } as ProducerConfig);
    try {
      const sent = Promise.all(Array.from({ length: 20 }, (_, i) => p.send({ topic: uniqueTopic('log-secrets'), value: `v${i}` })));
      if (fails) await expect(sent).rejects.toBeInstanceOf(AuthenticationError);
      else await sent;
    } finally {
      await p.close();
    }
    const text = logger.text();
    expect(logger.lines.length).toBeGreaterThan(0);
    if (fails) expect(logger.lines.some((l) => l.level === 'error' && l.fields.error === 'AuthenticationError')).toBe(true);
    else expect(logger.lines.some((l) => l.message.startsWith('connected to broker'))).toBe(true);
    for (const secret of secrets([WRONG])) expect(text).not.toContain(secret);
  });
});

test('diagnostics channels: kafkarx:connection, kafkarx:batch and the kafkarx:request tracing channel see the traffic of a producer', async () => {
  const topic = uniqueTopic('channels');
  const seen: Record<string, Array<Record<string, unknown>>> = { connection: [], batch: [], start: [], asyncEnd: [] };
  const on = (key: string) => (m: unknown) => {
    if ((m as { clientId?: string }).clientId === 'channels-test') seen[key].push(m as Record<string, unknown>);
  };
  const connection = on('connection');
  const batch = on('batch');
  const ignore = () => undefined;
  const tracing = { start: on('start'), end: ignore, asyncStart: ignore, asyncEnd: on('asyncEnd'), error: ignore };
  diagnostics.subscribe('kafkarx:connection', connection);
  diagnostics.subscribe('kafkarx:batch', batch);
  diagnostics.tracingChannel('kafkarx:request').subscribe(tracing);
  try {
    const p = createProducer({ brokers: process.env.KAFKA_BROKERS!.split(','), clientId: 'channels-test', logger: null, lingerMs: 20 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => p.send({ topic, value: `v${i}` })));
    await p.close();
  } finally {
    diagnostics.unsubscribe('kafkarx:connection', connection);
    diagnostics.unsubscribe('kafkarx:batch', batch);
    diagnostics.tracingChannel('kafkarx:request').unsubscribe(tracing);
  }
  expect(seen.connection.filter((m) => m.event === 'connect').length).toBeGreaterThanOrEqual(1);
  expect(seen.connection.filter((m) => m.event === 'close').length).toBe(seen.connection.filter((m) => m.event === 'connect').length);
  expect(seen.batch.reduce((n, m) => n + (m.recordCount as number), 0)).toBe(10);
  expect(seen.batch.every((m) => m.topic === topic && m.error === null && (m.baseOffset as number) >= 0)).toBe(true);
  expect(seen.start.length).toBeGreaterThanOrEqual(1);
  expect(seen.start.reduce((n, m) => n + (m.records as number), 0)).toBe(10);
  expect(seen.asyncEnd).toHaveLength(seen.start.length);
  expect(seen.asyncEnd.every((m) => m.api === 'Produce' && (m.nodeId as number) >= 0 && m.result !== undefined)).toBe(true);
});
