/**
 * The API versions kafkarx speaks, and the choice of one with a broker.
 *
 * The generated codecs handle every version in Kafka 4.1's schemas; the ranges here are the
 * versions the client layers are written for. Brokers from Kafka 2.8 to 4.1 must all find a common
 * version, so each minimum is at or below what 2.8 and 4.x both accept. Why each range:
 *
 * - Produce 3-12. 3 is the first version carrying message-format-2 batches, the only format we
 *   write (and the floor since Kafka 4.0, KIP-896). 13 (Kafka 4.1) names topics by id instead of
 *   name (KIP-516), which would need topic ids from Metadata threaded through the accumulator; not
 *   worth it while every broker still takes 12. Two caps the producer must apply itself: zstd
 *   batches need 7+, and inside a transaction 12 is only allowed when the transaction uses
 *   version 2 (KIP-890 part 2: the broker then adds partitions implicitly), so a producer with
 *   classic transactions caps Produce at `TRANSACTION_V1_MAX_VERSION[Produce]`.
 * - Metadata 4-13: 4 adds AllowAutoTopicCreation, which the producer needs to control; 2.8 stops
 *   at 11. Topic names are always requested by name.
 * - InitProducerId 0-5: 6 is KIP-939 (two-phase commit) and still marked unstable in 4.1.
 * - FindCoordinator 1-6: 1 adds KeyType (transaction coordinators); 4+ batches keys, which the
 *   coordinator lookup must handle next to the single-key form for 2.8 brokers.
 * - AddPartitionsToTxn 0-3: 4+ is the broker-to-broker batched form.
 * - EndTxn 0-5 and TxnOffsetCommit 0-5: the top versions (5) mean transaction version 2; with
 *   classic transactions the producer caps them at 4 (see TRANSACTION_V1_MAX_VERSION).
 * - ListOffsets 1-10, CreateTopics 2-7, DeleteTopics 1-6: floors of Kafka 4.0 (KIP-896).
 * - ApiVersions, AddOffsetsToTxn, SaslHandshake, SaslAuthenticate, CreatePartitions: all versions.
 */
import { UnsupportedVersionError, type VersionRange } from './errors.ts';
import { API_SCHEMAS, ApiKey, type ApiName } from './messages/index.ts';

export type { VersionRange };

export const CLIENT_VERSIONS: ReadonlyMap<number, VersionRange> = new Map<number, VersionRange>([
  [ApiKey.Produce, { minVersion: 3, maxVersion: 12 }],
  [ApiKey.ListOffsets, { minVersion: 1, maxVersion: 10 }],
  [ApiKey.Metadata, { minVersion: 4, maxVersion: 13 }],
  [ApiKey.FindCoordinator, { minVersion: 1, maxVersion: 6 }],
  [ApiKey.SaslHandshake, { minVersion: 0, maxVersion: 1 }],
  [ApiKey.ApiVersions, { minVersion: 0, maxVersion: 4 }],
  [ApiKey.CreateTopics, { minVersion: 2, maxVersion: 7 }],
  [ApiKey.DeleteTopics, { minVersion: 1, maxVersion: 6 }],
  [ApiKey.InitProducerId, { minVersion: 0, maxVersion: 5 }],
  [ApiKey.AddPartitionsToTxn, { minVersion: 0, maxVersion: 3 }],
  [ApiKey.AddOffsetsToTxn, { minVersion: 0, maxVersion: 4 }],
  [ApiKey.EndTxn, { minVersion: 0, maxVersion: 5 }],
  [ApiKey.TxnOffsetCommit, { minVersion: 0, maxVersion: 5 }],
  [ApiKey.SaslAuthenticate, { minVersion: 0, maxVersion: 2 }],
  [ApiKey.CreatePartitions, { minVersion: 0, maxVersion: 3 }],
]);

/** The highest versions allowed in a transaction that does not use transaction version 2. */
export const TRANSACTION_V1_MAX_VERSION = {
  [ApiKey.Produce]: 11,
  [ApiKey.EndTxn]: 4,
  [ApiKey.TxnOffsetCommit]: 4,
} as const;

export interface BrokerApiVersion {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export function apiName(apiKey: number): ApiName | `api ${number}` {
  return API_SCHEMAS.get(apiKey)?.name ?? `api ${apiKey}`;
}

const describe = (r: VersionRange): string => `${r.minVersion}-${r.maxVersion}`;

/**
 * The highest version of `apiKey` that both we and the broker speak. `broker` is the api list of
 * an ApiVersions response (or the same keyed by api key); `maxVersion` lowers our own ceiling, for
 * the caps in TRANSACTION_V1_MAX_VERSION and the like.
 */
export function negotiate(broker: Iterable<BrokerApiVersion> | ReadonlyMap<number, VersionRange>, apiKey: number, maxVersion?: number): number {
  const ours = CLIENT_VERSIONS.get(apiKey);
  const name = apiName(apiKey);
  if (!ours) throw new UnsupportedVersionError(`kafkarx does not implement ${name}`, { api: name, brokerVersions: null });
  const client = maxVersion === undefined ? ours : { minVersion: ours.minVersion, maxVersion: Math.min(ours.maxVersion, maxVersion) };
  const theirs = brokerRange(broker, apiKey);
  if (!theirs) {
    throw new UnsupportedVersionError(`the broker does not support ${name} (api key ${apiKey}); kafkarx speaks versions ${describe(client)}`, {
      api: name,
      clientVersions: client,
      brokerVersions: null,
    });
  }
  const version = Math.min(client.maxVersion, theirs.maxVersion);
  if (version < Math.max(client.minVersion, theirs.minVersion)) {
    throw new UnsupportedVersionError(
      `no common version of ${name} (api key ${apiKey}): kafkarx speaks ${describe(client)}, the broker ${describe(theirs)}`,
      { api: name, clientVersions: client, brokerVersions: theirs },
    );
  }
  return version;
}

function brokerRange(broker: Iterable<BrokerApiVersion> | ReadonlyMap<number, VersionRange>, apiKey: number): VersionRange | undefined {
  if (broker instanceof Map) return (broker as ReadonlyMap<number, VersionRange>).get(apiKey);
  for (const entry of broker as Iterable<BrokerApiVersion>) if (entry.apiKey === apiKey) return entry;
  return undefined;
}

/**
 * Request header version for an API version: 2 (tagged fields) for flexible versions, else 1.
 * (Version 0, without client id, only ever served ControlledShutdown v0.)
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  return isFlexibleVersion(apiKey, apiVersion) ? 2 : 1;
}

/**
 * Response header version: 1 for flexible versions, else 0, except that ApiVersions responses
 * always use 0, because a broker answers them before it knows which versions the client speaks.
 */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexibleVersion(apiKey, apiVersion) ? 1 : 0;
}

function isFlexibleVersion(apiKey: number, apiVersion: number): boolean {
  const schema = API_SCHEMAS.get(apiKey);
  if (!schema) throw new UnsupportedVersionError(`no schema for ${apiName(apiKey)}`, { api: apiName(apiKey) });
  return schema.firstFlexibleVersion !== null && apiVersion >= schema.firstFlexibleVersion;
}
