import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from '../../../src/record/varint.ts';

function hex(write: (buf: Uint8Array, pos: number) => number): string {
  const buf = new Uint8Array(16);
  return Buffer.from(buf.subarray(0, write(buf, 0))).toString('hex');
}

describe('zig-zag varints', () => {
  test.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [300, 'd804'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ])('varint %d', (value, bytes) => {
    expect(hex((b, p) => writeVarint(b, p, value))).toBe(bytes);
    expect(sizeOfVarint(value)).toBe(bytes.length / 2);
  });

  test.each([
    [0, '00'],
    [-1, '01'],
    [2147483648, '8080808010'],
    [-2147483649, '8180808010'],
    [1700000000000, '80a0abfef962'],
    [-1700000000000, 'ff9fabfef962'],
    [2 ** 52, '8080808080808010'],
  ])('varlong %d', (value, bytes) => {
    expect(hex((b, p) => writeVarlong(b, p, value))).toBe(bytes);
    expect(sizeOfVarlong(value)).toBe(bytes.length / 2);
  });

  test('varlong rejects what a number cannot carry exactly', () => {
    expect(() => writeVarlong(new Uint8Array(16), 0, 2 ** 53)).toThrow(RangeError);
    expect(() => writeVarlong(new Uint8Array(16), 0, 1.5)).toThrow(RangeError);
  });
});
