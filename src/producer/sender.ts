import type { SchedulerLike, Subscription } from 'rxjs';
import type { Cluster } from '../cluster/cluster.ts';
import { backoffMs } from '../cluster/cluster.ts';
import { Apis } from '../network/apis.ts';
import type { BrokerConnection } from '../network/broker.ts';
import type { PartitionProduceResponse, ProduceResponse } from '../protocol/messages/produce.ts';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import type { RecordBatchBuilderPool } from '../record/batch-builder.ts';
import type { BatchOwner, ProducerBatch } from './batch.ts';
import type { ResolvedConfig } from './config.ts';
import { ProducerTimeoutError } from './errors.ts';
import { Fifo } from './fifo.ts';
import type { MemoryBudget } from './memory.ts';

/**
 * Sends closed batches to their partition leaders, as the Java client's Sender: batches bound for
 * the same broker are drained into one ProduceRequest (one batch per partition, up to
 * `maxRequestSize`), up to `maxInFlight` requests per broker. Retriable failures go back to the
 * front of their partition's queue after an exponential backoff, refreshing metadata when the
 * error says the leader moved, until `deliveryTimeoutMs` after the batch was created.
 */
export class Sender {
  private readonly cluster: Cluster;
  private readonly config: ResolvedConfig;
  private readonly memory: MemoryBudget;
  private readonly builders: RecordBatchBuilderPool;
  /** Batches waiting to be sent, per partition ("topic\0partition"), oldest first. */
  private readonly queues = new Map<string, Fifo<ProducerBatch>>();
  private inFlightBatches = 0;
  /** Enqueue order, so retried batches return to their place among their partition's batches. */
  private enqueued = 0;
  private drainScheduled = false;
  private wakeup: Subscription | undefined;
  private readonly idleListeners: Array<() => void> = [];
  /** Brokers whose connection is being opened: draining to them waits for it. */
  private readonly connecting = new Set<number>();

  /** Virtual time in tests; real timers (and setImmediate for draining) otherwise. */
  private readonly scheduler: SchedulerLike | undefined;

  constructor(cluster: Cluster, config: ResolvedConfig, memory: MemoryBudget, builders: RecordBatchBuilderPool, scheduler?: SchedulerLike) {
    this.scheduler = scheduler;
    this.cluster = cluster;
    this.config = config;
    this.memory = memory;
    this.builders = builders;
  }

  /** Batches queued or in flight. */
  get pending(): number {
    let n = this.inFlightBatches;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  enqueue<P>(batch: ProducerBatch<P>, owner: BatchOwner<P>): void {
    batch.owner = owner as BatchOwner;
    batch.sequence = this.enqueued++;
    const key = `${batch.topic}\0${batch.partition}`;
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = new Fifo()));
    queue.push(batch as ProducerBatch);
    this.scheduleDrain();
  }

  /** Drops the queued (not yet written) batches of an owner that went away. */
  cancel(owner: BatchOwner<never>): void {
    for (const [key, queue] of this.queues) {
      queue.retain((b) => {
        if (b.owner !== (owner as unknown)) return true;
        this.release(b);
        return false;
      });
      if (queue.length === 0) this.queues.delete(key);
    }
    this.notifyIfIdle();
  }

  private now(): number {
    return this.scheduler ? this.scheduler.now() : Date.now();
  }

  private timer(work: () => void, delay: number): Subscription {
    if (this.scheduler) return this.scheduler.schedule(work, delay);
    const t = setTimeout(work, delay);
    return { unsubscribe: () => clearTimeout(t) } as Subscription;
  }

  /** Resolves once nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleListeners.push(resolve));
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    const run = () => {
      this.drainScheduled = false;
      this.drain();
    };
    // setImmediate, not a microtask: batches closed by every I/O event of this turn join the same requests.
    if (this.scheduler) this.scheduler.schedule(run);
    else setImmediate(run);
  }

  private drain(): void {
    const now = this.now();
    let nextWakeup = Infinity;
    // Partition queues whose head may go now, by the broker leading them.
    const perNode = new Map<number, Fifo<ProducerBatch>[]>();
    let needMetadata = false;
    for (const [key, queue] of this.queues) {
      const head = queue.peek();
      if (!head) {
        this.queues.delete(key);
        continue;
      }
      const deadline = head.createdAt + this.config.deliveryTimeoutMs;
      if (now >= deadline) {
        queue.shift();
        if (queue.length === 0) this.queues.delete(key);
        this.finish(head, new ProducerTimeoutError(`expiring ${head.records.length} record(s) for ${head.topic}-${head.partition}: ${now - head.createdAt} ms has passed since batch creation (deliveryTimeoutMs ${this.config.deliveryTimeoutMs})`, { topic: head.topic, partition: head.partition }));
        nextWakeup = now;
        continue;
      }
      if (head.retryAt > now) {
        nextWakeup = Math.min(nextWakeup, head.retryAt, deadline);
        continue;
      }
      const leader = this.cluster.leader(head.topic, head.partition);
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
    for (const [nodeId, queues] of perNode) this.drainNode(nodeId, queues, now);
    this.wakeup?.unsubscribe();
    this.wakeup = nextWakeup === Infinity ? undefined : this.timer(() => this.drain(), Math.max(1, nextWakeup - now));
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
    while (conn.connection.pending < this.config.maxInFlight) {
      const batches: ProducerBatch[] = [];
      let size = 0;
      for (const queue of queues) {
        const head = queue.peek();
        if (!head || head.retryAt > now) continue;
        const bytes = head.builder.bytes().length;
        if (batches.length > 0 && size + bytes > this.config.maxRequestSize) continue;
        queue.shift();
        batches.push(head);
        size += bytes;
      }
      if (batches.length === 0) break;
      this.produce(conn, batches);
    }
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
        this.cluster.requestUpdate();
        for (const queue of queues) {
          const head = queue.peek();
          if (!head) continue;
          head.retryAt = this.now() + backoffMs(this.config, head.attempts);
          head.lastError = e;
        }
        this.scheduleDrain();
      },
    );
  }

  private produce(conn: BrokerConnection, batches: ProducerBatch[]): void {
    const topics = new Map<string, Array<{ index: number; records: Uint8Array }>>();
    for (const b of batches) {
      b.attempts++;
      const entry = { index: b.partition, records: b.builder.bytes() };
      const list = topics.get(b.topic);
      if (list) list.push(entry);
      else topics.set(b.topic, [entry]);
    }
    const request = {
      transactionalId: null,
      acks: this.config.acks,
      timeoutMs: this.config.requestTimeoutMs,
      topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
    };
    this.inFlightBatches += batches.length;
    if (this.config.acks === 0) {
      conn.send(Apis.produce, request).then(
        () => this.settle(batches, () => undefined),
        (e: Error) => this.settle(batches, () => e),
      );
      return;
    }
    conn.call(Apis.produce, request).then(
      (res) => this.settle(batches, responseLookup(res)),
      (e: Error) => this.settle(batches, () => e),
    );
  }

  /** `outcome` gives each batch's partition response, or the error that took the whole request. */
  private settle(batches: ProducerBatch[], outcome: (b: ProducerBatch) => PartitionProduceResponse | Error | undefined): void {
    this.inFlightBatches -= batches.length;
    let refresh = false;
    for (const b of batches) {
      const o = outcome(b);
      if (o === undefined) {
        this.finish(b, null);
        continue;
      }
      let error: Error;
      if (o instanceof Error) {
        error = o;
        refresh = true;
      } else if (o.errorCode === ErrorCode.NONE) {
        b.baseOffset = Number(o.baseOffset);
        b.logAppendTime = Number(o.logAppendTimeMs);
        this.finish(b, null);
        continue;
      } else {
        error = new KafkaError(o.errorCode, undefined, { topic: b.topic, partition: b.partition, message: o.errorMessage });
      }
      if (error instanceof KafkaError && error.invalidMetadata) refresh = true;
      const now = this.now();
      const retryAt = now + backoffMs(this.config, b.attempts - 1);
      if (error instanceof KafkaError && error.retriable && retryAt < b.createdAt + this.config.deliveryTimeoutMs) {
        b.retryAt = retryAt;
        b.lastError = error;
        this.requeue(b);
      } else {
        this.finish(b, error);
      }
    }
    if (refresh) this.cluster.requestUpdate();
    this.scheduleDrain();
    this.notifyIfIdle();
  }

  /** A retried batch goes back ahead of younger batches of its partition, keeping their order. */
  private requeue(b: ProducerBatch): void {
    const key = `${b.topic}\0${b.partition}`;
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = new Fifo()));
    queue.insert(b, (other) => other.sequence > b.sequence);
  }

  private finish(b: ProducerBatch, error: Error | null): void {
    if (error) {
      b.error = b.lastError && error instanceof ProducerTimeoutError ? withCause(error, b.lastError) : error;
    }
    const owner = b.owner;
    this.release(b);
    owner?.done(b);
  }

  private release(b: ProducerBatch): void {
    this.memory.release(b.reservedBytes);
    for (const r of b.records) r.reserved = 0;
    this.builders.release(b.builder);
    b.owner = null;
  }

  private notifyIfIdle(): void {
    if (this.pending === 0 && this.idleListeners.length > 0) for (const l of this.idleListeners.splice(0)) l();
  }
}

function responseLookup(res: ProduceResponse): (b: ProducerBatch) => PartitionProduceResponse | Error {
  const byTopic = new Map<string, Map<number, PartitionProduceResponse>>();
  for (const t of res.responses) byTopic.set(t.name, new Map(t.partitionResponses.map((p) => [p.index, p])));
  return (b) => byTopic.get(b.topic)?.get(b.partition)
    ?? new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `the produce response has no answer for ${b.topic}-${b.partition}`, { topic: b.topic, partition: b.partition });
}

function withCause(error: Error, cause: Error): Error {
  error.cause = cause;
  error.message += ` (last error: ${cause.message})`;
  return error;
}
