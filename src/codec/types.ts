/** Compression codec names, as in Kafka's `compression.type`. */
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** The codec id written in bits 0-2 of a record batch's attributes. */
export type CompressionId = 0 | 1 | 2 | 3 | 4;

/** The levels a codec accepts (Kafka's `compression.<codec>.level`, KIP-390). */
export interface LevelRange {
  readonly min: number;
  readonly max: number;
  readonly default: number;
  /** A value outside min..max that is accepted too: gzip's -1, zlib's "default level". */
  readonly alsoAllowed?: number;
}

/**
 * Compresses and decompresses the records section of a record batch (everything after the 61-byte
 * header). A codec is called once per batch, never per record.
 */
export interface Codec {
  readonly id: CompressionId;
  readonly name: CompressionName;
  /** Which implementation backs this codec, e.g. 'zlib' or 'pako' for gzip. */
  readonly impl: string;
  /** Undefined for codecs without levels (none, snappy). */
  readonly levels: LevelRange | undefined;
  /** `level` defaults to `levels.default`; an invalid level throws a ConfigError. */
  compress(data: Uint8Array, level?: number): Buffer;
  /**
   * Same output as `compress`. Codecs backed by node:zlib run large inputs on the libuv thread pool
   * so the event loop stays free; the others, and small inputs where the hand-off costs more than it
   * saves, compress synchronously and return a settled promise.
   */
  compressAsync(data: Uint8Array, level?: number): Promise<Buffer>;
  decompress(data: Uint8Array): Buffer;
}
