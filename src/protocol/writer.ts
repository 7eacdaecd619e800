import { EncodeError } from './errors.ts';

const TWO_32 = 4294967296;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UUID_CHARS = 22;

/**
 * Encodes Kafka's primitive types big-endian into one growable buffer that can be reused across
 * requests with `reset()`, so steady-state encoding allocates nothing but the bytes it sends.
 *
 * UUIDs are 22-character base64url strings without padding, the form Kafka prints them in
 * (`Uuid.toString()`); the all-zero UUID is `AAAAAAAAAAAAAAAAAAAAAA`.
 *
 * Growing copies what was written so far, so a writer kept for a connection settles at the size
 * of its largest request; `bytes()` copies its input exactly once, into this buffer.
 */
export class Writer {
  private buf: Buffer;
  private pos = 0;
  /**
   * Byte arrays of at least this many bytes are kept by reference instead of copied in (0: never):
   * a connection's writer sends record batches as they are, the request around them in pieces.
   */
  private readonly byReference: number;
  /** The arrays kept by reference, each with the position among the own bytes where it goes. */
  private readonly external: Array<Uint8Array | undefined> = [];
  private readonly externalAt: number[] = [];
  /** How many of `external` belong to this request: the arrays are reused, not truncated (a costly `length = 0`). */
  private externalCount = 0;
  private externalBytes = 0;

  constructor(initialCapacity = 1024, byReference = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
    this.byReference = byReference;
  }

  /** Bytes written so far, those kept by reference included. */
  get length(): number {
    return this.pos + this.externalBytes;
  }

  get capacity(): number {
    return this.buf.length;
  }

  reset(): this {
    this.pos = 0;
    // Dropped so a sent request's record batches are not kept reachable from here.
    for (let i = 0; i < this.externalCount; i++) this.external[i] = undefined;
    this.externalCount = 0;
    this.externalBytes = 0;
    return this;
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A copy of the bytes written, safe to keep after `reset()`. */
  toBuffer(): Buffer {
    if (this.externalCount > 0) return Buffer.concat(this.pieces(this.buf));
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /**
   * The written bytes as pieces to send in order, the arrays kept by reference among them (which
   * must not change until sent), and starts afresh: the own bytes, a request's few headers, are
   * copied out, so the writer keeps its buffer.
   */
  detachPieces(): Uint8Array[] {
    if (this.externalCount === 0) return [this.detach()];
    const own = Buffer.allocUnsafe(this.pos);
    this.buf.copy(own, 0, 0, this.pos);
    const pieces = this.pieces(own);
    this.reset();
    return pieces;
  }

  private pieces(own: Buffer): Uint8Array[] {
    const pieces: Uint8Array[] = [];
    let from = 0;
    for (let i = 0; i < this.externalCount; i++) {
      const at = this.externalAt[i];
      if (at > from) pieces.push(own.subarray(from, at));
      pieces.push(this.external[i]!);
      from = at;
    }
    if (this.pos > from) pieces.push(own.subarray(from, this.pos));
    return pieces;
  }

  /** Copies `b` in, or keeps it by reference when it is large enough (see `byReference`). */
  private append(b: Uint8Array): void {
    if (this.byReference > 0 && b.length >= this.byReference) {
      this.external[this.externalCount] = b;
      this.externalAt[this.externalCount] = this.pos;
      this.externalCount++;
      this.externalBytes += b.length;
      return;
    }
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /**
   * Hands over the written bytes without copying them and starts afresh with a new buffer of the
   * same capacity: for bytes that must outlive the next request, such as a frame a socket is
   * still sending. Allocating costs less than copying a request of record batches.
   */
  detach(): Buffer {
    if (this.externalCount > 0) throw new EncodeError('detach', 'bytes are kept by reference: use detachPieces()');
    const written = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.pos = 0;
    return written;
  }

  /** A view of the written bytes (no copy): only valid until the next write or `reset()`. */
  subarray(start = 0, end = this.pos): Buffer {
    if (this.externalCount > 0) throw new EncodeError('subarray', 'bytes are kept by reference: use toBuffer()');
    if (start < 0 || end > this.pos || start > end) throw new EncodeError('subarray', `range ${start}..${end} is outside 0..${this.pos}`);
    return this.buf.subarray(start, end);
  }

  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  int8(v: number): this {
    if (v !== ((v << 24) >> 24)) throw new EncodeError('int8', `${v} is out of range`);
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  int16(v: number): this {
    if (v !== ((v << 16) >> 16)) throw new EncodeError('int16', `${v} is out of range`);
    this.ensure(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v;
    return this;
  }

  uint16(v: number): this {
    if (v !== (v & 0xffff)) throw new EncodeError('uint16', `${v} is out of range`);
    this.ensure(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v;
    return this;
  }

  int32(v: number): this {
    if (v !== (v | 0)) throw new EncodeError('int32', `${v} is out of range`);
    this.ensure(4);
    this.put32(v);
    return this;
  }

  uint32(v: number): this {
    if (v !== v >>> 0) throw new EncodeError('uint32', `${v} is out of range`);
    this.ensure(4);
    this.put32(v);
    return this;
  }

  int64(v: bigint): this {
    if (v < INT64_MIN || v > INT64_MAX) throw new EncodeError('int64', `${v} is out of range`);
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** int64 from a safe integer, without going through bigint. */
  int64Number(v: number): this {
    if (!Number.isSafeInteger(v)) throw new EncodeError('int64', `${v} is not a safe integer`);
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    this.put32(hi);
    this.put32(v - hi * TWO_32);
    return this;
  }

  float64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** Unsigned varint of a 32-bit value (Kafka's `writeUnsignedVarint`). */
  uvarint(v: number): this {
    if (v !== v >>> 0) throw new EncodeError('unsigned varint', `${v} is not a uint32`);
    this.ensure(5);
    this.putUvarint(v);
    return this;
  }

  /** Zigzag varint of an int32. */
  varint(v: number): this {
    if (v !== (v | 0)) throw new EncodeError('varint', `${v} is not an int32`);
    this.ensure(5);
    this.putUvarint(((v << 1) ^ (v >> 31)) >>> 0);
    return this;
  }

  /** Zigzag varlong of an int64. */
  varlong(v: bigint): this {
    if (v < INT64_MIN || v > INT64_MAX) throw new EncodeError('varlong', `${v} is out of range`);
    let z = v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
    this.ensure(10);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
    return this;
  }

  /** Zigzag varlong of a safe integer, without going through bigint. */
  varlongNumber(v: number): this {
    if (!Number.isSafeInteger(v)) throw new EncodeError('varlong', `${v} is not a safe integer`);
    if (v === (v | 0)) {
      this.ensure(5);
      this.putUvarint(((v << 1) ^ (v >> 31)) >>> 0);
      return this;
    }
    // Zigzag doubles the magnitude, which stays exact in a float only below 2^53.
    if (v > 2 ** 52 || v < -(2 ** 52)) return this.varlong(BigInt(v));
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    this.ensure(10);
    while (z >= 0x80) {
      this.buf[this.pos++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    this.buf[this.pos++] = z;
    return this;
  }

  /** int16 length + UTF-8. */
  string(s: string): this {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > 0x7fff) throw new EncodeError('string', `${len} bytes is longer than 32767`);
    this.ensure(2 + len);
    this.buf[this.pos++] = len >>> 8;
    this.buf[this.pos++] = len;
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
    return this;
  }

  nullableString(s: string | null): this {
    if (s === null) return this.int16(-1);
    return this.string(s);
  }

  /** uvarint (length + 1) + UTF-8. */
  compactString(s: string): this {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > 0x7fff) throw new EncodeError('compact string', `${len} bytes is longer than 32767`);
    this.ensure(5 + len);
    this.putUvarint(len + 1);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
    return this;
  }

  compactNullableString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    return this.compactString(s);
  }

  /** int32 length + bytes. */
  bytes(b: Uint8Array): this {
    this.ensure(4);
    this.put32(b.length);
    this.append(b);
    return this;
  }

  nullableBytes(b: Uint8Array | null): this {
    if (b === null) return this.int32(-1);
    return this.bytes(b);
  }

  /** uvarint (length + 1) + bytes. */
  compactBytes(b: Uint8Array): this {
    this.ensure(5);
    this.putUvarint(b.length + 1);
    this.append(b);
    return this;
  }

  compactNullableBytes(b: Uint8Array | null): this {
    if (b === null) return this.uvarint(0);
    return this.compactBytes(b);
  }

  /** Bytes with no length prefix. */
  raw(b: Uint8Array): this {
    this.append(b);
    return this;
  }

  uuid(id: string): this {
    if (id.length !== UUID_CHARS) throw new EncodeError('uuid', `${JSON.stringify(id)} is not a 22-character base64url UUID`);
    this.ensure(16);
    const written = this.buf.write(id, this.pos, 16, 'base64url');
    if (written !== 16) throw new EncodeError('uuid', `${JSON.stringify(id)} is not a 22-character base64url UUID`);
    this.pos += 16;
    return this;
  }

  /** Classic array length: int32, -1 for null. */
  arrayLength(n: number | null): this {
    return this.int32(n === null ? -1 : n);
  }

  /** Compact array length: uvarint (length + 1), 0 for null. */
  compactArrayLength(n: number | null): this {
    return this.uvarint(n === null ? 0 : n + 1);
  }

  /** An empty tagged-field section. */
  emptyTaggedFields(): this {
    this.ensure(1);
    this.buf[this.pos++] = 0;
    return this;
  }

  /** Skip `n` bytes to fill in later (e.g. a length prefix); returns their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  patchInt32(offset: number, v: number): this {
    if (offset < 0 || offset + 4 > this.pos) throw new EncodeError('int32 patch', `offset ${offset} is outside the written bytes`);
    if (v !== (v | 0) && v !== v >>> 0) throw new EncodeError('int32 patch', `${v} is out of range`);
    this.buf[offset] = v >>> 24;
    this.buf[offset + 1] = v >>> 16;
    this.buf[offset + 2] = v >>> 8;
    this.buf[offset + 3] = v;
    return this;
  }

  patchInt16(offset: number, v: number): this {
    if (offset < 0 || offset + 2 > this.pos) throw new EncodeError('int16 patch', `offset ${offset} is outside the written bytes`);
    if (v !== ((v << 16) >> 16) && v !== (v & 0xffff)) throw new EncodeError('int16 patch', `${v} is out of range`);
    this.buf[offset] = v >>> 8;
    this.buf[offset + 1] = v;
    return this;
  }

  /**
   * Start a section prefixed by its uvarint byte size (a tagged field's value). One byte is kept
   * for the size, which is enough below 128 bytes; `endUvarintSized` moves longer sections.
   */
  beginUvarintSized(): number {
    return this.reserve(1);
  }

  endUvarintSized(mark: number): this {
    if (this.externalCount > 0 && this.externalAt[this.externalCount - 1] > mark) {
      throw new EncodeError('sized section', 'bytes kept by reference cannot be inside a size-prefixed section');
    }
    const size = this.pos - mark - 1;
    if (size < 0x80) {
      this.buf[mark] = size;
      return this;
    }
    const extra = uvarintSize(size) - 1;
    this.ensure(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    const end = this.pos + extra;
    this.pos = mark;
    this.putUvarint(size);
    this.pos = end;
    return this;
  }

  private put32(v: number): void {
    const b = this.buf;
    let p = this.pos;
    b[p++] = v >>> 24;
    b[p++] = v >>> 16;
    b[p++] = v >>> 8;
    b[p++] = v;
    this.pos = p;
  }

  private putUvarint(v: number): void {
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v;
  }
}

/** Bytes an unsigned varint of the uint32 `v` takes. */
export function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}
