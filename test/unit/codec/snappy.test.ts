import * as snappyjs from 'snappyjs';
import { snappy, XERIAL_BLOCK_SIZE } from '../../../src/codec/index.ts';
import { orderEvents } from './fixtures.ts';

test('xerial header: 0x82 "SNAPPY" 0x00, version 1, compatible version 1 (int32 BE)', () => {
  const header = snappy.compress(orderEvents(100)).subarray(0, 16);
  expect([...header.subarray(0, 8)]).toEqual([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  expect(header.subarray(1, 7).toString('latin1')).toBe('SNAPPY');
  expect(header.readInt32BE(8)).toBe(1);
  expect(header.readInt32BE(12)).toBe(1);
});

test('chunks of 32 KiB, each an int32 BE length and a raw snappy block', () => {
  expect(XERIAL_BLOCK_SIZE).toBe(32 * 1024);
  const input = orderEvents(100 * 1024 + 5);
  const framed = snappy.compress(input);
  const chunks: Buffer[] = [];
  for (let at = 16; at < framed.length;) {
    const length = framed.readInt32BE(at);
    chunks.push(Buffer.from(snappyjs.uncompress(framed.subarray(at + 4, at + 4 + length))));
    at += 4 + length;
  }
  expect(chunks.map((c) => c.length)).toEqual([32768, 32768, 32768, 4101]);
  expect(Buffer.concat(chunks).equals(input)).toBe(true);
});

test('decompresses a raw snappy block, as Java and librdkafka accept', () => {
  const input = orderEvents(70_000);
  const raw = snappyjs.compress(input);
  expect(raw[0]).not.toBe(0x82);
  expect(snappy.decompress(raw).equals(input)).toBe(true);
});

test('decompresses concatenated xerial streams as one, as snappy-java does', () => {
  const a = orderEvents(40_000, 1);
  const b = orderEvents(10_000, 2);
  expect(snappy.decompress(Buffer.concat([snappy.compress(a), snappy.compress(b)])).equals(Buffer.concat([a, b]))).toBe(true);
});

test('rejects truncated xerial data', () => {
  const framed = snappy.compress(orderEvents(50_000));
  expect(() => snappy.decompress(framed.subarray(0, framed.length - 1))).toThrow(/exceeds the input/);
  expect(() => snappy.decompress(framed.subarray(0, 18))).toThrow(/truncated/);
});
