// A real producer (createProducer) against a scripted TCP "broker" that misbehaves at one step of
// the producer's start: ApiVersions, Metadata, InitProducerId or Produce. Whatever it sends, the
// process must not crash, the record must fail with a typed error within the configured timeouts
// (or, when the broker behaves again, be delivered), and close() must leave nothing open.
import type { Socket } from 'node:net';
import { createProducer, KafkaError, MetadataTimeoutError, ProducerTimeoutError, type ProducerConfig } from '../../../src/index.ts';
import { Connection } from '../../../src/network/connection.ts';
import { BrokerProtocolError } from '../../../src/network/protocol-error.ts';
import { DecodeError, ErrorCode } from '../../../src/protocol/errors.ts';
import * as M from '../../../src/protocol/messages/index.ts';
import { frameOf, ScriptedBroker, type Answer, type ScriptedRequest } from './scripted-broker.ts';

const { ApiKey } = M;

const TIMEOUTS = {
  requestTimeoutMs: 300,
  maxBlockMs: 1000,
  deliveryTimeoutMs: 1000,
  lingerMs: 0,
  retryBackoffMs: 20,
  retryBackoffMaxMs: 100,
  reconnectBackoffMs: 20,
  reconnectBackoffMaxMs: 100,
} satisfies Partial<ProducerConfig>;

/** Slack for a loaded 2-core machine on top of the configured timeouts. */
const SLACK_MS = 1500;

// Every error a connection failed with, recorded on the way into the real Connection.fail, so each
// case can check *why* its connection went, not only what the user saw in the end.
const connectionErrors: Error[] = [];
const proto = Connection.prototype as unknown as { fail(e: Error): void };
const realFail = proto.fail;
proto.fail = function (this: Connection, e: Error) {
  if (!this.closed) connectionErrors.push(e);
  realFail.call(this, e);
};
afterAll(() => {
  proto.fail = realFail;
});

const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => uncaught.push(e);
let baseline: Map<string, number>;

/** Sockets, servers and timers alive in this process, by kind. */
function liveResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout') counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return counts;
}

beforeAll(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  baseline = liveResources();
});

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  expect(uncaught).toEqual([]);
  // Every producer is closed and every scripted broker stopped: nothing of theirs may be left.
  await new Promise((r) => setTimeout(r, 50));
  const leaked = [...liveResources()].filter(([kind, n]) => n > (baseline.get(kind) ?? 0));
  expect(leaked).toEqual([]);
});

const bytes = (hex: string) => Buffer.from(hex, 'hex');

/**
 * One byte every `ms` until the socket closes: a frame that completes slowly, or (endless) one
 * whose bytes never stop coming. Resolves when all is written.
 */
function dribble(socket: Socket, broker: ScriptedBroker, data: Buffer, ms: number, endless = false): Promise<void> {
  return new Promise((resolve) => {
    let i = 0;
    const next = () => {
      if (socket.destroyed) return resolve();
      if (i >= data.length) {
        if (!endless) return resolve();
        i = 4;
      }
      socket.write(data.subarray(i, i + 1));
      i++;
      broker.later(ms, next);
    };
    next();
  });
}

/** A response of another API than the one asked, with the right correlation id. */
function otherApi(r: ScriptedRequest, broker: ScriptedBroker): Buffer {
  if (r.apiKey !== ApiKey.ApiVersions) return broker.respond({ ...r, apiKey: ApiKey.ApiVersions, apiVersion: 3 });
  return frameOf(ApiKey.InitProducerId, 4, r.correlationId,
    (w) => M.InitProducerId.encodeInitProducerIdResponse(w, 4, { throttleTimeMs: 0, errorCode: 0, producerId: 1n, producerEpoch: 0 }));
}

interface Case {
  name: string;
  answer: Answer;
  /** Close the connection, then every new one right after accept. */
  refuseAfter?: boolean;
  /** What the producer's connection must have failed with. */
  connection: { type: new (...args: never[]) => Error; code: number; message: RegExp; cause?: new (...args: never[]) => Error };
}

const protocol = (message: RegExp, cause?: Case['connection']['cause']): Case['connection'] =>
  ({ type: BrokerProtocolError, code: ErrorCode.NETWORK_EXCEPTION, message, cause });
const lost = (message: RegExp): Case['connection'] => ({ type: KafkaError, code: ErrorCode.NETWORK_EXCEPTION, message });
const timedOut: Case['connection'] = { type: KafkaError, code: ErrorCode.REQUEST_TIMED_OUT, message: /got no answer within 300 ms/ };

const CASES: Case[] = [
  { name: 'a zero-length frame', answer: (s) => s.write(bytes('00000000')), connection: protocol(/response frame of 0 bytes/) },
  { name: 'a 2-byte frame', answer: (s) => s.write(bytes('00000002abcd')), connection: protocol(/response frame of 2 bytes/) },
  { name: 'a negative length', answer: (s) => s.write(bytes('fffffffe0000000000000000')), connection: protocol(/response frame of -2 bytes/) },
  { name: 'a 2 GiB length', answer: (s) => s.write(bytes('7fffffff00000000')), connection: protocol(/response frame of 2147483647 bytes/) },
  {
    name: 'a truncated frame, then close',
    answer: (s, r, b) => {
      const f = b.respond(r);
      s.end(f.subarray(0, 6));
    },
    connection: lost(/closed/),
  },
  { name: 'a wrong correlation id', answer: (s, r, b) => s.write(b.respond(r, r.correlationId + 1)), connection: protocol(/answered correlation id \d+ where the answer to/) },
  { name: 'a correlation id never sent', answer: (s, r, b) => s.write(b.respond(r, 0x7ffffff0)), connection: protocol(/answered correlation id 2147483632/) },
  { name: 'a response of another API', answer: (s, r, b) => s.write(otherApi(r, b)), connection: protocol(/cannot be read/, DecodeError) },
  {
    name: 'a valid frame with garbage inside',
    answer: (s, r) => s.write(frameOf(r.apiKey, r.apiVersion, r.correlationId, (w) => w.raw(Buffer.alloc(64, 0xff)))),
    connection: protocol(/cannot be read/, DecodeError),
  },
  { name: 'silence', answer: () => new Promise(() => undefined), connection: timedOut },
  { name: 'a close right after accept', answer: (s) => s.destroy(), refuseAfter: true, connection: lost(/closed/) },
  {
    name: 'a close mid-frame',
    answer: (s, r, b) => {
      const f = b.respond(r);
      s.write(f.subarray(0, f.length >> 1), () => s.resetAndDestroy());
    },
    connection: lost(/closed|ECONNRESET/),
  },
  { name: 'an endless dribble (slowloris)', answer: (s, r, b) => dribble(s, b, bytes('000f4240'), 20, true), connection: timedOut },
];

const STEPS = [
  { step: 'ApiVersions', apiKey: ApiKey.ApiVersions, bootstrap: true },
  { step: 'Metadata', apiKey: ApiKey.Metadata, bootstrap: true },
  { step: 'InitProducerId', apiKey: ApiKey.InitProducerId, bootstrap: false },
  { step: 'Produce', apiKey: ApiKey.Produce, bootstrap: false },
] as const;

interface Outcome {
  result: unknown;
  error: unknown;
  elapsedMs: number;
  closeMs: number;
  broker: ScriptedBroker;
  errors: Error[];
}

/** One record through a producer against `script`, then close; what happened, and how fast. */
async function run(script: Parameters<typeof ScriptedBroker.start>[0], config: Partial<ProducerConfig> = TIMEOUTS): Promise<Outcome> {
  const broker = await ScriptedBroker.start(script);
  try {
    const producer = createProducer({ brokers: [broker.address], clientId: 'hostile-test', ...config });
    const started = Date.now();
    let result: unknown;
    let error: unknown;
    try {
      result = await producer.send({ topic: 'hostile', value: 'v' });
    } catch (e) {
      error = e;
    }
    const elapsedMs = Date.now() - started;
    const closing = Date.now();
    await producer.close();
    const closeMs = Date.now() - closing;
    // No socket of the producer is left open: the broker saw each of its connections close.
    await broker.clientClosedAll();
    expect(broker.errors).toEqual([]);
    const errors = connectionErrors.filter((e) => e.message.includes(broker.address));
    return { result, error, elapsedMs, closeMs, broker, errors };
  } finally {
    await broker.stop();
  }
}

function expectConnectionError(errors: Error[], expected: Case['connection']): void {
  const match = errors.find((e) => e instanceof expected.type && (e as KafkaError).code === expected.code && expected.message.test(e.message));
  if (!match) throw new Error(`no connection failed with ${expected.type.name} ${expected.message}; they failed with:\n${errors.map((e) => `${e.name}: ${e.message}`).join('\n')}`);
  expect((match as KafkaError).retriable).toBe(true);
  if (expected.cause) expect(match.cause).toBeInstanceOf(expected.cause);
}

/** Time to error of each case, printed at the end for the report. */
const timings: string[] = [];
afterAll(() => {
  console.log(`hostile broker: time to error (ms)\n${timings.sort().join('\n')}`);
});

describe.each(STEPS)('a broker hostile at $step', ({ step, apiKey, bootstrap }) => {
  test.concurrent.each(CASES)('$name: a typed error within the timeouts, no crash, nothing left open', async (c) => {
    const o = await run({ apiKey, answer: c.answer, refuseAfter: c.refuseAfter });
    expect(o.result).toBeUndefined();
    const limit = bootstrap ? TIMEOUTS.maxBlockMs : TIMEOUTS.deliveryTimeoutMs;
    // The record waits while the producer retries, and fails by its timeout, not before: with a
    // TimeoutError, or, at Produce, with the last attempt's error once no retry fits before
    // deliveryTimeoutMs (as the Java client).
    if (step === 'Produce' && !(o.error instanceof ProducerTimeoutError)) expectConnectionError([o.error as Error], c.connection);
    else expect(o.error).toBeInstanceOf(bootstrap ? MetadataTimeoutError : ProducerTimeoutError);
    expect(o.elapsedMs).toBeGreaterThanOrEqual(limit - 2 * TIMEOUTS.retryBackoffMaxMs);
    expect(o.elapsedMs).toBeLessThan(limit + SLACK_MS);
    expect(o.closeMs).toBeLessThan(SLACK_MS);
    expectConnectionError(o.errors, c.connection);
    // The producer kept trying: the step was attempted more than once.
    expect(o.broker.requests.filter((r) => r.apiKey === apiKey).length + o.broker.accepted).toBeGreaterThan(2);
    timings.push(`${step.padEnd(14)} ${c.name.padEnd(34)} ${(o.error as Error).name} after ${o.elapsedMs}`);
  }, 15_000);

  test.concurrent.each(CASES.filter((c) => !c.name.includes('endless')))('$name once: the producer reconnects and delivers', async (c) => {
    const o = await run({ apiKey, answer: c.answer, refuseAfter: c.refuseAfter, times: 1 });
    expect(o.error).toBeUndefined();
    expect(o.result).toMatchObject({ topic: 'hostile', partition: 0 });
    expect(o.elapsedMs).toBeLessThan(TIMEOUTS.requestTimeoutMs + SLACK_MS);
    expectConnectionError(o.errors, c.connection);
  }, 15_000);

  test('a valid answer dribbled one byte at a time within requestTimeoutMs is read', async () => {
    const o = await run({ apiKey, answer: (s, r, b) => dribble(s, b, b.respond(r), 1) },
      { ...TIMEOUTS, requestTimeoutMs: 20_000, maxBlockMs: 25_000, deliveryTimeoutMs: 25_000 });
    expect(o.error).toBeUndefined();
    expect(o.result).toMatchObject({ topic: 'hostile', partition: 0 });
    expect(o.errors.filter((e) => !/closed by the client/.test(e.message))).toEqual([]);
  }, 30_000);
});
