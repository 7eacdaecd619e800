import zlib from 'node:zlib';
import * as fzstd from 'fzstd';
import * as pako from 'pako';
import {
  ConfigError,
  codecFor,
  gzipPako,
  gzipZlib,
  lz4,
  none,
  snappy,
  validateLevel,
  zstdFzstd,
  zstdZlib,
  type Codec,
} from '../../../src/codec/index.ts';
import { orderEvents, randomBytes } from './fixtures.ts';

const ALL: readonly Codec[] = [none, gzipZlib, gzipPako, snappy, lz4, zstdZlib, zstdFzstd];

const INPUTS: ReadonlyArray<readonly [string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['1 byte', Buffer.from([0x7b])],
  ['100 B of JSON', orderEvents(100)],
  ['64 KiB + 1 of JSON', orderEvents(64 * 1024 + 1)],
  ['~1 MiB of JSON', orderEvents(1_000_003)],
  ['64 KiB + 1 random', randomBytes(64 * 1024 + 1)],
  ['~1 MiB random', randomBytes(1_000_003)],
];

describe.each(ALL.map((codec) => [`${codec.name}/${codec.impl}`, codec] as const))('%s', (_label, codec) => {
  test.each(INPUTS)('round trip: %s', (_what, input) => {
    const compressed = codec.compress(input);
    expect(codec.decompress(compressed).equals(input)).toBe(true);
  });

  test('compressAsync gives what compress gives, below and above the thread-pool threshold', async () => {
    for (const input of [orderEvents(1000), orderEvents(300_000)]) {
      const compressed = await codec.compressAsync(input);
      expect(codec.decompress(compressed).equals(input)).toBe(true);
      expect(compressed.equals(codec.compress(input))).toBe(true);
    }
  });

  test('accepts a Uint8Array that is a view into a larger buffer', () => {
    const backing = orderEvents(5000);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 100, 3000);
    expect(codec.decompress(codec.compress(view)).equals(Buffer.from(view))).toBe(true);
  });
});

test('JSON order events shrink under every real codec', () => {
  const input = orderEvents(1 << 20);
  for (const codec of ALL.filter((c) => c.id !== 0)) {
    expect(codec.compress(input).length).toBeLessThan(input.length / 2);
  }
});

test('levels change the output where the codec has them', () => {
  const input = orderEvents(200_000);
  expect(gzipZlib.compress(input, 1).length).toBeGreaterThan(gzipZlib.compress(input, 9).length);
  expect(gzipPako.compress(input, 1).length).toBeGreaterThan(gzipPako.compress(input, 9).length);
  expect(zstdZlib.compress(input, -5).length).toBeGreaterThan(zstdZlib.compress(input, 19).length);
  for (const level of [1, 6, 9, -1]) expect(gzipZlib.decompress(gzipZlib.compress(input, level)).equals(input)).toBe(true);
  for (const level of [-131072, 1, 22]) expect(zstdZlib.decompress(zstdZlib.compress(input, level)).equals(input)).toBe(true);
});

describe('cross-implementation', () => {
  const input = orderEvents(300_000, 7);
  test('node:zlib gzip decompresses with pako and pako gzip with node:zlib', () => {
    expect(Buffer.from(pako.ungzip(gzipZlib.compress(input))).equals(input)).toBe(true);
    expect(zlib.gunzipSync(gzipPako.compress(input)).equals(input)).toBe(true);
    expect(gzipPako.decompress(gzipZlib.compress(input, 3)).equals(input)).toBe(true);
    expect(gzipZlib.decompress(gzipPako.compress(input, 8)).equals(input)).toBe(true);
  });
  test('zstd from node:zlib decompresses with fzstd, at several levels', () => {
    for (const level of [-7, 1, 3, 12]) {
      expect(Buffer.from(fzstd.decompress(zstdZlib.compress(input, level))).equals(input)).toBe(true);
    }
  });
});

// Written by Kafka 4.1.1's Java client (KafkaCodecCheck.java) for the bytes of HELLO.
describe('bytes written by the Java client', () => {
  const HELLO = Buffer.from('hello hello hello hello hello!');
  const JAVA = {
    gzip: '1f8b08000000000000ffcb48cdc9c957c8c04e2a020028fb8dca1e000000',
    snappy: '82534e415050590000000001000000010000000d1e1468656c6c6f205a06000021',
    lz4: '04224d18604082100000006f68656c6c6f2006000050656c6c6f2100000000',
    // A streamed frame: no content size, ended by an empty last block.
    zstd: '28b52ffd00586c00003868656c6c6f20210100a94b11010000',
  };
  test.each([gzipZlib, gzipPako, snappy, lz4, zstdZlib, zstdFzstd])('decompress with $name/$impl', (codec) => {
    const java = Buffer.from(JAVA[codec.name as keyof typeof JAVA], 'hex');
    expect(codec.decompress(java).equals(HELLO)).toBe(true);
  });
  test('snappy and lz4 compress to the very bytes Java writes', () => {
    expect(snappy.compress(HELLO).toString('hex')).toBe(JAVA.snappy);
    expect(lz4.compress(HELLO).toString('hex')).toBe(JAVA.lz4);
    expect(snappy.compress(Buffer.alloc(0)).toString('hex')).toBe('82534e41505059000000000100000001');
    expect(lz4.compress(Buffer.alloc(0)).toString('hex')).toBe('04224d1860408200000000');
  });
  test('gzip differs from Java only in the header OS byte', () => {
    const ours = gzipZlib.compress(HELLO);
    const java = Buffer.from(JAVA.gzip, 'hex');
    expect(ours.length).toBe(java.length);
    ours[9] = java[9];
    expect(ours.equals(java)).toBe(true);
  });
});

describe('registry', () => {
  test('finds codecs by compression.type name and by attributes id', () => {
    const names = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    names.forEach((name, id) => {
      expect(codecFor(name).name).toBe(name);
      expect(codecFor(name).id).toBe(id);
      expect(codecFor(id)).toBe(codecFor(name));
    });
  });
  test('defaults to node:zlib and lets pako and fzstd be chosen', () => {
    expect(codecFor('gzip')).toBe(gzipZlib);
    expect(codecFor('gzip', { gzipImpl: 'pako' })).toBe(gzipPako);
    expect(codecFor(1, { gzipImpl: 'zlib' })).toBe(gzipZlib);
    expect(codecFor('zstd')).toBe(zstdZlib);
    expect(codecFor(4, { zstdDecoder: 'fzstd' })).toBe(zstdFzstd);
  });
  test.each([['GZIP'], ['lz4-hc'], [''], [5], [-1], [1.5]])('rejects %p with a ConfigError listing the known codecs', (bad) => {
    expect(() => codecFor(bad)).toThrow(ConfigError);
    expect(() => codecFor(bad)).toThrow(/none \(0\), gzip \(1\), snappy \(2\), lz4 \(3\), zstd \(4\)/);
  });
});

describe('levels', () => {
  test.each([
    ['gzip', 1], ['gzip', 9], ['gzip', -1], ['lz4', 1], ['lz4', 17], ['zstd', -131072], ['zstd', 22], ['zstd', 0],
  ] as const)('%s accepts %d', (name, level) => {
    expect(validateLevel(name, level)).toBe(level);
  });
  test('defaults follow Kafka: gzip -1 (zlib default), lz4 9, zstd 3, none for snappy', () => {
    expect(validateLevel('gzip', undefined)).toBe(-1);
    expect(validateLevel('lz4', undefined)).toBe(9);
    expect(validateLevel('zstd', undefined)).toBe(3);
    expect(validateLevel('snappy', undefined)).toBeUndefined();
    expect(validateLevel('none', undefined)).toBeUndefined();
  });
  test.each([
    ['gzip', 0, /gzip: allowed levels are 1\.\.9 or -1/],
    ['gzip', 10, /gzip: allowed levels are 1\.\.9 or -1/],
    ['gzip', 2.5, /level 2\.5 is not valid for gzip/],
    ['lz4', 0, /lz4: allowed levels are 1\.\.17$/],
    ['lz4', 18, /lz4: allowed levels are 1\.\.17$/],
    ['zstd', 23, /zstd: allowed levels are -131072\.\.22$/],
    ['zstd', -131073, /zstd: allowed levels are -131072\.\.22$/],
    ['snappy', 1, /snappy, which has no compression levels/],
    ['none', 0, /none, which has no compression levels/],
  ] as const)('%s rejects %d with a ConfigError', (name, level, message) => {
    expect(() => validateLevel(name, level)).toThrow(ConfigError);
    expect(() => validateLevel(name, level)).toThrow(message);
  });
  test('compress and compressAsync check the level too', async () => {
    const input = orderEvents(100);
    expect(() => gzipZlib.compress(input, 10)).toThrow(ConfigError);
    expect(() => lz4.compress(input, 0)).toThrow(ConfigError);
    expect(() => snappy.compress(input, 1)).toThrow(ConfigError);
    await expect(zstdZlib.compressAsync(orderEvents(300_000), 23)).rejects.toThrow(ConfigError);
    await expect(gzipPako.compressAsync(input, 0)).rejects.toThrow(ConfigError);
  });
  test('ConfigError is an Error named ConfigError', () => {
    const error = new ConfigError('x');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
  });
});
