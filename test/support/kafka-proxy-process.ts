// The test proxy (kafka-proxy.ts) in a child process, for tests whose leak check counts every
// socket of the test's own process. The parent steers it by lines on its stdin; the child answers
// each command with `ok <command>` once done, and says `held <apiKey>` when it stops a connection.
// This file is both: `startProxyProcess()` for the parent, and the child's main when Node runs it.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { KafkaProxy } from './kafka-proxy.ts';

export interface ProxyProcess {
  port: number;
  /** Stops each connection at its next request of `apiKey` (and everything after it). */
  hold(apiKey: number): Promise<void>;
  /** Resolves once a connection is stopped at `apiKey`. */
  held(apiKey: number): Promise<void>;
  /** Sends on what was held, and holds nothing more. */
  release(): Promise<void>;
  /** Makes the next answer of `apiKey` name error `code`, then sends on what was held. */
  fail(apiKey: number, code: number): Promise<void>;
  /** From now on, every answer to `apiKey` is lost: the broker carries the request out, the client never hears. */
  lose(apiKey: number): Promise<void>;
  /** Starts accepting connections (for a proxy started with `listening: false`). */
  listen(): Promise<void>;
  stop(): Promise<void>;
}

const SELF = 'kafka-proxy-process.ts';

/** A port nothing listens on now, for a proxy that must refuse connections until told to listen. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startProxyProcess(broker: string, port: number, options: { listening: boolean }): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [resolve('test/support', SELF), broker, String(port), String(options.listening)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: Array<{ line: string; resolve: () => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const i = waiting.findIndex((w) => w.line === line);
    if (i === -1) lines.push(line);
    else waiting.splice(i, 1)[0].resolve();
  });
  const seen = (line: string) => new Promise<void>((done) => {
    const i = lines.indexOf(line);
    if (i === -1) waiting.push({ line, resolve: done });
    else {
      lines.splice(i, 1);
      done();
    }
  });
  const command = async (line: string) => {
    const answered = seen(`ok ${line}`);
    child.stdin!.write(`${line}\n`);
    await answered;
  };
  await seen('started');
  return {
    port,
    hold: (apiKey) => command(`hold ${apiKey}`),
    held: (apiKey) => seen(`held ${apiKey}`),
    release: () => command('release'),
    fail: (apiKey, code) => command(`fail ${apiKey} ${code}`),
    lose: (apiKey) => command(`lose ${apiKey}`),
    listen: () => command('listen'),
    stop: async () => {
      const exited = new Promise((done) => child.once('exit', done));
      child.stdin!.end();
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const [broker, port, listening] = process.argv.slice(2);
  const proxy = await KafkaProxy.start(broker, { port: Number(port), listening: listening === 'true' });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const run: Record<string, (a: number, b: number) => unknown> = {
    hold: (apiKey) => {
      proxy.hold(apiKey);
      void proxy.held(apiKey).then(() => say(`held ${apiKey}`));
    },
    release: () => proxy.release(),
    fail: (apiKey, code) => {
      proxy.once(apiKey, { errorCode: code });
      proxy.release();
    },
    lose: (apiKey) => {
      const previous = proxy.fate;
      proxy.fate = (r) => (r.apiKey === apiKey ? 'lose' : previous(r));
    },
    listen: () => proxy.listen(),
  };
  createInterface({ input: process.stdin })
    .on('line', async (line) => {
      const [name, a, b] = line.split(' ');
      await run[name](Number(a), Number(b));
      say(`ok ${line}`);
    })
    .on('close', () => void proxy.close().then(() => process.exit(0)));
  say('started');
}

if (process.argv[1]?.endsWith(SELF)) void main();
