import { ErrorCode, KafkaError } from '../protocol/errors.ts';

export { ConfigError } from '../codec/errors.ts';
export { KafkaError } from '../protocol/errors.ts';

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

  constructor(ref: RecordRef, bufferMemory: number, maxBlockMs: number) {
    super(ErrorCode.REQUEST_TIMED_OUT,
      `no room for a record for topic ${JSON.stringify(ref.topic)} within maxBlockMs (${maxBlockMs} ms): bufferMemory (${bufferMemory} bytes) is full of records the brokers have not acknowledged`, ref);
  }
}

/** A record (or its topic's metadata) waited longer than the producer allows. */
export class ProducerTimeoutError extends KafkaError {
  override name = 'TimeoutError';

  constructor(message: string, ref?: RecordRef) {
    super(ErrorCode.REQUEST_TIMED_OUT, message, ref ?? {});
  }
}

/** The producer was closed while the record still waited to be sent. */
export class ProducerClosedError extends KafkaError {
  override name = 'ProducerClosedError';

  constructor(message = 'the producer is closed') {
    super(ErrorCode.UNKNOWN_SERVER_ERROR, message);
  }
}

/**
 * Errors after which this producer can do nothing useful: the broker refuses who we are or what
 * we may do, or a newer producer took over our transactional id. They always end the stream.
 */
const FATAL = new Set<number>([
  ErrorCode.SASL_AUTHENTICATION_FAILED,
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.PRODUCER_FENCED,
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
]);

export function isFatal(error: unknown): boolean {
  return error instanceof KafkaError && FATAL.has(error.code);
}
