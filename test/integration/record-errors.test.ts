import { randomBytes } from 'node:crypto';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { RecordResult } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { producersFor } from './support.ts';

const producer = producersFor('kafkarx-record-errors-it');
const failures = (results: RecordResult[]) => results.flatMap((r, i) => (r.ok ? [] : [{ i, error: r.error }]));

for (const compression of ['none', 'gzip'] as const) {
  test(`a batch refused as MESSAGE_TOO_LARGE is split and retried, so only the record too large on its own fails (idempotent, ${compression})`, async () => {
    const topic = uniqueTopic('too-large');
    await createTopic(topic, { partitions: 1, configs: { 'max.message.bytes': 3000 } });
    // A long linger puts all 41 records in one batch of about 12 KB, four times the topic's limit.
    const p = producer({ lingerMs: 200, compression });
    // Random bytes, so compression cannot bring the large record under the limit.
    const records = Array.from({ length: 41 }, (_, i) => ({ topic, key: `k${i}`, value: i === 17 ? randomBytes(5000) : `${i}:${randomBytes(100).toString('hex')}` }));
    const results = await lastValueFrom(from(records).pipe(toKafka(p, { errorMode: 'results' }), toArray()));
    expect(failures(results).map((f) => f.i)).toEqual([17]);
    const { error } = failures(results)[0];
    expect(error.message).toContain(`${topic}-0`);
    expect(error.message).toContain('max.message.bytes');
    expect(error.message).toContain('value 5000 bytes');
    // The 40 others were written once each, in order, as a reader sees them.
    const seen = await consumeWithConsoleConsumer(topic, { maxRecords: 40, timeoutMs: 20_000 });
    expect(seen.map((r) => r.value!.toString().split(':')[0])).toEqual(records.map((_, i) => String(i)).filter((i) => i !== '17'));
    expect(seen.map((r) => r.offset)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    // The producer goes on (its sequences are consistent).
    const more = await lastValueFrom(from([{ topic, value: 'after' }]).pipe(toKafka(p), toArray()));
    expect(more[0].offset).toBe(40);
  }, 60_000);
}

test('a batch refused for one record\'s timestamp names that record; its batch-mates fail with an error saying why', async () => {
  const topic = uniqueTopic('bad-timestamp');
  await createTopic(topic, { partitions: 1, configs: { 'message.timestamp.before.max.ms': 3_600_000 } });
  const p = producer({ lingerMs: 200 });
  const now = Date.now();
  const records = Array.from({ length: 6 }, (_, i) => ({ topic, value: `v${i}`, timestamp: i === 3 ? now - 2 * 86_400_000 : now }));
  const results = await lastValueFrom(from(records).pipe(toKafka(p, { errorMode: 'results' }), toArray()));
  const failed = failures(results);
  expect(failed).toHaveLength(6);
  const culprit = failed[3].error;
  expect(culprit).toMatchObject({ name: 'INVALID_TIMESTAMP' });
  expect(culprit.message).toContain('record 3 of its batch was refused');
  for (const mate of [0, 1, 2, 4, 5].map((i) => failed[i].error)) {
    expect(mate).toMatchObject({ name: 'INVALID_TIMESTAMP' });
    expect(mate.message).toContain('was not refused itself');
    expect(mate.cause).toBe(culprit);
  }
}, 60_000);
