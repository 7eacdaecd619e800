import { ErrorCode, KafkaError, type VersionRange } from '../protocol/errors.ts';
import type { Reader } from '../protocol/reader.ts';
import { CLIENT_VERSIONS, negotiate } from '../protocol/versions.ts';
import { VERSION } from '../version.ts';
import { Apis, type Api } from './apis.ts';
import { Connection, type ConnectionOptions, type Request } from './connection.ts';
import { clientThrottleMs } from './throttle.ts';

/**
 * A connection to one broker, after the ApiVersions handshake: it knows which version of each
 * API both sides speak and calls APIs by descriptor (see apis.ts).
 */
export class BrokerConnection {
  /** -1 for a bootstrap address whose node id is not known yet. */
  readonly nodeId: number;
  readonly connection: Connection;
  private readonly brokerVersions: ReadonlyMap<number, VersionRange>;
  private readonly chosen = new Map<number, number>();

  private constructor(nodeId: number, connection: Connection, brokerVersions: ReadonlyMap<number, VersionRange>) {
    this.nodeId = nodeId;
    this.connection = connection;
    this.brokerVersions = brokerVersions;
  }

  static async open(nodeId: number, options: ConnectionOptions): Promise<BrokerConnection> {
    const connection = await Connection.connect(options);
    try {
      return new BrokerConnection(nodeId, connection, await handshake(connection));
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
    return this.connection.request(toRequest(api, version, request, (r) => api.decode(r, version)));
  }

  /** A request the broker will not answer (Produce with acks=0): resolves once written. */
  send<Req>(api: Api<Req, unknown>, request: Req, version = this.version(api as Api<never, unknown>)): Promise<void> {
    return this.connection.request<void>(toRequest(api, version, request));
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/**
 * ApiVersions first, at our highest version. A broker that does not know that version answers
 * UNSUPPORTED_VERSION in the version-0 layout with its own range for ApiVersions (KIP-511), and we
 * ask again at the highest version both speak.
 */
async function handshake(connection: Connection): Promise<Map<number, VersionRange>> {
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
    if (res.errorCode === ErrorCode.NONE) return versions;
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
