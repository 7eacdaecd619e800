import type { Cluster } from '../cluster/cluster.ts';
import { backoffMs } from '../cluster/cluster.ts';
import { Apis } from '../network/apis.ts';
import type { BrokerConnection } from '../network/broker.ts';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { ApiKey } from '../protocol/messages/index.ts';
import { TRANSACTION_V1_MAX_VERSION } from '../protocol/versions.ts';
import type { ResolvedConfig } from './config.ts';
import { Coordinators, describeKey, GROUP_COORDINATOR, TRANSACTION_COORDINATOR } from './coordinator.ts';
import { isFatal, ProducerTimeoutError, ProducerFencedError, TransactionError, TransactionStateError, TransactionTimeoutError } from './errors.ts';
import type { Sender, TransactionHooks } from './sender.ts';

/** The consumer group whose offsets a transaction commits, as its consumer knows it (KIP-447). */
export interface ConsumerGroupMetadata {
  groupId: string;
  /** The consumer's generation; with `memberId`, lets the coordinator fence a consumer that lost its partitions. */
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
}

/** The next offset to read in a partition, as committed (the last processed offset + 1). */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch?: number;
}

type State = 'initializing' | 'ready' | 'inTransaction' | 'ending' | 'fatal';

const FENCED = new Set<number>([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH]);
/** Answers meaning the coordinator moved (or the connection to it broke): find it again. */
const REFIND = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NETWORK_EXCEPTION, ErrorCode.REQUEST_TIMED_OUT]);
/** The previous transaction's markers are still being written; Java retries these quickly. */
const CONCURRENT_TRANSACTIONS_BACKOFF_MS = 20;

/**
 * The transactional producer's side of the transaction protocol, as the Java client's
 * TransactionManager with classic transactions (not transaction version 2): InitProducerId at
 * start, AddPartitionsToTxn before a partition's first batch, AddOffsetsToTxn and TxnOffsetCommit
 * for consumed offsets, EndTxn once every batch of the transaction is settled. Coordinator errors
 * that may pass are retried with backoff for up to `maxBlockMs`; fencing and authorization errors
 * end the producer.
 */
export class TransactionManager implements TransactionHooks {
  readonly transactionalId: string;
  private readonly cluster: Cluster;
  private readonly config: ResolvedConfig;
  private readonly coordinators: Coordinators;
  private sender!: Sender;
  private state: State = 'initializing';
  private fatalError: Error | undefined;
  /** Why the open transaction can only abort. */
  private abortable: Error | undefined;
  /** A batch's sequence was spent without a known outcome: bump the epoch after the abort. */
  private bumpOnAbort = false;
  private producerId = -1;
  private epoch = -1;
  /** Partitions ("topic\0partition") in the open transaction, and those being added. */
  private readonly added = new Set<string>();
  private readonly adding = new Map<string, { topic: string; partition: number }>();
  private addScheduled = false;
  /** The AddPartitionsToTxn request under way: EndTxn must not overtake it. */
  private addRunning: Promise<void> | undefined;
  /** The coordinator knows of the open transaction (a partition or offsets were added). */
  private started = false;
  private startedAt = 0;
  private queueTail: Promise<void> = Promise.resolve();
  private initialization: Promise<void> | undefined;
  /** The open transaction's scope, which `closeScope` ends. */
  scope: { end(reason: Error): Promise<void> } | undefined;

  constructor(transactionalId: string, cluster: Cluster, config: ResolvedConfig) {
    this.transactionalId = transactionalId;
    this.cluster = cluster;
    this.config = config;
    this.coordinators = new Coordinators(cluster);
  }

  attach(sender: Sender): void {
    this.sender = sender;
  }

  get failure(): Error | undefined {
    return this.fatalError;
  }

  get inTransaction(): boolean {
    return this.state === 'inTransaction';
  }

  /**
   * FindCoordinator and InitProducerId, once: fences any older producer with this transactional id
   * and lets the coordinator finish (abort) what that one left open.
   */
  initialize(): Promise<void> {
    this.initialization ??= (async () => {
      try {
        const res = await this.request('InitProducerId', TRANSACTION_COORDINATOR, this.transactionalId,
          (conn) => conn.call(Apis.initProducerId, { transactionalId: this.transactionalId, transactionTimeoutMs: this.config.transactionTimeoutMs }),
          (r) => r.errorCode);
        this.setIdentity(Number(res.producerId), res.producerEpoch);
        this.state = 'ready';
      } catch (e) {
        throw this.toFatal(e as Error, 'InitProducerId');
      }
    })();
    return this.initialization;
  }

  /** Aborts the open transaction, if any, ending its scope with `reason`. */
  async closeScope(reason: Error): Promise<void> {
    await this.scope?.end(reason).catch(() => undefined);
  }

  /** Resolves with a release function when no other transaction scope holds the producer. */
  acquire(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const turn = this.queueTail.then(() => release);
    this.queueTail = this.queueTail.then(() => mine);
    return turn;
  }

  async begin(): Promise<void> {
    await this.initialize();
    if (this.fatalError) throw this.fatalError;
    if (this.state !== 'ready') throw new TransactionStateError(`cannot begin a transaction while the producer is ${this.state}`);
    this.state = 'inTransaction';
    this.added.clear();
    this.adding.clear();
    this.started = false;
    this.abortable = undefined;
    this.bumpOnAbort = false;
    this.startedAt = Date.now();
  }

  /** Commits once every batch is settled; if the transaction cannot commit, aborts it and rejects. */
  async commit(): Promise<void> {
    this.state = 'ending';
    await this.sender.whenIdle();
    await this.addRunning;
    if (this.fatalError) throw this.fatalError;
    if (this.abortable) {
      const why = this.abortable;
      await this.finishAbort();
      throw why;
    }
    try {
      if (this.started) await this.endTxn(true);
      this.state = 'ready';
    } catch (e) {
      if (this.fatalError) throw this.fatalError;
      await this.finishAbort();
      throw e;
    }
  }

  /** Aborts once every batch already written is settled (unwritten ones were withdrawn). */
  async abort(): Promise<void> {
    this.state = 'ending';
    await this.sender.whenIdle();
    await this.addRunning;
    if (this.fatalError) throw this.fatalError;
    await this.finishAbort();
  }

  /** Adds consumed offsets to the open transaction: committed for the group only if it commits. */
  async sendOffsets(offsets: readonly PartitionOffset[], group: ConsumerGroupMetadata): Promise<void> {
    this.check();
    if (offsets.length === 0) return;
    try {
      await this.request('AddOffsetsToTxn', TRANSACTION_COORDINATOR, this.transactionalId,
        (conn) => conn.call(Apis.addOffsetsToTxn, { transactionalId: this.transactionalId, producerId: BigInt(this.producerId), producerEpoch: this.epoch, groupId: group.groupId }),
        (r) => r.errorCode);
      this.started = true;
      const topics = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }>>();
      for (const o of offsets) {
        const entry = { partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch ?? -1, committedMetadata: null };
        const list = topics.get(o.topic);
        if (list) list.push(entry);
        else topics.set(o.topic, [entry]);
      }
      await this.request('TxnOffsetCommit', GROUP_COORDINATOR, group.groupId, (conn) => {
        const version = Math.min(conn.version(Apis.txnOffsetCommit), TRANSACTION_V1_MAX_VERSION[ApiKey.TxnOffsetCommit]);
        // Generation and member id travel from version 3 (KIP-447); older brokers check neither.
        const member = version >= 3 ? { generationId: group.generationId ?? -1, memberId: group.memberId ?? '', groupInstanceId: group.groupInstanceId ?? null } : {};
        return conn.call(Apis.txnOffsetCommit, {
          transactionalId: this.transactionalId, groupId: group.groupId, producerId: BigInt(this.producerId), producerEpoch: this.epoch, ...member,
          topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
        }, version);
      }, (r) => firstError(r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))));
    } catch (e) {
      throw this.failTransaction(e as Error, 'sending offsets');
    }
  }

  admit(topic: string, partition: number): boolean | Error {
    if (this.fatalError) return this.fatalError;
    if (this.state !== 'inTransaction') return new TransactionStateError(`transactional producer ${JSON.stringify(this.transactionalId)} sends records only inside producer.transaction()`);
    if (this.abortable) return this.abortable;
    const key = `${topic}\0${partition}`;
    if (this.added.has(key)) return true;
    if (!this.adding.has(key)) {
      this.adding.set(key, { topic, partition });
      this.scheduleAdd();
    }
    return false;
  }

  batchFailed(error: Error, sent: boolean): void {
    if (this.state !== 'inTransaction' && this.state !== 'ending') return;
    if (sent) this.bumpOnAbort = true;
    this.failTransaction(error, 'Produce');
  }

  /** The manager ends up fatal: every later transaction fails with this error. */
  private toFatal(error: Error, during: string): Error {
    if (this.fatalError) return this.fatalError;
    let fatal = error;
    if (error instanceof KafkaError && FENCED.has(error.code)) fatal = this.fenced(error.code, during);
    else if (!isFatal(error)) fatal = new TransactionError(error instanceof KafkaError ? error.code : ErrorCode.UNKNOWN_SERVER_ERROR, `${during} for transactional id ${JSON.stringify(this.transactionalId)} failed: ${error.message}`, true, { cause: error });
    this.fatalError = fatal;
    this.state = 'fatal';
    this.sender?.wake();
    return fatal;
  }

  /**
   * A coordinator that bumped our epoch either saw a newer producer or aborted a transaction that
   * outlived transactionTimeoutMs; the elapsed time tells which one to report.
   */
  private fenced(code: number, during: string): Error {
    const elapsed = Date.now() - this.startedAt;
    if (this.started && elapsed > this.config.transactionTimeoutMs) {
      return new TransactionTimeoutError(this.transactionalId, this.config.transactionTimeoutMs, elapsed, code, during);
    }
    return new ProducerFencedError(this.transactionalId, this.producerId, this.epoch, code, during);
  }

  /** An error inside the open transaction: fatal ones end the producer, the others only this transaction. */
  private failTransaction(error: Error, during: string): Error {
    if (this.fatalError) return this.fatalError;
    if (error instanceof KafkaError && (FENCED.has(error.code) || FATAL_IN_TRANSACTION.has(error.code))) return this.toFatal(error, during);
    let abortable = error;
    if (isFatal(error)) {
      if (!(error instanceof KafkaError && ABORTABLE.has(error.code))) return this.toFatal(error, during);
      abortable = new TransactionError(error.code, `${during} failed, so the transaction aborts: ${error.message}`, false, { cause: error });
    }
    this.abortable ??= abortable;
    return abortable;
  }

  private check(): void {
    if (this.fatalError) throw this.fatalError;
    if (this.state !== 'inTransaction') throw new TransactionStateError(`no open transaction for transactional id ${JSON.stringify(this.transactionalId)}`);
    if (this.abortable) throw this.abortable;
  }

  private setIdentity(producerId: number, epoch: number): void {
    this.producerId = producerId;
    this.epoch = epoch;
    this.sender.setProducerId(producerId, epoch);
  }

  private async finishAbort(): Promise<void> {
    try {
      if (this.started) await this.endTxn(false);
      if (this.bumpOnAbort) await this.bumpEpoch();
      this.state = 'ready';
    } catch (e) {
      throw this.toFatal(e as Error, 'aborting');
    }
  }

  private async endTxn(committed: boolean): Promise<void> {
    try {
      await this.request('EndTxn', TRANSACTION_COORDINATOR, this.transactionalId, (conn) => {
        const version = Math.min(conn.version(Apis.endTxn), TRANSACTION_V1_MAX_VERSION[ApiKey.EndTxn]);
        return conn.call(Apis.endTxn, { transactionalId: this.transactionalId, producerId: BigInt(this.producerId), producerEpoch: this.epoch, committed }, version);
      }, (r) => r.errorCode);
    } catch (e) {
      throw this.failTransaction(e as Error, committed ? 'EndTxn (commit)' : 'EndTxn (abort)');
    }
  }

  /**
   * KIP-360: after an abort that left sequences unknown, InitProducerId with the current id and
   * epoch gets the next epoch, and every partition starts its sequences again at 0.
   */
  private async bumpEpoch(): Promise<void> {
    const res = await this.request('InitProducerId (epoch bump)', TRANSACTION_COORDINATOR, this.transactionalId, (conn) => {
      if (conn.version(Apis.initProducerId) < 3) {
        throw new TransactionError(ErrorCode.UNSUPPORTED_VERSION, 'the transaction coordinator cannot bump the epoch of a live producer (InitProducerId v3+, Kafka 2.5+), so it cannot recover lost sequence numbers', true);
      }
      return conn.call(Apis.initProducerId, { transactionalId: this.transactionalId, transactionTimeoutMs: this.config.transactionTimeoutMs, producerId: BigInt(this.producerId), producerEpoch: this.epoch });
    }, (r) => r.errorCode);
    this.setIdentity(Number(res.producerId), res.producerEpoch);
  }

  private scheduleAdd(): void {
    if (this.addScheduled || this.addRunning) return;
    this.addScheduled = true;
    // Partitions asked for while the sender drains this turn go in one request.
    setImmediate(() => {
      this.addScheduled = false;
      this.addRunning = this.addPartitions().finally(() => {
        this.addRunning = undefined;
        if (this.adding.size > 0) this.scheduleAdd();
        this.sender.wake();
      });
    });
  }

  private async addPartitions(): Promise<void> {
    if (this.adding.size === 0 || this.state !== 'inTransaction') return;
    const batch = [...this.adding];
    const topics = new Map<string, number[]>();
    for (const [, { topic, partition }] of batch) {
      const list = topics.get(topic);
      if (list) list.push(partition);
      else topics.set(topic, [partition]);
    }
    try {
      await this.request('AddPartitionsToTxn', TRANSACTION_COORDINATOR, this.transactionalId, (conn) => conn.call(Apis.addPartitionsToTxn, {
        v3AndBelowTransactionalId: this.transactionalId,
        v3AndBelowProducerId: BigInt(this.producerId),
        v3AndBelowProducerEpoch: this.epoch,
        v3AndBelowTopics: [...topics].map(([name, partitions]) => ({ name, partitions })),
      }), (r) => firstError(r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode))));
      for (const [key] of batch) {
        this.added.add(key);
        this.adding.delete(key);
      }
      this.started = true;
    } catch (e) {
      this.adding.clear();
      this.failTransaction(e as Error, 'AddPartitionsToTxn');
    }
  }

  /**
   * One request to a coordinator, retried while its error may pass: the coordinator moving
   * (found again), loading, or still finishing the previous transaction. Gives up after maxBlockMs.
   */
  private async request<Res>(what: string, keyType: number, key: string, send: (conn: BrokerConnection) => Promise<Res>, errorOf: (res: Res) => number): Promise<Res> {
    const deadline = Date.now() + this.config.maxBlockMs;
    for (let retries = 0; ; retries++) {
      let error: Error;
      try {
        const res = await send(await this.coordinators.connection(keyType, key));
        const code = errorOf(res);
        if (code === ErrorCode.NONE) return res;
        error = new KafkaError(code, undefined, { message: `${what} for ${describeKey(keyType, key)}` });
      } catch (e) {
        error = e as Error;
      }
      if (!(error instanceof KafkaError) || !error.retriable || error instanceof TransactionError) throw error;
      if (REFIND.has(error.code)) this.coordinators.forget(keyType, key);
      const wait = error.code === ErrorCode.CONCURRENT_TRANSACTIONS ? Math.min(CONCURRENT_TRANSACTIONS_BACKOFF_MS, this.config.retryBackoffMs) : backoffMs(this.config, retries);
      if (Date.now() + wait > deadline) {
        const timeout = new ProducerTimeoutError(`${what} for ${describeKey(keyType, key)} did not succeed within maxBlockMs (${this.config.maxBlockMs} ms); last error: ${error.message}`);
        timeout.cause = error;
        throw timeout;
      }
      await this.cluster.sleep(wait);
    }
  }
}

/** Inside a transaction, these end the producer (as the Java client's TransactionManager). */
const FATAL_IN_TRANSACTION = new Set<number>([ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.INVALID_TXN_STATE, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);
/** Fatal for a plain producer, but in a transaction only the transaction fails. */
const ABORTABLE = new Set<number>([ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.GROUP_AUTHORIZATION_FAILED]);

/** The error of a multi-partition answer: a real error before OPERATION_NOT_ATTEMPTED, which only says "not tried". */
function firstError(codes: number[]): number {
  let found: number = ErrorCode.NONE;
  for (const c of codes) {
    if (c === ErrorCode.NONE) continue;
    if (c !== ErrorCode.OPERATION_NOT_ATTEMPTED) return c;
    found = c;
  }
  return found;
}
