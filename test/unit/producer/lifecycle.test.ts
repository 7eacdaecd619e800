// ready(), send(), toKafka() and close() against brokers that are not there or do not behave:
// every promise settles, within the configured limits, and close() leaves no socket or timer.
// The peers are real TCP servers of this file (a port nobody listens on, one that accepts and
// never answers, one that closes every connection at once): no broker is needed.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { from, lastValueFrom, toArray } from 'rxjs';
import { createProducer, InvalidRecordError, isFatal, KafkaError, ProducerClosedError, ProducerTimeoutError, SerializationError, TransactionStateError, type Producer, type ProducerConfig } from 'kafkarx';
import { serialize, toKafka } from 'kafkarx/operators';
import { leakCheck } from '../../support/leaks.ts';

jest.setTimeout(20_000);

type Peer = { port: number; close(): Promise<void> };

/**
 * A peer in a child process, so that its own sockets do not count as this process's resources
 * in the leak check. `silent`: accepts and never answers; `closer`: closes each connection at once.
 */
async function peer(behaviour: 'silent' | 'closer'): Promise<Peer> {
  const script = `
    const server = require('node:net').createServer((s) => {
      s.on('error', () => {});
      if (${JSON.stringify(behaviour)} === 'closer') s.destroy();
    });
    server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
    process.stdin.on('end', () => process.exit(0)).resume();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`peer exited with ${code}`)));
  });
  return {
    port,
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

/** A port that was free a moment ago: connecting is refused. */
async function nothingListening(): Promise<Peer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return { port, close: async () => undefined };
}

const peers: Array<[string, () => Promise<Peer>]> = [
  ['nothing listening', nothingListening],
  // Silent: the ApiVersions handshake never gets an answer (requestTimeoutMs is far away).
  ['a port that accepts and never answers', () => peer('silent')],
  ['a port that closes every connection at once', () => peer('closer')],
];

const MAX_BLOCK_MS = 1500;
const config = (port: number, extra: Partial<ProducerConfig> = {}): ProducerConfig => ({
  brokers: [`127.0.0.1:${port}`],
  maxBlockMs: MAX_BLOCK_MS,
  requestTimeoutMs: 60_000,
  connectTimeoutMs: 60_000,
  retryBackoffMs: 20,
  reconnectBackoffMs: 20,
  ...extra,
});

async function settleOf(p: Promise<unknown>): Promise<{ ok: boolean; error?: unknown; ms: number }> {
  const started = Date.now();
  try {
    await p;
    return { ok: true, ms: Date.now() - started };
  } catch (error) {
    return { ok: false, error, ms: Date.now() - started };
  }
}

describe.each(peers)('against %s', (_name, make) => {
  let target: Peer;
  beforeEach(async () => {
    target = await make();
  });
  afterEach(async () => {
    await target.close();
  });

  test('ready() of an idempotent producer fails within maxBlockMs with a TimeoutError; close() then leaves nothing', async () => {
    const leaks = leakCheck();
    const producer = createProducer(config(target.port));
    const ready = await settleOf(leaks.track(producer.ready()));
    expect(ready.ok).toBe(false);
    expect(ready.error).toBeInstanceOf(ProducerTimeoutError);
    expect((ready.error as Error).message).toMatch(/no producer id within maxBlockMs \(1500 ms\)/);
    expect(ready.ms).toBeGreaterThanOrEqual(MAX_BLOCK_MS - 200);
    expect(ready.ms).toBeLessThan(MAX_BLOCK_MS + 3000);
    await leaks.track(producer.close());
    await leaks.expectNone();
  });

  test('close() while ready() waits: ready() fails with ProducerClosedError at once, nothing is left', async () => {
    const leaks = leakCheck();
    const producer = createProducer(config(target.port));
    const ready = leaks.track(producer.ready());
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await leaks.track(producer.close());
    expect(Date.now() - started).toBeLessThan(1000);
    await leaks.expectNone();
    await expect(ready).rejects.toBeInstanceOf(ProducerClosedError);
  });

  test('a transactional producer: ready() fails within maxBlockMs; close() during InitProducerId leaves nothing', async () => {
    const leaks = leakCheck();
    const first = createProducer(config(target.port, { transactionalId: 'lifecycle-unit' }));
    const ready = await settleOf(leaks.track(first.ready()));
    expect(ready.ok).toBe(false);
    expect(ready.ms).toBeLessThan(MAX_BLOCK_MS + 3000);
    await leaks.track(first.close());

    const second = createProducer(config(target.port, { transactionalId: 'lifecycle-unit' }));
    const pending = leaks.track(second.ready());
    await new Promise((r) => setTimeout(r, 100));
    await leaks.track(second.close());
    await leaks.expectNone();
    await expect(pending).rejects.toBeInstanceOf(ProducerClosedError);
  });

  test('a send() before close(): close() waits for its record, which fails after maxBlockMs; nothing is left', async () => {
    const leaks = leakCheck();
    const producer = createProducer(config(target.port));
    const sent = settleOf(leaks.track(producer.send({ topic: 'lifecycle', value: 'v' })));
    const started = Date.now();
    await leaks.track(producer.close());
    const closedAfter = Date.now() - started;
    await leaks.expectNone();
    const result = await sent;
    expect(result.ok).toBe(false);
    expect(result.error).toBeInstanceOf(KafkaError);
    expect((result.error as Error).message).toMatch(/not present in metadata after 1500 ms/);
    expect(closedAfter).toBeGreaterThanOrEqual(MAX_BLOCK_MS - 200);
  });

  test('toKafka() and send() of a transactional producer fail with TransactionStateError; close() leaves nothing', async () => {
    const leaks = leakCheck();
    const producer = createProducer(config(target.port, { transactionalId: 'lifecycle-unit-2' }));
    await expect(leaks.track(producer.send({ topic: 't', value: 'v' }))).rejects.toBeInstanceOf(TransactionStateError);
    await expect(leaks.track(lastValueFrom(from([{ topic: 't', value: 'v' }]).pipe(toKafka(producer))))).rejects.toBeInstanceOf(TransactionStateError);
    await leaks.track(producer.close());
    await leaks.expectNone();
  });
});

describe('after close()', () => {
  let producer: Producer;
  beforeEach(async () => {
    const target = await nothingListening();
    producer = createProducer(config(target.port, { maxBlockMs: 30_000 }));
    await producer.close();
  });

  test('toKafka() fails at once with ProducerClosedError, not after maxBlockMs', async () => {
    const started = Date.now();
    const error = await lastValueFrom(from([{ topic: 't', value: 'v' }]).pipe(toKafka(producer))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProducerClosedError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('send(), ready() and flush() answer at once', async () => {
    await expect(producer.send({ topic: 't', value: 'v' })).rejects.toBeInstanceOf(ProducerClosedError);
    await expect(producer.ready()).rejects.toBeInstanceOf(ProducerClosedError);
    await expect(producer.flush()).resolves.toBeUndefined();
    await expect(producer.close()).resolves.toBeUndefined();
  });

  test('ProducerClosedError is a client-side error: no Kafka error code, not retriable, fatal', () => {
    const e = new ProducerClosedError();
    expect(e).not.toBeInstanceOf(KafkaError);
    expect([e.name, (e as { code?: unknown }).code, e.retriable, isFatal(e)]).toEqual(['ProducerClosedError', undefined, false, true]);
  });
});

describe('send() checks and serializes exactly as the serialize stage of toKafka()', () => {
  let producer: Producer;
  beforeAll(async () => {
    producer = createProducer(config((await nothingListening()).port));
  });
  afterAll(async () => {
    await producer.close();
  });

  /** The error the serialize operator gives the same record with the same serializers. */
  const operatorError = (record: unknown, serializers: { key?: (v: any, t: string) => any; value?: (v: any, t: string) => any }) => {
    let error: Error | null = null;
    from([record as never]).pipe(serialize(serializers)).subscribe((r) => (error = r.error));
    return error as Error | null;
  };

  const boom = () => {
    throw new Error('boom');
  };
  test.each<[string, unknown, { key?: (v: any, t: string) => any; value?: (v: any, t: string) => any }, new (...a: any[]) => Error]>([
    ['a throwing value serializer', { topic: 't', value: 1 }, { value: boom }, SerializationError],
    ['a throwing key serializer', { topic: 't', key: 1, value: 'v' }, { key: boom }, SerializationError],
    ['a serializer returning a string', { topic: 't', value: 'v' }, { value: (v: string) => v }, SerializationError],
    ['a serializer returning a number', { topic: 't', value: 'v' }, { value: () => 42 }, SerializationError],
    ['a number value without a serializer', { topic: 't', value: 42 }, {}, SerializationError],
    ['send(null)', null, {}, InvalidRecordError],
    ['value: undefined', { topic: 't', value: undefined }, {}, InvalidRecordError],
    ['headers as a string', { topic: 't', value: 'v', headers: 'ab' }, {}, InvalidRecordError],
    ['an illegal topic', { topic: 'a b', value: 'v' }, {}, InvalidRecordError],
  ])('%s: the same typed error and message, before any I/O', async (_what, record, serializers, type) => {
    const expected = operatorError(record, serializers);
    expect(expected).toBeInstanceOf(type);
    const started = Date.now();
    const error = await producer.send(record as never, serializers).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(500);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toBe(expected!.message);
  });
});
