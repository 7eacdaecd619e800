import zlib from 'node:zlib';
import { Attribute, BatchOffset, CompressionCodec, RECORD_BATCH_OVERHEAD } from '../../../src/record/batch-format.ts';
import {
  RecordBatchBuilder,
  RecordBatchBuilderPool,
  recordBatchSizeUpperBound,
} from '../../../src/record/batch-builder.ts';
import type { RecordHeader } from '../../../src/record/batch-builder.ts';
import { readRecordBatch } from '../../../src/record/batch-reader.ts';
import type { DecodedRecordBatch } from '../../../src/record/batch-reader.ts';
import { crc32c } from '../../../src/record/crc32c.ts';

const TS = 1700000000000;

function read(batch: Buffer): DecodedRecordBatch {
  const decoded = readRecordBatch(batch, 0, { decompress: (_codec, bytes) => zlib.gunzipSync(bytes) });
  if (decoded === null) throw new Error('unreachable: truncation not allowed');
  return decoded;
}

interface Input {
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

function inputs(n: number): Input[] {
  const out: Input[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      // Out of order on purpose: the first record's timestamp is the base, so deltas go negative.
      timestamp: TS + ((i * 37) % 101) - 50,
      key: i % 5 === 0 ? null : Buffer.from(`key-${i}`),
      value: i % 7 === 0 ? null : i % 7 === 1 ? new Uint8Array(0) : Buffer.alloc(i * 3, i & 0xff),
      headers:
        i % 3 === 0
          ? []
          : [
              { key: 'trace', value: Buffer.from([i & 0xff, 1, 2]) },
              { key: i % 2 ? 'ü-schlüssel' : 'a-header-key-longer-than-twenty-one-units', value: null },
              { key: '', value: new Uint8Array(0) },
            ],
    });
  }
  return out;
}

describe('RecordBatchBuilder', () => {
  test('one record: bytes match the DefaultRecordBatch/DefaultRecord layout', () => {
    const b = new RecordBatchBuilder();
    expect(b.append(TS, Buffer.from('k'), Buffer.from('hello'), [{ key: 'h', value: Buffer.from([1]) }])).toBe(0);
    b.close();
    // Worked by hand: record = length 16 (zig-zag 0x20) | attributes 0 | timestampDelta 0 |
    // offsetDelta 0 | key length 1 (0x02) 'k' | value length 5 (0x0a) 'hello' | 1 header (0x02) |
    // key length 1 'h' | value length 1 0x01. CRC from a bitwise CRC-32C over attributes..end.
    const expected =
      '0000000000000000' + // baseOffset
      '00000042' + // batchLength: 78 - 12
      'ffffffff' + // partitionLeaderEpoch: none
      '02' + // magic
      '63709c1c' + // crc
      '0000' + // attributes: no compression, CreateTime, not transactional
      '00000000' + // lastOffsetDelta
      '0000018bcfe56800' + // baseTimestamp
      '0000018bcfe56800' + // maxTimestamp
      'ffffffffffffffff' + // producerId
      'ffff' + // producerEpoch
      'ffffffff' + // baseSequence
      '00000001' + // record count
      '20' + '00' + '00' + '00' + '026b' + '0a68656c6c6f' + '02' + '0268' + '0201';
    expect(b.bytes().toString('hex')).toBe(expected);
    expect(b.sizeInBytes).toBe(78);
  });

  test('stamping producer id, epoch, sequence and transactional bit redoes the CRC', () => {
    const b = new RecordBatchBuilder();
    b.append(TS, Buffer.from('k'), Buffer.from('hello'), [{ key: 'h', value: Buffer.from([1]) }]);
    b.close();
    const before = Buffer.from(b.bytes());
    const wire = b.stamp(4242, 3, 17, true);
    expect(wire.readUInt32BE(BatchOffset.CRC)).toBe(0x93c9a8cc); // computed independently
    expect(wire.readInt16BE(BatchOffset.ATTRIBUTES)).toBe(Attribute.TRANSACTIONAL);
    expect(wire.subarray(RECORD_BATCH_OVERHEAD)).toEqual(before.subarray(RECORD_BATCH_OVERHEAD));
    const d = read(wire);
    expect([d.producerId, d.producerEpoch, d.baseSequence, d.isTransactional]).toEqual([4242, 3, 17, true]);
    // A retry stamped back to the same values yields the same bytes.
    b.stamp(-1, -1, -1, false);
    expect(b.bytes()).toEqual(before);
  });

  test('stamped CRC equals a full recomputation for large batches and large producer ids', () => {
    const b = new RecordBatchBuilder(256);
    for (const r of inputs(500)) b.append(r.timestamp, r.key, r.value, r.headers);
    b.close();
    for (const [pid, epoch, seq] of [[0, 0, 0], [2 ** 40 + 12345, 32767, 2147483647], [7, 1, 123456]]) {
      const wire = b.stamp(pid, epoch, seq, seq % 2 === 1);
      expect(wire.readUInt32BE(BatchOffset.CRC)).toBe(crc32c(wire, BatchOffset.ATTRIBUTES));
      const d = read(wire);
      expect([d.producerId, d.producerEpoch, d.baseSequence]).toEqual([pid, epoch, seq]);
    }
  });

  test('round trip of many records with headers, null keys, null and empty values', () => {
    const b = new RecordBatchBuilder(128);
    const rs = inputs(1000);
    rs.forEach((r, i) => expect(b.append(r.timestamp, r.key, r.value, r.headers)).toBe(i));
    b.close();
    const d = read(b.bytes());
    expect(d.recordCount).toBe(1000);
    expect(d.lastOffsetDelta).toBe(999);
    expect(d.baseTimestamp).toBe(rs[0].timestamp);
    expect(d.maxTimestamp).toBe(Math.max(...rs.map((r) => r.timestamp)));
    expect(d.compression).toBe(CompressionCodec.NONE);
    expect(d.sizeInBytes).toBe(b.sizeInBytes);
    d.records.forEach((got, i) => {
      const want = rs[i];
      expect(got.offsetDelta).toBe(i);
      expect(got.timestamp).toBe(want.timestamp);
      expect(got.key === null ? null : Buffer.from(got.key)).toEqual(want.key === null ? null : Buffer.from(want.key));
      expect(got.value === null ? null : Buffer.from(got.value)).toEqual(want.value === null ? null : Buffer.from(want.value));
      expect(got.headers.map((h) => [h.key, h.value === null ? null : Buffer.from(h.value)])).toEqual(
        want.headers.map((h) => [h.key, h.value === null ? null : Buffer.from(h.value)]),
      );
    });
    // Some 6,000 expect() calls: 1-4 s, more on a loaded machine than jest's 5 s default allows.
  }, 30_000);

  test('record lengths are right where header-key bounds straddle a varint width', () => {
    // Bodies around 63/64 and 8191/8192 bytes, with multi-byte header keys whose UTF-8 size is unknown up front.
    for (const valueLength of [30, 40, 45, 50, 55, 8120, 8140, 8160]) {
      for (const key of ['ab', 'ééé', '€€€€€', 'x'.repeat(30), '€'.repeat(25)]) {
        const b = new RecordBatchBuilder(64);
        b.append(TS, null, Buffer.alloc(valueLength, 7), [{ key, value: Buffer.from('v') }]);
        b.append(TS + 1, null, Buffer.alloc(1), [{ key, value: null }]);
        b.close();
        const d = read(b.bytes());
        expect(d.records.map((r) => [r.headers[0].key, r.value?.length])).toEqual([
          [key, valueLength],
          [key, 1],
        ]);
      }
    }
  });

  test('the buffer grows mid-record for large header values and keys', () => {
    const b = new RecordBatchBuilder(64);
    const headers = [
      { key: 'small', value: Buffer.alloc(3, 1) },
      { key: '語'.repeat(40), value: Buffer.alloc(5000, 2) },
      { key: 'k'.repeat(100), value: Buffer.alloc(20000, 3) },
    ];
    b.append(TS, Buffer.alloc(10, 9), Buffer.alloc(10, 8), headers);
    b.append(TS, null, null, headers);
    b.close();
    const d = read(b.bytes());
    for (const r of d.records) {
      expect(r.headers.map((h) => [h.key, h.value?.length, h.value?.[0]])).toEqual(
        headers.map((h) => [h.key, h.value.length, h.value[0]]),
      );
    }
  });

  test('header keys changing between records in the same position', () => {
    const b = new RecordBatchBuilder();
    const keys = ['a', 'b', 'ä', 'a', 'x'.repeat(70), 'a', '', 'b'];
    keys.forEach((key, i) => b.append(TS, null, null, [{ key: 'fixed', value: null }, { key, value: Buffer.from([i]) }]));
    b.close();
    expect(read(b.bytes()).records.map((r) => r.headers.map((h) => h.key))).toEqual(keys.map((k) => ['fixed', k]));
  });

  test('timestamp deltas beyond 32 bits', () => {
    const b = new RecordBatchBuilder();
    b.append(0, null, null);
    b.append(TS, null, null);
    b.close();
    expect(read(b.bytes()).records.map((r) => r.timestamp)).toEqual([0, TS]);
  });

  test('timestamp and offset deltas on both sides of the one-byte varint bound (64)', () => {
    const b = new RecordBatchBuilder();
    const deltas = Array.from({ length: 130 }, (_, i) => (i % 2 ? 63 + (i % 4) : i));
    for (const d of deltas) b.append(TS + d, null, null);
    b.close();
    const got = read(b.bytes()).records;
    expect(got.map((r) => r.timestamp - TS)).toEqual(deltas);
    expect(got.map((r) => r.offsetDelta)).toEqual(deltas.map((_, i) => i));
  });

  test('a fractional timestamp delta is refused, not truncated into a one-byte varint', () => {
    const b = new RecordBatchBuilder();
    b.append(TS, null, null);
    expect(() => b.append(TS + 1.5, null, null)).toThrow(RangeError);
  });

  test('size is exact for uncompressed batches, and the upper bound is never below it', () => {
    const b = new RecordBatchBuilder(64);
    let bound = 0;
    for (const r of inputs(300)) {
      b.append(r.timestamp, r.key, r.value, r.headers);
      const one = recordBatchSizeUpperBound(r.key, r.value, r.headers);
      const alone = new RecordBatchBuilder(64);
      alone.append(r.timestamp, r.key, r.value, r.headers);
      alone.close();
      expect(one).toBeGreaterThanOrEqual(alone.sizeInBytes);
      bound += one - RECORD_BATCH_OVERHEAD;
      expect(b.estimatedSizeInBytes()).toBeLessThanOrEqual(RECORD_BATCH_OVERHEAD + bound);
    }
    const estimate = b.estimatedSizeInBytes();
    b.close();
    expect(b.bytes().length).toBe(estimate);
  });

  test('tryAppend fills to the limit; the first record always fits', () => {
    const limit = 1024;
    const b = new RecordBatchBuilder(limit);
    const value = Buffer.alloc(100, 1);
    const key = Buffer.alloc(10, 2);
    const headers = [{ key: 'h', value: Buffer.from('x') }];
    let n = 0;
    while (b.tryAppend(TS + n, key, value, headers, limit)) n++;
    expect(b.sizeInBytes).toBeLessThanOrEqual(limit);
    // Rejected: one more record would have overflowed, and rejecting changed nothing.
    const size = b.sizeInBytes;
    expect(size + 120).toBeGreaterThan(limit);
    expect(b.tryAppend(TS, key, value, headers, limit)).toBe(false);
    expect([b.sizeInBytes, b.recordCount, b.maxTimestamp]).toEqual([size, n, TS + n - 1]);
    b.close();
    expect(read(b.bytes()).records.length).toBe(n);

    const big = new RecordBatchBuilder(limit);
    expect(big.tryAppend(TS, null, Buffer.alloc(5000), [], limit)).toBe(true);
    expect(big.isFull(limit)).toBe(true);
    expect(big.tryAppend(TS, null, Buffer.alloc(1), [], limit)).toBe(false);
    big.close();
    expect(read(big.bytes()).records[0].value?.length).toBe(5000);
  });

  test('a compression ratio estimate lets a batch take more records, as in Java', () => {
    const fill = (ratio: number): number => {
      const b = new RecordBatchBuilder();
      b.compressionRatio = ratio;
      let n = 0;
      while (b.tryAppend(TS, null, Buffer.alloc(100), [], 16384)) n++;
      return n;
    };
    // 2-byte length, attributes, timestamp delta, 1-byte offset delta (2 from 64 on), null key,
    // 2-byte value length + 100, header count: 109 bytes, then 110; 61 + 64·109 + 84·110 = 16297.
    expect(fill(1)).toBe(148);
    expect(fill(0.25)).toBeGreaterThan(3 * fill(1));
  });

  test('compression: codec bits set, records replaced by the compressor output', () => {
    const b = new RecordBatchBuilder();
    const rs = inputs(200);
    for (const r of rs) b.append(r.timestamp, r.key, r.value, r.headers);
    const plainSize = b.sizeInBytes;
    b.close(CompressionCodec.GZIP, (records) => zlib.gzipSync(records));
    const wire = b.stamp(9, 0, 100, false);
    expect(wire.readInt16BE(BatchOffset.ATTRIBUTES) & Attribute.COMPRESSION_MASK).toBe(CompressionCodec.GZIP);
    expect(wire.length).toBeLessThan(plainSize);
    const d = read(wire);
    expect(d.recordCount).toBe(200);
    expect(d.records.map((r) => r.timestamp)).toEqual(rs.map((r) => r.timestamp));
    expect(() => new RecordBatchBuilder().close(CompressionCodec.GZIP)).toThrow();
  });

  test('closeCompressed takes bytes compressed elsewhere, even larger than the records', () => {
    const b = new RecordBatchBuilder(64);
    b.append(TS, null, Buffer.from('a'));
    const records = Buffer.from(b.records());
    const compressed = zlib.gzipSync(records); // gzip framing makes one tiny record bigger
    expect(compressed.length).toBeGreaterThan(records.length);
    b.closeCompressed(CompressionCodec.GZIP, compressed);
    const d = read(b.bytes());
    expect(d.records[0].value?.toString()).toBe('a');
  });

  test('misuse is refused', () => {
    const b = new RecordBatchBuilder();
    expect(() => b.close()).toThrow(/no records/);
    expect(() => b.stamp(1, 1, 1, false)).toThrow(/not closed/);
    b.append(TS, null, null);
    expect(() => b.close(8, (r) => r)).toThrow(RangeError);
    b.close();
    expect(() => b.append(TS, null, null)).toThrow(/closed/);
    expect(() => b.close()).toThrow(/closed/);
  });

  test('reset reuses the buffer for an independent batch', () => {
    const b = new RecordBatchBuilder(64);
    b.append(TS, Buffer.from('first'), Buffer.alloc(500));
    b.close();
    const capacity = b.capacity;
    b.reset();
    b.append(TS + 5, Buffer.from('second'), Buffer.from('v'));
    b.close();
    expect(b.capacity).toBe(capacity);
    const d = read(b.bytes());
    expect(d.records.map((r) => r.key?.toString())).toEqual(['second']);
    expect(d.baseTimestamp).toBe(TS + 5);
  });
});

describe('RecordBatchBuilderPool', () => {
  test('hands back released builders, reset, and drops overgrown ones', () => {
    const pool = new RecordBatchBuilderPool(1024, 2);
    const a = pool.acquire();
    a.append(TS, null, Buffer.alloc(10));
    a.close();
    pool.release(a);
    expect(pool.size).toBe(1);
    const again = pool.acquire();
    expect(again).toBe(a);
    expect([again.recordCount, again.isClosed]).toEqual([0, false]);

    again.append(TS, null, Buffer.alloc(10000));
    pool.release(again);
    expect(pool.size).toBe(0);

    pool.release(new RecordBatchBuilder(1024));
    pool.release(new RecordBatchBuilder(1024));
    pool.release(new RecordBatchBuilder(1024));
    expect(pool.size).toBe(2);
  });
});
