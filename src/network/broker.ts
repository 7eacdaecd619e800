import { clockOf, type Cancel } from '../clock.ts';
import { ErrorCode, KafkaError, type VersionRange } from '../protocol/errors.ts';
import type { Reader } from '../protocol/reader.ts';
import { CLIENT_VERSIONS, negotiate } from '../protocol/versions.ts';
import { VERSION } from '../version.ts';
import { Apis, type Api } from './apis.ts';
import { Connection, type ConnectionOptions, type Request } from './connection.ts';
import { AuthenticationError } from './errors.ts';
import type { HandshakeDrops } from './handshake-drops.ts';
import { authenticate, type SaslTransport } from './sasl/authenticate.ts';
import { clientThrottleMs } from './throttle.ts';

export interface BrokerOptions extends ConnectionOptions {
  /**
   * Where connections to the same cluster remember being dropped right after the handshake (see
   * HandshakeDrops); the cluster passes its own. Without it, each connection judges alone, and a
   * drop is never taken for a listener that wants SASL or TLS.
   */
  handshakeDrops?: HandshakeDrops;
}

/** Java re-authenticates between 85% and 95% of the session lifetime (KIP-368), spread so connections do not all go at once. */
const REAUTH_AT_MIN = 0.85;
const REAUTH_AT_SPREAD = 0.1;

/**
 * A connection to one broker, after the ApiVersions handshake and, with `sasl`, authentication:
 * it knows which version of each API both sides speak and calls APIs by descriptor (see apis.ts).
 * When the broker limits the SASL session (KIP-368), the connection re-authenticates in place
 * before it ends: new requests wait while the exchange runs, requests in flight are answered as
 * usual (Kafka answers a connection's requests in order).
 */
export class BrokerConnection {
  /** -1 for a bootstrap address whose node id is not known yet. */
  readonly nodeId: number;
  readonly connection: Connection;
  private readonly brokerVersions: ReadonlyMap<number, VersionRange>;
  /** The cluster's finalized features (ApiVersions v3+, KIP-584), e.g. `transaction.version`, and their epoch. */
  readonly features: FinalizedFeatures;
  private readonly chosen = new Map<number, number>();
  private readonly options: BrokerOptions;
  /** Until the broker answers a request after the handshake, a closed connection is explained. */
  private answered = false;
  private readonly receivedAtHandshake: number;
  private dropped: KafkaError | undefined;
  private closing = false;
  private reauthTimer: Cancel | undefined;
  private readonly kinds = new Map<Api<never, unknown>, Array<RequestKind<unknown> | undefined>>();

  private constructor(nodeId: number, connection: Connection, { versions, features }: Handshake, options: BrokerOptions) {
    this.nodeId = nodeId;
    this.connection = connection;
    this.brokerVersions = versions;
    this.features = features;
    this.options = options;
    this.receivedAtHandshake = connection.bytesReceived;
    connection.onClose(() => this.reauthTimer?.());
  }

  static async open(nodeId: number, options: BrokerOptions): Promise<BrokerConnection> {
    const connection = await Connection.connect(options);
    try {
      const broker = new BrokerConnection(nodeId, connection, await handshake(connection), options);
      if (options.sasl) broker.scheduleReauthentication(await authenticate(broker.transport((r) => connection.request(r)), options.sasl));
      return broker;
    } catch (e) {
      await connection.close();
      throw e;
    }
  }

  get address(): string {
    return this.connection.address;
  }

  /** The highest version of `api` both sides speak; throws UnsupportedVersionError when none. */
  version(api: Api<never, unknown>): number {
    let v = this.chosen.get(api.key);
    if (v === undefined) {
      v = negotiate(this.brokerVersions, api.key);
      this.chosen.set(api.key, v);
    }
    return v;
  }

  call<Req, Res>(api: Api<Req, Res>, request: Req, version = this.version(api as Api<never, unknown>)): Promise<Res> {
    const kind = this.kindOf(api, version);
    const answer = this.connection.request<Res>({
      apiKey: api.key, apiVersion: version, flexible: kind.flexible, name: kind.name,
      encode: (w) => api.encode(w, version, request), decode: kind.decode, throttleMs: kind.throttleMs,
    });
    return this.answered ? answer : this.firstAnswer(answer);
  }

  /** What every call of `api` at `version` shares, built at its first call rather than at each. */
  private kindOf<Res>(api: Api<never, Res>, version: number): RequestKind<Res> {
    let byVersion = this.kinds.get(api);
    if (byVersion === undefined) this.kinds.set(api, (byVersion = []));
    const known = byVersion[version];
    if (known !== undefined) return known as RequestKind<Res>;
    const { flexible, name, decode, throttleMs } = toRequest(api, version, undefined, (r) => api.decode(r, version));
    const kind: RequestKind<Res> = { flexible, name, decode: decode!, throttleMs: throttleMs! };
    byVersion[version] = kind as RequestKind<unknown>;
    return kind;
  }

  /** A request the broker will not answer (Produce with acks=0): resolves once written. */
  send<Req>(api: Api<Req, unknown>, request: Req, version = this.version(api as Api<never, unknown>)): Promise<void> {
    return this.connection.request<void>(toRequest(api, version, request));
  }

  close(): Promise<void> {
    this.closing = true;
    this.reauthTimer?.();
    return this.connection.close();
  }

  /**
   * A broker that answers ApiVersions and then drops the connection at the first real request
   * is explained: the listener may want SASL or TLS. The first time it is retriable (a broker
   * may just have gone away); again on the next connection, it is fatal, since retrying without
   * SASL or TLS cannot succeed.
   */
  private firstAnswer<T>(answer: Promise<T>): Promise<T> {
    return answer.then((res) => {
      if (!this.answered) this.options.handshakeDrops?.answered(this.address);
      this.answered = true;
      return res;
    }, (e: unknown) => {
      // Only a listener that closed without a byte of answer is explained; a broker that sent a
      // frame, however broken, was not refusing an unauthenticated client.
      const silent = this.connection.bytesReceived === this.receivedAtHandshake;
      if (this.options.sasl || this.closing || !silent || !(e instanceof KafkaError) || e.code !== ErrorCode.NETWORK_EXCEPTION) throw e;
      this.dropped ??= this.explainDrop(e);
      throw this.dropped;
    });
  }

  /** One verdict per connection, however many of its first requests the drop failed. */
  private explainDrop(e: KafkaError): KafkaError {
    const message = `broker ${this.address} closed the connection after ApiVersions, at the first request without SASL: the listener may require TLS or SASL (set tls and/or sasl)`;
    const now = (this.options.clock ?? clockOf(undefined)).now();
    if (!this.options.handshakeDrops?.dropped(this.address, now)) return new KafkaError(ErrorCode.NETWORK_EXCEPTION, message);
    return new AuthenticationError(message, { cause: e });
  }

  private transport(request: <T>(r: Request<T>) => Promise<T>): SaslTransport {
    const { host, port } = this.options;
    return {
      host,
      port,
      version: (api) => this.version(api),
      call: (api, req, version) => request(toRequest(api, version, req, (r) => api.decode(r, version))),
    };
  }

  private scheduleReauthentication(lifetimeMs: number): void {
    if (lifetimeMs <= 0 || this.connection.closed) return;
    const clock = this.options.clock ?? clockOf(undefined);
    const delay = Math.max(1, Math.round(lifetimeMs * (REAUTH_AT_MIN + clock.random() * REAUTH_AT_SPREAD)));
    // An idle producer must not be kept alive just to re-authenticate.
    this.reauthTimer = clock.schedule(() => void this.reauthenticate(), delay, true);
  }

  /**
   * Re-authentication in place: new requests are held in the connection's queue while the SASL
   * exchange goes out ahead of them. A failure closes the connection; the cluster opens a new one
   * (authenticating from scratch) for whatever is retried, and a refusal there is fatal.
   */
  private async reauthenticate(): Promise<void> {
    const connection = this.connection;
    if (connection.closed) return;
    connection.pause();
    try {
      const lifetimeMs = await authenticate(this.transport((r) => connection.requestNow(r)), this.options.sasl!);
      connection.resume();
      this.scheduleReauthentication(lifetimeMs);
    } catch {
      void connection.close();
    }
  }
}

/** The parts of a Request that depend only on its API and version. */
interface RequestKind<Res> {
  flexible: boolean;
  name: string;
  decode: (r: Reader) => Res;
  throttleMs: (response: Res) => number;
}

export interface FinalizedFeatures {
  /** -1 when the broker reported none (before ApiVersions v3). */
  readonly epoch: bigint;
  /** Each feature's finalized (max) level. */
  readonly levels: ReadonlyMap<string, number>;
}

interface Handshake {
  versions: Map<number, VersionRange>;
  features: FinalizedFeatures;
}

/**
 * ApiVersions first, at our highest version. A broker that does not know that version answers
 * UNSUPPORTED_VERSION in the version-0 layout with its own range for ApiVersions (KIP-511), and we
 * ask again at the highest version both speak.
 */
async function handshake(connection: Connection): Promise<Handshake> {
  const api = Apis.apiVersions;
  let version = CLIENT_VERSIONS.get(api.key)!.maxVersion;
  for (let attempt = 0; attempt < 2; attempt++) {
    const asked = version;
    const res = await connection.request(toRequest(api, asked, { clientSoftwareName: 'kafkarx', clientSoftwareVersion: VERSION }, (r) => {
      const start = r.offset;
      const refused = r.int16('ApiVersionsResponse.errorCode') === ErrorCode.UNSUPPORTED_VERSION;
      r.offset = start;
      return api.decode(r, refused ? 0 : asked);
    }));
    const versions = new Map(res.apiKeys.map((k) => [k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion }]));
    if (res.errorCode === ErrorCode.NONE) {
      return { versions, features: { epoch: res.finalizedFeaturesEpoch, levels: new Map(res.finalizedFeatures.map((f) => [f.name, f.maxVersionLevel])) } };
    }
    if (res.errorCode !== ErrorCode.UNSUPPORTED_VERSION || !versions.has(api.key) || attempt > 0) {
      throw new KafkaError(res.errorCode, `ApiVersions v${asked} to ${connection.address} failed with error code ${res.errorCode}`);
    }
    version = negotiate(versions, api.key);
  }
  throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `no ApiVersions version agreed with ${connection.address}`);
}

/**
 * `request` as `api` at `version` on the wire; without `decode`, the broker sends no answer. The
 * connection holds back its next request for the throttle time of a KIP-219 answer.
 */
function toRequest<Req, Res>(api: Api<Req, unknown>, version: number, request: Req, decode?: (r: Reader) => Res): Request<Res> {
  return {
    apiKey: api.key,
    apiVersion: version,
    flexible: api.isFlexible(version),
    name: `${api.name} v${version}`,
    encode: (w) => api.encode(w, version, request),
    decode,
    throttleMs: (response) => clientThrottleMs(api.key, version, response),
  };
}
