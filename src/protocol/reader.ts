import { DecodeError } from './errors.ts';

const TWO_32 = 4294967296;

/**
 * Decodes Kafka's primitive types from a buffer, checking every read against the end of the
 * message so that truncated or corrupt input raises a `DecodeError` naming what was being read.
 *
 * Every method takes an optional label (e.g. `ProduceResponse.throttleTimeMs`) that only ends up
 * in error messages. `bytes()` and friends return views into the input, not copies: keep the
 * input buffer alive and unchanged while they are in use. UUIDs come back as 22-character
 * base64url strings, as in `Writer.uuid`.
 */
export class Reader {
  readonly buf: Buffer;
  offset: number;
  readonly end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) throw new DecodeError('message', offset, `range ${offset}..${end} is outside the ${buf.length}-byte buffer`);
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number, what: string): number {
    const at = this.offset;
    if (n > this.end - at) throw new DecodeError(what, at, `needs ${n} bytes, ${this.end - at} left`);
    this.offset = at + n;
    return at;
  }

  bool(what = 'bool'): boolean {
    return this.buf[this.need(1, what)] !== 0;
  }

  int8(what = 'int8'): number {
    return (this.buf[this.need(1, what)] << 24) >> 24;
  }

  int16(what = 'int16'): number {
    const p = this.need(2, what);
    return ((this.buf[p] << 24) | (this.buf[p + 1] << 16)) >> 16;
  }

  uint16(what = 'uint16'): number {
    const p = this.need(2, what);
    return (this.buf[p] << 8) | this.buf[p + 1];
  }

  int32(what = 'int32'): number {
    const p = this.need(4, what);
    const b = this.buf;
    return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  }

  uint32(what = 'uint32'): number {
    return this.int32(what) >>> 0;
  }

  int64(what = 'int64'): bigint {
    return this.buf.readBigInt64BE(this.need(8, what));
  }

  /** int64 as a number; throws when the value is not a safe integer. */
  int64Number(what = 'int64'): number {
    const at = this.offset;
    const hi = this.int32(what);
    const lo = this.int32(what) >>> 0;
    const v = hi * TWO_32 + lo;
    if (!Number.isSafeInteger(v)) throw new DecodeError(what, at, `${this.buf.readBigInt64BE(at)} is not a safe integer`);
    return v;
  }

  float64(what = 'float64'): number {
    return this.buf.readDoubleBE(this.need(8, what));
  }

  /** Unsigned varint of at most 5 bytes (a uint32). */
  uvarint(what = 'unsigned varint'): number {
    const b = this.buf;
    const start = this.offset;
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (start + i >= this.end) throw new DecodeError(what, start, 'the varint runs past the end');
      const byte = b[start + i];
      value |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) {
        if (i === 4 && byte > 0x0f) break;
        this.offset = start + i + 1;
        return value >>> 0;
      }
    }
    throw new DecodeError(what, start, 'varint is longer than 32 bits');
  }

  /** Zigzag varint of an int32. */
  varint(what = 'varint'): number {
    const z = this.uvarint(what);
    return (z >>> 1) ^ -(z & 1);
  }

  /** Zigzag varlong of an int64. */
  varlong(what = 'varlong'): bigint {
    const b = this.buf;
    const start = this.offset;
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      if (start + i >= this.end) throw new DecodeError(what, start, 'the varlong runs past the end');
      const byte = b[start + i];
      value |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if (byte < 0x80) {
        if (i === 9 && byte > 0x01) break;
        this.offset = start + i + 1;
        return (value >> 1n) ^ -(value & 1n);
      }
    }
    throw new DecodeError(what, start, 'varlong is longer than 64 bits');
  }

  /** Zigzag varlong as a number; throws when the value is not a safe integer. */
  varlongNumber(what = 'varlong'): number {
    const b = this.buf;
    const start = this.offset;
    let z = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (start + i >= this.end) break;
      const byte = b[start + i];
      z += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        // Eight 7-bit groups hold 56 bits: exact only while z stays within 2^53.
        if (z > Number.MAX_SAFE_INTEGER) break;
        this.offset = start + i + 1;
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      scale *= 0x80;
    }
    const big = this.varlong(what);
    if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new DecodeError(what, start, `${big} is not a safe integer`);
    }
    return Number(big);
  }

  /** int16 length + UTF-8; throws on null. */
  string(what = 'string'): string {
    const s = this.nullableString(what);
    if (s === null) throw new DecodeError(what, this.offset - 2, 'null where a string is required');
    return s;
  }

  nullableString(what = 'nullable string'): string | null {
    const len = this.int16(what);
    if (len < 0) {
      if (len === -1) return null;
      throw new DecodeError(what, this.offset - 2, `negative length ${len}`);
    }
    const p = this.need(len, what);
    return this.buf.toString('utf8', p, p + len);
  }

  compactString(what = 'compact string'): string {
    const at = this.offset;
    const s = this.compactNullableString(what);
    if (s === null) throw new DecodeError(what, at, 'null where a string is required');
    return s;
  }

  compactNullableString(what = 'compact nullable string'): string | null {
    const n = this.uvarint(what);
    if (n === 0) return null;
    if (n - 1 > 0x7fff) throw new DecodeError(what, this.offset, `length ${n - 1} is longer than 32767`);
    const p = this.need(n - 1, what);
    return this.buf.toString('utf8', p, p + n - 1);
  }

  /** int32 length + bytes, as a view; throws on null. */
  bytes(what = 'bytes'): Buffer {
    const b = this.nullableBytes(what);
    if (b === null) throw new DecodeError(what, this.offset - 4, 'null where bytes are required');
    return b;
  }

  nullableBytes(what = 'nullable bytes'): Buffer | null {
    const len = this.int32(what);
    if (len < 0) {
      if (len === -1) return null;
      throw new DecodeError(what, this.offset - 4, `negative length ${len}`);
    }
    const p = this.need(len, what);
    return this.buf.subarray(p, p + len);
  }

  compactBytes(what = 'compact bytes'): Buffer {
    const at = this.offset;
    const b = this.compactNullableBytes(what);
    if (b === null) throw new DecodeError(what, at, 'null where bytes are required');
    return b;
  }

  compactNullableBytes(what = 'compact nullable bytes'): Buffer | null {
    const n = this.uvarint(what);
    if (n === 0) return null;
    const p = this.need(n - 1, what);
    return this.buf.subarray(p, p + n - 1);
  }

  /** `n` bytes with no length prefix, as a view. */
  raw(n: number, what = 'raw bytes'): Buffer {
    const p = this.need(n, what);
    return this.buf.subarray(p, p + n);
  }

  skip(n: number, what = 'skipped bytes'): void {
    this.need(n, what);
  }

  uuid(what = 'uuid'): string {
    const p = this.need(16, what);
    return this.buf.toString('base64url', p, p + 16);
  }

  /**
   * Classic array length: int32, -1 for null. Each element takes at least a byte, so a length
   * beyond the bytes left is corrupt and is refused before anything gets allocated for it.
   */
  arrayLength(what = 'array length'): number {
    const at = this.offset;
    const n = this.int32(what);
    return this.checkArrayLength(n, at, what);
  }

  /** Compact array length: uvarint (length + 1), 0 for null (returned as -1). */
  compactArrayLength(what = 'compact array length'): number {
    const at = this.offset;
    const n = this.uvarint(what) - 1;
    return this.checkArrayLength(n, at, what);
  }

  private checkArrayLength(n: number, at: number, what: string): number {
    if (n < -1) throw new DecodeError(what, at, `negative length ${n}`);
    if (n > this.end - this.offset) throw new DecodeError(what, at, `length ${n} exceeds the ${this.end - this.offset} bytes left`);
    return n;
  }

  /** Skip a whole tagged-field section whose tags are all unknown to the reader. */
  skipTaggedFields(what = 'tagged fields'): void {
    const count = this.uvarint(what);
    for (let i = 0; i < count; i++) {
      this.uvarint(what);
      this.skip(this.uvarint(what), what);
    }
  }

  /** After reading a known tagged field, check that it used exactly its declared size. */
  expectOffset(expected: number, what: string): void {
    if (this.offset !== expected) throw new DecodeError(what, this.offset, `tagged field ended at offset ${this.offset}, its size says ${expected}`);
  }
}
