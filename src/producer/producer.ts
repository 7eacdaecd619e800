import { asyncScheduler, interval, map, Observable, takeUntil, type ObservableInput, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import type { MetricsSnapshot } from '../observe/metrics.ts';
import type { Transaction } from '../../operators/transaction.ts';
import type { Cancel } from '../clock.ts';
import { Cluster } from '../cluster/cluster.ts';
import { BUILDER_SLACK, RecordBatchBuilderPool } from '../record/batch-builder.ts';
import { resolveConfig, type ProducerConfig, type ResolvedConfig } from './config.ts';
import { outsideTransaction, ProducerClosedError, ProducerTimeoutError } from './errors.ts';
import { coarseClock } from './clock.ts';
import { Flights } from './flights.ts';
import { registerInternals, type ProducerInternals } from './internals.ts';
import { MemoryBudget } from './memory.ts';
import { serializeRecord } from './outgoing.ts';
import { isBatch, type BatchOrFailure } from './batch.ts';
import type { OutgoingRecord, PassthroughOf, ProducerRecord, RecordMetadata } from './record.ts';
import { SendCalls } from './send-calls.ts';
import { Sender } from './sender.ts';
import { raw, type RawValue, type Serializer } from './serializers.ts';
import { TransactionManager } from './transactions.ts';

/**
 * The stages of `toKafka()` (kafkarx/operators) after serialization, for `send()`; passed in so
 * the producer layer does not depend on the operators above it.
 */
export type PipelineFactory = (producer: Producer, records: Observable<OutgoingRecord<number>>) => Observable<BatchOrFailure<number>>;

/** The transaction scope of kafkarx/operators, passed in for the same reason as PipelineFactory. */
export type TransactionFactory = <T>(producer: Producer, body: (tx: Transaction) => ObservableInput<T>) => Observable<T>;

/** How `close()` ends the producer. */
export interface CloseOptions {
  /**
   * How long close() may take to deliver what was accepted, in ms (Java's `close(Duration)`); by
   * default no limit. When it runs out, the producer stops delivering: every record not yet
   * acknowledged fails with a ProducerClosedError saying it was closed forcefully, the open
   * transaction is left to the coordinator (which aborts it), and every connection closes. 0
   * closes at once.
   */
  timeoutMs?: number;
}

/**
 * A Kafka producer, made by `createProducer()`: the brokers it talks to, its memory budget, and
 * the sender that all of its streams share. Records go in through `toKafka(producer)`
 * (kafkarx/operators) or `send()`; `close()` it when done.
 */
export interface Producer {
  /**
   * Resolves once the producer has its producer id: for a transactional producer, once it has
   * fenced older instances with its transactionalId; for an idempotent one, getting its id now
   * instead of before the first batch. Rejects with the error that makes the producer unusable,
   * with a TimeoutError when no broker gave an id within `maxBlockMs`, and with
   * ProducerClosedError when the producer closes first. Not needed before sending: sends wait for it.
   */
  ready(): Promise<void>;
  /**
   * A transaction as a scoped Observable (see `transaction` in kafkarx/operators): begins on
   * subscribe, commits when `body`'s Observable completes and every record it sent is
   * acknowledged, aborts on error or unsubscribe; emits what `body` emitted only once committed.
   * Needs a `transactionalId`.
   */
  transaction<T>(body: (tx: Transaction) => ObservableInput<T>): Observable<T>;
  /** True from the moment `close()` is called. */
  readonly closed: boolean;
  /**
   * Sends one record; resolves with its metadata once acknowledged. Records sent together share
   * batches and requests, as with the Java client's send(). The record is checked and serialized
   * exactly as `toKafka()` does (the same errors: InvalidRecordError, SerializationError):
   * serializers, when given, turn the key and value into bytes; otherwise they must be strings,
   * bytes or null.
   */
  send<K = RawValue, V = RawValue, R extends ProducerRecord<K, V, unknown> = ProducerRecord<K, V>>(record: R, serializers?: { key?: Serializer<K>; value?: Serializer<V> }): Promise<RecordMetadata<PassthroughOf<R>>>;
  /**
   * Sends every open batch now rather than at its linger time; resolves when every record
   * accepted before the call, by any stream or send(), is acknowledged or has failed.
   */
  flush(): Promise<void>;
  /**
   * Stops accepting records, aborts the open transaction, delivers every record accepted before
   * the call (each is acknowledged or fails within its own limits), then closes every connection.
   * With `timeoutMs`, delivering stops after that long: what is not acknowledged by then fails
   * with ProducerClosedError. When it resolves, every promise the producer returned has settled
   * and no socket or timer of the producer is left.
   */
  close(options?: CloseOptions): Promise<void>;
  /**
   * The producer's metrics now, with the Java producer's names and meanings: `producer` (Java's
   * producer-metrics group), `topics` (producer-topic-metrics) and `nodes` (producer-node-metrics).
   */
  metrics(): MetricsSnapshot;
  /**
   * A metrics snapshot every `intervalMs` (on `scheduler`; by default the producer's own
   * scheduler, else RxJS's asyncScheduler), completing when the producer closes.
   */
  metrics$(intervalMs: number, scheduler?: SchedulerLike): Observable<MetricsSnapshot>;
}

/**
 * Makes a producer; `createProducer()` in kafkarx passes the operator stages `send()` and
 * `transaction()` run on. The class stays inside this module, so its insides (reached through
 * internals.ts) are not part of the published types.
 */
export function openProducer(config: ProducerConfig, pipelineFactory?: PipelineFactory, transactionFactory?: TransactionFactory): Producer {
  const producer = new KafkaProducer(config, pipelineFactory, transactionFactory);
  registerInternals(producer, producer);
  return producer;
}

/**
 * A Kafka producer: the brokers it talks to, its memory budget, and the sender that all of its
 * streams share. Records go in through `toKafka(producer)` (kafkarx/operators) or `send()`.
 */
class KafkaProducer implements Producer, ProducerInternals {
  readonly config: ResolvedConfig;
  readonly cluster: Cluster;
  readonly memory: MemoryBudget;
  readonly builders: RecordBatchBuilderPool;
  readonly sender: Sender;
  /** The transaction protocol of a producer with a `transactionalId`. */
  readonly transactions: TransactionManager | undefined;
  /** Records accepted by every stream (and send()) and not yet answered. */
  readonly flights = new Flights();
  private readonly flushers = new Set<() => void>();
  /** Each running stream's way to stop reading its source when the producer closes. */
  private readonly enders = new Set<(error: Error) => void>();
  private flushes = 0;
  private closing: Promise<void> | undefined;
  /** Set when a close timeout ran out: what was not delivered by then fails with it. */
  private forcedWith: ProducerClosedError | undefined;
  /** Close timeouts still running; cleared when closing is done. */
  private readonly forceTimers = new Set<Cancel>();
  private closeDone = false;
  /** The send pipeline's subscriber to its input: send() hands records to it directly. */
  private sendInput: Subscriber<OutgoingRecord<number>> | undefined;
  private sendPipeline: Subscription | undefined;
  /** The send() calls not yet answered: a pipeline failure answers them all. */
  private readonly calls = new SendCalls();
  private readonly pipelineFactory: PipelineFactory | undefined;
  private readonly transactionFactory: TransactionFactory | undefined;
  /** Topic names send() has checked already. */
  private readonly legalTopics = new Set<string>();
  private readonly now: () => number;

  constructor(config: ProducerConfig, pipelineFactory?: PipelineFactory, transactionFactory?: TransactionFactory) {
    this.config = resolveConfig(config);
    this.cluster = new Cluster(this.config);
    this.memory = new MemoryBudget(this.config.bufferMemory, this.config.clock.nanos);
    // As Java's BufferPool: idle batch buffers are kept, up to bufferMemory of them, so steady
    // producing reuses its buffers instead of leaving them to the garbage collector.
    this.builders = new RecordBatchBuilderPool(this.config.batchBytes + BUILDER_SLACK, Math.max(1, Math.floor(this.config.bufferMemory / this.config.batchBytes)));
    const id = this.config.transactionalId;
    this.transactions = id === null ? undefined : new TransactionManager(id, this.cluster, this.config);
    this.sender = new Sender(this.cluster, this.config, this.memory, this.builders, this.config.scheduler, this.transactions);
    this.transactions?.attach(this.sender);
    this.pipelineFactory = pipelineFactory;
    this.transactionFactory = transactionFactory;
    const scheduler = this.config.scheduler;
    this.now = scheduler ? () => scheduler.now() : coarseClock();
    // Eagerly, so an older producer with the same transactionalId is fenced at once; a failure is
    // kept for ready() and the first transaction.
    this.transactions?.initialize().catch(() => undefined);
  }

  /**
   * Resolves once the producer has its producer id: for a transactional producer, once it has
   * fenced older instances with its transactionalId (started by the constructor); for an
   * idempotent one, getting its id now instead of before the first batch. Rejects with the error
   * that makes the producer unusable, with a TimeoutError when no broker gave an id within
   * `maxBlockMs`, and with ProducerClosedError when the producer closes first. Not needed before
   * sending: sends wait for it.
   */
  ready(): Promise<void> {
    if (this.closing) return Promise.reject(new ProducerClosedError());
    if (!this.transactions) return this.sender.producerIdReady();
    // As Java's initTransactions(): bounded by maxBlockMs; the initialization itself goes on.
    const initialized = this.transactions.initialize();
    return new Promise((resolve, reject) => {
      const ms = this.config.maxBlockMs;
      const cancel = this.config.clock.schedule(() => reject(new ProducerTimeoutError(`the transactional producer was not initialized within maxBlockMs (${ms} ms)`)), ms);
      initialized.then(() => {
        cancel();
        resolve();
      }, (e: unknown) => {
        cancel();
        reject(e);
      });
    });
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
   * batches and requests, as with the Java client's send(). The record is checked and serialized
   * exactly as `toKafka()` does (the same errors: InvalidRecordError, SerializationError):
   * serializers, when given, turn the key and value into bytes; otherwise they must be strings,
   * bytes or null.
   */
  send<K = RawValue, V = RawValue, R extends ProducerRecord<K, V, unknown> = ProducerRecord<K, V>>(record: R, serializers: { key?: Serializer<K>; value?: Serializer<V> } = NO_SERIALIZERS): Promise<RecordMetadata<PassthroughOf<R>>> {
    if (this.closing) return Promise.reject(new ProducerClosedError());
    if (!this.pipelineFactory) return Promise.reject(new Error('this producer was created without a pipeline: use createProducer() from kafkarx'));
    if (this.transactions) {
      return Promise.reject(outsideTransaction(this.transactions.transactionalId));
    }
    // The record is not copied: the call's slot rides as the passthrough, the caller's in the slot.
    const slot = this.calls.open(record !== null && typeof record === 'object' ? record.passthrough : undefined);
    const outgoing = serializeRecord<K, V, unknown>(record, serializers.key ?? (RAW as Serializer<K>), serializers.value ?? (RAW as Serializer<V>), this.now, this.legalTopics, this.config.instrumentation.headerInjector, slot) as OutgoingRecord<number>;
    if (outgoing.error) {
      this.calls.withdraw(slot);
      return Promise.reject(outgoing.error);
    }
    // A record the pipeline answers while it is handed over (refused, or the pipeline failed) has
    // its call settled at once; otherwise it is in a batch now, or waits for metadata or memory.
    this.ensureSendPipeline().next(outgoing);
    return this.calls.settle(slot, outgoing.batch) as Promise<RecordMetadata<PassthroughOf<R>>>;
  }

  /**
   * Sends every open batch now rather than at its linger time (and batches that records accepted
   * earlier are still on their way to); resolves when every record accepted before the call, by
   * any stream or send(), is acknowledged or has failed.
   */
  async flush(): Promise<void> {
    this.flushes++;
    try {
      const landed = this.flights.landed();
      for (const f of this.flushers) f();
      await landed;
      // A send()'s Promise settles a microtask turn after its record is answered (see SendCalls):
      // one more turn, so that the callbacks of the calls answered last have run when flush() resolves.
      await undefined;
    } finally {
      this.flushes--;
    }
  }

  /** Whether a flush() is under way: batches then go out at once instead of lingering. */
  get flushing(): boolean {
    return this.flushes > 0;
  }

  /**
   * Stops accepting records (send() and new streams fail with ProducerClosedError at once; running
   * streams stop reading their source and end with it after their accepted records), aborts the open transaction, delivers
   * every record accepted before the call — each is acknowledged or fails within its own limits
   * (`maxBlockMs` for metadata, `deliveryTimeoutMs`) — then closes every connection. With
   * `timeoutMs`, whatever is still undelivered when it runs out fails at once (see `force`). Every
   * promise the producer returned has settled and no socket or timer of the producer is left when it resolves.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? Infinity;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
      return Promise.reject(new RangeError(`close: timeoutMs must be a number of milliseconds ≥ 0, got ${String(timeoutMs)}`));
    }
    this.closing ??= (async () => {
      try {
        await this.closeGracefully();
      } finally {
        this.closeDone = true;
        for (const cancel of this.forceTimers) cancel();
        this.forceTimers.clear();
      }
    })();
    // As Java's close(Duration): any call may shorten the wait, whoever called close() first.
    if (timeoutMs === 0) this.force(timeoutMs);
    else if (timeoutMs !== Infinity && !this.closeDone && !this.forcedWith) {
      const cancel = this.config.clock.schedule(() => {
        this.forceTimers.delete(cancel);
        this.force(timeoutMs);
      }, timeoutMs);
      this.forceTimers.add(cancel);
    }
    return this.closing;
  }

  private async closeGracefully(): Promise<void> {
    this.sendInput?.complete();
    // Every stream stops reading; each ends with ProducerClosedError once its records are answered.
    for (const end of this.enders) end(new ProducerClosedError());
    // As the Java client: closing aborts the open transaction.
    await this.transactions?.closeScope(new ProducerClosedError('the producer was closed during the transaction, which was aborted'));
    await this.flush();
    // Requests written by streams that went away are answered rather than cut off.
    await this.sender.whenIdle();
    this.sender.close(new ProducerClosedError());
    this.sendPipeline?.unsubscribe();
    await this.cluster.close();
    // Its InitProducerId fails at once now; ready() callers hear so before close() resolves.
    await this.transactions?.initialize().catch(() => undefined);
    this.config.instrumentation.close();
  }

  /**
   * The close timeout ran out, as Java's forced close: batches queued, lingering or handed over
   * later fail at once, those in flight as their connections close (an answer that came first
   * still counts), and closing the cluster ends every wait the graceful close may be stuck in
   * (metadata, backoff, the coordinator), so it finishes at once. An open transaction's abort is
   * cut short with the rest: the coordinator aborts it after `transactionTimeoutMs` (or at once
   * when the next producer with this transactional id initializes).
   */
  private force(timeoutMs: number): void {
    if (this.forcedWith || this.closeDone) return;
    const error = new ProducerClosedError(`the producer was closed forcefully: the record was not acknowledged within the close timeout (${timeoutMs} ms)`);
    this.forcedWith = error;
    this.sender.close(error);
    for (const f of this.flushers) f();
    void this.cluster.close();
  }

  /**
   * The producer's metrics now, with the Java producer's names and meanings: `producer` (Java's
   * producer-metrics group), `topics` (producer-topic-metrics) and `nodes` (producer-node-metrics).
   */
  metrics(): MetricsSnapshot {
    return this.config.instrumentation.snapshot(this.memory);
  }

  /**
   * A metrics snapshot every `intervalMs` (on `scheduler`; by default the producer's own
   * scheduler, else RxJS's asyncScheduler), completing when the producer closes.
   */
  metrics$(intervalMs: number, scheduler: SchedulerLike = this.config.scheduler ?? asyncScheduler): Observable<MetricsSnapshot> {
    if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`metrics$: intervalMs must be a number of milliseconds > 0, got ${String(intervalMs)}`);
    }
    return interval(intervalMs, scheduler).pipe(map(() => this.metrics()), takeUntil(this.config.instrumentation.closed$));
  }

  /** A stream registers here so `close()` can end it: it stops reading and ends with `error`. */
  registerEnder(end: (error: Error) => void): () => void {
    this.enders.add(end);
    return () => this.enders.delete(end);
  }

  /** The batch stage registers here so `flush()` can close its open batches at once. */
  registerFlusher(flush: () => void): () => void {
    this.flushers.add(flush);
    return () => this.flushers.delete(flush);
  }

  private ensureSendPipeline(): Subscriber<OutgoingRecord<number>> {
    if (this.sendInput) return this.sendInput;
    // Not a Subject: the pipeline has one subscriber to its input, which send() calls itself.
    let input: Subscriber<OutgoingRecord<number>> | undefined;
    const records = new Observable<OutgoingRecord<number>>((subscriber) => {
      input = subscriber;
    });
    const calls = this.calls;
    this.sendPipeline = this.pipelineFactory!(this, records).subscribe({
      next: (item) => {
        if (isBatch(item)) calls.answerBatch(item);
        else calls.reject(item.passthrough!, item.error!);
      },
      // Each record is answered on its own, fatal errors included; only a failure of the pipeline
      // itself ends it: it answers every waiting send(), and the next send() builds a new one.
      error: (e: Error) => {
        this.sendInput = undefined;
        calls.rejectAll(e);
      },
    });
    if (!this.sendPipeline.closed) this.sendInput = input;
    return input!;
  }
}

const RAW = raw();
const NO_SERIALIZERS = Object.freeze({});
