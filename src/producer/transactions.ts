import type { Cluster } from '../cluster/cluster.ts';
import { backoffMs } from '../cluster/cluster.ts';
import { Apis } from '../network/apis.ts';
import type { BrokerConnection } from '../network/broker.ts';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import { ApiKey } from '../protocol/messages/index.ts';
import { TRANSACTION_V1_MAX_VERSION } from '../protocol/versions.ts';
import type { ResolvedConfig } from './config.ts';
import { Coordinators, describeKey, GROUP_COORDINATOR, TRANSACTION_COORDINATOR } from './coordinator.ts';
import {
  isFatal, ProducerClosedError, ProducerTimeoutError, ProducerFencedError, TransactionError, TransactionOutcomeUnknownError, TransactionStateError, TransactionTimeoutError,
  type UnconfirmedTransaction,
} from './errors.ts';
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

/**
 * `committing` / `aborting`: EndTxn was sent (or the epoch bump after an abort) and not confirmed
 * within maxBlockMs; the next transaction first finishes it.
 */
type State = 'initializing' | 'ready' | 'inTransaction' | 'ending' | 'committing' | 'aborting' | 'fatal';

const FENCED = new Set<number>([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH]);
/** Answers meaning the coordinator moved (or the connection to it broke): find it again. */
const REFIND = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NETWORK_EXCEPTION, ErrorCode.REQUEST_TIMED_OUT]);
/**
 * Coordinator answers that prove a request changed nothing. Any other outcome of an EndTxn(commit)
 * (no answer, a lost connection, COORDINATOR_NOT_AVAILABLE after a failed log append) may have
 * committed the transaction.
 */
const UNCHANGED = new Set<number>([
  ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.PRODUCER_FENCED,
  ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_TXN_STATE, ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.UNKNOWN_PRODUCER_ID,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
]);
/** The previous transaction's markers are still being written; Java retries these quickly. */
const CONCURRENT_TRANSACTIONS_BACKOFF_MS = 20;

/** The finalized feature that says which transaction protocol the cluster speaks (KIP-890). */
const TRANSACTION_VERSION = 'transaction.version';

/**
 * The transactional producer's side of the transaction protocol, as the Java client's
 * TransactionManager: InitProducerId at start, then per transaction either
 * - transaction version 2 (KIP-890), when the cluster's finalized `transaction.version` is 2 or
 *   more as a transaction begins: partitions join the transaction with their first Produce (v12+,
 *   the broker adds them), offsets with TxnOffsetCommit v5 alone, and every EndTxn (v5) gives the
 *   producer its next epoch; or
 * - classic transactions: AddPartitionsToTxn before a partition's first batch, AddOffsetsToTxn
 *   before TxnOffsetCommit, and an epoch bump (InitProducerId) only after an abort that spent
 *   sequence numbers;
 * and EndTxn once every batch of the transaction is settled. Coordinator errors that may pass are
 * retried with backoff for up to `maxBlockMs`; fencing and authorization errors end the producer.
 */
export class TransactionManager implements TransactionHooks {
  /**
   * The highest transaction version producers use, whatever the cluster finalized: tests set 1 to
   * run classic transactions against a broker that offers version 2 (the Java client has no such
   * setting either).
   */
  static maxTransactionVersion = Infinity;

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
  /**
   * The coordinator refused our epoch (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH): it aborted the
   * transaction on its own, or a newer producer took over. The abort skips EndTxn (refused too) and
   * asks for the next epoch; only the coordinator's answer to that tells the two apart.
   */
  private epochFenced = false;
  private fencedBy: { code: number; during: string } | undefined;
  /** Set when the coordinator had aborted the transaction (transactionTimeoutMs) and we went on. */
  private brokerAbort: TransactionTimeoutError | undefined;
  private producerId = -1;
  private epoch = -1;
  /** The newest finalized features a coordinator connection reported: their epoch and `transaction.version`. */
  private featuresEpoch = -2n;
  private clusterTransactionVersion = 0;
  /** The open transaction uses transaction version 2 (decided when it begins, as Java). */
  private v2 = false;
  /** Partitions ("topic\0partition") in the open transaction, and those being added. */
  private readonly added = new Set<string>();
  private readonly adding = new Map<string, { topic: string; partition: number }>();
  /** Consumer groups whose offsets the open transaction carries. */
  private readonly groups = new Set<string>();
  private addScheduled = false;
  /** The AddPartitionsToTxn request under way: EndTxn must not overtake it. */
  private addRunning: Promise<void> | undefined;
  /** The coordinator knows of the open transaction (a partition or offsets were added). */
  private started = false;
  private startedAt = 0;
  private queueTail: Promise<void> = Promise.resolve();
  private initialization: Promise<void> | undefined;
  /**
   * Set once EndTxn(commit) is first sent, until its outcome is known; `mayHaveLanded` once an
   * attempt may have reached the coordinator without a conclusive answer; `transaction`: what the
   * committing transaction consisted of, for TransactionOutcomeUnknownError.
   */
  private commitAttempts: { mayHaveLanded: boolean; transaction: UnconfirmedTransaction } | undefined;
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

  /** Produce inside this transaction goes at v12+ and adds its partition (KIP-890). */
  get transactionV2(): boolean {
    return this.v2;
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
    if (this.state === 'committing') await this.confirmCommit('before beginning the next transaction');
    if (this.state === 'aborting') await this.finishAbort();
    if (this.state !== 'ready') throw new TransactionStateError(`cannot begin a transaction while the producer is ${this.state}`);
    this.state = 'inTransaction';
    this.added.clear();
    this.adding.clear();
    this.groups.clear();
    this.started = false;
    this.abortable = undefined;
    this.bumpOnAbort = false;
    this.epochFenced = false;
    this.fencedBy = undefined;
    this.brokerAbort = undefined;
    this.startedAt = this.config.clock.now();
    this.v2 = Math.min(this.clusterTransactionVersion, TransactionManager.maxTransactionVersion) >= 2;
  }

  /**
   * Commits once every batch is settled; if the transaction cannot commit, aborts it and rejects.
   * Once EndTxn(commit) went out, it never aborts: it resolves when the commit is confirmed and
   * rejects with TransactionOutcomeUnknownError when it cannot be (see `confirmCommit`), which
   * carries `withheld`: what the scope holds back until the commit.
   */
  async commit(withheld: readonly unknown[] = []): Promise<void> {
    this.state = 'ending';
    await this.sender.whenIdle();
    await this.addRunning;
    if (this.fatalError) throw this.fatalError;
    if (this.abortable) {
      const why = this.abortable;
      await this.finishAbort();
      throw this.brokerAbort ?? why;
    }
    if (!this.started) {
      this.state = 'ready';
      return;
    }
    const partitions = [...this.added].map((key) => {
      const at = key.lastIndexOf('\0');
      return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
    });
    const transaction = { producerId: this.producerId, producerEpoch: this.epoch, partitions, groups: [...this.groups], withheld };
    this.commitAttempts = { mayHaveLanded: false, transaction };
    await this.confirmCommit('committing');
  }

  /**
   * Sends EndTxn(commit), to the coordinator found anew whenever it moved, until it is confirmed
   * (a commit retried on a committed transaction is confirmed too), as the Java client's
   * EndTxnHandler retries. When no attempt can have reached the coordinator, a refusal or the
   * maxBlockMs deadline means the transaction did not commit: it aborts as any failed one. Once
   * one may have, only a confirmation says committed; anything else is
   * TransactionOutcomeUnknownError: at the deadline the producer stays `committing` and the next
   * transaction starts by confirming this commit; after a refusal (fenced, say) it is fatal.
   */
  private async confirmCommit(during: string): Promise<void> {
    const attempts = this.commitAttempts!;
    this.state = 'committing';
    try {
      await this.endTxn(true, attempts);
    } catch (e) {
      const error = e as Error;
      const pending = error instanceof ProducerTimeoutError;
      if (!attempts.mayHaveLanded) {
        this.commitAttempts = undefined;
        this.state = 'ending';
        if (this.fatalError) throw this.fatalError;
        await this.finishAbort();
        throw this.brokerAbort ?? error;
      }
      const id = JSON.stringify(this.transactionalId);
      if (pending) {
        throw new TransactionOutcomeUnknownError(this.transactionalId,
          `the commit of the transaction of transactional id ${id} was sent but not confirmed ${during} within maxBlockMs (${this.config.maxBlockMs} ms), so it may or may not have committed; the next transaction first confirms it`,
          false, error, attempts.transaction);
      }
      this.commitAttempts = undefined;
      // A coordinator that fenced our epoch itself (the transaction timed out) aborted the
      // transaction, which it cannot do once a commit landed: then the answer is known. With
      // transaction version 2 it says so as INVALID_TXN_STATE (a commit retried on an abort).
      const aborted = error instanceof KafkaError && (FENCED.has(error.code) || (this.v2 && error.code === ErrorCode.INVALID_TXN_STATE));
      if (aborted && await this.bumpEpoch().then(() => true, () => false)) {
        this.state = 'ready';
        throw this.timedOut(error.code, 'EndTxn (commit)');
      }
      const fatal = this.toFatal(error, 'EndTxn (commit)');
      // A forced close (close({ timeoutMs })) cut the wait short; otherwise the coordinator refused us.
      const why = error instanceof ProducerClosedError ? 'the producer was closed before the commit was confirmed' : 'before it was confirmed the coordinator refused this producer';
      throw new TransactionOutcomeUnknownError(this.transactionalId,
        `the commit of the transaction of transactional id ${id} was sent, but ${why}, so the transaction may or may not have committed; the producer can do no more`,
        true, fatal, attempts.transaction);
    }
    this.commitAttempts = undefined;
    this.state = 'ready';
  }

  /**
   * Aborts once every batch already written is settled (unwritten ones were withdrawn). Resolves
   * with a TransactionTimeoutError when the coordinator had aborted the transaction itself.
   */
  async abort(): Promise<TransactionTimeoutError | undefined> {
    this.state = 'ending';
    await this.sender.whenIdle();
    await this.addRunning;
    if (this.fatalError) throw this.fatalError;
    await this.finishAbort();
    return this.brokerAbort;
  }

  /** Adds consumed offsets to the open transaction: committed for the group only if it commits. */
  async sendOffsets(offsets: readonly PartitionOffset[], group: ConsumerGroupMetadata): Promise<void> {
    this.check();
    if (offsets.length === 0) return;
    try {
      // Transaction version 2: TxnOffsetCommit v5 adds the group's offsets partition itself.
      if (!this.v2) {
        await this.request('AddOffsetsToTxn', TRANSACTION_COORDINATOR, this.transactionalId,
          (conn) => conn.call(Apis.addOffsetsToTxn, { transactionalId: this.transactionalId, producerId: BigInt(this.producerId), producerEpoch: this.epoch, groupId: group.groupId }),
          (r) => r.errorCode);
      }
      this.started = true;
      this.groups.add(group.groupId);
      const topics = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }>>();
      for (const o of offsets) {
        const entry = { partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch ?? -1, committedMetadata: null };
        const list = topics.get(o.topic);
        if (list) list.push(entry);
        else topics.set(o.topic, [entry]);
      }
      await this.request('TxnOffsetCommit', GROUP_COORDINATOR, group.groupId, (conn) => {
        const version = this.v2 ? conn.version(Apis.txnOffsetCommit) : Math.min(conn.version(Apis.txnOffsetCommit), TRANSACTION_V1_MAX_VERSION[ApiKey.TxnOffsetCommit]);
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
    if (this.v2) {
      // The partition leader adds it when the batch arrives; from now on EndTxn is due.
      this.added.add(key);
      this.started = true;
      return true;
    }
    if (!this.adding.has(key)) {
      this.adding.set(key, { topic, partition });
      this.scheduleAdd();
    }
    return false;
  }

  doomed(): Error | undefined {
    return this.fatalError ?? this.abortable;
  }

  batchFailed(error: Error, sent: boolean): Error | undefined {
    if (this.state !== 'inTransaction' && this.state !== 'ending') return undefined;
    if (sent) this.bumpOnAbort = true;
    const reported = this.failTransaction(error, 'Produce');
    // A refused epoch is not fatal by itself (see epochFenced): the batch says so.
    return error instanceof KafkaError && FENCED.has(error.code) ? reported : undefined;
  }

  /** The manager ends up fatal: every later transaction fails with this error. */
  private toFatal(error: Error, during: string): Error {
    if (this.fatalError) return this.fatalError;
    let fatal = error;
    if (error instanceof KafkaError && FENCED.has(error.code)) fatal = new ProducerFencedError(this.transactionalId, this.producerId, this.epoch, error.code, during);
    else if (!isFatal(error)) fatal = new TransactionError(error instanceof KafkaError ? error.code : ErrorCode.UNKNOWN_SERVER_ERROR, `${during} for transactional id ${JSON.stringify(this.transactionalId)} failed: ${error.message}`, true, { cause: error });
    this.fatalError = fatal;
    this.state = 'fatal';
    this.sender?.wake();
    return fatal;
  }

  private timedOut(code: number, during: string): TransactionTimeoutError {
    this.brokerAbort = new TransactionTimeoutError(this.transactionalId, this.config.transactionTimeoutMs, this.config.clock.now() - this.startedAt, code, during);
    return this.brokerAbort;
  }

  /** An error inside the open transaction: fatal ones end the producer, the others only this transaction. */
  private failTransaction(error: Error, during: string): Error {
    if (this.fatalError) return this.fatalError;
    // Transaction version 2: a coordinator that aborted the transaction itself (a timeout) and so
    // bumped the epoch reads our EndTxn(commit) as a retry of that abort, and refuses the commit
    // as INVALID_TXN_STATE. Like a refused epoch, only the epoch bump after it tells a timeout
    // (granted) from a newer producer (fenced).
    const abortedByCoordinator = this.v2 && during === 'EndTxn (commit)' && error instanceof KafkaError && error.code === ErrorCode.INVALID_TXN_STATE;
    if (error instanceof KafkaError && FATAL_IN_TRANSACTION.has(error.code) && !abortedByCoordinator) return this.toFatal(error, during);
    let abortable = error;
    if (error instanceof KafkaError && (FENCED.has(error.code) || abortedByCoordinator)) {
      this.epochFenced = true;
      this.fencedBy ??= { code: error.code, during };
      abortable = new TransactionError(error.code, `${during} was refused (${error.message}): the coordinator bumped the epoch of transactional id ${JSON.stringify(this.transactionalId)}, `
        + 'because it aborted the transaction (open longer than transactionTimeoutMs) or because a newer producer with this transactional id took over; the transaction aborts', false, { cause: error });
    } else if (isFatal(error)) {
      if (!(error instanceof KafkaError && ABORTABLE.has(error.code))) return this.toFatal(error, during);
      abortable = new TransactionError(error.code, `${during} failed, so the transaction aborts: ${error.message}`, false, { cause: error });
    }
    if (!this.abortable) {
      this.abortable = abortable;
      // Its queued batches are failed by the sender's next drain.
      this.sender?.wake();
    }
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

  /**
   * EndTxn(abort), then a new epoch if a sequence was spent. After a refused epoch, straight to
   * InitProducerId with our id and epoch (KIP-588): the coordinator grants it when it aborted the
   * transaction itself (a timeout) and refuses it when a newer producer took over, which is fatal.
   */
  private async finishAbort(): Promise<void> {
    try {
      let bumped = false;
      if (this.started && !this.epochFenced) {
        bumped = await this.endTxn(false).catch((e: unknown) => {
          if (!this.epochFenced) throw e;
          return false;
        });
      }
      if ((this.bumpOnAbort && !bumped) || this.epochFenced) await this.bumpEpoch();
      if (this.epochFenced) this.timedOut(this.fencedBy!.code, this.fencedBy!.during);
      this.state = 'ready';
    } catch (e) {
      // As Java's abortTransaction after a TimeoutException: the abort can be finished later. The
      // outcome is known already: a transaction nobody commits never commits.
      if (e instanceof ProducerTimeoutError && !this.fatalError) {
        this.state = 'aborting';
        throw new TransactionError(ErrorCode.REQUEST_TIMED_OUT, `the transaction of transactional id ${JSON.stringify(this.transactionalId)} did not commit and never will, `
          + `but its abort was not confirmed within maxBlockMs (${this.config.maxBlockMs} ms); the next transaction first finishes it: ${e.message}`, false, { cause: e });
      }
      throw this.toFatal(e as Error, 'aborting');
    }
  }

  /**
   * Resolves true when the coordinator gave the producer its next epoch (EndTxn v5, transaction
   * version 2: a retried EndTxn of a finished transaction is answered with it too), so the next
   * transaction's batches start their sequences again under it.
   */
  private async endTxn(committed: boolean, attempts?: { mayHaveLanded: boolean }): Promise<boolean> {
    try {
      const res = await this.request(committed ? 'EndTxn (commit)' : 'EndTxn (abort)', TRANSACTION_COORDINATOR, this.transactionalId, (conn) => {
        const version = this.v2 ? conn.version(Apis.endTxn) : Math.min(conn.version(Apis.endTxn), TRANSACTION_V1_MAX_VERSION[ApiKey.EndTxn]);
        return conn.call(Apis.endTxn, { transactionalId: this.transactionalId, producerId: BigInt(this.producerId), producerEpoch: this.epoch, committed }, version);
      }, (r) => r.errorCode, attempts);
      if (res.producerId < 0n) return false;
      this.setIdentity(Number(res.producerId), res.producerEpoch);
      return true;
    } catch (e) {
      if (attempts?.mayHaveLanded) throw e;
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

  /** Keeps the newest finalized `transaction.version` any coordinator reported (brokers learn a change at different times). */
  private noteFeatures(conn: BrokerConnection): void {
    const { epoch, levels } = conn.features;
    if (epoch < this.featuresEpoch) return;
    this.featuresEpoch = epoch;
    this.clusterTransactionVersion = levels.get(TRANSACTION_VERSION) ?? 0;
  }

  private scheduleAdd(): void {
    if (this.addScheduled || this.addRunning) return;
    this.addScheduled = true;
    // Partitions asked for while the sender drains this turn go in one request.
    this.config.clock.soon(() => {
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
  private async request<Res>(what: string, keyType: number, key: string, send: (conn: BrokerConnection) => Promise<Res>, errorOf: (res: Res) => number,
    attempts?: { mayHaveLanded: boolean }): Promise<Res> {
    const clock = this.config.clock;
    const deadline = clock.now() + this.config.maxBlockMs;
    for (let retries = 0; ; retries++) {
      let error: Error;
      try {
        const conn = await this.coordinators.connection(keyType, key);
        this.noteFeatures(conn);
        let res: Res;
        try {
          res = await send(conn);
        } catch (e) {
          if (attempts) attempts.mayHaveLanded = true;
          throw e;
        }
        const code = errorOf(res);
        if (code === ErrorCode.NONE) return res;
        if (attempts && !UNCHANGED.has(code)) attempts.mayHaveLanded = true;
        error = new KafkaError(code, undefined, { message: `${what} for ${describeKey(keyType, key)}` });
      } catch (e) {
        error = e as Error;
      }
      if (!(error instanceof KafkaError) || !error.retriable || error instanceof TransactionError) throw error;
      if (REFIND.has(error.code)) this.coordinators.forget(keyType, key);
      const wait = error.code === ErrorCode.CONCURRENT_TRANSACTIONS ? Math.min(CONCURRENT_TRANSACTIONS_BACKOFF_MS, this.config.retryBackoffMs) : backoffMs(this.config, retries, clock.random);
      if (clock.now() + wait > deadline) {
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
