// The lifecycle matrix: each start-up stage × each way a stream can end, against the real broker
// behind a proxy that stops the producer at exactly that stage (test/support/kafka-proxy-process.ts). For every
// case: each accepted record is acknowledged or reported failed, never both, never twice; the
// stream ends; close() resolves and leaves no socket, timer or unsettled promise; and at the end
// Kafka's ConsoleConsumer finds every acknowledged record in the log exactly once.
import { ReplaySubject, type Subscription } from 'rxjs';
import { createProducer, isFatal, ProducerClosedError, type Producer, type RecordMetadata, type RecordResult } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { leakCheck } from '../support/leaks.ts';
import { freePort, startProxyProcess, type ProxyProcess } from '../support/kafka-proxy-process.ts';

const API_VERSIONS = 18;
const INIT_PRODUCER_ID = 22;
const PRODUCE = 0;
const CLUSTER_AUTHORIZATION_FAILED = 31;
const RECORDS = 5;

interface Stage {
  name: string;
  /** Hold the producer at its first request of this API; absent: no hold. */
  hold?: number;
  /** The proxy accepts connections only once the ending has begun (the producer keeps retrying). */
  unreachable?: boolean;
  transactional?: boolean;
}

const STAGES: Stage[] = [
  { name: 'before bootstrap' },
  { name: 'during connect', unreachable: true },
  { name: 'during ApiVersions', hold: API_VERSIONS },
  { name: 'during InitProducerId', hold: INIT_PRODUCER_ID },
  { name: 'during the first Produce', hold: PRODUCE },
  { name: 'during a transaction', hold: PRODUCE, transactional: true },
];
const ENDINGS = ['close', 'unsubscribe', 'source error', 'fatal broker error'] as const;
type Ending = (typeof ENDINGS)[number];

let topic: string;
let txnTopic: string;
/** Values acknowledged (non-transactional), and every value sent, over all cases. */
const acknowledged = new Set<string>();
const timings: string[] = [];

beforeAll(async () => {
  topic = uniqueTopic('matrix');
  txnTopic = uniqueTopic('matrix-txn');
  await Promise.all([createTopic(topic, { partitions: 1 }), createTopic(txnTopic, { partitions: 1 })]);
}, 60_000);

afterAll(() => {
  process.stderr.write(`lifecycle matrix timings:\n${timings.join('\n')}\n`);
});

const within = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([
  p,
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms).unref()),
]);

describe.each(STAGES)('$name', (stage) => {
  test.each(ENDINGS)('× %s', async (ending: Ending) => {
    const started = Date.now();
    const proxy: ProxyProcess = await startProxyProcess(bootstrap().split(',')[0], await freePort(), { listening: !stage.unreachable });
    try {
      const leaks = leakCheck();
      const transactionalId = uniqueTopic('matrix-txn-id');
      const producer: Producer = createProducer({
        brokers: [`127.0.0.1:${proxy.port}`],
        clientId: 'kafkarx-matrix',
        maxBlockMs: 10_000,
        reconnectBackoffMs: 20,
        reconnectBackoffMaxMs: 200,
        retryBackoffMs: 20,
        ...(stage.transactional ? { transactionalId } : {}),
      });
      if (stage.transactional) await leaks.track(producer.ready());
      if (stage.hold !== undefined) await proxy.hold(stage.hold);

      const prefix = `${stage.name}|${ending}|`;
      const values = Array.from({ length: RECORDS }, (_, i) => `${prefix}${i}`);
      // Replayed: a transaction scope subscribes to its body only once it has begun.
      const source = new ReplaySubject<{ topic: string; value: string; passthrough: string }>();
      const outcomes = new Map<string, string[]>();
      const note = (value: string, outcome: string) => outcomes.set(value, [...(outcomes.get(value) ?? []), outcome]);
      let streamEnd: unknown = 'open';
      let subscription: Subscription;
      const ended = new Promise<void>((resolve) => {
        const finish = (how: unknown) => {
          streamEnd = how;
          resolve();
        };
        if (stage.transactional) {
          subscription = producer.transaction((tx) => source.pipe(tx.send())).subscribe({
            next: (m: RecordMetadata) => note(m.passthrough as string, 'ok'),
            error: finish,
            complete: () => finish('completed'),
          });
        } else {
          subscription = source.pipe(toKafka(producer, { errorMode: 'results' })).subscribe({
            next: (r: RecordResult) => {
              if (r.ok) note(r.metadata.passthrough as string, 'ok');
              else note((r.record as { passthrough: string }).passthrough, `failed: ${r.error.name}`);
            },
            error: finish,
            complete: () => finish('completed'),
          });
        }
      });
      const t = stage.transactional ? txnTopic : topic;
      for (const value of values) source.next({ topic: t, value, passthrough: value });

      // Stopped at the stage.
      if (stage.hold !== undefined) await within(proxy.held(stage.hold), 10_000, `holding at api ${stage.hold}`);
      else if (stage.unreachable) await new Promise((r) => setTimeout(r, 200));

      const proceed = () => (stage.unreachable ? proxy.listen() : stage.hold !== undefined ? proxy.release() : Promise.resolve());
      let closing: Promise<void> | undefined;
      switch (ending) {
        case 'close':
          closing = leaks.track(producer.close());
          await proceed();
          break;
        case 'unsubscribe':
          subscription!.unsubscribe();
          await proceed();
          break;
        case 'source error':
          source.error(new Error('the source broke'));
          await proceed();
          break;
        case 'fatal broker error':
          // The first answer that can carry one: InitProducerId, or the held Produce.
          await proxy.fail(stage.hold === PRODUCE ? PRODUCE : INIT_PRODUCER_ID, CLUSTER_AUTHORIZATION_FAILED);
          if (stage.unreachable) await proxy.listen();
          break;
      }
      if (ending !== 'unsubscribe') await within(ended, 20_000, 'the end of the stream');
      await within(closing ?? leaks.track(producer.close()), 20_000, 'close()');
      await leaks.expectNone();

      // Exactly once: no record answered twice, none both acknowledged and failed.
      for (const [value, list] of outcomes) expect([value, list.length]).toEqual([value, 1]);
      const ok = values.filter((v) => outcomes.get(v)?.[0] === 'ok');
      if (ending === 'unsubscribe') {
        expect(outcomes.size).toBe(0);
      } else if (stage.transactional) {
        // close, a source error and a fatal error all abort: the scope fails, nothing is emitted.
        expect(streamEnd).toBeInstanceOf(Error);
        expect(ok).toEqual([]);
      } else if (ending === 'fatal broker error') {
        expect(isFatal(streamEnd)).toBe(true);
        expect(ok).toEqual([]);
      } else {
        // close and a source error: everything accepted is delivered first.
        expect(ok).toEqual(values);
        expect(streamEnd).toEqual(ending === 'close' ? new ProducerClosedError() : new Error('the source broke'));
      }
      if (!stage.transactional) for (const v of ok) acknowledged.add(v);
      if (stage.transactional && ending === 'fatal broker error') {
        // The broker wrote the batch we were told failed, and a fatal producer cannot abort: its
        // successor with the same transactionalId does, as in Java, when it initializes.
        const successor = createProducer({ brokers: bootstrap().split(','), transactionalId });
        await successor.ready();
        await successor.close();
      }
      const failed = [...outcomes.values()].filter((l) => l[0] !== 'ok').length;
      const end = streamEnd instanceof Error ? streamEnd.name : String(streamEnd);
      timings.push(`| ${stage.name} | ${ending} | ${ok.length} acknowledged, ${failed} failed one by one, stream: ${end} | ${Date.now() - started} ms |`);
    } finally {
      await proxy.stop();
    }
  }, 60_000);
});

test('every acknowledged record is in the log exactly once; no aborted transaction is readable', async () => {
  expect(acknowledged.size).toBeGreaterThan(0);
  const producer = createProducer({ brokers: bootstrap().split(','), clientId: 'kafkarx-matrix' });
  // A marker written last: reading up to it reads everything the cases wrote.
  const marker = await producer.send({ topic, value: 'marker' });
  await producer.send({ topic: txnTopic, value: 'marker' });
  await producer.close();
  const [all, committed] = await Promise.all([
    consumeWithConsoleConsumer(topic, { maxRecords: marker.offset + 1, timeoutMs: 10_000 }),
    consumeWithConsoleConsumer(txnTopic, { maxRecords: 1, isolationLevel: 'read_committed', timeoutMs: 10_000 }),
  ]);
  const inLog = all.map((c) => c.value!.toString());
  expect(inLog.length).toBe(new Set(inLog).size);
  for (const v of acknowledged) expect(inLog).toContain(v);
  expect(committed.map((c) => c.value!.toString())).toEqual(['marker']);
}, 60_000);
