import { DecodeError, EncodeError } from '../../../src/protocol/errors.ts';
import { Reader } from '../../../src/protocol/reader.ts';
import { uvarintSize, Writer } from '../../../src/protocol/writer.ts';

const hex = (w: Writer): string => w.subarray().toString('hex');
const reader = (h: string): Reader => new Reader(Buffer.from(h.replace(/\s/g, ''), 'hex'));

describe('fixed-width integers', () => {
  test('big-endian, with two-complement negatives', () => {
    const w = new Writer().int8(-2).int16(-2).uint16(0xfffe).int32(-2).uint32(0xfffffffe).bool(true).bool(false);
    expect(hex(w)).toBe('fe' + 'fffe' + 'fffe' + 'fffffffe' + 'fffffffe' + '01' + '00');
    const r = new Reader(w.toBuffer());
    expect([r.int8(), r.int16(), r.uint16(), r.int32(), r.uint32(), r.bool(), r.bool()]).toEqual([-2, -2, 0xfffe, -2, 0xfffffffe, true, false]);
    expect(r.remaining).toBe(0);
  });

  test.each([
    [-(2n ** 63n), '8000000000000000'],
    [2n ** 63n - 1n, '7fffffffffffffff'],
    [-1n, 'ffffffffffffffff'],
    [0n, '0000000000000000'],
  ])('int64 %s', (v, bytes) => {
    const w = new Writer().int64(v);
    expect(hex(w)).toBe(bytes);
    expect(new Reader(w.toBuffer()).int64()).toBe(v);
  });

  test.each([0, 1, -1, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1700000000123])(
    'int64 fast path for the safe integer %d writes what the bigint path writes',
    (v) => {
      const fast = new Writer().int64Number(v);
      expect(hex(fast)).toBe(hex(new Writer().int64(BigInt(v))));
      expect(new Reader(fast.toBuffer()).int64Number()).toBe(v);
    },
  );

  test('int64 as a number refuses values that do not fit', () => {
    expect(() => new Writer().int64Number(2 ** 53)).toThrow(EncodeError);
    const r = reader('7fffffffffffffff');
    expect(() => r.int64Number('offset')).toThrow(DecodeError);
  });

  test('out-of-range values are refused with a typed error', () => {
    const w = new Writer();
    expect(() => w.int8(128)).toThrow(EncodeError);
    expect(() => w.int16(32768)).toThrow(EncodeError);
    expect(() => w.uint16(-1)).toThrow(EncodeError);
    expect(() => w.int32(2 ** 31)).toThrow(EncodeError);
    expect(() => w.int32(1.5)).toThrow(EncodeError);
    expect(() => w.uint32(2 ** 32)).toThrow(EncodeError);
    expect(() => w.int64(2n ** 63n)).toThrow(EncodeError);
    expect(w.length).toBe(0);
  });

  test('float64', () => {
    const w = new Writer().float64(-1.5);
    expect(hex(w)).toBe('bff8000000000000');
    expect(new Reader(w.toBuffer()).float64()).toBe(-1.5);
  });
});

describe('varints', () => {
  test.each([
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2 ** 21 - 1, 'ffff7f'],
    [2 ** 21, '80808001'],
    [2 ** 28 - 1, 'ffffff7f'],
    [2 ** 28, '8080808001'],
    [2 ** 32 - 1, 'ffffffff0f'],
  ])('unsigned varint %d', (v, bytes) => {
    const w = new Writer().uvarint(v);
    expect(hex(w)).toBe(bytes);
    expect(uvarintSize(v)).toBe(bytes.length / 2);
    const r = new Reader(w.toBuffer());
    expect(r.uvarint()).toBe(v);
    expect(r.remaining).toBe(0);
  });

  test.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ])('zigzag varint %d', (v, bytes) => {
    const w = new Writer().varint(v);
    expect(hex(w)).toBe(bytes);
    expect(new Reader(w.toBuffer()).varint()).toBe(v);
  });

  test.each([
    [0n, '00'],
    [-1n, '01'],
    [1n, '02'],
    [2n ** 31n, '8080808010'],
    [2n ** 63n - 1n, 'feffffffffffffffff01'],
    [-(2n ** 63n), 'ffffffffffffffffff01'],
  ])('zigzag varlong %s', (v, bytes) => {
    const w = new Writer().varlong(v);
    expect(hex(w)).toBe(bytes);
    expect(new Reader(w.toBuffer()).varlong()).toBe(v);
  });

  test.each([0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 52, -(2 ** 52), 2 ** 52 + 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1700000000123])(
    'varlong fast path for %d writes and reads what the bigint path does',
    (v) => {
      const fast = new Writer().varlongNumber(v);
      expect(hex(fast)).toBe(hex(new Writer().varlong(BigInt(v))));
      const r = new Reader(fast.toBuffer());
      expect(r.varlongNumber()).toBe(v);
      expect(r.remaining).toBe(0);
    },
  );

  test('a varlong beyond the safe integers is refused as a number', () => {
    const bytes = new Writer().varlong(2n ** 60n).toBuffer();
    expect(() => new Reader(bytes).varlongNumber('timestampDelta')).toThrow(/timestampDelta/);
  });

  test('overlong and truncated varints are typed errors', () => {
    expect(() => reader('ffffffff7f').uvarint('count')).toThrow(DecodeError);
    expect(() => reader('8080808080').uvarint()).toThrow(/longer than 32 bits/);
    expect(() => reader('8080').uvarint('count')).toThrow(/count/);
    expect(() => reader('ffffffffffffffffff7f').varlong()).toThrow(DecodeError);
  });
});

describe('strings and bytes', () => {
  test('null, empty and non-empty are distinct on the wire', () => {
    const w = new Writer().nullableString(null).string('').string('é').compactNullableString(null).compactString('').compactString('é');
    expect(hex(w)).toBe('ffff' + '0000' + '0002c3a9' + '00' + '01' + '03c3a9');
    const r = new Reader(w.toBuffer());
    expect([r.nullableString(), r.string(), r.string(), r.compactNullableString(), r.compactString(), r.compactString()]).toEqual([null, '', 'é', null, '', 'é']);
    expect(r.remaining).toBe(0);
  });

  test('bytes: null, empty, and a view rather than a copy', () => {
    const w = new Writer().nullableBytes(null).bytes(Buffer.alloc(0)).bytes(Buffer.from([1, 2])).compactNullableBytes(null).compactBytes(Buffer.from([3]));
    expect(hex(w)).toBe('ffffffff' + '00000000' + '000000020102' + '00' + '0203');
    const input = w.toBuffer();
    const r = new Reader(input);
    expect(r.nullableBytes()).toBeNull();
    expect(r.bytes()).toEqual(Buffer.alloc(0));
    const view = r.bytes();
    expect([...view]).toEqual([1, 2]);
    input[input.indexOf(0x01, 8)] = 9;
    expect(view[0]).toBe(9);
    expect(r.compactNullableBytes()).toBeNull();
    expect([...r.compactBytes()]).toEqual([3]);
  });

  test('null where the field is not nullable is a decode error', () => {
    expect(() => reader('ffff').string('Topic.name')).toThrow(/Topic\.name/);
    expect(() => reader('00').compactString()).toThrow(DecodeError);
    expect(() => reader('ffffffff').bytes()).toThrow(DecodeError);
  });

  test('a string longer than its int16 length allows is refused', () => {
    expect(() => new Writer().string('x'.repeat(32768))).toThrow(EncodeError);
    expect(new Writer().string('x'.repeat(32767)).length).toBe(32769);
  });

  test('a length running past the end names what was being read', () => {
    const r = reader('0005616263');
    let error: unknown;
    try {
      r.string('RequestHeader.clientId');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect(error).not.toBeInstanceOf(RangeError);
    expect((error as DecodeError).what).toBe('RequestHeader.clientId');
    expect((error as DecodeError).offset).toBe(2);
  });
});

describe('uuid', () => {
  test('22-character base64url, 16 bytes on the wire', () => {
    const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex').toString('base64url');
    expect(id).toHaveLength(22);
    const w = new Writer().uuid(id);
    expect(hex(w)).toBe('00112233445566778899aabbccddeeff');
    expect(new Reader(w.toBuffer()).uuid()).toBe(id);
    expect(() => new Writer().uuid('not-a-uuid')).toThrow(EncodeError);
  });
});

describe('array lengths', () => {
  test('classic and compact, with null', () => {
    const w = new Writer().arrayLength(null).arrayLength(0).arrayLength(3).compactArrayLength(null).compactArrayLength(0).compactArrayLength(127);
    expect(hex(w)).toBe('ffffffff' + '00000000' + '00000003' + '00' + '01' + '8001');
  });

  test('reading refuses lengths the remaining bytes cannot hold', () => {
    const r = reader('ffffffff 00000000 7fffffff');
    expect(r.arrayLength()).toBe(-1);
    expect(r.arrayLength()).toBe(0);
    expect(() => r.arrayLength('Metadata.topics')).toThrow(/exceeds/);
    expect(reader('00').compactArrayLength()).toBe(-1);
    expect(() => reader('fffffffe').arrayLength()).toThrow(/negative/);
  });
});

describe('tagged fields', () => {
  test('unknown tags are skipped whole', () => {
    const w = new Writer().uvarint(2).uvarint(0).uvarint(3).raw(Buffer.from('aabbcc', 'hex')).uvarint(300).uvarint(1).raw(Buffer.from('dd', 'hex')).int8(7);
    const r = new Reader(w.toBuffer());
    r.skipTaggedFields();
    expect(r.int8()).toBe(7);
  });

  test('a tagged field whose size runs past the end is a decode error', () => {
    expect(() => reader('01 00 05 aa').skipTaggedFields('Produce tagged fields')).toThrow(DecodeError);
  });

  test('size prefixes fit sections on both sides of 128 bytes', () => {
    for (const size of [0, 1, 127, 128, 300, 20000]) {
      const w = new Writer(16).int8(9);
      const mark = w.beginUvarintSized();
      for (let i = 0; i < size; i++) w.int8(i % 100);
      w.endUvarintSized(mark).int8(-9);
      const r = new Reader(w.toBuffer());
      expect(r.int8()).toBe(9);
      expect(r.uvarint()).toBe(size);
      const body = r.raw(size);
      expect(body.every((b, i) => b === i % 100)).toBe(true);
      expect(r.int8()).toBe(-9);
      expect(r.remaining).toBe(0);
    }
  });
});

describe('buffer management', () => {
  test('reserve and patch a length prefix', () => {
    const w = new Writer();
    const at = w.reserve(4);
    w.string('abc').int16(1);
    w.patchInt32(at, w.length - 4);
    expect(hex(w)).toBe('00000007' + '0003616263' + '0001');
    expect(() => w.patchInt32(w.length - 2, 1)).toThrow(EncodeError);
  });

  test('grows as needed, and reset keeps the capacity for reuse', () => {
    const w = new Writer(16);
    const blob = Buffer.alloc(10000, 7);
    w.int32(1).bytes(blob);
    expect(w.length).toBe(10008);
    expect(w.subarray(8, 10008).equals(blob)).toBe(true);
    const capacity = w.capacity;
    w.reset().int8(1);
    expect(w.length).toBe(1);
    expect(w.capacity).toBe(capacity);
  });

  test('toBuffer copies, subarray does not', () => {
    const w = new Writer().int8(1);
    const copy = w.toBuffer();
    const view = w.subarray();
    w.reset().int8(2);
    expect(copy[0]).toBe(1);
    expect(view[0]).toBe(2);
  });

  test('a reader can be limited to part of a buffer', () => {
    const r = new Reader(Buffer.from('0001000200', 'hex'), 1, 3);
    expect(r.int16()).toBe(0x0100);
    expect(() => r.int8()).toThrow(DecodeError);
  });
});

describe('bytes kept by reference', () => {
  // What a connection's writer does with record batches: the same bytes as a copying writer, in
  // pieces, the large arrays among them unchanged (no copy).
  const encode = (w: Writer, big: Uint8Array, small: Uint8Array) => {
    const sizeAt = w.reserve(4);
    w.int16(0).compactBytes(small).compactBytes(big).int32(7).bytes(big).raw(big).string('end');
    w.patchInt32(sizeAt, w.length - 4);
    return w;
  };
  const big = Buffer.alloc(5000, 0xab);
  const small = Buffer.from('tiny');

  test('the pieces hold the same bytes as a copying writer, with the large arrays themselves among them', () => {
    const copied = encode(new Writer(16), big, small).toBuffer();
    const w = encode(new Writer(16, 4096), big, small);
    expect(w.length).toBe(copied.length);
    expect(w.toBuffer()).toEqual(copied);
    const pieces = w.detachPieces();
    expect(Buffer.concat(pieces)).toEqual(copied);
    expect(pieces.filter((p) => p === big)).toHaveLength(3);
    // The frame size counts the bytes kept by reference.
    expect(Buffer.concat(pieces).readInt32BE(0)).toBe(copied.length - 4);
    // Started afresh: the writer is empty and still works.
    expect(w.length).toBe(0);
    expect(w.int8(1).detachPieces()).toEqual([Buffer.from([1])]);
  });

  test('a view of the bytes or a size-prefixed section around them is refused, not silently wrong', () => {
    const w = new Writer(16, 4096).compactBytes(big);
    expect(() => w.subarray()).toThrow(EncodeError);
    expect(() => w.detach()).toThrow(EncodeError);
    const sized = new Writer(16, 4096);
    const mark = sized.beginUvarintSized();
    sized.raw(big);
    expect(() => sized.endUvarintSized(mark)).toThrow(/size-prefixed section/);
  });
});
