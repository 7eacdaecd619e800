import * as lz4js from 'lz4js';
import { hash as xxh32 } from 'lz4js/xxh32.js';
import { decompressLz4Frame, lz4, LZ4_BLOCK_SIZE } from '../../../src/codec/index.ts';
import { lateMatchBlock, orderEvents, randomBytes } from './fixtures.ts';

interface FrameBlock {
  readonly compressed: boolean;
  readonly data: Buffer;
}

/** Splits a frame as written by lz4.compress (no optional fields) into its header and blocks. */
function parseFrame(frame: Buffer): { header: Buffer; blocks: FrameBlock[]; end: number } {
  const blocks: FrameBlock[] = [];
  let at = 7;
  for (;;) {
    const word = frame.readUInt32LE(at);
    at += 4;
    if (word === 0) return { header: frame.subarray(0, 7), blocks, end: at };
    const length = word & 0x7fffffff;
    blocks.push({ compressed: (word & 0x80000000) === 0, data: frame.subarray(at, at + length) });
    at += length;
  }
}

interface Sequence {
  readonly literalsAt: number;
  readonly literals: number;
  readonly matchAt?: number;
  readonly offset?: number;
  readonly matchLength?: number;
}

/** The sequences of a raw LZ4 block, with positions in the decoded block. */
function sequences(block: Uint8Array): Sequence[] {
  const out: Sequence[] = [];
  let at = 0;
  let decoded = 0;
  const length = (initial: number): number => {
    let n = initial;
    if (initial === 15) {
      let more: number;
      do {
        more = block[at++];
        n += more;
      } while (more === 255);
    }
    return n;
  };
  while (at < block.length) {
    const token = block[at++];
    const literals = length(token >>> 4);
    const literalsAt = decoded;
    at += literals;
    decoded += literals;
    if (at >= block.length) {
      out.push({ literalsAt, literals });
      break;
    }
    const offset = block[at] | (block[at + 1] << 8);
    at += 2;
    const matchLength = length(token & 15) + 4;
    out.push({ literalsAt, literals, matchAt: decoded, offset, matchLength });
    decoded += matchLength;
  }
  return out;
}

/** Checks the LZ4 block format's end-of-block rules and that no match reaches outside the block. */
function expectValidIndependentBlock(block: Uint8Array, decodedLength: number): void {
  const seqs = sequences(block);
  const last = seqs[seqs.length - 1];
  expect(last.matchAt).toBeUndefined();
  expect(last.literalsAt + last.literals).toBe(decodedLength);
  expect(last.literals).toBeGreaterThanOrEqual(5);
  const bad = seqs.filter((seq) => seq.matchAt !== undefined &&
    (seq.matchAt > decodedLength - 12 || seq.offset! < 1 || seq.offset! > seq.matchAt));
  expect(bad).toEqual([]);
}

test('lz4js xxh32 matches the reference test vectors', () => {
  expect(xxh32(0, new Uint8Array(0), 0, 0)).toBe(0x02cc5d05);
  expect(xxh32(0, Buffer.from('abc'), 0, 3)).toBe(0x32d153ff);
});

describe('frame header', () => {
  const header = lz4.compress(orderEvents(1000)).subarray(0, 7);

  test('starts with the LZ4 frame magic 0x184D2204, little-endian', () => {
    expect([...header.subarray(0, 4)]).toEqual([0x04, 0x22, 0x4d, 0x18]);
  });

  test('FLG: version 01, independent blocks, no block checksum, content size, content checksum or dictionary', () => {
    const flg = header[4];
    expect((flg >> 6) & 3).toBe(1);
    expect((flg >> 5) & 1).toBe(1);
    expect((flg >> 4) & 1).toBe(0);
    expect((flg >> 3) & 1).toBe(0);
    expect((flg >> 2) & 1).toBe(0);
    expect((flg >> 1) & 1).toBe(0);
    expect(flg & 1).toBe(0);
  });

  test('BD: block maximum size code 4 (64 KiB), reserved bits clear', () => {
    const bd = header[5];
    expect((bd >> 7) & 1).toBe(0);
    expect((bd >> 4) & 7).toBe(4);
    expect(bd & 0x0f).toBe(0);
  });

  test('HC: second byte of xxh32 over FLG and BD only (KIP-57), not the pre-KIP-57 one that included the magic', () => {
    expect(header[6]).toBe((xxh32(0, header, 4, 2) >>> 8) & 0xff);
    expect(header[6]).toBe(0x82);
    expect(header[6]).not.toBe((xxh32(0, header, 0, 6) >>> 8) & 0xff);
  });

  test('is the same for every input and level', () => {
    for (const input of [Buffer.alloc(0), randomBytes(100), orderEvents(300_000)]) {
      for (const level of [undefined, 1, 9, 17]) expect(lz4.compress(input, level).subarray(0, 7).equals(header)).toBe(true);
    }
  });
});

describe('blocks', () => {
  test('~1 MiB splits into 64 KiB independent blocks, each valid LZ4, ended by a zero end mark', () => {
    const input = orderEvents(1_000_003);
    const frame = lz4.compress(input);
    const { blocks, end } = parseFrame(frame);
    expect(end).toBe(frame.length);
    expect(frame.readUInt32LE(frame.length - 4)).toBe(0);
    expect(blocks).toHaveLength(Math.ceil(input.length / LZ4_BLOCK_SIZE));
    blocks.forEach((block, i) => {
      const raw = input.subarray(i * LZ4_BLOCK_SIZE, (i + 1) * LZ4_BLOCK_SIZE);
      expect(block.compressed).toBe(true);
      expectValidIndependentBlock(block.data, raw.length);
      const decoded = Buffer.alloc(raw.length);
      expect(lz4js.decompressBlock(block.data, decoded, 0, block.data.length, 0)).toBe(raw.length);
      expect(decoded.equals(raw)).toBe(true);
    });
  });

  test('incompressible blocks are stored with the uncompressed bit, as Java does', () => {
    const input = randomBytes(LZ4_BLOCK_SIZE + 1);
    const frame = lz4.compress(input);
    expect(frame.readUInt32LE(7)).toBe((0x80000000 | LZ4_BLOCK_SIZE) >>> 0);
    const { blocks } = parseFrame(frame);
    expect(blocks.map((b) => [b.compressed, b.data.length])).toEqual([[false, LZ4_BLOCK_SIZE], [false, 1]]);
    expect(Buffer.concat(blocks.map((b) => b.data)).equals(input)).toBe(true);
  });

  test('a late match lz4js would start within 12 bytes of the block end is written as literals', () => {
    const input = lateMatchBlock();
    const raw = Buffer.alloc(lz4js.compressBound(input.length));
    const length = lz4js.compressBlock(input, raw, 0, input.length, new Uint32Array(1 << 16));
    const lastMatch = sequences(raw.subarray(0, length)).filter((s) => s.matchAt !== undefined).pop();
    expect(lastMatch?.matchAt).toBeGreaterThan(input.length - 12);

    const { blocks } = parseFrame(lz4.compress(input));
    expect(blocks).toHaveLength(1);
    expectValidIndependentBlock(blocks[0].data, input.length);
    expect(lz4.decompress(lz4.compress(input)).equals(input)).toBe(true);
  });

  test('compression is deterministic across calls, whatever was compressed before', () => {
    const input = orderEvents(200_000, 3);
    const first = lz4.compress(input);
    lz4.compress(orderEvents(500_000, 4));
    expect(lz4.compress(input).equals(first)).toBe(true);
  });
});

describe('decompression of frames with optional fields', () => {
  const input = orderEvents(150_000, 5);

  function frame(options: { flg: number; bd?: number; contentSize?: boolean; blockChecksum?: boolean; contentChecksum?: boolean; badHc?: boolean }): Buffer {
    const descriptor = [options.flg, options.bd ?? 0x40];
    if (options.contentSize) {
      const size = Buffer.alloc(8);
      size.writeBigUInt64LE(BigInt(input.length));
      descriptor.push(...size);
    }
    const head = Buffer.from([0x04, 0x22, 0x4d, 0x18, ...descriptor]);
    const hc = (xxh32(0, head, 4, head.length - 4) >>> 8) & 0xff;
    const parts: Buffer[] = [head, Buffer.from([options.badHc ? hc ^ 1 : hc])];
    for (const block of parseFrame(lz4.compress(input)).blocks) {
      const word = Buffer.alloc(4);
      word.writeUInt32LE((block.data.length | (block.compressed ? 0 : 0x80000000)) >>> 0);
      parts.push(word, block.data);
      if (options.blockChecksum) {
        const sum = Buffer.alloc(4);
        sum.writeUInt32LE(xxh32(0, block.data, 0, block.data.length));
        parts.push(sum);
      }
    }
    parts.push(Buffer.alloc(4));
    if (options.contentChecksum) {
      const sum = Buffer.alloc(4);
      sum.writeUInt32LE(xxh32(0, input, 0, input.length));
      parts.push(sum);
    }
    return Buffer.concat(parts);
  }

  test.each([
    ['content checksum', { flg: 0x64, contentChecksum: true }],
    ['block checksums', { flg: 0x70, blockChecksum: true }],
    ['content size', { flg: 0x68, contentSize: true }],
    ['all three, 256 KiB block size code', { flg: 0x7c, bd: 0x50, contentSize: true, blockChecksum: true, contentChecksum: true }],
  ])('%s', (_what, options) => {
    expect(decompressLz4Frame(frame(options)).equals(input)).toBe(true);
  });

  test('rejects a wrong header checksum, content checksum or block checksum', () => {
    expect(() => decompressLz4Frame(frame({ flg: 0x60, badHc: true }))).toThrow(/descriptor checksum/);
    const content = frame({ flg: 0x64, contentChecksum: true });
    content[content.length - 1] ^= 1;
    expect(() => decompressLz4Frame(content)).toThrow(/content checksum/);
    const blocks = frame({ flg: 0x70, blockChecksum: true });
    blocks[7 + 4 + 10] ^= 1;
    expect(() => decompressLz4Frame(blocks)).toThrow(/block checksum/);
  });

  test('rejects a bad magic, a truncated frame and an invalid block size code', () => {
    const good = lz4.compress(input);
    expect(() => decompressLz4Frame(Buffer.from([0x02, 0x21, 0x4c, 0x18, 0x60, 0x40, 0x82]))).toThrow(/magic/);
    expect(() => decompressLz4Frame(good.subarray(0, good.length - 4))).toThrow(/truncated|no end mark/);
    const head = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x30]);
    expect(() => decompressLz4Frame(Buffer.concat([head, Buffer.from([(xxh32(0, head, 4, 2) >>> 8) & 0xff, 0, 0, 0, 0])]))).toThrow(/BD/);
  });

  test("reads lz4js's own frames (linked blocks, 4 MiB block size)", () => {
    const own = Buffer.from(lz4js.compress(input));
    expect(own[4]).toBe(0x40);
    expect(own[5]).toBe(0x70);
    expect(decompressLz4Frame(own).equals(input)).toBe(true);
  });
});
