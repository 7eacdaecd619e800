// A TCP proxy in front of a real Kafka broker that spoils the first answers of one API with
// malformed frames, then forwards faithfully. Requests always reach the broker unchanged (so a
// Produce whose answer is spoiled was written: the retry must not duplicate it). The only change to
// faithful traffic: Metadata answers advertise the proxy instead of the broker (as
// advertised.listeners would), so every connection of the client keeps going through the proxy.
import { connect, createServer, type Server, type Socket } from 'node:net';
import * as M from '../../src/protocol/messages/index.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';

/** How one answer is spoiled. */
export type Spoil = 'zero-length' | '2-GiB-length' | 'wrong-correlation-id' | 'garbage-body' | 'close-mid-frame' | 'silence';

interface Asked {
  apiKey: number;
  version: number;
}

const MODULES = Object.values(M).filter((m): m is typeof M.Produce => typeof m === 'object' && m !== null && 'API_KEY' in m);
const flexibleHeader = (a: Asked) => a.apiKey !== M.ApiVersions.API_KEY && MODULES.find((m) => m.API_KEY === a.apiKey)!.isFlexible(a.version);

/** Splits a byte stream into size-prefixed frames. */
function framer(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      const size = buffered.readInt32BE(0);
      onFrame(buffered.subarray(0, 4 + size));
      buffered = buffered.subarray(4 + size);
    }
  };
}

export class HostileProxy {
  /** The spoils still to apply to answers of `apiKey`, in order. */
  private readonly spoils: Spoil[];
  private readonly apiKey: number;
  private readonly upstream: { host: string; port: number };
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Spoils applied, in order, for the test to check. */
  readonly applied: Spoil[] = [];

  private constructor(upstream: string, apiKey: number, spoils: Spoil[]) {
    const [host, port] = upstream.split(':');
    this.upstream = { host, port: Number(port) };
    this.apiKey = apiKey;
    this.spoils = [...spoils];
    this.server = createServer((client) => this.accept(client));
  }

  static async start(upstream: string, apiKey: number, spoils: Spoil[]): Promise<HostileProxy> {
    const p = new HostileProxy(upstream, apiKey, spoils);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const broker = connect(this.upstream);
    for (const s of [client, broker]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        broker.destroy();
      });
    }
    const asked: Asked[] = [];
    let silenced = false;
    client.on('data', framer((frame) => {
      asked.push({ apiKey: frame.readInt16BE(4), version: frame.readInt16BE(6) });
      broker.write(frame);
    }));
    broker.on('data', framer((frame) => {
      const a = asked.shift()!;
      if (silenced) return;
      const spoil = a.apiKey === this.apiKey ? this.spoils.shift() : undefined;
      if (!spoil) {
        client.write(a.apiKey === M.Metadata.API_KEY ? this.advertiseSelf(frame, a) : frame);
        return;
      }
      this.applied.push(spoil);
      const correlationId = frame.readInt32BE(4);
      switch (spoil) {
        case 'zero-length':
          client.write(Buffer.alloc(4));
          break;
        case '2-GiB-length':
          client.write(Buffer.from('7fffffff00000000', 'hex'));
          break;
        case 'wrong-correlation-id': {
          const wrong = Buffer.from(frame);
          wrong.writeInt32BE(correlationId + 1, 4);
          client.write(wrong);
          break;
        }
        case 'garbage-body': {
          const w = new Writer(128);
          const at = w.reserve(4);
          w.int32(correlationId);
          if (flexibleHeader(a)) w.emptyTaggedFields();
          w.raw(Buffer.alloc(64, 0xff));
          w.patchInt32(at, w.length - 4);
          client.write(Buffer.from(w.toBuffer()));
          break;
        }
        case 'close-mid-frame':
          client.write(frame.subarray(0, frame.length >> 1), () => client.resetAndDestroy());
          break;
        case 'silence':
          silenced = true;
          break;
      }
    }));
  }

  /** The broker's Metadata answer, with every broker's address replaced by the proxy's. */
  private advertiseSelf(frame: Buffer, a: Asked): Buffer {
    const r = new Reader(frame, 4);
    const correlationId = r.int32();
    const flexible = flexibleHeader(a);
    if (flexible) r.skipTaggedFields();
    const res = M.Metadata.decodeMetadataResponse(r, a.version);
    const [host, port] = this.address.split(':');
    const w = new Writer(frame.length + 64);
    const at = w.reserve(4);
    M.ResponseHeader.encodeResponseHeader(w, flexible ? 1 : 0, { correlationId });
    M.Metadata.encodeMetadataResponse(w, a.version, { ...res, brokers: res.brokers.map((b) => ({ ...b, host, port: Number(port) })) });
    w.patchInt32(at, w.length - 4);
    return Buffer.from(w.toBuffer());
  }
}
