// OpenTelemetry spans in virtual time, through the SDK's in-memory exporter: with a scheduler, a
// batch's span starts at the batch's creation and ends at its acknowledgement by that scheduler's
// clock, so its duration is exact (without one, real time as before: test/integration/tracing.test.ts).
import * as otel from '@opentelemetry/api';
import { hrTimeDuration, hrTimeToMilliseconds } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { TestScheduler } from 'rxjs/testing';
import { createProducer } from 'kafkarx';
import { FakeKafka, runMarbles } from 'kafkarx/testing';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => otel.trace.setGlobalTracerProvider(provider));
afterAll(async () => {
  await provider.shutdown();
  otel.trace.disable();
});

test('a batch\'s span lasts exactly from its creation to its acknowledgement in virtual time: linger, a retry\'s backoff and two round trips', async () => {
  const testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const fake = new FakeKafka({ topics: { t: 1 }, scheduler: testScheduler, latencyMs: 5 });
  const producer = createProducer({ brokers: fake.bootstrap, transport: fake.transport, scheduler: testScheduler, tracing: { api: otel }, lingerMs: 50, retryBackoffMs: 100 });
  try {
    fake.failProduce('t', 0, 19 /* NOT_ENOUGH_REPLICAS */);
    await runMarbles(testScheduler, async () => {
      await producer.ready();
      await producer.send({ topic: 't', value: 'v' });
    });
  } finally {
    await producer.close();
    fake.close();
  }
  const spans = exporter.getFinishedSpans().filter((s) => s.name === 'send t');
  expect(spans).toHaveLength(1);
  // From the batch's creation (once the topic's metadata came): linger 50, refused 5 ms later,
  // 100 ms of backoff, 5 ms to the answer.
  expect(hrTimeToMilliseconds(hrTimeDuration(spans[0].startTime, spans[0].endTime))).toBe(160);
});
