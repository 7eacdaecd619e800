export {
  Attribute,
  BatchOffset,
  CompressionCodec,
  LOG_OVERHEAD,
  MAGIC_V2,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  RECORD_BATCH_OVERHEAD,
  TimestampType,
  readInt64,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  writeInt64,
} from './batch-format.ts';
export type { CompressionCodecId, TimestampTypeId } from './batch-format.ts';
export { RecordBatchBuilder, RecordBatchBuilderPool, recordBatchSizeUpperBound } from './batch-builder.ts';
export type { CompressRecords, RecordHeader } from './batch-builder.ts';
export { InvalidRecordBatchError, RecordBatchCrcError, readRecordBatch, readRecordBatches } from './batch-reader.ts';
export type { DecodedHeader, DecodedRecord, DecodedRecordBatch, DecompressRecords, ReadOptions } from './batch-reader.ts';
export { crc32c, crc32cCombine, crc32cShift } from './crc32c.ts';
