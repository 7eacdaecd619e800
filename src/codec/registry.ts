import { ConfigError } from './errors.ts';
import { gzipPako, gzipZlib } from './gzip.ts';
import { lz4 } from './lz4.ts';
import { none } from './none.ts';
import { snappy } from './snappy.ts';
import type { Codec, CompressionId, CompressionName } from './types.ts';
import { ZSTD_AVAILABLE, zstdFzstd, zstdZlib } from './zstd.ts';

export const COMPRESSION_NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Chooses between implementations where more than one is bundled; defaults are the faster ones. */
export interface CodecOptions {
  /** 'zlib' (default): node:zlib; 'pako': pure JavaScript. */
  readonly gzipImpl?: 'zlib' | 'pako';
  /** Decompressor for zstd, 'zlib' (default) or 'fzstd'; compression is always node:zlib. */
  readonly zstdDecoder?: 'zlib' | 'fzstd';
}

/**
 * The codec for a `compression.type` name or a record batch attributes codec id.
 * Throws a ConfigError for an unknown name or id.
 */
export function codecFor(nameOrId: CompressionName | CompressionId | number | string, options: CodecOptions = {}): Codec {
  const name = typeof nameOrId === 'number' ? COMPRESSION_NAMES[nameOrId] : nameOrId;
  switch (name) {
    case 'none':
      return none;
    case 'gzip':
      return options.gzipImpl === 'pako' ? gzipPako : gzipZlib;
    case 'snappy':
      return snappy;
    case 'lz4':
      return lz4;
    case 'zstd':
      if (!ZSTD_AVAILABLE) throw new ConfigError(`zstd compression needs node:zlib's zstd, which Node ${process.versions.node} lacks: use Node 22.15 or later, or another codec`);
      return options.zstdDecoder === 'fzstd' ? zstdFzstd : zstdZlib;
    default: {
      const given = typeof nameOrId === 'number' ? `codec id ${nameOrId}` : `compression type '${nameOrId}'`;
      throw new ConfigError(
        `unknown ${given}: expected one of ${COMPRESSION_NAMES.map((n, id) => `${n} (${id})`).join(', ')}`,
      );
    }
  }
}
