import * as lz4js from 'lz4js';
import { hash as xxh32 } from 'lz4js/xxh32.js';
import { asBuffer } from './bytes.ts';
import { LZ4_LEVELS, levelIn } from './levels.ts';
import type { Codec } from './types.ts';

// The LZ4 frame format (lz4_Frame_format.md) as Kafka reads it for record batch v2: independent
// blocks (Kafka rejects linked ones), a header checksum over the descriptor only (KIP-57; the
// pre-KIP-57 variant that also hashed the magic applies to magic v0 only), no content checksum,
// no content size, and 64 KiB blocks, all as Java's Lz4BlockOutputStream writes them.
export const LZ4_MAGIC = 0x184d2204;
export const LZ4_BLOCK_SIZE = 64 * 1024;

const FLG_VERSION_1 = 0x40;
const FLG_VERSION_MASK = 0xc0;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
const BD_BLOCK_SIZE_SHIFT = 4;
const BD_64KIB = 4;
const BLOCK_UNCOMPRESSED = 0x80000000;

// LZ4 block format: the last 5 bytes are literals and the last match starts at least 12 bytes before
// the end of the block. lz4js keeps the first rule but lets a match start as late as 10 bytes before
// the end; decoders writing into a buffer of exactly the block size (lz4-java in Kafka, for a full
// 64 KiB block) reject that, so such a tail is rewritten as literals.
const MFLIMIT = 12;

function headerChecksum(frame: Uint8Array, from: number, to: number): number {
  return (xxh32(0, frame, from, to - from) >>> 8) & 0xff;
}

const FRAME_HEADER = (() => {
  const header = Buffer.alloc(7);
  header.writeUInt32LE(LZ4_MAGIC, 0);
  header[4] = FLG_VERSION_1 | FLG_BLOCK_INDEPENDENCE;
  header[5] = BD_64KIB << BD_BLOCK_SIZE_SHIFT;
  header[6] = headerChecksum(header, 4, 6);
  return header;
})();

// Compression runs synchronously to completion, so one hash table and one output area serve every
// call. Each block is handed to lz4js as its own view, so matches cannot leave it (Kafka requires
// independent blocks); the table is still cleared per block so that the output depends on the input
// alone, not on what was compressed before.
const hashTable = new Uint32Array(1 << 16);
let scratch = Buffer.allocUnsafe(0);

function writeLiteralsOnly(src: Uint8Array, from: number, to: number, out: Buffer, at: number): number {
  let length = to - from;
  if (length >= 15) {
    out[at++] = 0xf0;
    for (length -= 15; length >= 255; length -= 255) out[at++] = 255;
    out[at++] = length;
  } else {
    out[at++] = length << 4;
  }
  out.set(src.subarray(from, to), at);
  return at + (to - from);
}

/**
 * Makes the compressed block `out[start, end)` of `src` respect MFLIMIT by turning the sequence
 * whose match starts too late, and all after it, into a final literal run. Returns the block's end.
 */
function enforceMatchLimit(src: Uint8Array, out: Buffer, start: number, end: number): number {
  const limit = src.length - MFLIMIT;
  let at = start;
  let decoded = 0;
  while (at < end) {
    const sequence = at;
    const token = out[at++];
    let literals = token >>> 4;
    if (literals === 15) {
      let more: number;
      do {
        more = out[at++];
        literals += more;
      } while (more === 255);
    }
    at += literals;
    decoded += literals;
    if (at >= end) return end;
    if (decoded > limit) return writeLiteralsOnly(src, decoded - literals, src.length, out, sequence);
    at += 2;
    let match = token & 0xf;
    if (match === 15) {
      let more: number;
      do {
        more = out[at++];
        match += more;
      } while (more === 255);
    }
    decoded += match + 4;
  }
  return end;
}

function compressFrame(input: Uint8Array): Buffer {
  const blocks = Math.ceil(input.length / LZ4_BLOCK_SIZE);
  const bound = FRAME_HEADER.length + blocks * (4 + lz4js.compressBound(LZ4_BLOCK_SIZE)) + 4;
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(bound);
  const out = scratch;
  FRAME_HEADER.copy(out, 0);
  let at = FRAME_HEADER.length;
  for (let from = 0; from < input.length; from += LZ4_BLOCK_SIZE) {
    const block = input.subarray(from, Math.min(from + LZ4_BLOCK_SIZE, input.length));
    hashTable.fill(0);
    // 0 means lz4js found no match; like Java, also store the block raw when compressing did not shrink it.
    let length = lz4js.compressBlock(block, out.subarray(at + 4), 0, block.length, hashTable);
    if (length > 0) length = enforceMatchLimit(block, out, at + 4, at + 4 + length) - (at + 4);
    if (length === 0 || length >= block.length) {
      out.writeUInt32LE((block.length | BLOCK_UNCOMPRESSED) >>> 0, at);
      out.set(block, at + 4);
      length = block.length;
    } else {
      out.writeUInt32LE(length, at);
    }
    at += 4 + length;
  }
  out.writeUInt32LE(0, at);
  at += 4;
  return Buffer.from(out.subarray(0, at));
}

interface Block {
  readonly at: number;
  readonly length: number;
  readonly compressed: boolean;
}

/** Decodes an LZ4 frame, verifying the header checksum and any block or content checksums. */
export function decompressLz4Frame(data: Uint8Array): Buffer {
  const frame = asBuffer(data);
  if (frame.length < 7 || frame.readUInt32LE(0) !== LZ4_MAGIC) throw new Error('lz4: not an LZ4 frame (bad magic)');
  const flg = frame[4];
  const bd = frame[5];
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_1) throw new Error(`lz4: unsupported frame version in FLG 0x${flg.toString(16)}`);
  if (flg & (FLG_RESERVED | FLG_DICT_ID)) throw new Error(`lz4: unsupported FLG 0x${flg.toString(16)} (reserved bit or dictionary id)`);
  const sizeCode = (bd >>> BD_BLOCK_SIZE_SHIFT) & 7;
  if ((bd & 0x8f) !== 0 || sizeCode < 4) throw new Error(`lz4: invalid BD byte 0x${bd.toString(16)}`);
  const maxBlockSize = 1 << (2 * sizeCode + 8);
  let at = 6;
  let contentSize: number | undefined;
  if (flg & FLG_CONTENT_SIZE) {
    if (frame.length < at + 9) throw new Error('lz4: truncated frame descriptor');
    contentSize = Number(frame.readBigUInt64LE(at));
    at += 8;
  }
  if (frame[at] !== headerChecksum(frame, 4, at)) throw new Error('lz4: frame descriptor checksum mismatch');
  at++;

  const blockChecksums = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  const blocks: Block[] = [];
  let capacity = 0;
  for (;;) {
    if (frame.length < at + 4) throw new Error('lz4: truncated frame (no end mark)');
    const word = frame.readUInt32LE(at);
    at += 4;
    if (word === 0) break;
    const length = word & ~BLOCK_UNCOMPRESSED;
    const compressed = (word & BLOCK_UNCOMPRESSED) === 0;
    if (length > maxBlockSize) throw new Error(`lz4: block of ${length} bytes exceeds the frame's maximum ${maxBlockSize}`);
    if (frame.length < at + length + (blockChecksums ? 4 : 0)) throw new Error('lz4: truncated block');
    if (blockChecksums && xxh32(0, frame, at, length) !== frame.readUInt32LE(at + length)) {
      throw new Error('lz4: block checksum mismatch');
    }
    blocks.push({ at, length, compressed });
    capacity += compressed ? maxBlockSize : length;
    at += length + (blockChecksums ? 4 : 0);
  }

  const out = Buffer.allocUnsafe(contentSize ?? capacity);
  let size = 0;
  for (const block of blocks) {
    if (block.compressed) {
      const end = lz4js.decompressBlock(frame, out, block.at, block.length, size);
      if (end - size > maxBlockSize || end > out.length) throw new Error('lz4: malformed block');
      size = end;
    } else {
      if (size + block.length > out.length) throw new Error('lz4: content exceeds the declared content size');
      frame.copy(out, size, block.at, block.at + block.length);
      size += block.length;
    }
  }
  if (contentSize !== undefined && size !== contentSize) throw new Error(`lz4: decoded ${size} bytes, frame declares ${contentSize}`);
  if (flg & FLG_CONTENT_CHECKSUM) {
    if (frame.length < at + 4) throw new Error('lz4: truncated content checksum');
    if (xxh32(0, out, 0, size) !== frame.readUInt32LE(at)) throw new Error('lz4: content checksum mismatch');
  }
  return out.subarray(0, size);
}

/**
 * LZ4 frames as Kafka's Java producer writes them. lz4js has a single (fast) compressor: Java uses
 * its fast compressor at the default level 9 and LZ4-HC otherwise, so other levels are accepted for
 * compatibility of configuration but compress the same as level 9.
 */
export const lz4: Codec = {
  id: 3,
  name: 'lz4',
  impl: 'lz4js',
  levels: LZ4_LEVELS,
  compress(data, level) {
    levelIn('lz4', LZ4_LEVELS, level);
    return compressFrame(data);
  },
  async compressAsync(data, level) {
    return this.compress(data, level);
  },
  decompress: decompressLz4Frame,
};
