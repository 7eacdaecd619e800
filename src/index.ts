import './node-version.ts';
import { openProducer, type Producer } from './producer/producer.ts';
import type { ProducerConfig } from './producer/config.ts';
import { sendStages } from '../operators/to-kafka.ts';
import { transaction } from '../operators/transaction.ts';

export { VERSION } from './version.ts';
export type { Producer, CloseOptions } from './producer/producer.ts';
export type { ProducerConfig, Acks, SaslConfig } from './producer/config.ts';
export type { SaslMechanism, SaslExchange } from './network/sasl/mechanism.ts';
export type { OauthBearerToken, OauthBearerTokenProvider } from './network/sasl/oauthbearer.ts';
export type { ProducerRecord, RecordMetadata, RecordResult, PassthroughOf, Headers, HeaderValue } from './producer/record.ts';
export { string, json, bytes, nothing, raw, type Serializer, type RawValue } from './producer/serializers.ts';
export type { PartitionerFn, PartitionerName, PartitionInput } from './producer/partitioners.ts';
export { murmur2 } from './producer/murmur2.ts';
export {
  KafkaError, ConfigError, SerializationError, InvalidRecordError, RecordTooLargeError, BufferExhaustedError,
  ProducerTimeoutError, ProducerClosedError, TransactionError, ProducerFencedError, TransactionTimeoutError, TransactionOutcomeUnknownError, TransactionStateError, isFatal,
  AuthenticationError, TlsError,
} from './producer/errors.ts';
export type { UnconfirmedTransaction } from './producer/errors.ts';
export type { ConsumerGroupMetadata } from './producer/transactions.ts';
export type { Transaction } from '../operators/transaction.ts';
export { UnsupportedVersionError } from './protocol/errors.ts';
export { BrokerProtocolError } from './network/protocol-error.ts';
export { UnknownPartitionError, MetadataTimeoutError } from './cluster/metadata.ts';
export type { CompressionName } from './codec/types.ts';
export type { Logger, LogFields } from './observe/logger.ts';
export type { MetricsSnapshot, ProducerMetricName, TopicMetricName, NodeMetricName } from './observe/metrics.ts';
export type { TracingConfig } from './observe/tracing.ts';
export type { ConnectionMessage, BatchMessage, RequestMessage } from './observe/channels.ts';

/**
 * A producer whose `send()` shares batches across calls, through the same operators as
 * `toKafka()`, and whose `transaction()` runs transaction scopes. With a `transactionalId`, it
 * starts fencing older instances at once (see `Producer.ready()`).
 */
export function createProducer(config: ProducerConfig): Producer {
  return openProducer(config, (producer, records) => records.pipe(sendStages<number>(producer, {}, false)), transaction);
}
