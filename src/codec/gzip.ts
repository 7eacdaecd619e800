import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as pako from 'pako';
import { asBuffer } from './bytes.ts';
import { GZIP_LEVELS, levelIn } from './levels.ts';
import { ASYNC_MIN_BYTES } from './offload.ts';
import type { Codec } from './types.ts';

const gzipAsync = promisify(zlib.gzip);

/**
 * gzip through node:zlib (native zlib), the default: on JSON order events it compressed about 2.4-3x
 * and decompressed about 3x faster than pako (1 MiB: 70 vs 29 MB/s and 605 vs 194 MB/s; 16 KiB:
 * 86 vs 29 and 497 vs 167; test/bench/codecs.bench.ts), with the same ratio.
 */
export const gzipZlib: Codec = {
  id: 1,
  name: 'gzip',
  impl: 'zlib',
  levels: GZIP_LEVELS,
  compress(data, level) {
    return zlib.gzipSync(data, { level: levelIn('gzip', GZIP_LEVELS, level) });
  },
  async compressAsync(data, level) {
    const options = { level: levelIn('gzip', GZIP_LEVELS, level) };
    return data.byteLength < ASYNC_MIN_BYTES ? zlib.gzipSync(data, options) : gzipAsync(data, options);
  },
  decompress(data) {
    return zlib.gunzipSync(data);
  },
};

/** gzip through pako (pure JavaScript); slower than node:zlib, selectable with `gzipImpl: 'pako'`. */
export const gzipPako: Codec = {
  id: 1,
  name: 'gzip',
  impl: 'pako',
  levels: GZIP_LEVELS,
  compress(data, level) {
    return asBuffer(pako.gzip(data, { level: levelIn('gzip', GZIP_LEVELS, level) }));
  },
  async compressAsync(data, level) {
    return this.compress(data, level);
  },
  decompress(data) {
    return asBuffer(pako.ungzip(data));
  },
};
