import diagnostics from 'node:diagnostics_channel';
import { createServer } from 'node:net';
import { ConfigError, createProducer, type LogFields, type Logger } from 'kafkarx';
import type { ConnectionMessage } from '../../../src/observe/channels.ts';
import { resolveConfig } from '../../../src/producer/config.ts';

type Line = { level: string; message: string; fields: LogFields };

function capture(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (message: string, fields: LogFields) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A port nothing listens on: taken, then given back. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

test('the logger setting takes an object with debug, info, warn and error, or null; anything else is a ConfigError naming what is missing', () => {
  expect(() => resolveConfig({ brokers: ['h:1'], logger: { debug() {}, info() {} } as never })).toThrow(new ConfigError('logger: expected debug, info, warn and error methods, but warn, error are missing'));
  expect(() => resolveConfig({ brokers: ['h:1'], logger: 'debug' as never })).toThrow(/^logger: expected an object with debug, info, warn and error methods .* got string$/);
  expect(resolveConfig({ brokers: ['h:1'], logger: null }).instrumentation.log.enabled).toBe(false);
  expect(resolveConfig({ brokers: ['h:1'], logger: console }).instrumentation.log.enabled).toBe(true);
  // The default: warnings to the console.
  expect(resolveConfig({ brokers: ['h:1'] }).instrumentation.log.enabled).toBe(true);
});

test('an unreachable broker is a structured warning (broker, address, attempt, error), repeated at attempts 1, 2, 4, 8 ..., with the other attempts at debug', async () => {
  const port = await deadPort();
  const logger = capture();
  const producer = createProducer({ brokers: [`127.0.0.1:${port}`], logger, maxBlockMs: 1500, reconnectBackoffMs: 10, reconnectBackoffMaxMs: 40, retryBackoffMs: 10, retryBackoffMaxMs: 40 });
  await expect(producer.send({ topic: 'observe-unreachable', value: 'x' })).rejects.toThrow(/not present in metadata after 1500 ms/);
  await producer.close();
  const failures = logger.lines.filter((l) => l.message.startsWith(`cannot connect to broker 127.0.0.1:${port}`));
  expect(failures.length).toBeGreaterThanOrEqual(4);
  const first = failures[0];
  expect(first.level).toBe('warn');
  expect(first.fields).toMatchObject({ clientId: 'kafkarx', broker: -1, address: `127.0.0.1:${port}`, attempt: 1, error: 'NETWORK_EXCEPTION', errorCode: 13 });
  expect(first.fields.reason).toMatch(/ECONNREFUSED/);
  for (const f of failures) {
    const n = f.fields.attempt as number;
    expect(f.level).toBe((n & (n - 1)) === 0 ? 'warn' : 'debug');
  }
  expect(failures.map((f) => f.fields.attempt)).toEqual(failures.map((_, i) => i + 1));
});

test('a logger that throws does not break the producer: the send fails as usual and the process gets a warning', async () => {
  const port = await deadPort();
  const warnings: string[] = [];
  const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  const thrower = { debug() { throw new Error('disk full'); }, info() { throw new Error('disk full'); }, warn() { throw new Error('disk full'); }, error() { throw new Error('disk full'); } };
  const producer = createProducer({ brokers: [`127.0.0.1:${port}`], logger: thrower, maxBlockMs: 500, reconnectBackoffMs: 10, reconnectBackoffMaxMs: 40 });
  try {
    await expect(producer.send({ topic: 'observe-thrower', value: 'x' })).rejects.toThrow(/not present in metadata after 500 ms/);
  } finally {
    await producer.close();
    warnings.push(...emitWarning.mock.calls.map((c) => String(c[0])));
    emitWarning.mockRestore();
  }
  expect(warnings).toContain('kafkarx: the logger threw at warn: disk full');
});

test('by default, warnings go to console.warn; logger: null is silent', async () => {
  const port = await deadPort();
  const spy = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const loud = createProducer({ brokers: [`127.0.0.1:${port}`], maxBlockMs: 300, reconnectBackoffMs: 10 });
    await expect(loud.send({ topic: 'observe-default', value: 'x' })).rejects.toThrow();
    await loud.close();
    expect(spy).toHaveBeenCalledWith(`kafkarx: cannot connect to broker 127.0.0.1:${port} (attempt 1); retrying`, expect.objectContaining({ attempt: 1 }));
    spy.mockClear();
    const quiet = createProducer({ brokers: [`127.0.0.1:${port}`], maxBlockMs: 300, reconnectBackoffMs: 10, logger: null });
    await expect(quiet.send({ topic: 'observe-default', value: 'x' })).rejects.toThrow();
    await quiet.close();
    expect(spy).not.toHaveBeenCalled();
  } finally {
    spy.mockRestore();
  }
});

test('kafkarx:connection carries each failed attempt to subscribers', async () => {
  const port = await deadPort();
  const seen: ConnectionMessage[] = [];
  const listener = (m: unknown) => void seen.push(m as ConnectionMessage);
  diagnostics.subscribe('kafkarx:connection', listener);
  try {
    const producer = createProducer({ brokers: [`127.0.0.1:${port}`], clientId: 'channel-test', logger: null, maxBlockMs: 300, reconnectBackoffMs: 10 });
    await expect(producer.send({ topic: 'observe-channel', value: 'x' })).rejects.toThrow();
    await producer.close();
  } finally {
    diagnostics.unsubscribe('kafkarx:connection', listener);
  }
  const mine = seen.filter((m) => m.clientId === 'channel-test');
  expect(mine.length).toBeGreaterThan(0);
  expect(mine[0]).toMatchObject({ event: 'connect-failed', nodeId: -1, address: `127.0.0.1:${port}`, attempt: 1 });
  expect(mine[0].error).toBeInstanceOf(Error);
});
