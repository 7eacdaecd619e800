// Layout of a record batch with magic 2, as in Kafka's DefaultRecordBatch.
//
//   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
//   attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
//   producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records
//
// batchLength counts the bytes after itself; the CRC covers attributes to the end of the batch.

import { crc32c } from './crc32c.ts';

export const BatchOffset = {
  BASE_OFFSET: 0,
  LENGTH: 8,
  PARTITION_LEADER_EPOCH: 12,
  MAGIC: 16,
  CRC: 17,
  ATTRIBUTES: 21,
  LAST_OFFSET_DELTA: 23,
  BASE_TIMESTAMP: 27,
  MAX_TIMESTAMP: 35,
  PRODUCER_ID: 43,
  PRODUCER_EPOCH: 51,
  BASE_SEQUENCE: 53,
  RECORD_COUNT: 57,
  RECORDS: 61,
} as const;

/** Bytes of a batch before its first record. */
export const RECORD_BATCH_OVERHEAD = BatchOffset.RECORDS;
/** baseOffset and batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;
export const MAGIC_V2 = 2;

export const Attribute = {
  COMPRESSION_MASK: 0x07,
  LOG_APPEND_TIME: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
  DELETE_HORIZON: 0x40,
} as const;

/** Codec ids of the attributes' low three bits. */
export const CompressionCodec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
export type CompressionCodecId = (typeof CompressionCodec)[keyof typeof CompressionCodec];

export const TimestampType = { CREATE_TIME: 0, LOG_APPEND_TIME: 1 } as const;
export type TimestampTypeId = (typeof TimestampType)[keyof typeof TimestampType];

// Sentinels of a batch from a producer that is neither idempotent nor transactional.
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

const TWO_32 = 0x100000000;

/** Writes a safe integer as a big-endian int64. */
export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * TWO_32, pos + 4);
}

/** Reads a big-endian int64 that must be a safe integer (offsets, timestamps, producer ids). */
export function readInt64(buf: Buffer, pos: number): number {
  const value = buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
  if (!Number.isSafeInteger(value)) throw new RangeError(`int64 at ${pos} is beyond 2^53: ${buf.readBigInt64BE(pos)}`);
  return value;
}

// Broker-side edits, for the in-memory test cluster. Neither baseOffset nor partitionLeaderEpoch is
// covered by the CRC, so assigning them leaves the batch valid as it is.

/** Sets the offset of the batch's first record, as a leader does when appending to its log. */
export function setBaseOffset(batch: Buffer, baseOffset: number): void {
  writeInt64(batch, BatchOffset.BASE_OFFSET, baseOffset);
}

export function setPartitionLeaderEpoch(batch: Buffer, epoch: number): void {
  batch.writeInt32BE(epoch, BatchOffset.PARTITION_LEADER_EPOCH);
}

/**
 * Marks the batch LogAppendTime with `timestamp` as its max timestamp (which readers then give to
 * every record), as a broker with message.timestamp.type=LogAppendTime does, and redoes the CRC.
 */
export function setLogAppendTime(batch: Buffer, timestamp: number): void {
  const attributes = batch.readInt16BE(BatchOffset.ATTRIBUTES) | Attribute.LOG_APPEND_TIME;
  batch.writeInt16BE(attributes, BatchOffset.ATTRIBUTES);
  writeInt64(batch, BatchOffset.MAX_TIMESTAMP, timestamp);
  const end = LOG_OVERHEAD + batch.readInt32BE(BatchOffset.LENGTH);
  batch.writeUInt32BE(crc32c(batch, BatchOffset.ATTRIBUTES, end), BatchOffset.CRC);
}
