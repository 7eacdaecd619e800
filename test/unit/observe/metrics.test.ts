import { createProducer, type LogFields } from 'kafkarx';
import { FakeKafka } from '../../../src/testing/index.ts';
import { ErrorCode } from '../../../src/protocol/errors.ts';

test('a retried batch counts its records again as sent and once as retried; a refused batch counts as errors; per topic as well', async () => {
  const fake = new FakeKafka({ topics: { retried: 1, refused: 1 } });
  const lines: Array<{ level: string; message: string; fields: LogFields }> = [];
  const at = (level: string) => (message: string, fields: LogFields) => void lines.push({ level, message, fields });
  const producer = createProducer({
    brokers: fake.bootstrap, transport: fake.transport, lingerMs: 10, retryBackoffMs: 1, retryBackoffMaxMs: 5,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  });
  try {
    fake.failProduce('retried', 0, ErrorCode.NOT_LEADER_OR_FOLLOWER, 1);
    fake.failProduce('refused', 0, ErrorCode.INVALID_RECORD, 1);
    const retried = Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ topic: 'retried', value: `r${i}` })));
    const refused = Promise.allSettled(Array.from({ length: 3 }, (_, i) => producer.send({ topic: 'refused', value: `x${i}` })));
    await retried;
    expect((await refused).every((r) => r.status === 'rejected')).toBe(true);
    const m = producer.metrics();
    // As Java: each time a batch goes into a request its records count as sent.
    expect(m.producer['record-send-total']).toBe(5 + 5 + 3);
    expect(m.producer['record-retry-total']).toBe(5);
    expect(m.producer['record-error-total']).toBe(3);
    expect(m.topics.retried).toMatchObject({ 'record-send-total': 10, 'record-retry-total': 5, 'record-error-total': 0 });
    expect(m.topics.refused).toMatchObject({ 'record-send-total': 3, 'record-retry-total': 0, 'record-error-total': 3 });
    expect(m.producer['request-latency-avg']).toBeGreaterThanOrEqual(0);
    expect(m.producer['connection-count']).toBe(1);
    expect(m.nodes['node-1']['request-total']).toBeGreaterThan(0);
    // The retry at debug, with its attempt and error; the refusal at its first attempt at info.
    expect(lines).toContainEqual(expect.objectContaining({ level: 'debug', fields: expect.objectContaining({ topic: 'retried', partition: 0, attempt: 1, records: 5, error: 'NOT_LEADER_OR_FOLLOWER' }) }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', fields: expect.objectContaining({ topic: 'refused', partition: 0, attempt: 1, records: 3, error: 'INVALID_RECORD' }) }));
  } finally {
    await producer.close();
    fake.close();
  }
  expect(producer.metrics().producer['connection-count']).toBe(0);
});
