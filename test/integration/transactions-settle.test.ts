import { from, lastValueFrom, toArray } from 'rxjs';
import { KafkaError } from 'kafkarx';
import { consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { producersFor } from './support.ts';

const producer = producersFor('kafkarx-txn-settle-it');
const errorOf = (o: Promise<unknown>) => o.then(() => { throw new Error('expected an error'); }, (e: Error) => e);

test('a 20,000-record transaction with one record over the topic\'s max.message.bytes settles: it aborts, and the next transaction commits', async () => {
  const topic = uniqueTopic('txn-oversized');
  // Room for a full default batch (16 KiB), not for the 60 KB record.
  await createTopic(topic, { partitions: 3, configs: { 'max.message.bytes': 50_000 } });
  const p = producer({ transactionalId: uniqueTopic('tx-oversized') });
  const records = Array.from({ length: 20_000 }, (_, i) => ({ topic, key: `k${i % 97}`, value: i === 7_000 ? 'x'.repeat(60_000) : `v${i}` }));
  const started = Date.now();
  const error = await errorOf(lastValueFrom(p.transaction((tx) => from(records).pipe(tx.send()))));
  const elapsed = Date.now() - started;
  expect(error).toBeInstanceOf(KafkaError);
  expect((error as KafkaError).code).toBe(10); // MESSAGE_TOO_LARGE
  // Well before deliveryTimeoutMs (120 s): nothing waits for a timer to notice.
  expect(elapsed).toBeLessThan(30_000);

  const after = await lastValueFrom(p.transaction((tx) => from([{ topic, key: 'k1', value: 'after' }]).pipe(tx.send())).pipe(toArray()));
  expect(after).toHaveLength(1);
  const seen = await consumeWithConsoleConsumer(topic, { maxRecords: 1, isolationLevel: 'read_committed', timeoutMs: 20_000 });
  expect(seen.map((r) => r.value!.toString())).toEqual(['after']);
}, 90_000);
