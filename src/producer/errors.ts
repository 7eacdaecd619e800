import { ProducerClosedError } from '../cluster/closed.ts';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';

export { ConfigError } from '../codec/errors.ts';
export { KafkaError } from '../protocol/errors.ts';
export { AuthenticationError, TlsError } from '../network/errors.ts';
export { ProducerClosedError } from '../cluster/closed.ts';

/** Where a record was going, for errors that name it. */
export interface RecordRef {
  topic: string;
  partition?: number;
}

/**
 * A key or value serializer threw or returned something that is not bytes. Fails that record only;
 * the producer never retries it (the same input would fail again).
 */
export class SerializationError extends KafkaError {
  override name = 'SerializationError';
  readonly field: 'key' | 'value' | 'header';

  constructor(ref: RecordRef, field: 'key' | 'value' | 'header', problem: string, options?: { cause?: unknown }) {
    super(ErrorCode.UNKNOWN_SERVER_ERROR, `cannot serialize the ${field} of a record for topic ${JSON.stringify(ref.topic)}: ${problem}`, { topic: ref.topic });
    this.field = field;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * A record kafkarx refuses before any I/O: an illegal topic name (Kafka's INVALID_TOPIC_EXCEPTION),
 * a partition out of range, a key or value no serializer accepts (INVALID_RECORD).
 */
export class InvalidRecordError extends KafkaError {
  override name = 'InvalidRecordError';

  constructor(message: string, ref?: RecordRef, code: number = ErrorCode.INVALID_RECORD) {
    super(code, message, ref ?? {});
  }
}

/** Kafka's MESSAGE_TOO_LARGE, raised before sending when a record cannot fit `maxRequestSize`. */
export class RecordTooLargeError extends KafkaError {
  override name = 'RecordTooLargeError';

  constructor(ref: RecordRef, size: number, limit: number, setting: string) {
    super(ErrorCode.MESSAGE_TOO_LARGE, `a record of ${size} bytes for topic ${JSON.stringify(ref.topic)} is larger than ${setting} (${limit} bytes)`, ref);
  }
}

/**
 * The producer's buffer stayed full for `maxBlockMs`: the source produces faster than the broker
 * takes records, and it cannot be paused (a hot Observable).
 */
export class BufferExhaustedError extends KafkaError {
  override name = 'BufferExhaustedError';

  /** `waitingLimit`: the record was refused at once, as records waiting for room already held that many bytes. */
  constructor(ref: RecordRef, bufferMemory: number, maxBlockMs: number, waitingLimit?: number) {
    super(ErrorCode.REQUEST_TIMED_OUT, waitingLimit === undefined
      ? `no room for a record for topic ${JSON.stringify(ref.topic)} within maxBlockMs (${maxBlockMs} ms): bufferMemory (${bufferMemory} bytes) is full of records the brokers have not acknowledged`
      : `no room for a record for topic ${JSON.stringify(ref.topic)}: bufferMemory (${bufferMemory} bytes) is full of records the brokers have not acknowledged, and the records waiting for room already hold the most they may (${waitingLimit} bytes, as much as bufferMemory): the source outruns the brokers and cannot be paused (read it with fromPullSource, or slow it down)`, ref);
  }
}

/** A record (or its topic's metadata) waited longer than the producer allows. */
export class ProducerTimeoutError extends KafkaError {
  override name = 'TimeoutError';

  constructor(message: string, ref?: RecordRef) {
    super(ErrorCode.REQUEST_TIMED_OUT, message, ref ?? {});
  }
}

/**
 * The transaction coordinator refused this producer for good, or a transactional request failed in
 * a way the producer cannot recover from: every later transaction fails with it too.
 */
export class TransactionError extends KafkaError {
  override name = 'TransactionError';
  /** Overrides the error-code table in `isFatal`: whether the producer is done. */
  readonly fatal: boolean;

  constructor(code: number, message: string, fatal: boolean, options?: { cause?: unknown }) {
    super(code, message);
    this.fatal = fatal;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * A newer producer with the same transactionalId initialized itself and took over (Java's
 * ProducerFencedException): this one sends nothing more. Also reported for INVALID_PRODUCER_EPOCH,
 * which older coordinators answer instead.
 */
export class ProducerFencedError extends TransactionError {
  override name = 'ProducerFencedError';

  constructor(transactionalId: string, producerId: number, epoch: number, code: number, during: string) {
    super(code, `producer with transactionalId ${JSON.stringify(transactionalId)} (producer id ${producerId}, epoch ${epoch}) was fenced by a newer producer with the same transactionalId; ${during} failed with error code ${code}`, true);
  }
}

/**
 * The transaction stayed open longer than `transactionTimeoutMs`, so the coordinator aborted it
 * and bumped the producer's epoch: its records are discarded. Not fatal (KIP-588): the producer
 * took the new epoch and the next transaction can run.
 */
export class TransactionTimeoutError extends TransactionError {
  override name = 'TransactionTimeoutError';
  readonly transactionTimeoutMs: number;
  readonly elapsedMs: number;

  constructor(transactionalId: string, transactionTimeoutMs: number, elapsedMs: number, code: number, during: string) {
    super(code, `the transaction of transactionalId ${JSON.stringify(transactionalId)} was aborted by the broker: it was open for ${elapsedMs} ms, longer than transactionTimeoutMs (${transactionTimeoutMs} ms) (${during} was refused with error code ${code}); the producer has bumped its epoch and can run the next transaction`, false);
    this.transactionTimeoutMs = transactionTimeoutMs;
    this.elapsedMs = elapsedMs;
  }
}

/**
 * What a transaction whose commit outcome is unknown consisted of: enough to find out later, with
 * a read_committed consumer, whether it committed (its records are visible at their offsets) or
 * not (they never will be), and to re-send or skip it accordingly.
 */
export interface UnconfirmedTransaction {
  /** The producer id and epoch the commit was sent with (with the transactional id, they name the transaction). */
  readonly producerId: number;
  readonly producerEpoch: number;
  /** Every partition the transaction wrote to. */
  readonly partitions: ReadonlyArray<{ topic: string; partition: number }>;
  /** The consumer groups whose offsets (`sendOffsets`) the transaction carried. */
  readonly groups: readonly string[];
  /**
   * What the transaction scope withheld, in order: everything its body emitted, which the scope
   * emits only once committed — with `tx.send()`, each record's RecordMetadata (topic, partition,
   * offset as written). A later scope that fails because it could not confirm this commit first
   * gets an error describing this same transaction, withheld results included.
   */
  readonly withheld: readonly unknown[];
}

/**
 * EndTxn(commit) was sent, but the coordinator never confirmed it within `maxBlockMs` (no answer,
 * the connection lost, the coordinator moved or stayed busy), or the producer was fenced before it
 * could confirm: the transaction may have committed or may not. It is never reported as failed
 * (it may be visible to read_committed consumers) nor as committed. Unless `fatal`, the producer
 * keeps asking: the next transaction first confirms this commit (a commit retried on a committed
 * transaction succeeds) and fails with this error again while it cannot. It carries what the
 * transaction consisted of (UnconfirmedTransaction), to reconcile.
 */
export class TransactionOutcomeUnknownError extends TransactionError implements UnconfirmedTransaction {
  override name = 'TransactionOutcomeUnknownError';
  override readonly retriable = false;
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly partitions: ReadonlyArray<{ topic: string; partition: number }>;
  readonly groups: readonly string[];
  readonly withheld: readonly unknown[];

  constructor(transactionalId: string, message: string, fatal: boolean, cause: Error, transaction: UnconfirmedTransaction) {
    super(cause instanceof KafkaError ? cause.code : ErrorCode.UNKNOWN_SERVER_ERROR,
      `${message} (producer id ${transaction.producerId}, epoch ${transaction.producerEpoch}; ${transaction.partitions.length} partition(s), ${transaction.withheld.length} result(s) withheld): ${cause.message}`, fatal, { cause });
    this.transactionalId = transactionalId;
    this.producerId = transaction.producerId;
    this.producerEpoch = transaction.producerEpoch;
    this.partitions = transaction.partitions;
    this.groups = transaction.groups;
    this.withheld = transaction.withheld;
  }
}

/**
 * A transactional operation the producer's state does not allow: sending records of a
 * transactional producer outside `producer.transaction()`, or using a transaction's operators
 * after its scope ended. Nothing was sent; the producer is fine.
 */
export class TransactionStateError extends KafkaError {
  override name = 'TransactionStateError';
  readonly fatal = false;

  constructor(message: string) {
    super(ErrorCode.INVALID_TXN_STATE, message);
  }
}

/** What toKafka() and send() of a transactional producer fail with. */
export function outsideTransaction(transactionalId: string): TransactionStateError {
  return new TransactionStateError(`producer with transactionalId ${JSON.stringify(transactionalId)} sends only inside a transaction: use producer.transaction(tx => records$.pipe(tx.send()))`);
}

/**
 * Errors after which this producer can do nothing useful: the broker refuses who we are or what
 * we may do on the cluster, a newer producer took over our transactional id, or the producer was
 * closed. They always end the stream. TOPIC_AUTHORIZATION_FAILED is not among them: as in the Java
 * client, it fails the records of that topic only, and the others go on (and are reported).
 */
const FATAL = new Set<number>([
  ErrorCode.SASL_AUTHENTICATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.PRODUCER_FENCED,
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
]);

export function isFatal(error: unknown): boolean {
  if (error instanceof ProducerClosedError) return true;
  if (!(error instanceof KafkaError)) return false;
  const own = (error as { fatal?: unknown }).fatal;
  return typeof own === 'boolean' ? own : FATAL.has(error.code);
}
