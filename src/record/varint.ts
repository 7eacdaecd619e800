// Zig-zag varints as in Kafka's ByteUtils (protobuf's sint32/sint64 encoding).
//
// Longs are carried as JavaScript numbers: every varlong in a record is a timestamp delta in
// milliseconds, far inside the 2^53 range where numbers are exact.

/** Bytes that writeVarint takes for the 32-bit integer `value`. */
export function sizeOfVarint(value: number): number {
  const z = ((value << 1) ^ (value >> 31)) >>> 0;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Writes the 32-bit integer `value` at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let z = ((value << 1) ^ (value >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

function zigZagLong(value: number): number {
  if (!Number.isSafeInteger(value) || Math.abs(value) > 2 ** 52) {
    throw new RangeError(`varlong out of range: ${value}`);
  }
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Bytes that writeVarlong takes for the integer `value`. */
export function sizeOfVarlong(value: number): number {
  if ((value | 0) === value) return sizeOfVarint(value);
  let z = zigZagLong(value);
  let n = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 0x80);
    n++;
  }
  return n;
}

/** Writes the integer `value` (|value| ≤ 2^52) as a varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  if ((value | 0) === value) return writeVarint(buf, pos, value);
  let z = zigZagLong(value);
  while (z >= 0x80) {
    buf[pos++] = (z % 0x80) | 0x80;
    z = Math.floor(z / 0x80);
  }
  buf[pos++] = z;
  return pos;
}
