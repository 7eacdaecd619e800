import { ApiKey } from '../protocol/messages/index.ts';

/**
 * KIP-219: from these versions on, a broker over a quota answers at once, says for how long it
 * throttles the client (throttleTimeMs), and stops reading from the connection for that long; the
 * client must not send on it meanwhile (Java: AbstractResponse.shouldClientThrottle). Older
 * versions had the broker delay its answer instead, so their throttleTimeMs is already served.
 */
const CLIENT_THROTTLES_FROM: ReadonlyMap<number, number> = new Map([
  [ApiKey.Produce, 6],
  [ApiKey.ListOffsets, 3],
  [ApiKey.Metadata, 6],
  [ApiKey.FindCoordinator, 2],
  [ApiKey.ApiVersions, 2],
  [ApiKey.CreateTopics, 3],
  [ApiKey.DeleteTopics, 2],
  [ApiKey.InitProducerId, 1],
  [ApiKey.AddPartitionsToTxn, 1],
  [ApiKey.AddOffsetsToTxn, 1],
  [ApiKey.EndTxn, 1],
  [ApiKey.TxnOffsetCommit, 1],
  [ApiKey.CreatePartitions, 1],
]);

/** How long the client must wait before its next request on the connection that got `response`. */
export function clientThrottleMs(apiKey: number, version: number, response: unknown): number {
  const from = CLIENT_THROTTLES_FROM.get(apiKey);
  if (from === undefined || version < from) return 0;
  const ms = (response as { throttleTimeMs?: unknown }).throttleTimeMs;
  return typeof ms === 'number' && ms > 0 ? ms : 0;
}
