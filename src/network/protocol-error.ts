import { ErrorCode, KafkaError } from '../protocol/errors.ts';

/**
 * A broker sent bytes that are not the answer kafkarx asked for: a frame size no response can have,
 * a correlation id that matches no request, or a response that does not decode as the API and
 * version asked (the cause is then the DecodeError). The connection is closed and its requests fail
 * with this error; it is retriable (NETWORK_EXCEPTION), so the request is retried on a new
 * connection after the usual backoff, as the Java client does after closing a connection on a
 * corrupt response.
 */
export class BrokerProtocolError extends KafkaError {
  override name = 'BrokerProtocolError';
  /** `host:port` of the broker. */
  readonly address: string;

  constructor(address: string, problem: string, options?: { cause?: unknown }) {
    super(ErrorCode.NETWORK_EXCEPTION, `broker ${address} broke the Kafka protocol: ${problem}; closing the connection`);
    this.address = address;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
