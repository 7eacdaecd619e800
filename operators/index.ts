import '../src/node-version.ts';
export { toKafka, type ToKafkaOptions } from './to-kafka.ts';
export { serialize, checkTopic, type SerializeOptions } from './serialize.ts';
export { reserve } from './reserve.ts';
export { partition, type PartitionOptions } from './partition.ts';
export { batch, type BatchOptions } from './batch.ts';
export { compress, type CompressOptions } from './compress.ts';
export { send } from './send.ts';
export { results, recordMetadata } from './results.ts';
export { fromPullSource } from './from-pull-source.ts';
export {
  transaction, transactions, type Transaction, type TransactionSendOptions, type TransactionsOptions, type TransactionOutcome,
  type ConsumedPosition, type PositionSelector,
} from './transaction.ts';
// The types the stages hand each other, so a pipeline composed by hand type-checks:
// serialize → OutgoingRecord; reserve, partition → OutgoingRecord; batch, compress, send → BatchOrFailure; results → RecordResult.
export { isBatch, type BatchOrFailure, type ProducerBatch } from '../src/producer/batch.ts';
export type { OutgoingRecord } from '../src/producer/record.ts';
