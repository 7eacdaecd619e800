import { crc32c, crc32cCombine, crc32cShift } from '../../../src/record/crc32c.ts';

// Bit-at-a-time reference, independent of the tables under test.
function bitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pseudoRandom(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('crc32c', () => {
  test('check value of "123456789"', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  test('RFC 3720 B.4 test patterns', () => {
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  test('empty input', () => {
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  test('matches the bitwise reference for every length, start and alignment around the sliced path', () => {
    const data = pseudoRandom(300, 7);
    for (let start = 0; start < 8; start++) {
      for (let end = start; end <= data.length; end += 13) {
        expect([start, end, crc32c(data, start, end)]).toEqual([start, end, bitwise(data.subarray(start, end))]);
      }
    }
  });

  test('works on views at odd offsets of a larger buffer', () => {
    const backing = pseudoRandom(5000, 3);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 3, 4001);
    expect(crc32c(view)).toBe(bitwise(view));
  });

  test('continues a previous CRC', () => {
    const data = pseudoRandom(1000, 11);
    expect(crc32c(data, 400, 1000, crc32c(data, 0, 400))).toBe(crc32c(data));
  });

  test('combine equals the CRC of the concatenation', () => {
    const data = pseudoRandom(20000, 5);
    for (const split of [0, 1, 40, 61, 4096, 19999, 20000]) {
      const a = crc32c(data, 0, split);
      const b = crc32c(data, split);
      expect(crc32cCombine(a, b, crc32cShift(data.length - split))).toBe(crc32c(data));
    }
  });
});
