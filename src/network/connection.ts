import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsOptions } from 'node:tls';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string | null;
  /** TLS settings for node:tls, or true for the defaults (system CAs, SNI from host). */
  tls?: TlsOptions | boolean;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Requests written and not yet answered; more wait in this connection's queue. */
  maxInFlight: number;
  /** Aborting closes the connection, also while it is still connecting (the producer closed). */
  signal?: AbortSignal;
}

/** One request on the wire: which API, which version, how to write the body and read the answer. */
export interface Request<T> {
  apiKey: number;
  apiVersion: number;
  /** Flexible versions use request header v2 and response header v1 (tagged fields). */
  flexible: boolean;
  encode(w: Writer): void;
  /** Absent for requests the broker does not answer (Produce with acks=0). */
  decode?: (r: Reader) => T;
  /** What the request is for, in error messages: `Produce v11`. */
  name: string;
}

interface Pending {
  correlationId: number;
  name: string;
  /** ApiVersions answers with header v0 even in flexible versions (KIP-511), so it is per request. */
  responseHeaderFlexible: boolean;
  decode: (r: Reader) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface Queued {
  request: Request<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

const API_VERSIONS = 18;

/**
 * A connection to one broker: length-prefixed frames, correlation ids, and up to `maxInFlight`
 * requests pipelined. Kafka answers in request order on a connection, so answers are matched
 * against a FIFO and a correlation id out of order means the stream is corrupt.
 */
export class Connection {
  readonly address: string;
  private readonly socket: Socket;
  private readonly opts: ConnectionOptions;
  private readonly writer = new Writer(64 * 1024);
  private readonly inFlight: Pending[] = [];
  private readonly queue: Queued[] = [];
  private nextCorrelationId = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closedWith: Error | undefined;
  /** The socket's 'close' came: its handle is released (`destroyed` is true long before). */
  private socketClosed = false;
  private readonly closeListeners: Array<(error: Error) => void> = [];

  private constructor(socket: Socket, opts: ConnectionOptions) {
    this.socket = socket;
    this.opts = opts;
    this.address = `${opts.host}:${opts.port}`;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(networkError(`connection to ${this.address} failed: ${e.message}`)));
    socket.on('close', () => {
      this.socketClosed = true;
      this.fail(networkError(`connection to ${this.address} closed`));
    });
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = () => this.fail(networkError(`connection to ${this.address} was closed by the client`));

  static connect(opts: ConnectionOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const tls = opts.tls === true ? {} : opts.tls || undefined;
      const socket = tls
        ? tlsConnect({ servername: isIp(opts.host) ? undefined : opts.host, ...tls, host: opts.host, port: opts.port })
        : tcpConnect({ host: opts.host, port: opts.port });
      socket.setNoDelay(true);
      // A failed attempt settles once its socket is released, so a closing client waits for it.
      const failWith = (error: Error) => {
        socket.destroy();
        socket.once('close', () => reject(error));
      };
      const onAbort = () => {
        clearTimeout(timer);
        failWith(networkError(`connecting to ${opts.host}:${opts.port} was abandoned: the client closed`));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        opts.signal?.removeEventListener('abort', onAbort);
        failWith(networkError(`connecting to ${opts.host}:${opts.port} timed out after ${opts.connectTimeoutMs} ms`));
      }, opts.connectTimeoutMs);
      const onError = (e: Error) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        failWith(networkError(`cannot connect to ${opts.host}:${opts.port}: ${e.message}`));
      };
      socket.once('error', onError);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        opts.signal?.removeEventListener('abort', onAbort);
        resolve(new Connection(socket, opts));
      });
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Requests written and waiting for their answer. */
  get pending(): number {
    return this.inFlight.length + this.queue.length;
  }

  onClose(listener: (error: Error) => void): void {
    if (this.closedWith) listener(this.closedWith);
    else this.closeListeners.push(listener);
  }

  /**
   * Sends a request. Resolves with the decoded answer; for requests without an answer, once the
   * bytes are handed to the socket. Rejects with a retriable KafkaError (NETWORK_EXCEPTION or
   * REQUEST_TIMED_OUT) when the connection fails; a timed-out request closes the connection, since
   * what the broker did with it is unknown and later answers could not be matched.
   */
  request<T>(request: Request<T>): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const queued = { request, resolve: resolve as (v: unknown) => void, reject };
      if (this.inFlight.length < this.opts.maxInFlight && this.queue.length === 0) this.write(queued);
      else this.queue.push(queued);
    });
  }

  /** Closes the socket; requests still waiting fail with a retriable network error. */
  close(): Promise<void> {
    this.fail(networkError(`connection to ${this.address} was closed by the client`));
    return new Promise((resolve) => {
      if (this.socketClosed) resolve();
      else this.socket.once('close', () => resolve());
    });
  }

  private write({ request, resolve, reject }: Queued): void {
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) | 0;
    const w = this.writer.reset();
    const sizeAt = w.reserve(4);
    w.int16(request.apiKey).int16(request.apiVersion).int32(correlationId).nullableString(this.opts.clientId);
    if (request.flexible) w.emptyTaggedFields();
    try {
      request.encode(w);
    } catch (e) {
      reject(e as Error);
      return;
    }
    w.patchInt32(sizeAt, w.length - 4);
    const frame = w.detach();
    if (!request.decode) {
      this.socket.write(frame, (e) => (e ? reject(networkError(`writing ${request.name} to ${this.address} failed: ${e.message}`)) : resolve(undefined)));
      return;
    }
    const pending: Pending = {
      correlationId,
      name: request.name,
      responseHeaderFlexible: request.flexible && request.apiKey !== API_VERSIONS,
      decode: request.decode,
      resolve,
      reject,
      timer: setTimeout(() => this.fail(new KafkaError(ErrorCode.REQUEST_TIMED_OUT,
        `${request.name} to ${this.address} got no answer within ${this.opts.requestTimeoutMs} ms`)), this.opts.requestTimeoutMs),
    };
    this.inFlight.push(pending);
    this.socket.write(frame);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.flatten();
      const size = head.readInt32BE(0);
      if (this.buffered < size + 4) return;
      const all = this.flatten();
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.onFrame(frame);
      if (this.closedWith) return;
    }
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0];
  }

  private onFrame(frame: Buffer): void {
    const pending = this.inFlight.shift();
    const r = new Reader(frame);
    const correlationId = r.int32('response correlation id');
    if (!pending || pending.correlationId !== correlationId) {
      this.fail(networkError(`${this.address} answered correlation id ${correlationId}, expected ${pending?.correlationId ?? 'none'}: closing the connection`));
      return;
    }
    clearTimeout(pending.timer);
    try {
      if (pending.responseHeaderFlexible) r.skipTaggedFields('response header tagged fields');
      pending.resolve(pending.decode(r));
    } catch (e) {
      pending.reject(e as Error);
    }
    while (this.queue.length > 0 && this.inFlight.length < this.opts.maxInFlight && !this.closedWith) {
      this.write(this.queue.shift()!);
    }
  }

  private fail(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.socket.destroy();
    for (const p of this.inFlight.splice(0)) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    for (const q of this.queue.splice(0)) q.reject(error);
    for (const l of this.closeListeners.splice(0)) l(error);
  }
}

function networkError(message: string): KafkaError {
  return new KafkaError(ErrorCode.NETWORK_EXCEPTION, message);
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
