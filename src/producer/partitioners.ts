import murmurHash3 from 'murmurhash3js-revisited';
import { murmur2, toPositive } from './murmur2.ts';

/** What a partitioner sees of a record whose partition was not given. */
export interface PartitionInput<K = unknown, V = unknown> {
  topic: string;
  key: K | undefined;
  keyBytes: Uint8Array | null;
  value: V;
  partitionCount: number;
  /** Partitions that have a leader now; a keyless record should go to one of these. */
  availablePartitions: readonly number[];
}

/** A custom partitioner returns a partition in [0, partitionCount). */
export type PartitionerFn<K = unknown, V = unknown> = (input: PartitionInput<K, V>) => number;

export type PartitionerName = 'default' | 'murmur2' | 'murmur3' | 'round-robin';

/**
 * The partitions a new sticky choice may take, each with its number of queued batches (see
 * Sender.partitionLoad): adaptive partitioning (KIP-794) favours the short queues.
 */
export type PartitionLoad = (topic: string, available: readonly number[]) => { partitions: readonly number[]; queueSizes: readonly number[] };

/**
 * The open batches of the stream's batch stage, as the sticky choice sees them: keyless records
 * stay on a partition while its open batch has room, so a switch leaves no partial batch behind.
 */
export interface OpenBatches {
  /** Bytes the partition's open batch may still take; undefined when it has none open. */
  room(topic: string, partition: number): number | undefined;
  /** The sticky choice moves on from this partition: its open batch goes now, as a full one would. */
  seal(topic: string, partition: number): void;
}

/**
 * Chooses partitions for one stream of records. Keyed records hash their key bytes; keyless
 * records stick to one partition until `stickyBytes` have gone to it, then move to another
 * partition at random among those with a leader (KIP-480, with KIP-794's byte-count switch), so
 * keyless traffic forms full batches instead of many small ones. Given the stream's `batches`, the
 * switch waits, as the Java client's, until the partition's open batch is full: a record that would
 * not fit moves on and the batch goes at once, and a partition whose last batch went on its linger
 * is left once `stickyBytes` went to it. So only one batch per topic is open for keyless records,
 * however many partitions the topic has. With `load` (adaptive
 * partitioning, KIP-794), the random choice is weighted as the Java client's: a partition with
 * q queued batches counts (max q + 1 - q) times, and partitions whose leader stopped taking
 * batches are left out.
 */
export class PartitionChooser {
  private readonly hash: ((key: Uint8Array) => number) | undefined;
  private readonly roundRobin: boolean;
  private readonly sticky = new Map<string, { partition: number; bytes: number }>();
  private readonly counters = new Map<string, number>();
  /** The sticky state of the topic chosen for last: records mostly come in runs of one topic. */
  private lastTopic: string | undefined;
  private lastState: { partition: number; bytes: number } | undefined;

  readonly stickyBytes: number;
  private readonly random: () => number;

  private readonly load: PartitionLoad | undefined;

  private readonly batches: OpenBatches | undefined;

  constructor(name: PartitionerName, stickyBytes: number, random: () => number = Math.random, load?: PartitionLoad, batches?: OpenBatches) {
    this.hash = name === 'murmur3' ? murmur3 : name === 'round-robin' ? undefined : murmur2;
    this.roundRobin = name === 'round-robin';
    this.stickyBytes = stickyBytes;
    this.random = random;
    this.load = load;
    this.batches = batches;
  }

  /** `size` is the record's estimated size in its batch, counted toward the sticky switch. */
  choose(topic: string, keyBytes: Uint8Array | null, size: number, partitionCount: number, available: readonly number[]): number {
    if (this.roundRobin) return this.nextRoundRobin(topic, partitionCount, available);
    if (keyBytes !== null && this.hash) return toPositive(this.hash(keyBytes)) % partitionCount;
    const known = topic === this.lastTopic ? this.lastState : this.sticky.get(topic);
    const fresh = known === undefined || known.partition >= partitionCount;
    const state = fresh ? { partition: this.pick(topic, partitionCount, available), bytes: 0 } : known;
    if (fresh) this.sticky.set(topic, state);
    this.lastTopic = topic;
    this.lastState = state;
    if (!fresh && this.batches) {
      const room = this.batches.room(topic, state.partition);
      if (room === undefined ? state.bytes >= this.stickyBytes : size > room) {
        if (room !== undefined) this.batches.seal(topic, state.partition);
        state.partition = this.pick(topic, partitionCount, available);
        state.bytes = 0;
      }
    }
    const partition = state.partition;
    state.bytes += size;
    if (this.batches === undefined && state.bytes >= this.stickyBytes) {
      state.partition = this.pick(topic, partitionCount, available);
      state.bytes = 0;
    }
    return partition;
  }

  /** A new sticky partition: runs once per `stickyBytes`, so it may look at every partition. */
  private pick(topic: string, partitionCount: number, available: readonly number[]): number {
    const r = Math.floor(this.random() * 0x7fffffff);
    if (available.length === 0) return r % partitionCount;
    if (this.load) {
      const { partitions, queueSizes } = this.load(topic, available);
      if (partitions.length > 0) return weightedChoice(partitions, queueSizes, r);
    }
    return available[r % available.length];
  }

  private nextRoundRobin(topic: string, partitionCount: number, available: readonly number[]): number {
    const n = this.counters.get(topic) ?? 0;
    this.counters.set(topic, n + 1);
    return available.length > 0 ? available[n % available.length] : n % partitionCount;
  }
}

/**
 * `r` (a random non-negative int) picks a partition, each weighted by how much shorter its queue
 * is than the longest plus one; equal queues make it uniform, as `partitions[r % n]`.
 */
export function weightedChoice(partitions: readonly number[], queueSizes: readonly number[], r: number): number {
  let max = 0;
  for (const q of queueSizes) if (q > max) max = q;
  let total = 0;
  for (const q of queueSizes) total += max + 1 - q;
  let point = r % total;
  for (let i = 0; i < partitions.length; i++) {
    point -= max + 1 - queueSizes[i];
    if (point < 0) return partitions[i];
  }
  return partitions[partitions.length - 1];
}

/** MurmurHash3 x86 32-bit, seed 0, as a signed int (opt-in: not what Java's client uses). */
function murmur3(key: Uint8Array): number {
  return murmurHash3.x86.hash32(key) | 0;
}
