// OpenTelemetry through the SDK's in-memory exporter; @opentelemetry/api and the SDK are dev
// dependencies here (the api is an optional peer of kafkarx).
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { from, lastValueFrom, map, toArray } from 'rxjs';
import { ConfigError, createProducer } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';

jest.setTimeout(120_000);

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();

beforeAll(() => {
  otel.trace.setGlobalTracerProvider(provider);
  otel.context.setGlobalContextManager(contextManager);
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

afterAll(async () => {
  await provider.shutdown();
  otel.trace.disable();
  otel.context.disable();
  otel.propagation.disable();
});

beforeEach(() => exporter.reset());

const brokers = () => bootstrap().split(',');

test('one PRODUCER span per batch with the messaging semantic conventions: system, destination, partition, offset, message count', async () => {
  const topic = uniqueTopic('traced');
  await createTopic(topic, { partitions: 2 });
  // @opentelemetry/api loaded by kafkarx itself, from the app's node_modules.
  const producer = createProducer({ brokers: brokers(), clientId: 'traced', logger: null, tracing: true, lingerMs: 50 });
  try {
    const records = Array.from({ length: 40 }, (_, i) => ({ topic, partition: i % 2, value: `v${i}` }));
    const results = await lastValueFrom(from(records).pipe(toKafka(producer), toArray()));
    expect(results).toHaveLength(40);
    const spans = exporter.getFinishedSpans().filter((s) => s.name === `send ${topic}`);
    // Each partition's 20 records fit one batch.
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.kind).toBe(otel.SpanKind.PRODUCER);
      expect(span.status.code).toBe(otel.SpanStatusCode.UNSET);
      expect(span.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic,
        'messaging.batch.message_count': 20,
        'messaging.kafka.offset': 0,
        'messaging.client.id': 'traced',
      });
    }
    expect(spans.map((s) => s.attributes['messaging.destination.partition.id']).sort()).toEqual(['0', '1']);
    // The first record of each partition's batch: its offset is what the results say.
    const firstOffsets = results.filter((r) => r.offset === 0);
    expect(firstOffsets).toHaveLength(2);
  } finally {
    await producer.close();
  }
});

test('a batch that fails for good ends its span with status ERROR and error.type', async () => {
  const topic = uniqueTopic('traced-fail');
  await createTopic(topic, { partitions: 1, configs: { 'max.message.bytes': 200 } });
  const producer = createProducer({ brokers: brokers(), logger: null, tracing: { api: otel }, lingerMs: 0 });
  try {
    await expect(producer.send({ topic, value: 'x'.repeat(500) })).rejects.toThrow(/too large/);
  } finally {
    await producer.close();
  }
  const [span] = exporter.getFinishedSpans().filter((s) => s.name === `send ${topic}`);
  expect(span.status.code).toBe(otel.SpanStatusCode.ERROR);
  expect(span.attributes['error.type']).toBe('MESSAGE_TOO_LARGE');
  expect(span.attributes['messaging.kafka.offset']).toBeUndefined();
});

test('tracing settings are checked', () => {
  expect(() => createProducer({ brokers: brokers(), tracing: { propagate: 'yes' as never } })).toThrow(new ConfigError('tracing.propagate: expected true or false, got string'));
  expect(() => createProducer({ brokers: brokers(), tracing: { api: {} as never } })).toThrow(new ConfigError('tracing.api: expected the @opentelemetry/api module'));
  expect(() => createProducer({ brokers: brokers(), tracing: { sampler: 1 } as never })).toThrow(/tracing.sampler: not a tracing setting/);
});

test('with propagate, each record carries traceparent from a create span under the active span, the batch span links to them, and ConsoleConsumer reads the header', async () => {
  const topic = uniqueTopic('traced-propagate');
  await createTopic(topic, { partitions: 1 });
  const producer = createProducer({ brokers: brokers(), logger: null, tracing: { propagate: true }, lingerMs: 50 });
  const parent = otel.trace.getTracer('test').startSpan('handle request');
  try {
    await otel.context.with(otel.trace.setSpan(otel.context.active(), parent), async () => {
      const sent = [0, 1].map((i) => producer.send({ topic, value: `send ${i}`, headers: { app: 'shop' } }));
      // Records entering toKafka() in the same context.
      await lastValueFrom(from([2, 3]).pipe(map((i) => ({ topic, value: `stream ${i}`, headers: { app: 'shop' } })), toKafka(producer), toArray()));
      await Promise.all(sent);
    });
  } finally {
    parent.end();
    await producer.close();
  }
  const spans = exporter.getFinishedSpans();
  const creates = spans.filter((s) => s.name === `create ${topic}`);
  expect(creates).toHaveLength(4);
  for (const c of creates) {
    expect(c.kind).toBe(otel.SpanKind.PRODUCER);
    expect(c.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(c.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(c.attributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.operation.type': 'create', 'messaging.destination.name': topic });
  }
  const sends = spans.filter((s) => s.name === `send ${topic}`);
  const linked = sends.flatMap((s) => s.links.map((l) => l.context.spanId)).sort();
  expect(linked).toEqual(creates.map((c) => c.spanContext().spanId).sort());
  expect(sends.reduce((n, s) => n + (s.attributes['messaging.batch.message_count'] as number), 0)).toBe(4);
  // What a consumer sees: the trace context in the record's headers, next to the app's own.
  const consumed = await consumeWithConsoleConsumer(topic, { maxRecords: 4 });
  expect(consumed).toHaveLength(4);
  for (const r of consumed) {
    const headers = new Map(r.headers.map(([k, v]) => [k, v?.toString()]));
    expect(headers.get('app')).toBe('shop');
    const [version, traceId, spanId, flags] = headers.get('traceparent')!.split('-');
    expect([version, flags]).toEqual(['00', '01']);
    expect(traceId).toBe(parent.spanContext().traceId);
    expect(creates.map((c) => c.spanContext().spanId)).toContain(spanId);
  }
});

test('without propagate, records get no trace headers and no create spans', async () => {
  const topic = uniqueTopic('traced-no-propagate');
  const producer = createProducer({ brokers: brokers(), logger: null, tracing: true });
  const parent = otel.trace.getTracer('test').startSpan('handle request');
  try {
    await otel.context.with(otel.trace.setSpan(otel.context.active(), parent), () => producer.send({ topic, value: 'v' }));
  } finally {
    parent.end();
    await producer.close();
  }
  expect(exporter.getFinishedSpans().filter((s) => s.name === `create ${topic}`)).toHaveLength(0);
  const [record] = await consumeWithConsoleConsumer(topic, { maxRecords: 1 });
  expect(record.headers).toEqual([]);
});
