// Connection against a raw TCP peer: what happens to the requests of a connection whose peer
// breaks the framing or the protocol, at the edges the producer-level tests do not reach.
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '../../../src/clock.ts';
import { Connection, MAX_RESPONSE_BYTES, type Request } from '../../../src/network/connection.ts';
import { BrokerProtocolError } from '../../../src/network/protocol-error.ts';
import { DecodeError, ErrorCode, KafkaError } from '../../../src/protocol/errors.ts';

let server: Server;
let peer: Promise<Socket>;
let connection: Connection;

beforeEach(async () => {
  let accepted!: (s: Socket) => void;
  peer = new Promise((r) => (accepted = r));
  server = createServer((s) => {
    s.on('error', () => undefined);
    accepted(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  connection = await Connection.connect({ host: '127.0.0.1', port, clientId: 'test', connectTimeoutMs: 1000, requestTimeoutMs: 2000, maxInFlight: 1 });
});

afterEach(async () => {
  await connection.close();
  (await peer).destroy();
  await new Promise((r) => server.close(r));
});

/** A request whose answer is one int32 (correlation id 0, 1, ... in order). */
const int32Request: Request<number> = { apiKey: 18, apiVersion: 0, flexible: false, name: 'Test v0', encode: () => undefined, decode: (r) => r.int32('answer') };

function frame(correlationId: number, body: Buffer): Buffer {
  const f = Buffer.alloc(8 + body.length);
  f.writeInt32BE(4 + body.length, 0);
  f.writeInt32BE(correlationId, 4);
  body.copy(f, 8);
  return f;
}

const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};

test('an answer with bytes left over fails the connection with BrokerProtocolError, its queued requests too', async () => {
  const first = connection.request(int32Request);
  const queued = connection.request(int32Request);
  (await peer).write(frame(0, Buffer.concat([int32(7), Buffer.from([1, 2, 3])])));
  const e = await first.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(BrokerProtocolError);
  expect((e as BrokerProtocolError).retriable).toBe(true);
  expect((e as Error).message).toMatch(/answer to Test v0 cannot be read .*3 bytes are left over/);
  expect((e as Error).cause).toBeInstanceOf(DecodeError);
  await expect(queued).rejects.toBe(e);
  expect(connection.closed).toBe(true);
});

test('an answer in the same chunk as a broken frame is delivered before the connection fails', async () => {
  const conn = connection;
  const first = conn.request(int32Request);
  const s = await peer;
  // maxInFlight 1: the second request is written once the first is answered.
  const second = conn.request(int32Request);
  s.write(Buffer.concat([frame(0, int32(42)), Buffer.from('fffffff0', 'hex')]));
  await expect(first).resolves.toBe(42);
  await expect(second).rejects.toThrow(/response frame of -16 bytes while the answer to Test v0 was due/);
});

test('a frame when no request waits fails the connection', async () => {
  const closed = new Promise<Error>((r) => connection.onClose(r));
  (await peer).write(frame(5, int32(1)));
  const e = await closed;
  expect(e).toBeInstanceOf(BrokerProtocolError);
  expect(e.message).toMatch(/answered correlation id 5 where no answer \(no request was waiting\) was due/);
});

test(`a size prefix of ${MAX_RESPONSE_BYTES} bytes is buffered towards; one byte more fails at once`, async () => {
  const s = await peer;
  const within = connection.request(int32Request);
  s.write(int32(MAX_RESPONSE_BYTES));
  await new Promise((r) => setTimeout(r, 50));
  expect(connection.closed).toBe(false);
  await connection.close();
  await expect(within).rejects.toThrow(/closed by the client/);

  const { port } = server.address() as { port: number };
  let next!: (sock: Socket) => void;
  const peer2 = new Promise<Socket>((r) => (next = r));
  server.removeAllListeners('connection');
  server.on('connection', (sock: Socket) => next(sock));
  connection = await Connection.connect({ host: '127.0.0.1', port, clientId: 'test', connectTimeoutMs: 1000, requestTimeoutMs: 2000, maxInFlight: 1 });
  const over = connection.request(int32Request);
  const started = Date.now();
  (await peer2).write(int32(MAX_RESPONSE_BYTES + 1));
  await expect(over).rejects.toBeInstanceOf(BrokerProtocolError);
  expect(Date.now() - started).toBeLessThan(1000);
  (await peer2).destroy();
});

test('a listener that throws breaks neither the connection nor the socket handler: a process warning says so', async () => {
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    const throttled: Request<number> = { ...int32Request, throttleMs: () => 100 };
    connection.onThrottle(() => {
      throw new Error('metrics broke');
    });
    connection.onClose(() => {
      throw new Error('listener broke');
    });
    const heard: Error[] = [];
    connection.onClose((e) => heard.push(e));
    const answer = connection.request(throttled);
    (await peer).write(frame(0, int32(9)));
    await expect(answer).resolves.toBe(9);
    expect(connection.closed).toBe(false);
    (await peer).destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(heard).toHaveLength(1);
    expect(heard[0]).toBeInstanceOf(KafkaError);
    expect((heard[0] as KafkaError).code).toBe(ErrorCode.NETWORK_EXCEPTION);
    const warnings = warn.mock.calls.map((c) => String(c[0])).join('\n');
    expect(warnings).toMatch(/throttle listener .* threw: metrics broke/);
    expect(warnings).toMatch(/close listener .* threw: listener broke/);
  } finally {
    warn.mockRestore();
  }
});

/** A clock that moves only when told: timers run as `advance` passes their time. */
function manualClock() {
  let now = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  const clock: Clock = {
    now: () => now,
    schedule(fn, ms) {
      const t = { at: now + Math.max(0, ms), fn };
      timers.add(t);
      return () => timers.delete(t);
    },
    soon: (fn) => clock.schedule(fn, 0),
    random: () => 0.5,
    nanos: () => BigInt(now) * 1_000_000n,
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = [...timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers.delete(due);
      now = due.at;
      due.fn();
    }
    now = end;
  };
  return { clock, advance, timers };
}

test('each request in flight times out at its own deadline, and an idle connection keeps no timer', async () => {
  await connection.close();
  const { port } = server.address() as { port: number };
  let next!: (sock: Socket) => void;
  const peer2 = new Promise<Socket>((r) => (next = r));
  server.removeAllListeners('connection');
  server.on('connection', (sock: Socket) => next(sock));
  const { clock, advance, timers } = manualClock();
  connection = await Connection.connect({ host: '127.0.0.1', port, clientId: 'test', connectTimeoutMs: 1000, requestTimeoutMs: 1000, maxInFlight: 3, clock });
  const s = await peer2;
  try {
    const first = connection.request(int32Request);
    s.write(frame(0, int32(1)));
    await expect(first).resolves.toBe(1);
    expect(timers.size).toBe(0);

    const second = connection.request(int32Request);
    advance(300);
    const third = connection.request(int32Request);
    const failed = third.catch((e: unknown) => e);
    s.write(frame(1, int32(2)));
    await expect(second).resolves.toBe(2);
    // The second request's deadline (1000) passes: the third, written at 300, is not due yet.
    advance(900);
    expect(connection.closed).toBe(false);
    advance(99);
    expect(connection.closed).toBe(false);
    advance(1);
    expect(connection.closed).toBe(true);
    const e = await failed;
    expect(e).toBeInstanceOf(KafkaError);
    expect((e as KafkaError).code).toBe(ErrorCode.REQUEST_TIMED_OUT);
    expect((e as Error).message).toMatch(/Test v0 to 127\.0\.0\.1:\d+ got no answer within 1000 ms/);
    expect(timers.size).toBe(0);
  } finally {
    s.destroy();
  }
});
