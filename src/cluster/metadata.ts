import type { MetadataResponse } from '../protocol/messages/metadata.ts';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { ZERO_UUID } from '../protocol/message-support.ts';

/** What the producer knows of one topic: its partitions and their leaders. */
export class TopicInfo {
  readonly name: string;
  readonly partitionCount: number;
  /** Leader node id by partition; -1 while a partition has none. */
  readonly leaders: Int32Array;
  readonly leaderEpochs: Int32Array;
  /** Partitions with a leader: where keyless records may go. */
  readonly available: readonly number[];
  readonly fetchedAt: number;
  /** The topic's id (Metadata v10+); ZERO_UUID when the broker gave none. */
  readonly topicId: string;

  constructor(name: string, leaders: Int32Array, leaderEpochs: Int32Array, fetchedAt: number, topicId: string = ZERO_UUID) {
    this.name = name;
    this.topicId = topicId;
    this.partitionCount = leaders.length;
    this.leaders = leaders;
    this.leaderEpochs = leaderEpochs;
    this.fetchedAt = fetchedAt;
    const available: number[] = [];
    for (let p = 0; p < leaders.length; p++) if (leaders[p] >= 0) available.push(p);
    this.available = available;
  }
}

export interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
}

/** A metadata answer, sorted into what the cluster keeps and what it must act on. */
export interface MetadataUpdate {
  brokers: BrokerAddress[];
  topics: TopicInfo[];
  /** Topics that are not there yet (being auto-created) or have no leaders: ask again soon. */
  pending: Map<string, KafkaError | undefined>;
  /** Topics the broker refuses for good (authorization, illegal name): their waiters fail. */
  failed: Map<string, KafkaError>;
}

const RETRY_TOPIC = new Set<number>([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE]);

export function readMetadata(res: MetadataResponse, now: number): MetadataUpdate {
  const update: MetadataUpdate = {
    brokers: res.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
    topics: [],
    pending: new Map(),
    failed: new Map(),
  };
  for (const t of res.topics) {
    const name = t.name ?? '';
    if (t.errorCode !== ErrorCode.NONE) {
      const error = new KafkaError(t.errorCode, undefined, { topic: name });
      if (RETRY_TOPIC.has(t.errorCode) || error.retriable) update.pending.set(name, error);
      else update.failed.set(name, error);
      continue;
    }
    let count = 0;
    for (const p of t.partitions) count = Math.max(count, p.partitionIndex + 1);
    const leaders = new Int32Array(count).fill(-1);
    const epochs = new Int32Array(count).fill(-1);
    for (const p of t.partitions) {
      leaders[p.partitionIndex] = p.errorCode === ErrorCode.LEADER_NOT_AVAILABLE ? -1 : p.leaderId;
      epochs[p.partitionIndex] = p.leaderEpoch;
    }
    if (count === 0) update.pending.set(name, undefined);
    else update.topics.push(new TopicInfo(name, leaders, epochs, now, t.topicId));
  }
  return update;
}

/**
 * `fresh`, except that a partition whose leader epoch there is older than in `known` keeps its
 * known leader and epoch, as the Java client's Metadata.updateLatestMetadata: a metadata answer
 * from a broker that has not heard of the last leader change (or one a Produce answer already
 * told us of, KIP-951) moves no partition back to an older leader. A partition without an epoch
 * in the answer, or a topic whose id changed (deleted and created again), takes the answer as is.
 */
export function withoutStaleLeaders(known: TopicInfo | undefined, fresh: TopicInfo): TopicInfo {
  if (!known || (fresh.topicId !== ZERO_UUID && fresh.topicId !== known.topicId)) return fresh;
  let leaders: Int32Array | undefined;
  let epochs: Int32Array | undefined;
  const shared = Math.min(fresh.partitionCount, known.partitionCount);
  for (let p = 0; p < shared; p++) {
    if (fresh.leaderEpochs[p] < 0 || fresh.leaderEpochs[p] >= known.leaderEpochs[p]) continue;
    leaders ??= fresh.leaders.slice();
    epochs ??= fresh.leaderEpochs.slice();
    leaders[p] = known.leaders[p];
    epochs[p] = known.leaderEpochs[p];
  }
  return leaders ? new TopicInfo(fresh.name, leaders, epochs!, fresh.fetchedAt, fresh.topicId) : fresh;
}

/** Fresh metadata shows the topic, but not the partition a record names. */
export class UnknownPartitionError extends KafkaError {
  constructor(topic: string, partition: number, partitionCount: number) {
    super(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${partition} of topic ${JSON.stringify(topic)} does not exist: the topic has ${partitionCount} partitions`, { topic, partition });
  }
}

/** The topic did not show up in metadata in time (Java's "not present in metadata after N ms"). */
export class MetadataTimeoutError extends KafkaError {
  override name = 'TimeoutError';

  constructor(topic: string, timeoutMs: number, last?: Error) {
    super(ErrorCode.REQUEST_TIMED_OUT, `topic ${JSON.stringify(topic)} not present in metadata after ${timeoutMs} ms${last ? ` (last problem: ${last.message})` : ''}`, { topic });
  }
}
