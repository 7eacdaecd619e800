// OpenTelemetry through the SDK's in-memory exporter; @opentelemetry/api and the SDK are dev
// dependencies here (the api is an optional peer of kafkarx).
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { from, lastValueFrom, toArray } from 'rxjs';
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
