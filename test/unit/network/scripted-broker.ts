// A scripted Kafka "broker" for hostile-peer tests: a real TCP server that answers the producer's
// ApiVersions, Metadata, InitProducerId and Produce requests correctly (responses written by the
// generated encoders; the ApiVersions ranges are those a real Kafka 4.1.1 broker announced, from
// test/unit/protocol/captures/) until a script tells it to misbehave on one API.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import * as M from '../../../src/protocol/messages/index.ts';
import { Reader } from '../../../src/protocol/reader.ts';
import { Writer } from '../../../src/protocol/writer.ts';

export interface ScriptedRequest {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** When the request's last byte arrived. */
  at: number;
  /** The request body, after the header. */
  body: Buffer;
}

/**
 * What the broker writes for one request; `broker.respond(request)` is the correct response frame.
 * An answer that takes time returns a promise: as a real broker, the scripted one answers the
 * requests of a connection in order, so later answers wait for it (forever, for silence).
 */
export type Answer = (socket: Socket, request: ScriptedRequest, broker: ScriptedBroker) => unknown;

export interface Script {
  /** The API whose requests get `answer` instead of the correct response. */
  apiKey?: number;
  answer?: Answer;
  /** How many requests of `apiKey` are answered by `answer` before the broker behaves; default: all. */
  times?: number;
  /** Once `answer` was used, every new connection is closed right after accept (while `times` lasts). */
  refuseAfter?: boolean;
  /** The throttleTimeMs of each correct response (KIP-219 tests); default 0. */
  throttleTimeMs?: (request: ScriptedRequest) => number;
  /** Lower the highest version announced for some APIs, by API key. */
  maxVersions?: Record<number, number>;
}

const capturedApiVersions = (() => {
  const c = JSON.parse(readFileSync(join(__dirname, '..', 'protocol', 'captures', 'apiversions-v3.json'), 'utf8')) as { response: string };
  const r = new Reader(Buffer.from(c.response, 'hex'), 4);
  M.ResponseHeader.decodeResponseHeader(r, 0);
  return M.ApiVersions.decodeApiVersionsResponse(r, 3).apiKeys;
})();

const MODULES = [M.ApiVersions, M.Metadata, M.InitProducerId, M.Produce];
const moduleOf = (apiKey: number) => MODULES.find((m) => m.API_KEY === apiKey);

export class ScriptedBroker {
  readonly requests: ScriptedRequest[] = [];
  /** Connections accepted and not yet closed. */
  readonly sockets = new Set<Socket>();
  accepted = 0;
  /** The broker's own failures (a request it could not read): tests expect none. */
  readonly errors: Error[] = [];
  private readonly server: Server;
  private readonly script: Script;
  private hostileLeft: number;
  private refusing = false;
  private nextOffset = 0n;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Per connection, the answer being written: the next waits for it. */
  private readonly answering = new WeakMap<Socket, Promise<unknown>>();

  private constructor(script: Script) {
    this.script = script;
    this.hostileLeft = script.times ?? Infinity;
    this.server = createServer((socket) => this.accept(socket));
  }

  static async start(script: Script = {}): Promise<ScriptedBroker> {
    const b = new ScriptedBroker(script);
    await new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', resolve));
    return b;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** A timer that `stop()` clears, for answers that dribble or wait. */
  later(ms: number, work: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      work();
    }, ms);
    this.timers.add(t);
  }

  /** Resolves once every connection the client opened is closed, or rejects after `timeoutMs`. */
  async clientClosedAll(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.sockets.size > 0) {
      if (Date.now() > deadline) throw new Error(`${this.sockets.size} connection(s) to the scripted broker still open ${timeoutMs} ms after the producer closed`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.accepted++;
    if (this.refusing && this.hostileLeft > 0) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const size = buffered.readInt32BE(0);
        const frame = buffered.subarray(4, 4 + size);
        buffered = buffered.subarray(4 + size);
        try {
          this.onRequest(socket, frame);
        } catch (e) {
          this.errors.push(e as Error);
          socket.destroy();
        }
      }
    });
  }

  private onRequest(socket: Socket, frame: Buffer): void {
    const r = new Reader(frame);
    const apiKey = r.int16();
    const apiVersion = r.int16();
    const correlationId = r.int32();
    const clientId = r.nullableString();
    const m = moduleOf(apiKey);
    if (m?.isFlexible(apiVersion)) r.skipTaggedFields();
    const request: ScriptedRequest = { apiKey, apiVersion, correlationId, clientId, at: Date.now(), body: frame.subarray(r.offset) };
    this.requests.push(request);
    if (!m) {
      // Not an API the producer should use here: tests assert on `requests`, the client sees a close.
      socket.destroy();
      return;
    }
    let answer: Answer = (s) => void s.write(this.respond(request));
    if (this.script.answer && this.script.apiKey === apiKey && this.hostileLeft > 0) {
      this.hostileLeft--;
      if (this.script.refuseAfter) this.refusing = true;
      answer = this.script.answer;
    }
    const previous = this.answering.get(socket) ?? Promise.resolve();
    this.answering.set(socket, previous.then(() => answer(socket, request, this)).catch((e: Error) => {
      this.errors.push(e);
      socket.destroy();
    }));
  }

  /** The correct response frame to `request`, size prefix included. */
  respond(request: ScriptedRequest, correlationId = request.correlationId): Buffer {
    const { apiKey, apiVersion: v } = request;
    const throttleTimeMs = this.script.throttleTimeMs?.(request) ?? 0;
    return frameOf(apiKey, v, correlationId, (w) => {
      switch (apiKey) {
        case M.ApiVersions.API_KEY:
          return M.ApiVersions.encodeApiVersionsResponse(w, v, {
            errorCode: 0,
            apiKeys: capturedApiVersions.map((k) => ({ ...k, maxVersion: Math.min(k.maxVersion, this.script.maxVersions?.[k.apiKey] ?? Infinity) })),
            throttleTimeMs,
          });
        case M.Metadata.API_KEY: {
          const req = M.Metadata.decodeMetadataRequest(new Reader(request.body), v);
          return M.Metadata.encodeMetadataResponse(w, v, {
            throttleTimeMs,
            brokers: [{ nodeId: 0, host: '127.0.0.1', port: this.port, rack: null }],
            clusterId: 'scripted-cluster',
            controllerId: 0,
            topics: (req.topics ?? []).map((t) => ({
              errorCode: 0,
              name: t.name,
              topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
              partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] }],
            })),
          });
        }
        case M.InitProducerId.API_KEY:
          return M.InitProducerId.encodeInitProducerIdResponse(w, v, { throttleTimeMs, errorCode: 0, producerId: 4242n, producerEpoch: 0 });
        case M.Produce.API_KEY: {
          const req = M.Produce.decodeProduceRequest(new Reader(request.body), v);
          return M.Produce.encodeProduceResponse(w, v, {
            throttleTimeMs,
            responses: req.topicData.map((t) => ({
              name: t.name,
              partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: this.nextOffset++ })),
            })),
          });
        }
        default:
          throw new Error(`no scripted answer for API ${apiKey}`);
      }
    });
  }
}

/** A response frame: size, header (v1 for flexible versions, except ApiVersions: KIP-511), body. */
export function frameOf(apiKey: number, version: number, correlationId: number, body: (w: Writer) => void): Buffer {
  const w = new Writer(256);
  const at = w.reserve(4);
  const flexible = moduleOf(apiKey)!.isFlexible(version) && apiKey !== M.ApiVersions.API_KEY;
  M.ResponseHeader.encodeResponseHeader(w, flexible ? 1 : 0, { correlationId });
  body(w);
  w.patchInt32(at, w.length - 4);
  return Buffer.from(w.toBuffer());
}
