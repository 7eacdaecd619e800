import type { SchedulerLike, Subscription } from 'rxjs';
import type { Cluster } from '../cluster/cluster.ts';
import { backoffMs } from '../cluster/cluster.ts';
import { clockOf, type Cancel, type Clock } from '../clock.ts';
import { codecFor } from '../codec/registry.ts';
import { Apis } from '../network/apis.ts';
import type { BrokerConnection } from '../network/broker.ts';
import { ApiKey } from '../protocol/messages/index.ts';
import type { PartitionProduceResponse, ProduceResponse } from '../protocol/messages/produce.ts';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { TRANSACTION_V1_MAX_VERSION } from '../protocol/versions.ts';
import { recordBatchSizeUpperBound, type RecordBatchBuilderPool } from '../record/batch-builder.ts';
import { CompressionCodec, RECORD_BATCH_OVERHEAD } from '../record/batch-format.ts';
import { readRecordBatch } from '../record/batch-reader.ts';
import { ProducerBatch, type BatchOwner } from './batch.ts';
import type { ResolvedConfig } from './config.ts';
import { isFatal, ProducerTimeoutError } from './errors.ts';
import { Fifo } from './fifo.ts';
import { Idempotence, type PartitionSequences } from './idempotence.ts';
import type { MemoryBudget } from './memory.ts';

/** What the sender asks of the transaction manager of a transactional producer. */
export interface TransactionHooks {
  readonly transactionalId: string;
  /** The open transaction uses transaction version 2 (KIP-890): Produce v12+ adds its partitions. Absent: classic. */
  readonly transactionV2?: boolean;
  /**
   * Whether a new batch for this partition may go: true once the partition is in the open
   * transaction; false while it is being added (the manager calls `Sender.wake()` when done); an
   * Error when it may not go at all (no open transaction, a failed transaction, a fatal error).
   */
  admit(topic: string, partition: number): boolean | Error;
  /**
   * A batch of the open transaction failed: the transaction can only abort. `sent`: it went out
   * at least once, so its sequence is spent and the epoch must be bumped when the abort is done.
   * Returns the error the batch should report instead, if the transaction reads it differently.
   */
  batchFailed(error: Error, sent: boolean): Error | undefined;
  /**
   * Why the open transaction can only abort (or the producer is done), if so: none of its queued
   * batches may go any more, so the sender fails them all at once.
   */
  doomed(): Error | undefined;
}

/** What to do with a batch whose request failed. */
const RETRY = 0;
const FAIL = 1;

/**
 * Sends closed batches to their partition leaders, as the Java client's Sender: batches bound for
 * the same broker are drained into one ProduceRequest (one batch per partition, up to
 * `maxRequestSize`), up to `maxInFlight` requests per broker. Retriable failures go back to the
 * front of their partition's queue after an exponential backoff, refreshing metadata when the
 * error says the leader moved, until `deliveryTimeoutMs` after the batch was created.
 *
 * An idempotent producer first gets a producer id (InitProducerId, once, when the first batch is
 * drained) and gives each batch its partition's next sequence number when the batch is first
 * drained; a retry keeps it. Up to `maxInFlight` batches of a partition may be in flight; after a
 * failure, batches are retried one at a time in sequence order, and what the broker rejected as
 * out of order behind a failed batch is retried after it. A lost sequence (KIP-360) restarts the
 * partition at sequence 0 under a bumped epoch.
 */
export class Sender {
  private readonly cluster: Cluster;
  private readonly config: ResolvedConfig;
  private readonly memory: MemoryBudget;
  private readonly builders: RecordBatchBuilderPool;
  /** Batches waiting to be sent, per partition ("topic\0partition"), oldest first. */
  private readonly queues = new Map<string, PartitionQueue>();
  /** The same queues by topic and partition: what adaptive partitioning weighs, without a walk of every queue. */
  private readonly topicQueues = new Map<string, Map<number, PartitionQueue>>();
  private inFlightBatches = 0;
  /** Enqueue order, so retried batches return to their place among their partition's batches. */
  private enqueued = 0;
  /** The drain scheduled soon, if any; close() cancels it, so no immediate outlives the producer. */
  private drainScheduled = false;
  private cancelDrain: Cancel | undefined;
  /**
   * The timer of the next drain a deadline needs (a delivery timeout, a retry backoff), and when
   * it is due. It is moved only to an earlier time: one left due later than needed drains for
   * nothing and arms the next, which costs less than a clearTimeout and a setTimeout every drain.
   */
  private wakeup: Cancel | undefined;
  private wakeupAt = Infinity;
  private readonly idleListeners: Array<() => void> = [];
  private readonly drainListeners = new Set<() => void>();
  /** Brokers whose connection is being opened: draining to them waits for it. */
  private readonly connecting = new Set<number>();
  /**
   * Per broker with batches waiting for it, since when it has taken none (the later of when they
   * started waiting and when a request last went to it): a broker that stays so (frozen,
   * unreachable, at its in-flight limit) is avoided by the adaptive partitioner after
   * `partitionerAvailabilityTimeoutMs`.
   */
  private readonly stalledSince = new Map<number, number>();
  /** Per broker, where the next request starts walking its ready partitions. */
  private readonly drainStart = new Map<number, number>();

  /** Virtual time in tests; real timers (and setImmediate for draining) otherwise. */
  private readonly clock: Clock;
  /** Producer id, epoch and sequences; absent when the producer is not idempotent. */
  readonly idempotence: Idempotence | undefined;
  private readonly txn: TransactionHooks | undefined;
  private initializing = false;
  /** Why the idempotent producer could not get a producer id; it fails every batch. */
  private initFailure: Error | undefined;
  /** The retriable error of the last InitProducerId attempt, for a ready() that times out. */
  private initLastError: Error | undefined;
  private initRetry: Pick<Subscription, 'unsubscribe'> | undefined;
  private readonly identityListeners: Array<(error?: Error) => void> = [];
  /** Set by close(): every batch still here, and any handed over later, fails with it. */
  private closedWith: Error | undefined;

  constructor(cluster: Cluster, config: ResolvedConfig, memory: MemoryBudget, builders: RecordBatchBuilderPool, scheduler?: SchedulerLike, txn?: TransactionHooks) {
    this.clock = scheduler ? clockOf(scheduler) : config.clock;
    this.cluster = cluster;
    this.config = config;
    this.memory = memory;
    this.builders = builders;
    this.txn = txn;
    if (config.idempotent) this.idempotence = new Idempotence(txn !== undefined);
  }

  /** Drains again soon: a condition a waiting batch depends on has changed. */
  wake(): void {
    this.scheduleDrain();
  }

  /**
   * Whether a batch of this partition handed over now would be next in line: false while an
   * earlier batch of it still waits here (no leader, connection down, retry backoff, in-flight
   * limit). The batch stage keeps filling the partition's open batch meanwhile, as the Java
   * client's accumulator does, instead of queueing a small batch every `lingerMs`.
   */
  canAccept(topic: string, partition: number): boolean {
    const queue = this.topicQueues.get(topic)?.get(partition);
    return queue === undefined || queue.length === 0;
  }

  /**
   * What the adaptive partitioner (KIP-794) weighs a new sticky partition by: of `candidates`
   * (partitions with a leader), those whose leader took a batch within `availabilityTimeoutMs` (0:
   * all), each with its number of queued batches. All candidates when none would be left.
   */
  partitionLoad(topic: string, candidates: readonly number[], availabilityTimeoutMs: number): { partitions: readonly number[]; queueSizes: number[] } {
    if (availabilityTimeoutMs > 0 && this.anyStalledFor(availabilityTimeoutMs)) {
      const partitions: number[] = [];
      const queueSizes: number[] = [];
      const now = this.now();
      for (const partition of candidates) {
        const since = this.stalledSince.get(this.cluster.leader(topic, partition));
        if (since !== undefined && now - since > availabilityTimeoutMs) continue;
        partitions.push(partition);
        queueSizes.push(this.topicQueues.get(topic)?.get(partition)?.length ?? 0);
      }
      if (partitions.length > 0 || candidates.length === 0) return { partitions, queueSizes };
    }
    // Runs once per sticky switch, so it must not cost a lookup per partition of a topic with
    // thousands: only the partitions with queued batches (usually a few) are looked up.
    const queueSizes = new Array<number>(candidates.length).fill(0);
    const queues = this.topicQueues.get(topic);
    if (queues !== undefined) {
      for (const queue of queues.values()) {
        const i = candidates[queue.partition] === queue.partition ? queue.partition : sortedIndexOf(candidates, queue.partition);
        if (i >= 0) queueSizes[i] = queue.length;
      }
    }
    return { partitions: candidates, queueSizes };
  }

  private anyStalledFor(ms: number): boolean {
    const now = this.now();
    for (const since of this.stalledSince.values()) if (now - since > ms) return true;
    return false;
  }

  /** Calls `listener` whenever partitions may have become free to accept (see canAccept); returns the way to stop. */
  onDrained(listener: () => void): () => void {
    this.drainListeners.add(listener);
    return () => this.drainListeners.delete(listener);
  }

  /**
   * Resolves once the idempotent producer has its producer id, getting one if needed; rejects when
   * the broker refuses one for good. The transactional producer's id comes from its transaction
   * manager instead.
   */
  producerIdReady(): Promise<void> {
    const idem = this.idempotence;
    if (!idem || idem.ready) return Promise.resolve();
    if (this.initFailure) return Promise.reject(this.initFailure);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      // As Java's initTransactions(): bounded by maxBlockMs, the producer stays usable after.
      const listener = (e?: Error) => {
        timeout.unsubscribe();
        if (e) reject(e);
        else resolve();
      };
      const timeout = this.timer(() => {
        const i = this.identityListeners.indexOf(listener);
        if (i !== -1) this.identityListeners.splice(i, 1);
        const last = this.initLastError;
        reject(new ProducerTimeoutError(`no producer id within maxBlockMs (${this.config.maxBlockMs} ms)${last ? `; last error: ${last.message}` : ''}`));
      }, this.config.maxBlockMs);
      this.identityListeners.push(listener);
      if (!idem.transactional) this.initProducerId();
    });
  }

  /**
   * The producer closed: batches still queued (and any handed over later) fail with `error`, a
   * pending InitProducerId stops retrying, and whoever waits for the producer id hears `error`.
   * Requests already written are answered or fail with their connection.
   */
  close(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.cancelDrain?.();
    this.cancelDrain = undefined;
    this.drainScheduled = false;
    this.cancelWakeup();
    this.initRetry?.unsubscribe();
    this.initializing = false;
    for (const l of this.identityListeners.splice(0)) l(error);
    this.failAll(error);
    this.notifyIfIdle();
  }

  /** The transaction manager sets the id it got from the coordinator, and again after each bump. */
  setProducerId(producerId: number, epoch: number): void {
    this.idempotence!.set(producerId, epoch);
    for (const l of this.identityListeners.splice(0)) l();
    this.scheduleDrain();
  }

  /** Batches queued or in flight. */
  get pending(): number {
    let n = this.inFlightBatches;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  enqueue<P>(batch: ProducerBatch<P>, owner: BatchOwner<P>): void {
    batch.owner = owner as BatchOwner;
    if (this.closedWith) {
      this.fail(batch as ProducerBatch, this.closedWith);
      return;
    }
    batch.order = this.enqueued++;
    this.queueOf(batch.topic, batch.partition).push(batch as ProducerBatch);
    this.scheduleDrain();
  }

  /**
   * Drops the queued (not yet written) batches of an owner that went away. A batch that already
   * holds a sequence number stays until it is settled: dropping it would leave a gap the broker
   * rejects every later batch of its partition for.
   */
  cancel(owner: BatchOwner<never>): void {
    for (const [key, queue] of this.queues) {
      queue.retain((b) => {
        if (b.owner !== (owner as unknown) || b.baseSequence >= 0) return true;
        this.release(b);
        return false;
      });
      if (queue.length === 0) this.dropQueue(key, queue);
    }
    for (const l of this.drainListeners) l();
    this.notifyIfIdle();
  }

  private now(): number {
    return this.clock.now();
  }

  private timer(work: () => void, delay: number): Pick<Subscription, 'unsubscribe'> {
    return { unsubscribe: this.clock.schedule(work, delay) };
  }

  /** Resolves once nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleListeners.push(resolve));
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.closedWith) return;
    // Set before scheduling: a scheduler that runs the drain at once (synchronously) clears it.
    this.drainScheduled = true;
    // After this turn's I/O (setImmediate in real time), not a microtask: batches closed by every
    // I/O event of this turn join the same requests.
    const cancel = this.clock.soon(this.runDrain);
    // Unless it ran already (and maybe scheduled the next one, whose cancel is kept).
    if (this.drainScheduled && this.cancelDrain === undefined) this.cancelDrain = cancel;
  }

  private readonly runDrain = () => {
    this.drainScheduled = false;
    this.cancelDrain = undefined;
    this.drain();
  };

  private readonly onWakeup = () => {
    this.wakeup = undefined;
    this.wakeupAt = Infinity;
    this.drain();
  };

  private cancelWakeup(): void {
    this.wakeup?.();
    this.wakeup = undefined;
    this.wakeupAt = Infinity;
  }

  private drain(): void {
    if (this.closedWith) {
      this.failAll(this.closedWith);
      this.notifyIfIdle();
      return;
    }
    const now = this.now();
    let nextWakeup = Infinity;
    const idem = this.idempotence;
    if (idem && !idem.ready) {
      if (this.initFailure) this.failAll(this.initFailure);
      else if (!idem.transactional && this.queues.size > 0) this.initProducerId();
    }
    // A transaction that can only abort sends nothing more: every batch still queued fails now,
    // not only the head of each partition, or those behind it would wait for a drain that never comes.
    const doomed = this.txn?.doomed();
    if (doomed && this.queues.size > 0) this.failAll(doomed);
    // Partition queues whose head may go now, by the broker leading them.
    const perNode = new Map<number, Fifo<ProducerBatch>[]>();
    const waiting = new Set<number>();
    let needMetadata = false;
    for (const [key, queue] of this.queues) {
      const head = queue.peek();
      if (!head) {
        this.dropQueue(key, queue);
        continue;
      }
      const deadline = head.createdAt + this.config.deliveryTimeoutMs;
      if (now >= deadline) {
        queue.shift();
        if (queue.length === 0) this.dropQueue(key, queue);
        this.fail(head, new ProducerTimeoutError(`expiring ${head.recordCount} record(s) for ${head.topic}-${head.partition}: ${now - head.createdAt} ms has passed since batch creation (deliveryTimeoutMs ${this.config.deliveryTimeoutMs})`, { topic: head.topic, partition: head.partition }));
        nextWakeup = now;
        continue;
      }
      const leader = this.cluster.leader(head.topic, head.partition);
      if (leader >= 0) waiting.add(leader);
      if (head.retryAt > now) {
        nextWakeup = Math.min(nextWakeup, head.retryAt, deadline);
        continue;
      }
      if (idem && !idem.ready) {
        nextWakeup = Math.min(nextWakeup, deadline);
        continue;
      }
      if (leader < 0) {
        needMetadata = true;
        nextWakeup = Math.min(nextWakeup, now + this.config.retryBackoffMs, deadline);
        continue;
      }
      const list = perNode.get(leader);
      if (list) list.push(queue);
      else perNode.set(leader, [queue]);
    }
    if (needMetadata) this.cluster.requestUpdate();
    for (const nodeId of this.stalledSince.keys()) if (!waiting.has(nodeId)) this.stalledSince.delete(nodeId);
    for (const nodeId of waiting) if (!this.stalledSince.has(nodeId)) this.stalledSince.set(nodeId, now);
    for (const [nodeId, queues] of perNode) {
      this.drainNode(nodeId, queues, now);
      // Whatever held a head back (a connection, the in-flight limit, its partition being added to
      // the transaction), its delivery timeout still needs a timer.
      for (const queue of queues) {
        const head = queue.peek();
        if (head) nextWakeup = Math.min(nextWakeup, head.createdAt + this.config.deliveryTimeoutMs);
      }
    }
    if (nextWakeup < this.wakeupAt) {
      this.wakeup?.();
      const delay = Math.max(1, nextWakeup - now);
      this.wakeupAt = now + delay;
      this.wakeup = this.clock.schedule(this.onWakeup, delay);
    }
    for (const l of this.drainListeners) l();
    this.notifyIfIdle();
  }

  private drainNode(nodeId: number, queues: Fifo<ProducerBatch>[], now: number): void {
    const conn = this.cluster.readyConnection(nodeId);
    if (!conn) {
      this.connect(nodeId, queues);
      return;
    }
    // As many requests as the connection may have in flight, each with at most one batch per
    // partition (the broker appends a partition's batches in request order).
    // Each request starts walking the partitions where the last one ran out of room (Java's
    // drainIndex), so a partition late in the list is not starved when requests fill early.
    let start = (this.drainStart.get(nodeId) ?? 0) % queues.length;
    while (conn.connection.pending < this.config.maxInFlight) {
      const batches: ProducerBatch[] = [];
      let size = 0;
      let skipped = -1;
      for (let n = 0; n < queues.length; n++) {
        const i = start + n < queues.length ? start + n : start + n - queues.length;
        const queue = queues[i];
        const head = queue.peek();
        if (!head || head.retryAt > now) continue;
        const bytes = head.builder.sizeInBytes;
        if (batches.length > 0 && size + bytes > this.config.maxRequestSize) {
          if (skipped === -1) skipped = i;
          continue;
        }
        // As Java: zstd batches need Produce v7 (Kafka 2.1); refuse them before a sequence is spent.
        if (head.builder.compression === CompressionCodec.ZSTD && conn.version(Apis.produce) < 7) {
          queue.shift();
          const error = new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
            `zstd compression needs Produce v7 or later (Kafka 2.1+), but broker ${nodeId} (${conn.address}) speaks Produce up to v${conn.version(Apis.produce)}: choose another codec`,
            { topic: head.topic, partition: head.partition });
          this.txn?.batchFailed(error, false);
          this.finish(head, error);
          continue;
        }
        if (this.idempotence) {
          const go = this.prepare(head);
          if (go instanceof Error) {
            // Not only the head: no batch of this partition may go (the next drain fails the others).
            for (let b = queue.shift(); b; b = queue.shift()) this.fail(b, go);
            this.scheduleDrain();
            continue;
          }
          if (!go) continue;
        } else {
          head.builder.bytes();
        }
        queue.shift();
        batches.push(head);
        size += bytes;
      }
      if (batches.length === 0) break;
      if (skipped !== -1) start = skipped;
      this.stalledSince.set(nodeId, now);
      this.produce(conn, batches);
    }
    this.drainStart.set(nodeId, start);
  }

  private connect(nodeId: number, queues: Fifo<ProducerBatch>[]): void {
    if (this.connecting.has(nodeId)) return;
    this.connecting.add(nodeId);
    this.cluster.connectionTo(nodeId).then(
      () => {
        this.connecting.delete(nodeId);
        this.scheduleDrain();
      },
      (e: Error) => {
        this.connecting.delete(nodeId);
        // Refused credentials or TLS (say, after a failed re-authentication): retrying until
        // deliveryTimeoutMs would only repeat the refusal.
        if (isFatal(e)) {
          this.failAll(e);
          return;
        }
        this.cluster.requestUpdate();
        for (const queue of queues) {
          const head = queue.peek();
          if (!head) continue;
          head.retryAt = this.now() + backoffMs(this.config, head.attempts, this.clock.random);
          head.lastError = e;
        }
        this.scheduleDrain();
      },
    );
  }

  /**
   * Whether an idempotent producer's batch may go now, giving a new batch its sequence (and, in a
   * transaction, waiting until its partition is added to the transaction).
   */
  private prepare(b: ProducerBatch): boolean | Error {
    const idem = this.idempotence!;
    const p = idem.partition(b.topic, b.partition);
    // Renumbering is safe only when the broker has definitely not written any unsettled batch
    // (refused for its sequence, or never sent: the parts of a split batch).
    if (p.bumpNeeded && !p.onWire() && p.unsettled.every((u) => u.rejected || u.attempts === 0)) {
      if (!idem.isStale(p) && !idem.bumpLocally()) {
        idem.clear();
        this.initProducerId();
        return false;
      }
      p.restart(idem.producerId, idem.epoch, false);
    }
    if (b.baseSequence >= 0) return p.isFirst(b);
    // A new batch under a new epoch must not overtake batches still unsettled under the old one.
    if (p.unsettled.length > 0 && (p.bumpNeeded || idem.isStale(p))) return false;
    if (this.txn) {
      const admitted = this.txn.admit(b.topic, b.partition);
      if (admitted !== true) return admitted;
    }
    if (idem.isStale(p)) p.restart(idem.producerId, idem.epoch, idem.transactional);
    p.assign(b, idem.transactional);
    return true;
  }

  /**
   * InitProducerId for the idempotent producer, from any broker, retried while retriable and while
   * someone waits for the id (a ready() call within its maxBlockMs, or queued batches within their
   * deliveryTimeoutMs); drain() starts it again for batches that come later.
   */
  private initProducerId(): void {
    if (this.initializing || this.initFailure || this.closedWith) return;
    this.initializing = true;
    const attempt = (retries: number) => {
      this.cluster.anyBroker()
        .then((conn) => conn.call(Apis.initProducerId, { transactionalId: null, transactionTimeoutMs: 0x7fffffff }))
        .then((res) => {
          if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, undefined, { message: 'InitProducerId for the idempotent producer' });
          this.initializing = false;
          this.initLastError = undefined;
          this.setProducerId(Number(res.producerId), res.producerEpoch);
        })
        .catch((e: Error) => {
          // close() has answered everyone waiting.
          if (this.closedWith) return;
          if (e instanceof KafkaError && e.retriable) {
            this.initLastError = e;
            if (this.identityListeners.length > 0 || this.queues.size > 0) {
              this.initRetry = this.timer(() => attempt(retries + 1), backoffMs(this.config, retries, this.clock.random));
            } else {
              this.initializing = false;
            }
            return;
          }
          this.initializing = false;
          this.initFailure = e;
          for (const l of this.identityListeners.splice(0)) l(e);
          this.scheduleDrain();
        });
    };
    attempt(0);
  }

  private failAll(error: Error): void {
    const all: ProducerBatch[] = [];
    for (const queue of this.queues.values()) all.push(...queue);
    this.queues.clear();
    this.topicQueues.clear();
    // Failing a batch hands it to its owner, which may enqueue more: collect first.
    for (const b of all) this.fail(b, error);
  }

  private produce(conn: BrokerConnection, batches: ProducerBatch[]): void {
    const topics = new Map<string, Array<{ index: number; records: Uint8Array }>>();
    for (const b of batches) {
      b.attempts++;
      b.inRequest = true;
      const entry = { index: b.partition, records: b.builder.bytes() };
      const list = topics.get(b.topic);
      if (list) list.push(entry);
      else topics.set(b.topic, [entry]);
    }
    const request = {
      transactionalId: this.txn?.transactionalId ?? null,
      acks: this.config.acks,
      timeoutMs: this.config.requestTimeoutMs,
      topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
    };
    this.inFlightBatches += batches.length;
    if (this.txn) {
      // Classic transactions cap Produce (see TRANSACTION_V1_MAX_VERSION); with transaction
      // version 2, v12+ tells the leader to add the partition to the transaction itself.
      let version: number;
      try {
        version = this.txn.transactionV2 ? conn.version(Apis.produce) : Math.min(conn.version(Apis.produce), TRANSACTION_V1_MAX_VERSION[ApiKey.Produce]);
      } catch (e) {
        this.settle(batches, () => e as Error);
        return;
      }
      this.config.instrumentation.produce(conn, batches, () => conn.call(Apis.produce, request, version)).then(
        (res) => this.settle(batches, this.lookup(res)),
        (e: Error) => this.settle(batches, () => e),
      );
      return;
    }
    if (this.config.acks === 0) {
      this.config.instrumentation.produce(conn, batches, () => conn.send(Apis.produce, request)).then(
        () => this.settle(batches, () => undefined),
        (e: Error) => this.settle(batches, () => e),
      );
      return;
    }
    this.config.instrumentation.produce(conn, batches, () => conn.call(Apis.produce, request)).then(
      (res) => this.settle(batches, this.lookup(res)),
      (e: Error) => this.settle(batches, () => e),
    );
  }

  /** Each batch's answer in a Produce response, after taking the new leaders it names (KIP-951). */
  private lookup(res: ProduceResponse): (b: ProducerBatch) => PartitionProduceResponse | Error {
    this.cluster.updateLeaders(res);
    return responseLookup(res);
  }

  /** `outcome` gives each batch's partition response, or the error that took the whole request. */
  private settle(batches: ProducerBatch[], outcome: (b: ProducerBatch) => PartitionProduceResponse | Error | undefined): void {
    this.inFlightBatches -= batches.length;
    let refresh = false;
    for (const b of batches) {
      b.inRequest = false;
      const o = outcome(b);
      if (o === undefined) {
        this.finish(b, null);
        continue;
      }
      let error: Error;
      if (o instanceof Error) {
        // The connection a forced close cut (see close()).
        error = this.closedWith ?? o;
        refresh = true;
      } else if (o.errorCode === ErrorCode.NONE || o.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        // A duplicate is a retry of a batch the broker had already written: it succeeded.
        b.baseOffset = Number(o.baseOffset);
        b.logAppendTime = Number(o.logAppendTimeMs);
        this.sequences(b)?.settle(b);
        this.finish(b, null);
        continue;
      } else if (this.closedWith) {
        // A forced close (see close()): nothing is retried or split any more.
        this.fail(b, this.closedWith);
        continue;
      } else if (o.errorCode === ErrorCode.MESSAGE_TOO_LARGE && b.recordCount > 1) {
        this.split(b);
        continue;
      } else {
        error = refusal(b, o);
      }
      if (error instanceof KafkaError && error.invalidMetadata) refresh = true;
      const verdict = this.idempotence ? this.sequenceVerdict(b, error, o instanceof Error ? undefined : o) : error instanceof KafkaError && error.retriable ? RETRY : FAIL;
      const now = this.now();
      const retryAt = now + backoffMs(this.config, b.attempts - 1, this.clock.random);
      if (verdict === RETRY && retryAt < b.createdAt + this.config.deliveryTimeoutMs) {
        b.retryAt = retryAt;
        b.lastError = error;
        this.config.instrumentation.retried(b, error);
        this.requeue(b);
      } else {
        this.fail(b, error);
      }
    }
    if (refresh) this.cluster.requestUpdate();
    this.scheduleDrain();
    this.notifyIfIdle();
  }

  /**
   * MESSAGE_TOO_LARGE for a batch of several records: the broker wrote none of it. As the Java
   * client, its records go again in smaller batches (halves, split again while still refused), so
   * only a record too large on its own fails. The parts take the batch's place in its partition's
   * queue and, when idempotent, its sequence numbers.
   */
  private split(b: ProducerBatch): void {
    const codec = b.builder.compression === CompressionCodec.NONE ? undefined : codecFor(b.builder.compression);
    // The batch keeps no records, only their bytes: read them back (a rare path).
    const decoded = readRecordBatch(b.builder.bytes(), 0, { decompress: (id, data) => codecFor(id).decompress(data) })!.records;
    const half = Math.ceil(b.recordCount / 2);
    let reservedLeft = b.reservedBytes;
    const parts = [[0, half], [half, b.recordCount]].map(([from, to], i) => {
      let reserved = 0;
      const builder = this.builders.acquire();
      for (let r = from; r < to; r++) {
        const { timestamp, key, value, headers } = decoded[r];
        builder.append(timestamp, key, value, headers);
        reserved += recordBatchSizeUpperBound(key, value, headers) - RECORD_BATCH_OVERHEAD;
      }
      // The memory the batch held goes with its records, all of it: the last part takes the rest.
      reserved = i === 0 ? Math.min(reserved, reservedLeft) : reservedLeft;
      reservedLeft -= reserved;
      const part = b.slice(from, to, builder, reserved);
      if (codec) part.builder.close(codec.id, (data) => codec.compress(data));
      else part.builder.close();
      part.orderSpan = b.orderSpan / 2;
      part.order = b.order + i * part.orderSpan;
      part.owner = b.owner;
      part.lastError = b.lastError;
      return part;
    });
    this.sequences(b)?.split(b, parts, this.txn !== undefined);
    b.owner?.split?.(b, parts.length);
    // Its records and their memory now belong to the parts.
    b.reservedBytes = 0;
    this.release(b);
    for (const part of parts) this.requeue(part);
  }

  /**
   * The sequence-aware reading of a failed batch, as the Java client's: out of order behind an
   * unsettled batch means that batch is missing, so retry after it; out of order at the head, or
   * an unknown producer, means the broker lost our sequence: the idempotent producer restarts the
   * partition under a bumped epoch and retries, a transaction can only abort.
   */
  private sequenceVerdict(b: ProducerBatch, error: Error, response: PartitionProduceResponse | undefined): number {
    const code = error instanceof KafkaError ? error.code : -1;
    const p = this.sequences(b);
    b.rejected = code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code === ErrorCode.UNKNOWN_PRODUCER_ID;
    if (!p || !b.rejected) return error instanceof KafkaError && error.retriable ? RETRY : FAIL;
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && (!p.isFirst(b) || b.sequenceReset)) return RETRY;
    // The broker did not know the log start offset yet: ask again.
    if (code === ErrorCode.UNKNOWN_PRODUCER_ID && (response?.logStartOffset === -1n || b.sequenceReset)) return RETRY;
    if (this.txn) return FAIL;
    p.bumpNeeded = true;
    return RETRY;
  }

  private sequences(b: ProducerBatch): PartitionSequences | undefined {
    return this.idempotence && b.baseSequence >= 0 ? this.idempotence.partition(b.topic, b.partition) : undefined;
  }

  /** Fails a batch for good; a sequence it spent on the wire must be accounted for. */
  private fail(b: ProducerBatch, error: Error): void {
    const p = this.sequences(b);
    if (p) {
      p.settle(b);
      if (!this.txn) p.bumpNeeded = true;
    }
    this.finish(b, this.txn?.batchFailed(error, p !== undefined) ?? error);
  }

  /** A retried batch goes back ahead of younger batches of its partition, keeping their order. */
  private requeue(b: ProducerBatch): void {
    this.queueOf(b.topic, b.partition).insert(b, (other) => other.order > b.order);
  }

  private queueOf(topic: string, partition: number): PartitionQueue {
    let byPartition = this.topicQueues.get(topic);
    let queue = byPartition?.get(partition);
    if (queue === undefined) {
      const key = `${topic}\0${partition}`;
      this.queues.set(key, (queue = new PartitionQueue(topic, partition)));
      if (byPartition === undefined) this.topicQueues.set(topic, (byPartition = new Map()));
      byPartition.set(partition, queue);
    }
    return queue;
  }

  private dropQueue(key: string, queue: PartitionQueue): void {
    this.queues.delete(key);
    const byPartition = this.topicQueues.get(queue.topic);
    if (byPartition?.get(queue.partition) !== queue) return;
    byPartition.delete(queue.partition);
    if (byPartition.size === 0) this.topicQueues.delete(queue.topic);
  }

  private finish(b: ProducerBatch, error: Error | null): void {
    if (error) {
      b.error = b.lastError && error instanceof ProducerTimeoutError ? withCause(error, b.lastError) : error;
    }
    const owner = b.owner;
    this.config.instrumentation.settled(b);
    this.release(b);
    owner?.done(b);
  }

  private release(b: ProducerBatch): void {
    this.memory.release(b.reservedBytes);
    b.reservedBytes = 0;
    this.builders.release(b.builder);
    b.owner = null;
  }

  private notifyIfIdle(): void {
    if (this.pending > 0) return;
    // Nothing left to time out: no timer outlives the work (a close() right after must find none).
    this.cancelWakeup();
    for (const l of this.idleListeners.splice(0)) l();
  }
}

/**
 * The error a partition's answer reports for a batch. A record too large on its own is named with
 * the limit that refused it. When the broker names the records it refused (Produce v8+, KIP-467),
 * those records get their own error and the rest of the batch one that says they were refused
 * only for being in the same batch.
 */
function refusal(b: ProducerBatch, o: PartitionProduceResponse): KafkaError {
  const where = { topic: b.topic, partition: b.partition };
  if (o.errorCode === ErrorCode.MESSAGE_TOO_LARGE) {
    return new KafkaError(ErrorCode.MESSAGE_TOO_LARGE,
      `the broker refused a record for ${b.topic}-${b.partition} as too large: the record (key ${Math.max(0, b.keySizes[0] ?? 0)} bytes, value ${Math.max(0, b.valueSizes[0] ?? 0)} bytes) makes a `
      + `${b.builder.sizeInBytes}-byte record batch, over the topic's limit max.message.bytes (the broker's message.max.bytes unless the topic sets it)${o.errorMessage ? `: ${o.errorMessage}` : ''}`, where);
  }
  const general = new KafkaError(o.errorCode, undefined, { ...where, message: o.errorMessage });
  const named = o.recordErrors.filter((e) => e.batchIndex >= 0 && e.batchIndex < b.recordCount);
  if (general.retriable || named.length === 0 || named.length === b.recordCount) return general;
  let first: KafkaError | undefined;
  for (const e of named) {
    const own = new KafkaError(o.errorCode, undefined, { ...where, message: `record ${e.batchIndex} of its batch was refused: ${e.batchIndexErrorMessage ?? o.errorMessage ?? 'no reason given'}` });
    (b.recordErrors ??= new Map()).set(e.batchIndex, own);
    first ??= own;
  }
  const mates = new KafkaError(o.errorCode, `this record was not refused itself, but its batch for ${b.topic}-${b.partition} was, because of ${named.length === 1 ? 'another record' : `${named.length} other records`} in it (${first!.message})`, where);
  mates.cause = first;
  return mates;
}

function responseLookup(res: ProduceResponse): (b: ProducerBatch) => PartitionProduceResponse | Error {
  const missing = (b: ProducerBatch) => new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `the produce response has no answer for ${b.topic}-${b.partition}`, { topic: b.topic, partition: b.partition });
  let answers = 0;
  for (const t of res.responses) answers += t.partitionResponses.length;
  // A request of a few partitions (the common case) is searched as it is; maps pay off for more.
  if (answers <= SCAN_ANSWERS) {
    return (b) => {
      for (const t of res.responses) {
        if (t.name !== b.topic) continue;
        for (const p of t.partitionResponses) if (p.index === b.partition) return p;
      }
      return missing(b);
    };
  }
  const byTopic = new Map<string, Map<number, PartitionProduceResponse>>();
  for (const t of res.responses) {
    let byPartition = byTopic.get(t.name);
    if (byPartition === undefined) byTopic.set(t.name, (byPartition = new Map()));
    for (const p of t.partitionResponses) byPartition.set(p.index, p);
  }
  return (b) => byTopic.get(b.topic)?.get(b.partition) ?? missing(b);
}

/** Up to this many partition answers, a batch's answer is found by a scan rather than through maps. */
const SCAN_ANSWERS = 16;

/** One partition's waiting batches. */
class PartitionQueue extends Fifo<ProducerBatch> {
  readonly topic: string;
  readonly partition: number;

  constructor(topic: string, partition: number) {
    super();
    this.topic = topic;
    this.partition = partition;
  }
}

/** The index of `value` in an ascending array, or -1. */
function sortedIndexOf(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else if (sorted[mid] > value) hi = mid - 1;
    else return mid;
  }
  return -1;
}

function withCause(error: Error, cause: Error): Error {
  error.cause = cause;
  error.message += ` (last error: ${cause.message})`;
  return error;
}
