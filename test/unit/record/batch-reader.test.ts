import { Attribute, BatchOffset, CompressionCodec, TimestampType, setBaseOffset, setLogAppendTime, setPartitionLeaderEpoch } from '../../../src/record/batch-format.ts';
import { RecordBatchBuilder } from '../../../src/record/batch-builder.ts';
import { InvalidRecordBatchError, RecordBatchCrcError, readRecordBatch, readRecordBatches } from '../../../src/record/batch-reader.ts';
import { crc32c } from '../../../src/record/crc32c.ts';

const TS = 1700000000000;

function batchOf(values: string[], timestamp = TS): Buffer {
  const b = new RecordBatchBuilder(64);
  values.forEach((v, i) => b.append(timestamp + i, Buffer.from(`k${i}`), Buffer.from(v), [{ key: 'h', value: Buffer.from(v) }]));
  b.close();
  return Buffer.from(b.bytes());
}

function recrc(batch: Buffer): void {
  batch.writeUInt32BE(crc32c(batch, BatchOffset.ATTRIBUTES), BatchOffset.CRC);
}

describe('readRecordBatches', () => {
  test('reads consecutive batches with the offsets a leader assigned', () => {
    const a = batchOf(['a', 'b', 'c']);
    const b = batchOf(['d', 'e'], TS + 100);
    setBaseOffset(a, 1000);
    setBaseOffset(b, 1003);
    setPartitionLeaderEpoch(b, 7);
    const batches = readRecordBatches(Buffer.concat([a, b]));
    expect(batches.map((x) => [x.position, x.baseOffset, x.partitionLeaderEpoch])).toEqual([
      [0, 1000, -1],
      [a.length, 1003, 7],
    ]);
    expect(batches.flatMap((x) => x.records.map((r) => [r.offset, r.value?.toString(), r.headers[0].value?.toString()]))).toEqual([
      [1000, 'a', 'a'],
      [1001, 'b', 'b'],
      [1002, 'c', 'c'],
      [1003, 'd', 'd'],
      [1004, 'e', 'e'],
    ]);
  });

  test('a flipped bit anywhere under the CRC raises RecordBatchCrcError', () => {
    const good = batchOf(['hello', 'world']);
    for (const at of [BatchOffset.ATTRIBUTES + 1, BatchOffset.PRODUCER_ID + 3, BatchOffset.RECORDS + 5, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x10;
      expect(() => readRecordBatches(bad)).toThrow(RecordBatchCrcError);
    }
    const bad = Buffer.from(good);
    bad[good.length - 1] ^= 1;
    try {
      readRecordBatch(bad);
      throw new Error('expected a CRC error');
    } catch (e) {
      expect(e).toBeInstanceOf(RecordBatchCrcError);
      expect((e as RecordBatchCrcError).expected).toBe(good.readUInt32BE(BatchOffset.CRC));
      expect((e as RecordBatchCrcError).actual).toBe(crc32c(bad, BatchOffset.ATTRIBUTES));
    }
  });

  test('a truncated trailing batch fails, or is skipped when allowed (as in a Fetch response)', () => {
    const a = batchOf(['a']);
    const b = batchOf(['b', 'c']);
    const cut = Buffer.concat([a, b.subarray(0, b.length - 3)]);
    expect(() => readRecordBatches(cut)).toThrow(InvalidRecordBatchError);
    expect(readRecordBatches(cut, { allowTruncated: true }).map((x) => x.recordCount)).toEqual([1]);
    expect(readRecordBatches(Buffer.concat([a, b.subarray(0, 5)]), { allowTruncated: true }).length).toBe(1);
  });

  test('LogAppendTime gives every record the batch max timestamp', () => {
    const a = batchOf(['a', 'b']);
    setLogAppendTime(a, TS + 5000);
    const [batch] = readRecordBatches(a);
    expect(batch.timestampType).toBe(TimestampType.LOG_APPEND_TIME);
    expect(batch.records.map((r) => r.timestamp)).toEqual([TS + 5000, TS + 5000]);
    expect(batch.baseTimestamp).toBe(TS);
  });

  test('control and transactional batches are flagged', () => {
    const a = batchOf(['x']);
    a.writeInt16BE(Attribute.CONTROL | Attribute.TRANSACTIONAL, BatchOffset.ATTRIBUTES);
    recrc(a);
    const [batch] = readRecordBatches(a);
    expect([batch.isControl, batch.isTransactional, batch.hasDeleteHorizon]).toEqual([true, true, false]);
    expect(readRecordBatches(batchOf(['x']))[0].isControl).toBe(false);
  });

  test('compressed batches go through the caller-supplied decompress', () => {
    const b = new RecordBatchBuilder();
    b.append(TS, null, Buffer.from('abc'));
    // A stand-in codec: reversed bytes.
    b.close(CompressionCodec.SNAPPY, (records) => Buffer.from(records).reverse());
    const calls: number[] = [];
    const [batch] = readRecordBatches(b.bytes(), {
      decompress: (codec, bytes) => {
        calls.push(codec);
        return Buffer.from(bytes).reverse();
      },
    });
    expect(calls).toEqual([CompressionCodec.SNAPPY]);
    expect(batch.records[0].value?.toString()).toBe('abc');
    expect(() => readRecordBatches(b.bytes())).toThrow(/compressed with codec 2/);
  });

  test('malformed batches are rejected with InvalidRecordBatchError', () => {
    const wrongMagic = batchOf(['a']);
    wrongMagic[BatchOffset.MAGIC] = 1;
    expect(() => readRecordBatches(wrongMagic)).toThrow(/magic 1/);

    const tooMany = batchOf(['a']);
    tooMany.writeInt32BE(2, BatchOffset.RECORD_COUNT);
    recrc(tooMany);
    expect(() => readRecordBatches(tooMany)).toThrow(InvalidRecordBatchError);

    const tooFew = batchOf(['a', 'b']);
    tooFew.writeInt32BE(1, BatchOffset.RECORD_COUNT);
    recrc(tooFew);
    expect(() => readRecordBatches(tooFew)).toThrow(/bytes follow/);

    const shortLength = batchOf(['a']);
    shortLength.writeInt32BE(10, BatchOffset.LENGTH);
    expect(() => readRecordBatches(shortLength)).toThrow(/below the minimum/);
  });

  test('KafkaJS decodes what the builder writes', async () => {
    // KafkaJS is an independent reading of the format, so agreeing with it checks both directions.
    const Decoder = require('kafkajs/src/protocol/decoder');
    const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder');
    const b = new RecordBatchBuilder();
    b.append(TS, Buffer.from('key'), Buffer.from('value'), [{ key: 'hk', value: Buffer.from('hv') }]);
    b.append(TS + 7, null, null);
    b.close();
    const wire = b.stamp(77, 2, 40, false);
    setBaseOffset(wire, 500);
    const decoded = await decodeBatch(new Decoder(wire));
    expect([decoded.producerId, decoded.producerEpoch, decoded.firstSequence, decoded.maxTimestamp]).toEqual(['77', 2, 40, String(TS + 7)]);
    expect(
      decoded.records.map((r: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> }) => [
        r.offset,
        r.timestamp,
        r.key?.toString() ?? null,
        r.value?.toString() ?? null,
        Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()])),
      ]),
    ).toEqual([
      ['500', String(TS), 'key', 'value', { hk: 'hv' }],
      ['501', String(TS + 7), null, null, {}],
    ]);
  });
});
