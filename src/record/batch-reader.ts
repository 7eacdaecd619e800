// Decodes record batches (magic 2) as found in a Produce request's records or a Fetch response.
// Meant for tests and the in-memory test cluster: it favours checking everything over speed.

import {
  Attribute,
  BatchOffset,
  CompressionCodec,
  LOG_OVERHEAD,
  MAGIC_V2,
  RECORD_BATCH_OVERHEAD,
  TimestampType,
  readInt64,
} from './batch-format.ts';
import type { TimestampTypeId } from './batch-format.ts';
import { crc32c } from './crc32c.ts';

/** A batch's stored CRC does not match its bytes (Java's CorruptRecordException). */
export class RecordBatchCrcError extends Error {
  readonly expected: number;
  readonly actual: number;
  readonly position: number;

  constructor(position: number, expected: number, actual: number) {
    super(
      `record batch at ${position} is corrupt: stored CRC 0x${expected.toString(16).padStart(8, '0')}, ` +
        `computed 0x${actual.toString(16).padStart(8, '0')}`,
    );
    this.name = 'RecordBatchCrcError';
    this.expected = expected;
    this.actual = actual;
    this.position = position;
  }
}

/** The bytes are not a well-formed magic 2 record batch (Java's InvalidRecordException). */
export class InvalidRecordBatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRecordBatchError';
  }
}

export interface DecodedHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface DecodedRecord {
  readonly offset: number;
  readonly offsetDelta: number;
  /** The record's own timestamp, or the batch's max timestamp in a LogAppendTime batch. */
  readonly timestamp: number;
  readonly timestampDelta: number;
  readonly attributes: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly DecodedHeader[];
}

export interface DecodedRecordBatch {
  /** Where the batch starts in the buffer that was read. */
  readonly position: number;
  /** Whole size of the batch, LOG_OVERHEAD included. */
  readonly sizeInBytes: number;
  readonly baseOffset: number;
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly compression: number;
  readonly timestampType: TimestampTypeId;
  readonly isTransactional: boolean;
  readonly isControl: boolean;
  readonly hasDeleteHorizon: boolean;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
  readonly records: readonly DecodedRecord[];
}

/** Returns the uncompressed records section of a batch compressed with `codec`. */
export type DecompressRecords = (codec: number, compressed: Buffer) => Uint8Array;

export interface ReadOptions {
  /** Needed for compressed batches. */
  readonly decompress?: DecompressRecords;
  /**
   * Skip a batch cut short at the end of the buffer instead of failing, as consumers must: brokers
   * fill a Fetch response up to its byte limit and may end it mid-batch.
   */
  readonly allowTruncated?: boolean;
}

/** Reads varints and the fields built from them, bounds checked against `end`. */
class Cursor {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  private byte(): number {
    if (this.pos >= this.end) throw new InvalidRecordBatchError(`record runs past the end of its batch at ${this.pos}`);
    return this.buf[this.pos++];
  }

  varint(): number {
    let z = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      z |= (b & 0x7f) << shift;
      if (b < 0x80) return (z >>> 1) ^ -(z & 1);
    }
    throw new InvalidRecordBatchError(`varint longer than 5 bytes at ${this.pos}`);
  }

  varlong(): number {
    let z = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      z += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (z > Number.MAX_SAFE_INTEGER) throw new RangeError(`varlong beyond 2^53 at ${this.pos}`);
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      scale *= 0x80;
    }
    throw new InvalidRecordBatchError(`varlong longer than 10 bytes at ${this.pos}`);
  }

  bytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    return this.take(length);
  }

  string(): string {
    const length = this.varint();
    if (length < 0) throw new InvalidRecordBatchError(`null header key at ${this.pos}`);
    return this.take(length).toString('utf8');
  }

  take(length: number): Buffer {
    if (this.pos + length > this.end) throw new InvalidRecordBatchError(`record runs past the end of its batch at ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

function readRecords(
  section: Buffer,
  count: number,
  baseOffset: number,
  baseTimestamp: number,
  logAppendTime: number | null,
): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  const all = new Cursor(section, 0, section.length);
  for (let i = 0; i < count; i++) {
    const length = all.varint();
    const start = all.pos;
    if (length < 0 || start + length > section.length) {
      throw new InvalidRecordBatchError(`record ${i} claims ${length} bytes; ${section.length - start} remain`);
    }
    const r = new Cursor(section, start, start + length);
    const attributes = r.take(1)[0];
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const key = r.bytes();
    const value = r.bytes();
    const headerCount = r.varint();
    if (headerCount < 0) throw new InvalidRecordBatchError(`record ${i} has ${headerCount} headers`);
    const headers: DecodedHeader[] = [];
    for (let h = 0; h < headerCount; h++) headers.push({ key: r.string(), value: r.bytes() });
    if (r.pos !== r.end) throw new InvalidRecordBatchError(`record ${i} has ${r.end - r.pos} bytes past its headers`);
    all.pos = r.end;
    records.push({
      offset: baseOffset + offsetDelta,
      offsetDelta,
      timestamp: logAppendTime ?? baseTimestamp + timestampDelta,
      timestampDelta,
      attributes,
      key,
      value,
      headers,
    });
  }
  if (all.pos !== section.length) {
    throw new InvalidRecordBatchError(`${section.length - all.pos} bytes follow the batch's ${count} records`);
  }
  return records;
}

/**
 * Reads the batch at `position`; null when `allowTruncated` is set and the buffer ends before the
 * batch does.
 */
export function readRecordBatch(buf: Buffer, position = 0, options: ReadOptions = {}): DecodedRecordBatch | null {
  const remaining = buf.length - position;
  if (remaining < LOG_OVERHEAD) {
    if (options.allowTruncated) return null;
    throw new InvalidRecordBatchError(`${remaining} bytes at ${position} are too few for a batch`);
  }
  const batchLength = buf.readInt32BE(position + BatchOffset.LENGTH);
  const sizeInBytes = LOG_OVERHEAD + batchLength;
  if (sizeInBytes < RECORD_BATCH_OVERHEAD) {
    throw new InvalidRecordBatchError(`batch at ${position} has length ${batchLength}, below the minimum`);
  }
  if (sizeInBytes > remaining) {
    if (options.allowTruncated) return null;
    throw new InvalidRecordBatchError(`batch at ${position} needs ${sizeInBytes} bytes; ${remaining} remain`);
  }
  const batch = buf.subarray(position, position + sizeInBytes);
  const magic = batch.readInt8(BatchOffset.MAGIC);
  if (magic !== MAGIC_V2) throw new InvalidRecordBatchError(`batch at ${position} has magic ${magic}; only 2 is supported`);
  const crc = batch.readUInt32BE(BatchOffset.CRC);
  const actual = crc32c(batch, BatchOffset.ATTRIBUTES, sizeInBytes);
  if (crc !== actual) throw new RecordBatchCrcError(position, crc, actual);

  const attributes = batch.readInt16BE(BatchOffset.ATTRIBUTES);
  const compression = attributes & Attribute.COMPRESSION_MASK;
  const timestampType = attributes & Attribute.LOG_APPEND_TIME ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;
  const baseOffset = readInt64(batch, BatchOffset.BASE_OFFSET);
  const baseTimestamp = readInt64(batch, BatchOffset.BASE_TIMESTAMP);
  const maxTimestamp = readInt64(batch, BatchOffset.MAX_TIMESTAMP);
  const recordCount = batch.readInt32BE(BatchOffset.RECORD_COUNT);
  if (recordCount < 0) throw new InvalidRecordBatchError(`batch at ${position} claims ${recordCount} records`);

  let section = batch.subarray(RECORD_BATCH_OVERHEAD);
  if (compression !== CompressionCodec.NONE) {
    if (options.decompress === undefined) {
      throw new InvalidRecordBatchError(`batch at ${position} is compressed with codec ${compression}; no decompress given`);
    }
    const plain = options.decompress(compression, section);
    section = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  }
  const logAppendTime = timestampType === TimestampType.LOG_APPEND_TIME ? maxTimestamp : null;
  const records = readRecords(section, recordCount, baseOffset, baseTimestamp, logAppendTime);

  return {
    position,
    sizeInBytes,
    baseOffset,
    batchLength,
    partitionLeaderEpoch: batch.readInt32BE(BatchOffset.PARTITION_LEADER_EPOCH),
    magic,
    crc,
    attributes,
    compression,
    timestampType,
    isTransactional: (attributes & Attribute.TRANSACTIONAL) !== 0,
    isControl: (attributes & Attribute.CONTROL) !== 0,
    hasDeleteHorizon: (attributes & Attribute.DELETE_HORIZON) !== 0,
    lastOffsetDelta: batch.readInt32BE(BatchOffset.LAST_OFFSET_DELTA),
    baseTimestamp,
    maxTimestamp,
    producerId: readInt64(batch, BatchOffset.PRODUCER_ID),
    producerEpoch: batch.readInt16BE(BatchOffset.PRODUCER_EPOCH),
    baseSequence: batch.readInt32BE(BatchOffset.BASE_SEQUENCE),
    recordCount,
    records,
  };
}

/** Reads every batch in `buf`, e.g. a partition's records field. */
export function readRecordBatches(buf: Buffer, options: ReadOptions = {}): DecodedRecordBatch[] {
  const batches: DecodedRecordBatch[] = [];
  let position = 0;
  while (position < buf.length) {
    const batch = readRecordBatch(buf, position, options);
    if (batch === null) break;
    batches.push(batch);
    position += batch.sizeInBytes;
  }
  return batches;
}
