import * as snappyjs from 'snappyjs';
import { asBuffer } from './bytes.ts';
import { validateLevel } from './levels.ts';
import type { Codec } from './types.ts';

// snappy-java's stream framing ("xerial"), which Kafka's Java producer writes: an 8-byte magic,
// int32 BE version 1 and int32 BE minimum-compatible version 1, then [int32 BE length][raw snappy block]
// chunks. Java uses SnappyOutputStream's default block size, 32 KiB.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]);
export const XERIAL_BLOCK_SIZE = 32 * 1024;

function startsWithMagic(data: Uint8Array, at: number): boolean {
  if (data.byteLength - at < XERIAL_HEADER.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[at + i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

function decompressXerial(data: Buffer): Buffer {
  const blocks: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    // snappy-java's reader skips a header met between chunks, so concatenated streams decode as one.
    if (startsWithMagic(data, at)) {
      at += XERIAL_HEADER.length;
      continue;
    }
    if (data.length - at < 4) throw new Error(`snappy: truncated xerial chunk length at offset ${at}`);
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0 || length > data.length - at) {
      throw new Error(`snappy: xerial chunk of ${length} bytes at offset ${at - 4} exceeds the input`);
    }
    blocks.push(snappyjs.uncompress(data.subarray(at, at + length)));
    at += length;
  }
  return Buffer.concat(blocks);
}

/** Snappy: writes xerial framing as Java does; reads xerial framing or a raw snappy block, as Java and librdkafka do. */
export const snappy: Codec = {
  id: 2,
  name: 'snappy',
  impl: 'snappyjs',
  levels: undefined,
  compress(data, level) {
    validateLevel('snappy', level);
    const input = asBuffer(data);
    const parts: Buffer[] = [XERIAL_HEADER];
    for (let at = 0; at < input.length; at += XERIAL_BLOCK_SIZE) {
      const block = snappyjs.compress(input.subarray(at, at + XERIAL_BLOCK_SIZE));
      const length = Buffer.allocUnsafe(4);
      length.writeInt32BE(block.length);
      parts.push(length, block);
    }
    return Buffer.concat(parts);
  },
  async compressAsync(data, level) {
    return this.compress(data, level);
  },
  decompress(data) {
    const input = asBuffer(data);
    return startsWithMagic(input, 0) ? decompressXerial(input) : snappyjs.uncompress(input);
  },
};
