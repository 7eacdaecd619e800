// A TCP proxy between a client and one real broker, for tests that need the network to misbehave
// at a chosen request. It reads the size-delimited frames both ways, forwards every request to the
// broker (so a request whose answer is lost, spoiled or failed was still written), and decides each
// answer's fate when it arrives: passed on, lost, delayed, spoiled with a malformed frame, or
// replaced by an error.
// It can also hold a connection at its next request of an API until released, and listen late.
// The broker names itself in Metadata and FindCoordinator answers; the proxy makes them name the
// proxy, so every connection the client opens (to the coordinator as to the leader) goes through it.
//
// Tests whose leak check counts the process's sockets run it in a child process
// (kafka-proxy-process.ts); the others use it in process.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { API_SCHEMAS, ApiKey, EndTxn, FindCoordinator, InitProducerId, Metadata, Produce, RequestHeader, ResponseHeader } from '../../src/protocol/messages/index.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';

export interface ProxiedRequest {
  apiKey: number;
  version: number;
  correlationId: number;
  /** EndTxn only: whether it commits, and the epoch it names. */
  committed?: boolean;
  producerEpoch?: number;
}

/** How one answer is spoiled. */
export type Spoil = 'zero-length' | '2-GiB-length' | 'wrong-correlation-id' | 'garbage-body' | 'close-mid-frame' | 'silence';

/**
 * What becomes of a request's answer. `errorCode`: an InitProducerId or Produce answer is replaced
 * by one naming that error (for every partition of a Produce).
 */
export type Fate = 'forward' | 'lose' | { delayMs: number } | { spoil: Spoil } | { errorCode: number };

export interface ProxyOptions {
  /** The port to listen on; by default any free one. */
  port?: number;
  /** False: refuse connections until `listen()` (the client sees an unreachable broker). */
  listening?: boolean;
}

interface Connection {
  client: Socket;
  broker: Socket;
  /** The requests sent on and not answered yet, by correlation id. */
  answers: Map<number, ProxiedRequest>;
  /** Frames held back from the broker since the connection was stopped at a request. */
  holding: Buffer[] | null;
  /** Nothing more reaches the client (a `silence` spoil). */
  silenced: boolean;
}

export class KafkaProxy {
  readonly host = '127.0.0.1';
  port: number;
  /** Decides each answer as it arrives; by default all are passed on. */
  fate: (request: ProxiedRequest) => Fate = () => 'forward';
  /** Every request seen, in order. */
  readonly requests: ProxiedRequest[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly connections = new Set<Connection>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly target: { host: string; port: number };
  private holdAt = -1;
  private readonly holdWaiters: Array<{ apiKey: number; resolve: () => void }> = [];

  private constructor(target: string, port: number) {
    const [host, targetPort] = target.split(':');
    this.target = { host, port: Number(targetPort) };
    this.port = port;
    this.server = createServer((client) => this.accept(client));
  }

  static async start(target: string, options: ProxyOptions = {}): Promise<KafkaProxy> {
    const proxy = new KafkaProxy(target, options.port ?? 0);
    if (options.listening !== false) await proxy.listen();
    return proxy;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  count(apiKey: number): number {
    return this.requests.filter((r) => r.apiKey === apiKey).length;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, this.host, resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Stops each connection at its next request of `apiKey`: it and every later request wait. */
  hold(apiKey: number): void {
    this.holdAt = apiKey;
  }

  /** Resolves once a connection is stopped at a request of `apiKey`. */
  held(apiKey: number): Promise<void> {
    return new Promise((resolve) => this.holdWaiters.push({ apiKey, resolve }));
  }

  /** Sends on what was held, and holds nothing more. */
  release(): void {
    this.holdAt = -1;
    for (const c of this.connections) {
      const frames = c.holding;
      c.holding = null;
      for (const frame of frames ?? []) this.forward(c, frame);
    }
  }

  /** Gives the next request of `apiKey` the answer `fate`, then goes back to the previous rule. */
  once(apiKey: number, fate: Fate): void {
    const previous = this.fate;
    let used = false;
    this.fate = (r) => {
      if (used || r.apiKey !== apiKey) return previous(r);
      used = true;
      this.fate = previous;
      return fate;
    };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket): void {
    const broker = connect(this.target.port, this.target.host);
    const c: Connection = { client, broker, answers: new Map(), holding: null, silenced: false };
    this.connections.add(c);
    for (const s of [client, broker]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        this.connections.delete(c);
        client.destroy();
        broker.destroy();
      });
    }
    frames(client, (frame) => {
      const apiKey = frame.readInt16BE(0);
      if (c.holding === null && apiKey === this.holdAt) {
        c.holding = [];
        for (const w of this.holdWaiters.filter((w) => w.apiKey === apiKey)) {
          this.holdWaiters.splice(this.holdWaiters.indexOf(w), 1);
          w.resolve();
        }
      }
      if (c.holding) c.holding.push(frame);
      else this.forward(c, frame);
    });
    frames(broker, (frame) => {
      const correlationId = frame.readInt32BE(0);
      const request = c.answers.get(correlationId);
      c.answers.delete(correlationId);
      if (c.silenced) return;
      if (!request) return void client.write(withSize(frame));
      this.answer(c, request, this.fate(request), frame);
    });
  }

  private forward(c: Connection, frame: Buffer): void {
    const request = describe(frame);
    this.requests.push(request);
    c.answers.set(request.correlationId, request);
    c.broker.write(withSize(frame));
  }

  private answer(c: Connection, request: ProxiedRequest, fate: Fate, frame: Buffer): void {
    const client = c.client;
    if (fate === 'lose') return;
    if (fate === 'forward') return void client.write(withSize(this.advertiseSelf(request, frame)));
    if ('delayMs' in fate) {
      const out = withSize(this.advertiseSelf(request, frame));
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!client.destroyed) client.write(out);
      }, fate.delayMs);
      this.timers.add(t);
      return;
    }
    if ('errorCode' in fate) return void client.write(withSize(errorAnswer(request, frame, fate.errorCode)));
    switch (fate.spoil) {
      case 'zero-length':
        return void client.write(Buffer.alloc(4));
      case '2-GiB-length':
        return void client.write(Buffer.from('7fffffff00000000', 'hex'));
      case 'wrong-correlation-id': {
        const wrong = Buffer.from(frame);
        wrong.writeInt32BE(request.correlationId + 1, 0);
        return void client.write(withSize(wrong));
      }
      case 'garbage-body': {
        const w = new Writer(128);
        ResponseHeader.encodeResponseHeader(w, responseHeaderVersion(request), { correlationId: request.correlationId });
        w.raw(Buffer.alloc(64, 0xff));
        return void client.write(withSize(w.toBuffer()));
      }
      case 'close-mid-frame': {
        const whole = withSize(frame);
        return void client.write(whole.subarray(0, whole.length >> 1), () => client.resetAndDestroy());
      }
      case 'silence':
        c.silenced = true;
    }
  }

  /** Metadata and FindCoordinator name the broker: make them name the proxy. */
  private advertiseSelf(request: ProxiedRequest, frame: Buffer): Buffer {
    const { apiKey, version } = request;
    if (apiKey !== ApiKey.Metadata && apiKey !== ApiKey.FindCoordinator) return frame;
    const headerVersion = responseHeaderVersion(request);
    const r = new Reader(frame);
    const header = ResponseHeader.decodeResponseHeader(r, headerVersion);
    const w = new Writer(frame.length + 64);
    ResponseHeader.encodeResponseHeader(w, headerVersion, header);
    const self = { host: this.host, port: this.port };
    if (apiKey === ApiKey.Metadata) {
      const res = Metadata.decodeMetadataResponse(r, version);
      for (const b of res.brokers) Object.assign(b, self);
      Metadata.encodeMetadataResponse(w, version, res);
    } else {
      const res = FindCoordinator.decodeFindCoordinatorResponse(r, version);
      // Version 4 moved the answer into `coordinators`.
      if (version < 4 && res.nodeId >= 0) Object.assign(res, self);
      for (const co of res.coordinators) if (co.nodeId >= 0) Object.assign(co, self);
      FindCoordinator.encodeFindCoordinatorResponse(w, version, res);
    }
    return w.toBuffer();
  }
}

function describe(frame: Buffer): ProxiedRequest {
  const apiKey = frame.readInt16BE(0);
  const version = frame.readInt16BE(2);
  const correlationId = frame.readInt32BE(4);
  const request: ProxiedRequest = { apiKey, version, correlationId };
  if (apiKey === ApiKey.EndTxn) {
    const r = new Reader(frame);
    RequestHeader.decodeRequestHeader(r, flexible(apiKey, version) ? 2 : 1);
    const endTxn = EndTxn.decodeEndTxnRequest(r, version);
    request.committed = endTxn.committed;
    request.producerEpoch = endTxn.producerEpoch;
  }
  return request;
}

/** The broker's InitProducerId or Produce answer, made to name `errorCode` instead. */
function errorAnswer(request: ProxiedRequest, frame: Buffer, errorCode: number): Buffer {
  const { apiKey, version } = request;
  const headerVersion = responseHeaderVersion(request);
  const r = new Reader(frame);
  const header = ResponseHeader.decodeResponseHeader(r, headerVersion);
  const w = new Writer(frame.length + 16);
  ResponseHeader.encodeResponseHeader(w, headerVersion, header);
  if (apiKey === ApiKey.InitProducerId) {
    InitProducerId.encodeInitProducerIdResponse(w, version, { throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 });
  } else if (apiKey === ApiKey.Produce) {
    const res = Produce.decodeProduceResponse(r, version);
    for (const t of res.responses) for (const p of t.partitionResponses) Object.assign(p, { errorCode, baseOffset: -1n });
    Produce.encodeProduceResponse(w, version, res);
  } else {
    throw new Error(`the proxy cannot make api ${apiKey} answer with an error code`);
  }
  return w.toBuffer();
}

function flexible(apiKey: number, version: number): boolean {
  const first = API_SCHEMAS.get(apiKey)?.firstFlexibleVersion;
  return first !== null && first !== undefined && version >= first;
}

/** ApiVersions answers with header v0 in every version, so a client can read it before knowing. */
function responseHeaderVersion({ apiKey, version }: ProxiedRequest): number {
  return apiKey !== ApiKey.ApiVersions && flexible(apiKey, version) ? 1 : 0;
}

function withSize(frame: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(frame.length);
  return Buffer.concat([size, frame]);
}

/** Calls `onFrame` with each size-delimited frame (without its size) the socket delivers. */
function frames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const size = buffered.readInt32BE(0);
      if (buffered.length < 4 + size) break;
      onFrame(buffered.subarray(4, 4 + size));
      buffered = buffered.subarray(4 + size);
    }
  });
}
