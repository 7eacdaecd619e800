// A TCP proxy between a client and one real broker, for tests that need the network to misbehave
// at a chosen request: it forwards every request to the broker and every response back, except
// that a test may have a response held back (lost) or delayed. The broker names itself in
// Metadata and FindCoordinator responses; the proxy rewrites those addresses to its own, so every
// connection the client opens, to the coordinator as to the leader, goes through it.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { API_SCHEMAS, ApiKey, EndTxn, FindCoordinator, Metadata, RequestHeader, ResponseHeader } from '../../src/protocol/messages/index.ts';
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

/** What becomes of a request's response: passed on, never passed on, or passed on after a delay. */
export type ResponseFate = 'forward' | 'lose' | { delayMs: number };

export class KafkaProxy {
  readonly host = '127.0.0.1';
  port = 0;
  /** Decides each request's response; by default all are forwarded. */
  fate: (request: ProxiedRequest) => ResponseFate = () => 'forward';
  /** Every request seen, in order. */
  readonly requests: ProxiedRequest[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly target: { host: string; port: number };

  private constructor(target: string) {
    const [host, port] = target.split(':');
    this.target = { host, port: Number(port) };
    this.server = createServer((client) => this.accept(client));
  }

  static async start(target: string): Promise<KafkaProxy> {
    const proxy = new KafkaProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, proxy.host, resolve));
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  count(apiKey: number): number {
    return this.requests.filter((r) => r.apiKey === apiKey).length;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket): void {
    const broker = connect(this.target.port, this.target.host);
    this.sockets.add(client).add(broker);
    const inFlight = new Map<number, { request: ProxiedRequest; fate: ResponseFate }>();
    const closeBoth = () => {
      client.destroy();
      broker.destroy();
      this.sockets.delete(client);
      this.sockets.delete(broker);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    broker.on('error', closeBoth).on('close', closeBoth);
    frames(client, (frame) => {
      const request = this.describe(frame);
      this.requests.push(request);
      inFlight.set(request.correlationId, { request, fate: this.fate(request) });
      broker.write(withLength(frame));
    });
    frames(broker, (frame) => {
      const correlationId = frame.readInt32BE(0);
      const entry = inFlight.get(correlationId);
      inFlight.delete(correlationId);
      if (!entry) return void client.write(withLength(frame));
      const out = withLength(this.rewrite(entry.request, frame));
      if (entry.fate === 'lose') return;
      if (entry.fate === 'forward') return void client.write(out);
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!client.destroyed) client.write(out);
      }, entry.fate.delayMs);
      this.timers.add(t);
    });
  }

  private describe(frame: Buffer): ProxiedRequest {
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

  /** Metadata and FindCoordinator name the broker: make them name the proxy. */
  private rewrite(request: ProxiedRequest, frame: Buffer): Buffer {
    const { apiKey, version } = request;
    if (apiKey !== ApiKey.Metadata && apiKey !== ApiKey.FindCoordinator) return frame;
    const headerVersion = flexible(apiKey, version) ? 1 : 0;
    const r = new Reader(frame);
    const header = ResponseHeader.decodeResponseHeader(r, headerVersion);
    const w = new Writer();
    ResponseHeader.encodeResponseHeader(w, headerVersion, header);
    if (apiKey === ApiKey.Metadata) {
      const res = Metadata.decodeMetadataResponse(r, version);
      for (const b of res.brokers) Object.assign(b, { host: this.host, port: this.port });
      Metadata.encodeMetadataResponse(w, version, res);
    } else {
      const res = FindCoordinator.decodeFindCoordinatorResponse(r, version);
      // Version 4 moved the answer into `coordinators`.
      if (version < 4 && res.nodeId >= 0) Object.assign(res, { host: this.host, port: this.port });
      for (const c of res.coordinators) if (c.nodeId >= 0) Object.assign(c, { host: this.host, port: this.port });
      FindCoordinator.encodeFindCoordinatorResponse(w, version, res);
    }
    return w.toBuffer();
  }
}

function flexible(apiKey: number, version: number): boolean {
  const first = API_SCHEMAS.get(apiKey)?.firstFlexibleVersion;
  return first !== null && first !== undefined && version >= first;
}

function withLength(frame: Buffer): Buffer {
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
