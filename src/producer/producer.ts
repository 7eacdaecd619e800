import { asyncScheduler, interval, map, Subject, takeUntil, type Observable, type ObservableInput, type SchedulerLike, type Subscription } from 'rxjs';
import type { MetricsSnapshot } from '../observe/metrics.ts';
import type { Transaction } from '../../operators/transaction.ts';
import { Cluster } from '../cluster/cluster.ts';
import { RecordBatchBuilderPool } from '../record/batch-builder.ts';
import { resolveConfig, type ProducerConfig, type ResolvedConfig } from './config.ts';
import { outsideTransaction, ProducerClosedError } from './errors.ts';
import { MemoryBudget } from './memory.ts';
import type { ProducerRecord, RecordMetadata, RecordResult } from './record.ts';
import { Sender } from './sender.ts';
import type { RawValue, Serializer } from './serializers.ts';
import { TransactionManager } from './transactions.ts';

/**
 * What a pipeline built by `toKafka()` (kafkarx/operators) needs from the producer; passed in so
 * the producer layer does not depend on the operators above it.
 */
export type PipelineFactory = (producer: Producer, records: Observable<ProducerRecord<RawValue, RawValue, Deferred>>) => Observable<RecordResult<Deferred>>;

/** The transaction scope of kafkarx/operators, passed in for the same reason as PipelineFactory. */
export type TransactionFactory = <T>(producer: Producer, body: (tx: Transaction) => ObservableInput<T>) => Observable<T>;

/** A `send()` call waiting for its record's result. */
export interface Deferred {
  resolve(meta: RecordMetadata<unknown>): void;
  reject(error: Error): void;
  passthrough: unknown;
}

/**
 * A Kafka producer: the brokers it talks to, its memory budget, and the sender that all of its
 * streams share. Records go in through `toKafka(producer)` (kafkarx/operators) or `send()`.
 */
export class Producer {
  readonly config: ResolvedConfig;
  readonly cluster: Cluster;
  readonly memory: MemoryBudget;
  readonly builders: RecordBatchBuilderPool;
  readonly sender: Sender;
  /** The transaction protocol of a producer with a `transactionalId`. */
  readonly transactions: TransactionManager | undefined;
  private readonly flushers = new Set<() => void>();
  private closing: Promise<void> | undefined;
  private sendInput: Subject<ProducerRecord<RawValue, RawValue, Deferred>> | undefined;
  private sendPipeline: Subscription | undefined;
  private readonly unanswered = new Set<Deferred>();
  private readonly pipelineFactory: PipelineFactory | undefined;
  private readonly transactionFactory: TransactionFactory | undefined;

  constructor(config: ProducerConfig, pipelineFactory?: PipelineFactory, transactionFactory?: TransactionFactory) {
    this.config = resolveConfig(config);
    this.cluster = new Cluster(this.config);
    this.memory = new MemoryBudget(this.config.bufferMemory);
    this.builders = new RecordBatchBuilderPool(this.config.batchBytes);
    const id = this.config.transactionalId;
    this.transactions = id === null ? undefined : new TransactionManager(id, this.cluster, this.config);
    this.sender = new Sender(this.cluster, this.config, this.memory, this.builders, this.config.scheduler, this.transactions);
    this.transactions?.attach(this.sender);
    this.pipelineFactory = pipelineFactory;
    this.transactionFactory = transactionFactory;
    // Eagerly, so an older producer with the same transactionalId is fenced at once; a failure is
    // kept for ready() and the first transaction.
    this.transactions?.initialize().catch(() => undefined);
  }

  /**
   * Resolves once the producer has its producer id: for a transactional producer, once it has
   * fenced older instances with its transactionalId (started by the constructor); for an
   * idempotent one, getting its id now instead of before the first batch. Rejects with the error
   * that makes the producer unusable. Not needed before sending: sends wait for it.
   */
  ready(): Promise<void> {
    if (this.transactions) return this.transactions.initialize();
    return this.sender.producerIdReady();
  }

  /**
   * A transaction as a scoped Observable (see `transaction` in kafkarx/operators): begins on
   * subscribe, commits when `body`'s Observable completes and every record it sent is
   * acknowledged, aborts on error or unsubscribe; emits what `body` emitted only once committed.
   */
  transaction<T>(body: (tx: Transaction) => ObservableInput<T>): Observable<T> {
    if (!this.transactionFactory) throw new Error('this producer was created without transactions: use createProducer() from kafkarx');
    return this.transactionFactory(this, body);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Sends one record; resolves with its metadata once acknowledged. Records sent together share
   * batches and requests, as with the Java client's send(). Serializers, when given, turn the key
   * and value into bytes first; otherwise they must be strings, bytes or null.
   */
  send<K = RawValue, V = RawValue, P = unknown>(record: ProducerRecord<K, V, P>, serializers: { key?: Serializer<K>; value?: Serializer<V> } = {}): Promise<RecordMetadata<P>> {
    if (this.closing) return Promise.reject(new ProducerClosedError());
    if (!this.pipelineFactory) return Promise.reject(new Error('this producer was created without a pipeline: use createProducer() from kafkarx'));
    if (this.transactions) {
      return Promise.reject(outsideTransaction(this.transactions.transactionalId));
    }
    return new Promise((resolve, reject) => {
      let key: RawValue;
      let value: RawValue;
      try {
        key = serializers.key && record.key !== undefined ? serializers.key(record.key, record.topic) : (record.key as RawValue);
        value = serializers.value ? serializers.value(record.value, record.topic) : (record.value as RawValue);
      } catch (e) {
        reject(e);
        return;
      }
      const input = this.ensureSendPipeline();
      const deferred: Deferred = { resolve: resolve as Deferred['resolve'], reject, passthrough: record.passthrough };
      this.unanswered.add(deferred);
      input.next({ ...record, key, value, passthrough: deferred });
    });
  }

  /** Sends every open batch now rather than at its linger time; resolves when all are acknowledged. */
  async flush(): Promise<void> {
    for (const f of this.flushers) f();
    await this.sender.whenIdle();
  }

  /** Flushes, then closes every connection. Sending afterwards fails with ProducerClosedError. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.sendInput?.complete();
      // As the Java client: closing aborts the open transaction.
      await this.transactions?.closeScope(new ProducerClosedError('the producer was closed during the transaction, which was aborted'));
      await this.flush();
      this.sendPipeline?.unsubscribe();
      await this.cluster.close();
      this.config.instrumentation.close();
    })();
    return this.closing;
  }

  /**
   * The producer's metrics now, with the Java producer's names and meanings: `producer` (Java's
   * producer-metrics group), `topics` (producer-topic-metrics) and `nodes` (producer-node-metrics).
   */
  metrics(): MetricsSnapshot {
    return this.config.instrumentation.snapshot(this.memory);
  }

  /**
   * A metrics snapshot every `intervalMs` (on `scheduler`; RxJS's asyncScheduler by default),
   * completing when the producer closes.
   */
  metrics$(intervalMs: number, scheduler: SchedulerLike = asyncScheduler): Observable<MetricsSnapshot> {
    if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`metrics$: intervalMs must be a number of milliseconds > 0, got ${String(intervalMs)}`);
    }
    return interval(intervalMs, scheduler).pipe(map(() => this.metrics()), takeUntil(this.config.instrumentation.closed$));
  }

  /** The batch stage registers here so `flush()` can close its open batches at once. */
  registerFlusher(flush: () => void): () => void {
    this.flushers.add(flush);
    return () => this.flushers.delete(flush);
  }

  private ensureSendPipeline(): Subject<ProducerRecord<RawValue, RawValue, Deferred>> {
    if (this.sendInput) return this.sendInput;
    const input = new Subject<ProducerRecord<RawValue, RawValue, Deferred>>();
    this.sendInput = input;
    this.sendPipeline = this.pipelineFactory!(this, input).subscribe({
      next: (r) => {
        const d = (r.ok ? r.metadata.passthrough : r.record.passthrough) as Deferred;
        this.unanswered.delete(d);
        if (r.ok) d.resolve({ ...r.metadata, passthrough: d.passthrough });
        else d.reject(r.error);
      },
      // Only a fatal error ends the shared pipeline: it answers every waiting send(), and the
      // next send() builds a new pipeline.
      error: (e: Error) => {
        this.sendInput = undefined;
        for (const d of this.unanswered) d.reject(e);
        this.unanswered.clear();
      },
    });
    return input;
  }
}
