import { murmur2, toPositive } from '../../../src/producer/murmur2.ts';

// The vectors of Kafka's own UtilsTest.testMurmur2 (Java's client), so keys hash identically.
const cases: Array<[string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

test.each(cases)('murmur2(%s) = %d, as in the Java client', (input, expected) => {
  expect(murmur2(Buffer.from(input))).toBe(expected);
});

test('toPositive masks the sign bit like Java, instead of negating', () => {
  expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
  expect(toPositive(-2147483648)).toBe(0);
  expect(toPositive(5)).toBe(5);
});
