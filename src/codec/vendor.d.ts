// Type declarations for the untyped packages the codecs use, limited to the functions called.

declare module 'lz4js' {
  /**
   * lz4js's own LZ4 frame: linked blocks of up to 4 MiB, which Kafka rejects. Only the tests call it,
   * to show what the frame writer in lz4.ts corrects.
   */
  export function compress(src: Uint8Array): Uint8Array;
  /** Upper bound of the compressed size of one LZ4 block holding `n` bytes. */
  export function compressBound(n: number): number;
  /**
   * Compresses `src[sIndex, sIndex + sLength)` as one raw LZ4 block into `dst` from offset 0.
   * `hashTable` holds positions + 1 of earlier 4-byte sequences (0 = empty, 65536 entries).
   * Returns the block's length, or 0 when it found no match at all.
   */
  export function compressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    hashTable: Uint32Array,
  ): number;
  /**
   * Decodes the raw LZ4 block `src[sIndex, sIndex + sLength)` into `dst` from `dIndex`, and returns
   * the index after the last byte written. Performs no bounds checks.
   */
  export function decompressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    dIndex: number,
  ): number;
}

declare module 'lz4js/xxh32.js' {
  /** XXH32 of `src[index, index + len)`, as an unsigned 32-bit integer. */
  export function hash(seed: number, src: Uint8Array, index: number, len: number): number;
}

declare module 'snappyjs' {
  /** One raw Snappy block (uncompressed-length varint, then elements); the output type follows the input's. */
  export function compress<T extends Uint8Array>(uncompressed: T): T;
  /** Decodes one raw Snappy block; throws on malformed input or when it exceeds `maxLength`. */
  export function uncompress<T extends Uint8Array>(compressed: T, maxLength?: number): T;
}
