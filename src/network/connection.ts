import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsOptions } from 'node:tls';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';
import { isTlsFailure, TlsError } from './errors.ts';
import type { SaslMechanism } from './sasl/mechanism.ts';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string | null;
  /** TLS settings for node:tls, or true for the defaults (system CAs, SNI from host). */
  tls?: TlsOptions | boolean;
  /** Authenticate with this SASL mechanism after ApiVersions (see BrokerConnection). */
  sasl?: SaslMechanism;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Requests written and not yet answered; more wait in this connection's queue. */
  maxInFlight: number;
  /** Opens the byte stream instead of TCP/TLS: for tests (kafkarx/testing). */
  transport?: Transport;
}

/**
 * Opens a connection's byte stream in place of node:net, for tests: kafkarx/testing's in-memory
 * cluster hands one out. The stream must emit 'connect' once open (or 'error'), like a Socket;
 * `setNoDelay` may do nothing. TLS settings do not apply to it.
 */
export type Transport = (address: { host: string; port: number }) => Socket;

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
  /** While re-authenticating: new requests wait in the queue. */
  private paused = false;
  private readonly closeListeners: Array<(error: Error) => void> = [];

  private constructor(socket: Socket, opts: ConnectionOptions) {
    this.socket = socket;
    this.opts = opts;
    this.address = `${opts.host}:${opts.port}`;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(socketError(this.address, e)));
    socket.on('close', () => this.fail(networkError(`connection to ${this.address} closed`)));
  }

  /**
   * Opens the socket (and completes the TLS handshake). A TLS failure is a TlsError, fatal: the
   * same handshake would fail again. A plaintext client whose first answer is a TLS record is
   * told that the listener speaks TLS.
   */
  static connect(opts: ConnectionOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const address = `${opts.host}:${opts.port}`;
      const tls = opts.tls === true ? {} : opts.tls || undefined;
      let socket: Socket;
      try {
        socket = opts.transport
          ? opts.transport({ host: opts.host, port: opts.port })
          : tls
          ? tlsConnect({ servername: isIp(opts.host) ? undefined : opts.host, ...tls, host: opts.host, port: opts.port })
          : tcpConnect({ host: opts.host, port: opts.port });
      } catch (e) {
        // node:tls refuses the settings themselves (a key that does not match the certificate, a wrong passphrase).
        reject(new TlsError(`the TLS settings for ${address} are not usable: ${(e as Error).message}`, e as Error));
        return;
      }
      socket.setNoDelay(true);
      let tcpConnected = false;
      socket.once('connect', () => (tcpConnected = true));
      // Rejects once the socket's handle is released, so a failed attempt leaves nothing open.
      const fail = (error: KafkaError) => {
        if (socket.closed) reject(error);
        else socket.once('close', () => reject(error)).destroy();
      };
      const timer = setTimeout(() => {
        socket.off('error', onError);
        socket.on('error', () => undefined);
        fail(tcpConnected && tls
          ? new TlsError(`the TLS handshake with ${address} did not complete within ${opts.connectTimeoutMs} ms: is it a TLS listener?`)
          : networkError(`connecting to ${address} timed out after ${opts.connectTimeoutMs} ms`));
      }, opts.connectTimeoutMs);
      const onError = (e: Error) => {
        clearTimeout(timer);
        fail(tls && tcpConnected ? tlsError(address, e) : networkError(`cannot connect to ${address}: ${e.message}`));
      };
      socket.once('error', onError);
      socket.once(tls && !opts.transport ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        const connection = new Connection(socket, opts);
        if (!tls) socket.prependOnceListener('data', (first: Buffer) => connection.refuseTls(first));
        resolve(connection);
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
      if (this.inFlight.length < this.opts.maxInFlight && this.queue.length === 0 && !this.paused) this.write(queued);
      else this.queue.push(queued);
    });
  }

  /** Holds new requests in the queue until `resume()`; `requestNow` still writes (re-authentication). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    while (this.queue.length > 0 && this.inFlight.length < this.opts.maxInFlight && !this.closedWith) this.write(this.queue.shift()!);
  }

  /** Writes at once, ahead of queued requests and whatever the pause: the SASL exchange of a re-authentication. */
  requestNow<T>(request: Request<T>): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => this.write({ request, resolve: resolve as (v: unknown) => void, reject }));
  }

  /**
   * A TLS record (a handshake or an alert: content type 0x15/0x16, version 3.x) where a Kafka
   * frame was expected: the listener speaks TLS and this client does not.
   */
  private refuseTls(first: Buffer): void {
    if (first.length >= 2 && (first[0] === 0x15 || first[0] === 0x16) && first[1] === 0x03) {
      this.fail(new TlsError(`${this.address} answered with TLS: the listener may require TLS (set tls), or TLS and SASL`));
    }
  }

  /** Closes the socket; requests still waiting fail with a retriable network error. */
  close(): Promise<void> {
    // `destroyed` is set at once, the handle is released on 'close': wait for that, so nothing is left open.
    const released = new Promise<void>((resolve) => {
      if (this.socket.closed) resolve();
      else this.socket.once('close', () => resolve());
    });
    this.fail(networkError(`connection to ${this.address} was closed by the client`));
    return released;
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
    while (this.queue.length > 0 && this.inFlight.length < this.opts.maxInFlight && !this.closedWith && !this.paused) {
      this.write(this.queue.shift()!);
    }
  }

  private fail(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = error;
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

function tlsError(address: string, e: Error): TlsError {
  return new TlsError(`TLS handshake with ${address} failed: ${e.message}`, e);
}

/** After the handshake, TLS can still fail: TLS 1.3 servers check the client's certificate then. */
function socketError(address: string, e: Error): KafkaError {
  return isTlsFailure(e) ? tlsError(address, e) : networkError(`connection to ${address} failed: ${e.message}`);
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
