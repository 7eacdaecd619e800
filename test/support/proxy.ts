// A TCP proxy in front of the real broker that can stop the producer at an exact start-up stage:
// it forwards bytes both ways, reads the client's request frames (size, apiKey, apiVersion,
// correlation id), and on command holds a connection at the next request of a given API until
// released, or answers that request with an error itself. It rewrites the broker port in Metadata
// answers, so every later connection goes through it too. It runs in a child process: its own
// sockets must not count in the test's leak check.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const SCRIPT = String.raw`
const net = require('node:net');
const [brokerHost, brokerPort, port, startListening] = process.argv.slice(1);
const API_PRODUCE = 0, API_METADATA = 3, API_INIT_PRODUCER_ID = 22;
let hold = -1;          // hold each connection at its next request of this api key
let failWith = null;    // { apiKey, code }: answer the next such request with this error
const held = [];        // connections holding: { flush() }
const say = (line) => process.stdout.write(line + '\n');

function varint(buf, at) { let v = 0, shift = 0, b; do { b = buf[at++]; v |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80); return [v, at]; }

// Metadata v9+ (flexible): header v1, throttle, then brokers [nodeId, host, port, rack, tags].
function rewriteMetadata(frame) {
  let at = 4 + 4 + 1 + 4;
  let n; [n, at] = varint(frame, at);
  for (let i = 0; i < n - 1; i++) {
    at += 4;
    let len; [len, at] = varint(frame, at); at += len - 1;
    frame.writeInt32BE(Number(port), at); at += 4;
    [len, at] = varint(frame, at); if (len > 0) at += len - 1;
    let tags; [tags, at] = varint(frame, at);
  }
}

// InitProducerId (v2+) answered by us: header v1, throttle, error, producer id, epoch, tags.
function initProducerIdError(correlationId, code) {
  const b = Buffer.alloc(4 + 4 + 1 + 4 + 2 + 8 + 2 + 1);
  b.writeInt32BE(b.length - 4, 0); b.writeInt32BE(correlationId, 4); b[8] = 0;
  b.writeInt32BE(0, 9); b.writeInt16BE(code, 13); b.writeBigInt64BE(-1n, 15); b.writeInt16BE(-1, 23); b[25] = 0;
  return b;
}

// The broker's Produce answer (v9+) with the first partition's error code replaced: header v1,
// topics [name (v12-) or topic id (v13), partitions [index, errorCode, ...]].
function failProduce(frame, version, code) {
  let at = 4 + 4 + 1, n, len;
  [n, at] = varint(frame, at);
  if (version >= 13) at += 16; else { [len, at] = varint(frame, at); at += len - 1; }
  [n, at] = varint(frame, at);
  frame.writeInt16BE(code, at + 4);
}

function handle(client) {
  const upstream = net.connect({ host: brokerHost, port: Number(brokerPort) });
  const inflight = new Map();
  let fromClient = Buffer.alloc(0), fromBroker = Buffer.alloc(0), holding = null;
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on('error', close); upstream.on('error', close); client.on('close', close); upstream.on('close', close);
  const forward = (frame) => {
    const apiKey = frame.readInt16BE(4), version = frame.readInt16BE(6), correlationId = frame.readInt32BE(8);
    let fail = null;
    if (failWith && failWith.apiKey === apiKey) {
      fail = failWith.code;
      failWith = null;
      if (apiKey === API_INIT_PRODUCER_ID) { client.write(initProducerIdError(correlationId, fail)); return; }
    }
    inflight.set(correlationId, { apiKey, version, fail });
    upstream.write(frame);
  };
  client.on('data', (chunk) => {
    fromClient = Buffer.concat([fromClient, chunk]);
    while (fromClient.length >= 4 && fromClient.length >= 4 + fromClient.readInt32BE(0)) {
      const size = fromClient.readInt32BE(0);
      const frame = fromClient.subarray(0, 4 + size);
      fromClient = fromClient.subarray(4 + size);
      const apiKey = frame.readInt16BE(4);
      if (!holding && apiKey === hold) {
        holding = [];
        held.push({ flush: () => { const q = holding; holding = null; for (const f of q) forward(f); } });
        say('held ' + apiKey);
      }
      if (holding) holding.push(frame); else forward(frame);
    }
  });
  upstream.on('data', (chunk) => {
    fromBroker = Buffer.concat([fromBroker, chunk]);
    while (fromBroker.length >= 4 && fromBroker.length >= 4 + fromBroker.readInt32BE(0)) {
      const size = fromBroker.readInt32BE(0);
      const frame = Buffer.from(fromBroker.subarray(0, 4 + size));
      fromBroker = fromBroker.subarray(4 + size);
      const request = inflight.get(frame.readInt32BE(4));
      inflight.delete(frame.readInt32BE(4));
      if (request && request.apiKey === API_METADATA && request.version >= 9) rewriteMetadata(frame);
      if (request && request.apiKey === API_PRODUCE && request.fail !== null) failProduce(frame, request.version, request.fail);
      client.write(frame);
    }
  });
}

const server = net.createServer(handle);
const listen = () => server.listen(Number(port), '127.0.0.1', () => say('listening'));
if (startListening === 'yes') listen();
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, a, b] = line.split(' ');
  if (cmd === 'hold') hold = Number(a);
  else if (cmd === 'release') { hold = -1; for (const h of held.splice(0)) h.flush(); }
  else if (cmd === 'fail') { failWith = { apiKey: Number(a), code: Number(b) }; hold = -1; for (const h of held.splice(0)) h.flush(); }
  else if (cmd === 'listen') listen();
    say('ok ' + line);
}).on('close', () => process.exit(0));
`;

export interface StageProxy {
  port: number;
  /** Holds each connection at its next request of `apiKey` (and everything after it). */
  hold(apiKey: number): Promise<void>;
  /** Resolves once a connection is held at `apiKey`. */
  held(apiKey: number): Promise<void>;
  /** Forwards what was held and holds nothing more. */
  release(): Promise<void>;
  /** Answers the next (or the held) request of `apiKey` with error `code` instead of the broker. */
  fail(apiKey: number, code: number): Promise<void>;
  /** Starts accepting connections (for a proxy created with `listening: false`). */
  listen(): Promise<void>;
  stop(): Promise<void>;
}

export async function startProxy(broker: string, port: number, options: { listening: boolean }): Promise<StageProxy> {
  const [host, brokerPort] = broker.split(':');
  const child: ChildProcess = spawn(process.execPath, ['-e', SCRIPT, host, brokerPort, String(port), options.listening ? 'yes' : 'no'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: Array<{ line: string; resolve: () => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (let i = waiting.length - 1; i >= 0; i--) {
      if (waiting[i].line === line) waiting.splice(i, 1)[0].resolve();
    }
  });
  const seen = (line: string) => new Promise<void>((resolve) => {
    const i = lines.indexOf(line);
    if (i !== -1) {
      lines.splice(i, 1);
      resolve();
    } else {
      waiting.push({ line, resolve: () => {
        lines.splice(lines.indexOf(line), 1);
        resolve();
      } });
    }
  });
  const command = async (line: string) => {
    child.stdin!.write(`${line}\n`);
    await seen(`ok ${line}`);
  };
  if (options.listening) await seen('listening');
  return {
    port,
    hold: (apiKey) => command(`hold ${apiKey}`),
    held: (apiKey) => seen(`held ${apiKey}`),
    release: () => command('release'),
    fail: (apiKey, code) => command(`fail ${apiKey} ${code}`),
    listen: async () => {
      await command('listen');
      await seen('listening');
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    },
  };
}
