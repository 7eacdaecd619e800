import { from, lastValueFrom, toArray } from 'rxjs';
import { toKafka } from 'kafkarx/operators';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { producersFor } from './support.ts';
import { internals } from '../../src/producer/internals.ts';

const producer = producersFor('kafkarx-idempotence-it');

const uncommitted = async (topic: string, n: number) =>
  (await consumeWithConsoleConsumer(topic, { maxRecords: n, timeoutMs: 30_000 })).map((r) => r.value!.toString());

test('idempotence: a Produce answer lost with its connection is retried without a duplicate, in order', async () => {
  // The seam: once the broker's answer to a Produce request arrives, the connection is closed
  // instead of reading it. The broker has written the batch; the producer only sees a network
  // error, for that request and the ones pipelined behind it, and must send them again.
  const run = async (idempotent: boolean) => {
    const topic = uniqueTopic(idempotent ? 'idem-retry' : 'plain-retry');
    await createTopic(topic, { partitions: 1 });
    const p = producer({ idempotent, batchBytes: 1024, lingerMs: 0 });
    await lastValueFrom(from([{ topic, value: 'warm-up' }]).pipe(toKafka(p)));
    const conn = internals(p).cluster.readyConnection(internals(p).cluster.leader(topic, 0))!.connection as unknown as {
      onFrame(frame: Buffer): void;
      inFlight: Array<{ name: string }>;
      close(): Promise<void>;
    };
    const deliver = conn.onFrame.bind(conn);
    let produceAnswers = 0;
    let dropped = 0;
    conn.onFrame = (frame) => {
      if (conn.inFlight[0]?.name.startsWith('Produce') && ++produceAnswers === 3 && conn.inFlight.length > 1) {
        dropped = conn.inFlight.length;
        void conn.close();
        return;
      }
      deliver(frame);
    };
    const n = 3000;
    const metas = await lastValueFrom(from(Array.from({ length: n }, (_, i) => ({ topic, value: `v${i}` }))).pipe(toKafka(p), toArray()));
    expect(metas).toHaveLength(n);
    return { topic, dropped, metas, n };
  };

  const idem = await run(true);
  expect(idem.dropped).toBeGreaterThan(1);
  expect(idem.metas.map((m) => m.offset)).toEqual(Array.from({ length: idem.n }, (_, i) => i + 1));
  const read = await uncommitted(idem.topic, idem.n + 1);
  expect(read).toEqual(['warm-up', ...Array.from({ length: idem.n }, (_, i) => `v${i}`)]);

  // The same without idempotence writes the lost batches twice: the seam really loses answers.
  const plain = await run(false);
  expect(plain.dropped).toBeGreaterThan(1);
  const plainRead = await uncommitted(plain.topic, plain.n + 1);
  expect(new Set(plainRead).size).toBeLessThan(plain.n + 1);
}, 120_000);
