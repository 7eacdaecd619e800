import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as fzstd from 'fzstd';
import { asBuffer } from './bytes.ts';
import { ZSTD_LEVELS, levelIn } from './levels.ts';
import { ASYNC_MIN_BYTES } from './offload.ts';
import type { Codec } from './types.ts';

/** node:zlib has zstd from Node 22.15 (and 23.8); importing kafkarx must not fail without it. */
export const ZSTD_AVAILABLE = typeof zlib.zstdCompressSync === 'function';

const zstdCompressAsync = ZSTD_AVAILABLE ? promisify(zlib.zstdCompress) : undefined;

// The pledged size puts the content size in the frame header, whichever API compresses: decoders
// can allocate the output once, and the asynchronous API's frames match the synchronous one's.
function options(data: Uint8Array, level: number | undefined): zlib.ZstdOptions {
  return {
    params: { [zlib.constants.ZSTD_c_compressionLevel]: levelIn('zstd', ZSTD_LEVELS, level) },
    pledgedSrcSize: data.byteLength,
  };
}

function compressSync(data: Uint8Array, level: number | undefined): Buffer {
  return zlib.zstdCompressSync(data, options(data, level));
}

async function compressAsync(data: Uint8Array, level: number | undefined): Promise<Buffer> {
  const zstdOptions = options(data, level);
  if (data.byteLength < ASYNC_MIN_BYTES) return zlib.zstdCompressSync(data, zstdOptions);
  // Output comes back in chunkSize pieces, one thread-pool round trip each; zlib's 16 KiB default
  // costs more round trips than a 64 KiB chunk for the inputs that reach here.
  return zstdCompressAsync!(data, { ...zstdOptions, chunkSize: 64 * 1024 });
}

/**
 * zstd compressed and decompressed by node:zlib (native libzstd), the default: it decompressed JSON
 * order events about 4x faster than fzstd (1 MiB: 685 vs 169 MB/s; test/bench/codecs.bench.ts).
 */
export const zstdZlib: Codec = {
  id: 4,
  name: 'zstd',
  impl: 'zlib',
  levels: ZSTD_LEVELS,
  compress: compressSync,
  compressAsync,
  decompress(data) {
    return zlib.zstdDecompressSync(data);
  },
};

/** zstd compressed by node:zlib and decompressed by fzstd (pure JavaScript), with `zstdDecoder: 'fzstd'`. */
export const zstdFzstd: Codec = {
  id: 4,
  name: 'zstd',
  impl: 'zlib+fzstd',
  levels: ZSTD_LEVELS,
  compress: compressSync,
  compressAsync,
  decompress(data) {
    return asBuffer(fzstd.decompress(data));
  },
};
