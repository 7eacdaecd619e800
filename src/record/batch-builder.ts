// Builds one partition's record batch (magic 2) by encoding records straight into a growable buffer
// that starts with room for the 61-byte batch header.
//
// The header is written when the batch is closed, and its producer fields when the batch is
// stamped: an idempotent producer only knows a batch's sequence once the batch is drained into a
// request, and keeps it across retries. The first stamp computes the CRC over the whole batch; a
// later one folds in just the header's change, so re-stamping never reads the records.

import {
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
  writeInt64,
} from './batch-format.ts';
import { crc32c, crc32cCombine, crc32cShift } from './crc32c.ts';
import { sizeOfVarint, writeVarint, writeVarlong } from './varint.ts';

export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** Compresses a batch's records section; the input is a view into the builder's buffer. */
export type CompressRecords = (records: Buffer) => Uint8Array;

/** The most a record's length, timestamp delta and offset delta varints can take. */
const MAX_RECORD_VARINT_OVERHEAD = 5 + 10 + 5;

// Below this, a byte loop beats TypedArray.prototype.set's call overhead (keys are often this short).
const SHORT_COPY = 16;

/** Java's COMPRESSION_RATE_ESTIMATION_FACTOR: a margin on the observed compression ratio. */
const COMPRESSION_RATE_ESTIMATION_FACTOR = 1.05;

function copyBytes(dst: Buffer, pos: number, src: Uint8Array): number {
  const n = src.length;
  if (n <= SHORT_COPY) {
    for (let i = 0; i < n; i++) dst[pos + i] = src[i];
  } else {
    dst.set(src, pos);
  }
  return pos + n;
}

function writeNullableBytes(dst: Buffer, pos: number, src: Uint8Array | null): number {
  if (src === null) {
    dst[pos] = 1; // zig-zag -1
    return pos + 1;
  }
  return copyBytes(dst, writeVarint(dst, pos, src.length), src);
}

/** Writes a header key after its length varint; needs sizeOfVarint(3·length) + 3·length bytes of room. */
function writeString(dst: Buffer, pos: number, s: string): number {
  const n = s.length;
  // At most 21 UTF-16 units make at most 63 UTF-8 bytes, whose length fits one varint byte, so the
  // bytes can go first and their length after, without measuring the string beforehand.
  if (n <= 21) {
    const start = pos + 1;
    let p = start;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        p = start + dst.write(s, start, 'utf8');
        break;
      }
      dst[p++] = c;
    }
    dst[pos] = (p - start) << 1;
    return p;
  }
  const bytes = Buffer.byteLength(s, 'utf8');
  const p = writeVarint(dst, pos, bytes);
  return p + dst.write(s, p, bytes, 'utf8');
}

function sizeOfNullableBytes(src: Uint8Array | null): number {
  return src === null ? 1 : sizeOfVarint(src.length) + src.length;
}

function sizeOfHeaders(headers: readonly RecordHeader[]): number {
  // Most records have none: their count's one byte, without the loop's setup.
  if (headers.length === 0) return 1;
  let size = sizeOfVarint(headers.length);
  for (const h of headers) {
    const keyBytes = Buffer.byteLength(h.key, 'utf8');
    size += sizeOfVarint(keyBytes) + keyBytes + sizeOfNullableBytes(h.value);
  }
  return size;
}

/**
 * The most bytes a batch holding just this record can take, uncompressed: what Java's producer
 * checks against max.request.size and reserves for a batch whose first record exceeds batch.size.
 */
export function recordBatchSizeUpperBound(
  key: Uint8Array | null,
  value: Uint8Array | null,
  headers: readonly RecordHeader[] = [],
): number {
  return RECORD_BATCH_OVERHEAD + recordSizeUpperBound(key, value, headers);
}

/** recordBatchSizeUpperBound without the batch's header: the most bytes the record takes in a batch. */
export function recordSizeUpperBound(key: Uint8Array | null, value: Uint8Array | null, headers: readonly RecordHeader[]): number {
  return (
    MAX_RECORD_VARINT_OVERHEAD +
    1 +
    sizeOfNullableBytes(key) +
    sizeOfNullableBytes(value) +
    sizeOfHeaders(headers)
  );
}

const NO_HEADERS: readonly RecordHeader[] = [];

// Header keys remembered per builder: the first slots of a record's headers, encoded (length
// varint included) within this many bytes.
const KEY_CACHE_SLOTS = 4;
const KEY_CACHE_BYTES = 64;

/** Set in `codec` while the batch is open. */
const OPEN = -1;

export class RecordBatchBuilder {
  private buf: Buffer;
  /** End of the records written so far; after close, end of the batch. */
  private pos: number = RECORD_BATCH_OVERHEAD;
  private count: number = 0;
  private firstTimestamp = -1;
  private maxTs = -1;
  private codec: number = OPEN;
  /** CRC of the last stamped header (attributes to record count), or -1 before the first stamp. */
  private headerCrc = -1;
  private batchCrc = 0;
  /** crc32cShift of the records' length, computed on the first re-stamp; -1 until then. */
  private recordsShift = -1;
  private wire: Buffer | null = null;
  /** End of the uncompressed records, kept when the batch is closed (for compression metrics). */
  private rawSize = 0;
  private readonly keyCache: (string | null)[] = new Array<string | null>(KEY_CACHE_SLOTS).fill(null);
  private readonly keyCacheLength = new Int32Array(KEY_CACHE_SLOTS);
  private readonly keyCacheBytes = new Uint8Array(KEY_CACHE_SLOTS * KEY_CACHE_BYTES);
  /** Bytes the previous record's length varint took: the guess for the next one. */
  private lengthSize = 2;
  /**
   * Compressed size / uncompressed size that estimates use, as Java's producer keeps per topic and
   * codec; 1 (the default) makes estimates exact upper bounds for uncompressed batches.
   */
  compressionRatio = 1;

  constructor(initialCapacity = 16384) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(initialCapacity, RECORD_BATCH_OVERHEAD + 64));
  }

  get recordCount(): number {
    return this.count;
  }

  /** Timestamp of the first record (deltas are relative to it, as in Java); -1 while empty. */
  get baseTimestamp(): number {
    return this.firstTimestamp;
  }

  /** Greatest record timestamp; -1 while empty. */
  get maxTimestamp(): number {
    return this.maxTs;
  }

  /** The codec id of the closed batch (attributes bits 0-2); -1 while the batch is open. */
  get compression(): number {
    return this.codec;
  }

  get isClosed(): boolean {
    return this.codec !== OPEN;
  }

  /** Bytes of the buffer the builder holds, for pools that cap what they keep. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Size of the batch as it stands: exact once closed, and before that the uncompressed size. */
  get sizeInBytes(): number {
    return this.pos;
  }

  /** Size of the batch before compression (the same as sizeInBytes for an open or uncompressed batch). */
  get uncompressedSizeInBytes(): number {
    return this.codec === OPEN ? this.pos : this.rawSize;
  }

  /** Predicted size of the closed batch: the uncompressed size scaled by compressionRatio. */
  estimatedSizeInBytes(): number {
    if (this.codec !== OPEN || this.compressionRatio >= 1) return this.pos;
    const records = this.pos - RECORD_BATCH_OVERHEAD;
    const ratio = this.compressionRatio * COMPRESSION_RATE_ESTIMATION_FACTOR;
    return RECORD_BATCH_OVERHEAD + Math.ceil(records * Math.min(ratio, 1));
  }

  /** Whether no further record should be added under `limit` bytes, as Java's isFull. */
  isFull(limit: number): boolean {
    return this.codec !== OPEN || (this.count > 0 && this.estimatedSizeInBytes() >= limit);
  }

  /** Appends a record whatever the size; returns its offset delta. */
  append(
    timestamp: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[] = NO_HEADERS,
  ): number {
    const end = this.encode(timestamp, key, value, headers);
    return this.commit(timestamp, end);
  }

  /**
   * Appends a record unless the batch would then exceed `limit` bytes (estimated as Java's
   * hasRoomFor does); a batch's first record is always taken, so a record larger than the batch size
   * still gets a batch of its own. Returns whether the record was appended.
   */
  tryAppend(
    timestamp: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[],
    limit: number,
  ): boolean {
    if (this.count > 0) {
      // isFull, with the estimate read once for all three checks (encode commits nothing).
      if (this.codec !== OPEN) return false;
      const estimated = this.estimatedSizeInBytes();
      if (estimated >= limit) return false;
      // Surely too large (7: the fewest bytes of a record's varints and attributes): refused
      // without encoding it, which could grow the buffer past the limit for nothing.
      if (estimated + 7 + (key === null ? 0 : key.length) + (value === null ? 0 : value.length) > limit) return false;
      // Encoding first and rolling back on overflow is cheaper than sizing every record twice.
      const end = this.encode(timestamp, key, value, headers);
      if (estimated + (end - this.pos) > limit) return false;
      this.commit(timestamp, end);
      return true;
    }
    this.append(timestamp, key, value, headers);
    return true;
  }

  private commit(timestamp: number, end: number): number {
    const offsetDelta = this.count;
    if (offsetDelta === 0) {
      this.firstTimestamp = timestamp;
      this.maxTs = timestamp;
    } else if (timestamp > this.maxTs) {
      this.maxTs = timestamp;
    }
    this.count = offsetDelta + 1;
    this.pos = end;
    return offsetDelta;
  }

  /** Encodes a record at the end of the records, returns where it ends, and commits nothing. */
  private encode(
    timestamp: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[],
  ): number {
    if (this.codec !== OPEN) throw new Error('record batch is closed');
    const offsetDelta = this.count;
    const timestampDelta = offsetDelta === 0 ? 0 : timestamp - this.firstTimestamp;
    const start = this.pos;
    // Room for all but the headers, each varint at its widest (length, timestamp delta, offset
    // delta, key and value lengths, header count), which also covers moving the body below.
    const need = start + 36 + (key === null ? 0 : key.length) + (value === null ? 0 : value.length);
    if (need > this.buf.length) this.grow(need, start);
    let buf = this.buf;

    // The length varint precedes the body, whose size is only known once written (header keys are
    // strings). Records of a batch tend to be alike, so the body goes after as many bytes as the
    // previous record's length took, and is moved in the rare case that was wrong.
    const lengthSize = this.lengthSize;
    let p = start + lengthSize;
    buf[p++] = 0; // record attributes: none are defined
    // Deltas under 64 (zig-zagged, under 128) take one byte: most records of most batches. (A
    // fractional or negative delta is not its own `>>> 0` and goes the way that checks it.)
    if (timestampDelta >>> 0 === timestampDelta && timestampDelta < 64) buf[p++] = timestampDelta << 1;
    else p = writeVarlong(buf, p, timestampDelta);
    if (offsetDelta < 64) buf[p++] = offsetDelta << 1;
    else p = writeVarint(buf, p, offsetDelta);
    p = writeNullableBytes(buf, p, key);
    p = writeNullableBytes(buf, p, value);
    const headerCount = headers.length;
    p = writeVarint(buf, p, headerCount);
    for (let i = 0; i < headerCount; i++) {
      const h = headers[i];
      const headerValue = h.value;
      // Widest key length varint, three bytes per UTF-16 unit, widest value length, and the 4
      // bytes the body may move by.
      const headerNeed = p + 14 + 3 * h.key.length + (headerValue === null ? 0 : headerValue.length);
      if (headerNeed > buf.length) {
        this.grow(headerNeed, p);
        buf = this.buf;
      }
      p = this.writeHeaderKey(buf, p, h.key, i);
      p = writeNullableBytes(buf, p, headerValue);
    }
    const bodyLength = p - start - lengthSize;
    const actualSize = sizeOfVarint(bodyLength);
    if (actualSize !== lengthSize) {
      buf.copyWithin(start + actualSize, start + lengthSize, p);
      p += actualSize - lengthSize;
      this.lengthSize = actualSize;
    }
    writeVarint(buf, start, bodyLength);
    return p;
  }

  /**
   * Writes the `slot`th header key of a record. Producers tend to send the same header keys on
   * every record, so the encoding of the last key seen in each of the first few slots is kept:
   * copying bytes is cheaper than reading the string a UTF-16 unit at a time.
   */
  private writeHeaderKey(buf: Buffer, pos: number, key: string, slot: number): number {
    if (slot >= KEY_CACHE_SLOTS) return writeString(buf, pos, key);
    const base = slot * KEY_CACHE_BYTES;
    const arena = this.keyCacheBytes;
    if (key === this.keyCache[slot]) {
      const n = this.keyCacheLength[slot];
      for (let i = 0; i < n; i++) buf[pos + i] = arena[base + i];
      return pos + n;
    }
    const end = writeString(buf, pos, key);
    const n = end - pos;
    if (n <= KEY_CACHE_BYTES) {
      for (let i = 0; i < n; i++) arena[base + i] = buf[pos + i];
      this.keyCache[slot] = key;
      this.keyCacheLength[slot] = n;
    }
    return end;
  }

  /** Replaces the buffer by one of at least `need` bytes holding the first `used` bytes. */
  private grow(need: number, used: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, used);
    this.buf = next;
  }

  /**
   * The uncompressed records section, for compressing it elsewhere (e.g. asynchronously) before
   * closeCompressed. A view into the builder's buffer: valid until the batch is closed or reset.
   */
  records(): Buffer {
    if (this.codec !== OPEN) throw new Error('record batch is closed');
    return this.buf.subarray(RECORD_BATCH_OVERHEAD, this.pos);
  }

  /**
   * Seals the batch, compressing its records with `compress` when `codec` is not NONE. The CRC is
   * left to stamp (or bytes), which reads the records once.
   */
  close(codec: number = CompressionCodec.NONE, compress?: CompressRecords): void {
    if (codec === CompressionCodec.NONE) {
      this.seal(CompressionCodec.NONE, null);
      return;
    }
    if (compress === undefined) throw new Error(`compression codec ${codec} needs a compress function`);
    this.seal(codec, compress(this.records()));
  }

  /** Seals the batch with records already compressed with `codec` (the bytes are copied). */
  closeCompressed(codec: number, compressedRecords: Uint8Array): void {
    this.seal(codec, compressedRecords);
  }

  private seal(codec: number, compressed: Uint8Array | null): void {
    if (this.codec !== OPEN) throw new Error('record batch is closed');
    if (this.count === 0) throw new Error('record batch has no records');
    if ((codec & Attribute.COMPRESSION_MASK) !== codec) throw new RangeError(`invalid compression codec ${codec}`);
    this.rawSize = this.pos;
    if (compressed !== null) {
      const end = RECORD_BATCH_OVERHEAD + compressed.length;
      if (end > this.buf.length) this.grow(end, RECORD_BATCH_OVERHEAD);
      this.buf.set(compressed, RECORD_BATCH_OVERHEAD);
      this.pos = end;
    }
    this.codec = codec;
    const buf = this.buf;
    const end = this.pos;
    writeInt64(buf, BatchOffset.BASE_OFFSET, 0);
    buf.writeInt32BE(end - LOG_OVERHEAD, BatchOffset.LENGTH);
    buf.writeInt32BE(NO_PARTITION_LEADER_EPOCH, BatchOffset.PARTITION_LEADER_EPOCH);
    buf[BatchOffset.MAGIC] = MAGIC_V2;
    buf.writeInt32BE(this.count - 1, BatchOffset.LAST_OFFSET_DELTA);
    writeInt64(buf, BatchOffset.BASE_TIMESTAMP, this.firstTimestamp);
    writeInt64(buf, BatchOffset.MAX_TIMESTAMP, this.maxTs);
    buf.writeInt32BE(this.count, BatchOffset.RECORD_COUNT);
    this.headerCrc = -1;
    this.recordsShift = -1;
    this.wire = buf.subarray(0, end);
  }

  /**
   * Sets the producer id, epoch, base sequence and transactional flag of a closed batch and returns
   * its wire bytes: a view into the builder's buffer, valid until reset. The first stamp reads the
   * whole batch for its CRC; later ones cost the same whatever the batch's size, so a retried batch
   * can be re-stamped freely.
   */
  stamp(producerId: number, producerEpoch: number, baseSequence: number, transactional: boolean): Buffer {
    const wire = this.wire;
    if (wire === null) throw new Error('record batch is not closed');
    wire.writeInt16BE(this.codec | (transactional ? Attribute.TRANSACTIONAL : 0), BatchOffset.ATTRIBUTES);
    writeInt64(wire, BatchOffset.PRODUCER_ID, producerId);
    wire.writeInt16BE(producerEpoch, BatchOffset.PRODUCER_EPOCH);
    wire.writeInt32BE(baseSequence, BatchOffset.BASE_SEQUENCE);
    const headerCrc = crc32c(wire, BatchOffset.ATTRIBUTES, RECORD_BATCH_OVERHEAD);
    if (this.headerCrc === -1) {
      this.batchCrc = crc32c(wire, RECORD_BATCH_OVERHEAD, wire.length, headerCrc);
    } else if (headerCrc !== this.headerCrc) {
      // CRCs are linear: the batch's CRC changes by the header's change carried past the records.
      if (this.recordsShift === -1) this.recordsShift = crc32cShift(wire.length - RECORD_BATCH_OVERHEAD);
      this.batchCrc = crc32cCombine(headerCrc ^ this.headerCrc, this.batchCrc, this.recordsShift);
    }
    this.headerCrc = headerCrc;
    wire.writeUInt32BE(this.batchCrc, BatchOffset.CRC);
    return wire;
  }

  /**
   * The closed batch's wire bytes as last stamped, or, if it never was, stamped as from a producer
   * that is neither idempotent nor transactional.
   */
  bytes(): Buffer {
    if (this.wire === null) throw new Error('record batch is not closed');
    if (this.headerCrc === -1) return this.stamp(NO_PRODUCER_ID, NO_PRODUCER_EPOCH, NO_SEQUENCE, false);
    return this.wire;
  }

  /** Empties the builder for a new batch, keeping its buffer; earlier views into it go stale. */
  reset(): void {
    this.pos = RECORD_BATCH_OVERHEAD;
    this.count = 0;
    this.firstTimestamp = -1;
    this.maxTs = -1;
    this.codec = OPEN;
    this.wire = null;
  }
}

/**
 * Room beyond the batch size a builder's buffer should have: encoding reserves room for a record's
 * widest varints (up to 36 bytes more than it may take) before it knows whether the record fits, so
 * a buffer of exactly the batch size would double for the last record of nearly every full batch.
 */
export const BUILDER_SLACK = 64;

/**
 * Keeps reset builders for reuse, so steady producing allocates no batch buffers. A builder must
 * only come back once nothing refers to its bytes any more (its batch was acknowledged or failed).
 */
export class RecordBatchBuilderPool {
  private readonly free: RecordBatchBuilder[] = [];
  private readonly initialCapacity: number;
  private readonly maxPooled: number;
  private readonly maxRetainedCapacity: number;

  /**
   * @param initialCapacity buffer size of new builders, normally batch.size plus BUILDER_SLACK
   * @param maxPooled how many idle builders to keep
   * @param maxRetainedCapacity builders whose buffer grew beyond this (for an oversized record) are
   *   dropped rather than kept, so one large record does not pin a large buffer
   */
  constructor(initialCapacity = 16384, maxPooled = 64, maxRetainedCapacity = initialCapacity * 2) {
    this.initialCapacity = initialCapacity;
    this.maxPooled = maxPooled;
    this.maxRetainedCapacity = maxRetainedCapacity;
  }

  get size(): number {
    return this.free.length;
  }

  acquire(): RecordBatchBuilder {
    return this.free.pop() ?? new RecordBatchBuilder(this.initialCapacity);
  }

  release(builder: RecordBatchBuilder): void {
    if (this.free.length >= this.maxPooled || builder.capacity > this.maxRetainedCapacity) return;
    builder.reset();
    builder.compressionRatio = 1;
    this.free.push(builder);
  }
}
