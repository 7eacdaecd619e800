import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsOptions } from 'node:tls';
import { clockOf, type Cancel, type Clock } from '../clock.ts';
import { DecodeError, ErrorCode, KafkaError } from '../protocol/errors.ts';
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';
import { isTlsFailure, TlsError } from './errors.ts';
import type { SaslMechanism } from './sasl/mechanism.ts';
import { BrokerProtocolError } from './protocol-error.ts';

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
  /** Aborting closes the connection, also while it is still connecting (the producer closed). */
  signal?: AbortSignal;
  /** Connect and request timeouts and throttle waits; real time when absent. */
  clock?: Clock;
  /** Opens the byte stream instead of TCP/TLS: for tests (kafkarx/testing). */
  transport?: Transport;
  /** Hears of each frame written and read (the producer's network metrics). */
  observer?: ConnectionObserver;
}

export interface ConnectionObserver {
  written(bytes: number): void;
  read(bytes: number): void;
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
  /** KIP-219: how long the broker asks for silence on this connection after `response` (0: none). */
  throttleMs?: (response: T) => number;
}

/**
 * The largest response frame accepted, as the broker's default cap on requests
 * (socket.request.max.bytes, 100 MiB): no answer a producer asks for comes near it (Metadata of
 * 100,000 partitions is about 10 MB). A larger size prefix means the stream is corrupt, and the
 * connection fails at once instead of buffering towards it.
 */
export const MAX_RESPONSE_BYTES = 100 * 1024 * 1024;

/** Byte arrays this large or larger are written as they are rather than copied into the request. */
const BY_REFERENCE = 4096;

/** A response carries at least its correlation id. */
const MIN_RESPONSE_BYTES = 4;

interface Pending {
  correlationId: number;
  name: string;
  /** ApiVersions answers with header v0 even in flexible versions (KIP-511), so it is per request. */
  responseHeaderFlexible: boolean;
  decode: (r: Reader) => unknown;
  throttleMs: ((response: unknown) => number) | undefined;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** When it times out, by the clock's now(): written time + requestTimeoutMs. */
  deadline: number;
}

interface Queued {
  request: Request<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** A request not written within requestTimeoutMs (a long throttle) fails; see `request`. */
  cancelTimer: Cancel | undefined;
}

const API_VERSIONS = 18;

/**
 * A connection to one broker: length-prefixed frames, correlation ids, and up to `maxInFlight`
 * requests pipelined. Kafka answers in request order on a connection, so answers are matched
 * against a FIFO and a correlation id out of order means the stream is corrupt.
 *
 * Whatever the broker sends, nothing here throws out of a socket event: a frame the client cannot
 * read fails the connection with a BrokerProtocolError (retriable), as a lost connection does, and
 * the layers above reconnect with their usual backoff.
 */
export class Connection {
  readonly address: string;
  private readonly socket: Socket;
  private readonly opts: ConnectionOptions;
  private readonly clock: Clock;
  // Record batches (the only large byte arrays a producer sends) go to the socket as they are.
  private readonly writer = new Writer(64 * 1024, BY_REFERENCE);
  private readonly inFlight: Pending[] = [];
  /**
   * One timer for every request in flight, due at the oldest one's deadline (as Java's selector
   * checks only the oldest): requests are answered in order and share one timeout, so deadlines
   * ascend along `inFlight`. A timer per request cost a setTimeout and a clearTimeout each.
   */
  private deadlineTimer: Cancel | undefined;
  /** The socket is corked until the end of this tick (see send). */
  private corked = false;
  private readonly queue: Queued[] = [];
  private nextCorrelationId = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private received = 0;
  private closedWith: Error | undefined;
  /** While re-authenticating: new requests wait in the queue. */
  private paused = false;
  /** The socket's 'close' came: its handle is released (`destroyed` is true long before). */
  private socketClosed = false;
  private readonly closeListeners: Array<(error: Error) => void> = [];
  /** KIP-219: no request is written before this time (the clock's now()); see `throttle`. */
  private throttledUntil = 0;
  private throttleTimer: Cancel | undefined;
  private readonly throttleListeners: Array<(throttleTimeMs: number, request: string) => void> = [];

  private constructor(socket: Socket, opts: ConnectionOptions) {
    this.socket = socket;
    this.opts = opts;
    this.clock = opts.clock ?? clockOf(undefined);
    this.address = `${opts.host}:${opts.port}`;
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onData(chunk)));
    socket.on('error', (e) => this.guard(() => this.fail(socketError(this.address, e))));
    socket.on('close', () => this.guard(() => {
      this.socketClosed = true;
      this.fail(networkError(`connection to ${this.address} closed`));
    }));
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = () => this.guard(() => this.fail(networkError(`connection to ${this.address} was closed by the client`)));

  /**
   * Opens the socket (and completes the TLS handshake). A TLS failure is a TlsError, fatal: the
   * same handshake would fail again. A plaintext client whose first answer is a TLS record is
   * told that the listener speaks TLS. Aborting `signal` (the client closing) abandons it.
   */
  static connect(opts: ConnectionOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const address = `${opts.host}:${opts.port}`;
      const clock = opts.clock ?? clockOf(undefined);
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
      let socketClosed = false;
      socket.once('connect', () => (tcpConnected = true));
      socket.once('close', () => (socketClosed = true));
      // Rejects once the socket's handle is released, so a failed attempt leaves nothing open.
      const fail = (error: KafkaError) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (socketClosed) reject(error);
        else socket.once('close', () => reject(error)).destroy();
      };
      const giveUp = (error: KafkaError) => {
        cancelTimer();
        socket.off('error', onError);
        socket.on('error', () => undefined);
        fail(error);
      };
      const onAbort = () => giveUp(networkError(`connecting to ${address} was abandoned: the client closed`));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const cancelTimer = clock.schedule(() => giveUp(tcpConnected && tls
        ? new TlsError(`the TLS handshake with ${address} did not complete within ${opts.connectTimeoutMs} ms: is it a TLS listener?`)
        : networkError(`connecting to ${address} timed out after ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      const onError = (e: Error) => {
        cancelTimer();
        fail(tls && tcpConnected ? tlsError(address, e) : networkError(`cannot connect to ${address}: ${e.message}`));
      };
      socket.once('error', onError);
      socket.once(tls && !opts.transport ? 'secureConnect' : 'connect', () => {
        cancelTimer();
        socket.off('error', onError);
        opts.signal?.removeEventListener('abort', onAbort);
        const connection = new Connection(socket, opts);
        if (!tls) socket.prependOnceListener('data', (first: Buffer) => connection.refuseTls(first));
        resolve(connection);
      });
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Bytes read from the broker so far: tells a listener that dropped us from one that answered badly. */
  get bytesReceived(): number {
    return this.received;
  }

  /** Requests written and waiting for their answer. */

  get pending(): number {
    return this.inFlight.length + this.queue.length;
  }

  onClose(listener: (error: Error) => void): void {
    if (this.closedWith) listener(this.closedWith);
    else this.closeListeners.push(listener);
  }

  /** Called with each KIP-219 throttle time the broker asks for on this connection (for metrics). */
  onThrottle(listener: (throttleTimeMs: number, request: string) => void): void {
    this.throttleListeners.push(listener);
  }

  /**
   * Sends a request. Resolves with the decoded answer; for requests without an answer, once the
   * bytes are handed to the socket. Rejects with a retriable KafkaError (NETWORK_EXCEPTION or
   * REQUEST_TIMED_OUT) when the connection fails; a timed-out request closes the connection, since
   * what the broker did with it is unknown and later answers could not be matched.
   *
   * A request that must wait (`maxInFlight` requests are out, or the broker throttles us) waits at
   * most requestTimeoutMs to be written, then fails with REQUEST_TIMED_OUT and the connection
   * stays: nothing of it reached the broker. This bounds the wait behind any throttle time a
   * broker may announce.
   */
  request<T>(request: Request<T>): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const queued: Queued = { request: request as Request<unknown>, resolve: resolve as (v: unknown) => void, reject, cancelTimer: undefined };
      if (this.inFlight.length < this.opts.maxInFlight && this.queue.length === 0 && !this.throttled() && !this.paused) {
        this.write(queued);
        return;
      }
      queued.cancelTimer = this.clock.schedule(() => this.guard(() => this.expire(queued)), this.opts.requestTimeoutMs);
      this.queue.push(queued);
      this.armThrottleTimer();
    });
  }

  /** Holds new requests in the queue until `resume()`; `requestNow` still writes (re-authentication). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.writeQueued();
  }

  /** Writes at once, ahead of queued requests and whatever the pause: the SASL exchange of a re-authentication. */
  requestNow<T>(request: Request<T>): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => this.write({ request: request as Request<unknown>, resolve: resolve as (v: unknown) => void, reject, cancelTimer: undefined }));
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
      if (this.socketClosed) resolve();
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
    const frameLength = w.length;
    w.patchInt32(sizeAt, frameLength - 4);
    const frame = w.detachPieces();
    this.opts.observer?.written(frameLength);
    if (!request.decode) {
      this.send(frame, (e) => (e ? reject(networkError(`writing ${request.name} to ${this.address} failed: ${e.message}`)) : resolve(undefined)));
      return;
    }
    const pending: Pending = {
      correlationId,
      name: request.name,
      responseHeaderFlexible: request.flexible && request.apiKey !== API_VERSIONS,
      decode: request.decode,
      throttleMs: request.throttleMs,
      resolve,
      reject,
      deadline: this.clock.now() + this.opts.requestTimeoutMs,
    };
    this.inFlight.push(pending);
    if (this.deadlineTimer === undefined) this.armDeadlineTimer(pending.deadline);
    this.send(frame);
  }

  private armDeadlineTimer(at: number): void {
    this.deadlineTimer = this.clock.schedule(this.onDeadline, at - this.clock.now());
  }

  /**
   * The timer came due: the oldest request's deadline passed, or it was answered meanwhile and
   * the timer moves on to the next one's deadline.
   */
  private readonly onDeadline = () => this.guard(() => {
    this.deadlineTimer = undefined;
    const oldest = this.inFlight[0];
    if (oldest === undefined || this.closedWith) return;
    // A timer may fire a little before the clock reads its deadline: wait out the rest.
    if (oldest.deadline > this.clock.now()) {
      this.armDeadlineTimer(oldest.deadline);
      return;
    }
    this.fail(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${oldest.name} to ${this.address} got no answer within ${this.opts.requestTimeoutMs} ms`));
  });

  /**
   * Writes a frame's pieces into the socket, corked until the end of this tick: every frame
   * written meanwhile (the requests of one drain) leaves in one writev, one system call instead
   * of one each, which is most of what a request costs the client on loopback TCP.
   */
  private send(pieces: Uint8Array[], done?: (e?: Error | null) => void): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    for (let i = 0; i < pieces.length - 1; i++) this.socket.write(pieces[i]);
    this.socket.write(pieces[pieces.length - 1], done);
  }

  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  /** Writes waiting requests while the in-flight limit and the broker's throttle allow. */
  private writeQueued(): void {
    while (this.queue.length > 0 && this.inFlight.length < this.opts.maxInFlight && !this.closedWith && !this.paused) {
      if (this.throttled()) {
        this.armThrottleTimer();
        return;
      }
      const next = this.queue.shift()!;
      next.cancelTimer?.();
      this.write(next);
    }
  }

  private expire(queued: Queued): void {
    const i = this.queue.indexOf(queued);
    if (i === -1) return;
    this.queue.splice(i, 1);
    const why = this.throttled() ? `the broker throttles this client for ${this.throttledUntil - this.clock.now()} ms more (quota)` : `${this.opts.maxInFlight} requests were in flight`;
    queued.reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${queued.request.name} to ${this.address} could not be sent within ${this.opts.requestTimeoutMs} ms: ${why}`));
  }

  private throttled(): boolean {
    return this.throttledUntil > this.clock.now();
  }

  /**
   * KIP-219: the broker answered at once but stops reading from this connection for `ms` (its
   * quota is exceeded). As the Java client, send nothing on it meanwhile: requests wait in the
   * queue (and fail only by their own timeout).
   */
  private throttle(ms: number, request: string): void {
    const until = this.clock.now() + ms;
    if (until > this.throttledUntil) this.throttledUntil = until;
    for (const l of this.throttleListeners) this.notify('throttle', () => l(ms, request));
  }

  private armThrottleTimer(): void {
    if (this.throttleTimer || !this.throttled() || this.queue.length === 0) return;
    this.throttleTimer = this.clock.schedule(() => this.guard(() => {
      this.throttleTimer = undefined;
      this.writeQueued();
    }), this.throttledUntil - this.clock.now());
  }

  private onData(chunk: Buffer): void {
    if (this.closedWith) return;
    this.received += chunk.length;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.flatten();
      const size = head.readInt32BE(0);
      if (size < MIN_RESPONSE_BYTES || size > MAX_RESPONSE_BYTES) {
        this.fail(new BrokerProtocolError(this.address, `it sent a response frame of ${size} bytes${this.awaiting()}, and a response takes ${MIN_RESPONSE_BYTES} to ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
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
    const pending = this.inFlight[0];
    const correlationId = frame.readInt32BE(0);
    if (!pending || pending.correlationId !== correlationId) {
      const expected = pending ? `the answer to ${pending.name} (correlation id ${pending.correlationId})` : 'no answer (no request was waiting)';
      this.fail(new BrokerProtocolError(this.address, `it answered correlation id ${correlationId} where ${expected} was due`));
      return;
    }
    this.inFlight.shift();
    // The timer stays armed while requests are in flight (it moves on when due); an idle
    // connection keeps none.
    if (this.inFlight.length === 0) this.cancelDeadlineTimer();
    this.opts.observer?.read(frame.length + 4);
    let response: unknown;
    try {
      const r = new Reader(frame, 4);
      if (pending.responseHeaderFlexible) r.skipTaggedFields('response header tagged fields');
      response = pending.decode(r);
      if (r.remaining > 0) throw new DecodeError(`${pending.name} response`, r.offset, `${r.remaining} bytes are left over after the response`);
    } catch (e) {
      // The frame arrived whole, but its content is not the answer to what we asked: broker and
      // client disagree about the protocol (a version, a field, a corrupted stream). Nothing later
      // on this connection can be trusted, so it fails as a whole rather than only this request.
      const error = new BrokerProtocolError(this.address, `its answer to ${pending.name} cannot be read (${(e as Error).message})`, { cause: e });
      pending.reject(error);
      this.fail(error);
      return;
    }
    pending.resolve(response);
    const throttleMs = pending.throttleMs?.(response) ?? 0;
    if (throttleMs > 0) this.throttle(throttleMs, pending.name);
    this.writeQueued();
  }

  private cancelDeadlineTimer(): void {
    this.deadlineTimer?.();
    this.deadlineTimer = undefined;
  }

  /** `while waiting for the answer to Produce v11`, for errors about the stream. */
  private awaiting(): string {
    return this.inFlight.length > 0 ? ` while the answer to ${this.inFlight[0].name} was due` : '';
  }

  /**
   * Runs a socket or timer callback: an exception escaping it would be uncaught and end the
   * process, so it fails this connection instead (a retriable error the layers above handle).
   */
  private guard(work: () => void): void {
    try {
      work();
    } catch (e) {
      this.fail(new KafkaError(ErrorCode.NETWORK_EXCEPTION, `connection to ${this.address} failed: ${(e as Error)?.message ?? String(e)}`));
    }
  }

  private fail(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.socket.destroy();
    this.throttleTimer?.();
    this.throttleTimer = undefined;
    this.chunks = [];
    this.buffered = 0;
    this.cancelDeadlineTimer();
    for (const p of this.inFlight.splice(0)) p.reject(error);
    for (const q of this.queue.splice(0)) {
      q.cancelTimer?.();
      q.reject(error);
    }
    for (const l of this.closeListeners.splice(0)) this.notify('close', () => l(error));
  }

  /** A listener that throws must neither break this connection nor keep the others from hearing. */
  private notify(event: string, call: () => void): void {
    try {
      call();
    } catch (e) {
      process.emitWarning(`kafkarx: a ${event} listener of the connection to ${this.address} threw: ${(e as Error)?.message ?? String(e)}`);
    }
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
