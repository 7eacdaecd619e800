// Encodes 1M records (10-byte key, 100-byte value, one header) into 16 KiB batches with kafkarx's
// RecordBatchBuilder and with KafkaJS's own record and batch encoders, in the same process.
//
//   bash .ci/node24.sh node test/bench/record-batch.bench.ts [records] [rounds]

import { createRequire } from 'node:module';
import { RecordBatchBuilder } from '../../src/record/batch-builder.ts';
import type { RecordHeader } from '../../src/record/batch-builder.ts';
import { BatchOffset, RECORD_BATCH_OVERHEAD } from '../../src/record/batch-format.ts';
import { crc32c } from '../../src/record/crc32c.ts';

const require = createRequire(import.meta.url);
type KafkaJsEncoder = { buffer: Buffer };
const kafkajsRecord: (r: object) => KafkaJsEncoder = require('kafkajs/src/protocol/recordBatch/record/v0');
const { RecordBatch: kafkajsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (b: object) => Promise<KafkaJsEncoder>;
};

const RECORDS = Number(process.argv[2] ?? 1_000_000);
const BATCH_BYTES = 16384;
const DISTINCT = 4096;
const T0 = 1_700_000_000_000;

const keys: Buffer[] = [];
const values: Buffer[] = [];
const headerLists: RecordHeader[][] = [];
const kafkajsHeaders: Record<string, Buffer>[] = [];
for (let i = 0; i < DISTINCT; i++) {
  keys.push(Buffer.from(`key-${String(i).padStart(6, '0')}`));
  const value = Buffer.alloc(100);
  for (let j = 0; j < value.length; j++) value[j] = (i * 31 + j * 7) & 0xff;
  values.push(value);
  const headerValue = Buffer.from(`trace-${String(i).padStart(4, '0')}`);
  headerLists.push([{ key: 'trace-id', value: headerValue }]);
  kafkajsHeaders.push({ 'trace-id': headerValue });
}
const timestampOf = (i: number): number => T0 + (i >>> 12);

interface Run {
  batches: number;
  bytes: number;
  firstRecords: Buffer;
}

function runKafkarx(n: number): Run {
  const b = new RecordBatchBuilder(BATCH_BYTES);
  let batches = 0;
  let bytes = 0;
  let firstRecords: Buffer | null = null;
  const flush = (): void => {
    b.close();
    const wire = b.stamp(1000, 0, batches * 200, false);
    bytes += wire.length;
    if (firstRecords === null) firstRecords = Buffer.from(wire.subarray(RECORD_BATCH_OVERHEAD));
    batches++;
    b.reset();
  };
  for (let i = 0; i < n; i++) {
    const k = i & (DISTINCT - 1);
    const ts = timestampOf(i);
    if (!b.tryAppend(ts, keys[k], values[k], headerLists[k], BATCH_BYTES)) {
      flush();
      b.append(ts, keys[k], values[k], headerLists[k]);
    }
  }
  if (b.recordCount > 0) flush();
  return { batches, bytes, firstRecords: firstRecords! };
}

// KafkaJS is fed the same batch boundaries, the way its produce request encodes a partition's
// messages: a Record per message, then one awaited RecordBatch.
async function runKafkajs(n: number, perBatch: number): Promise<Run> {
  let batches = 0;
  let bytes = 0;
  let firstRecords: Buffer | null = null;
  for (let start = 0; start < n; start += perBatch) {
    const end = Math.min(n, start + perBatch);
    const firstTimestamp = timestampOf(start);
    const records: KafkaJsEncoder[] = [];
    for (let i = start; i < end; i++) {
      const k = i & (DISTINCT - 1);
      records.push(
        kafkajsRecord({
          offsetDelta: i - start,
          timestampDelta: timestampOf(i) - firstTimestamp,
          key: keys[k],
          value: values[k],
          headers: kafkajsHeaders[k],
        }),
      );
    }
    const batch = await kafkajsRecordBatch({
      records,
      firstTimestamp,
      maxTimestamp: timestampOf(end - 1),
      lastOffsetDelta: records.length - 1,
      producerId: 1000,
      producerEpoch: 0,
      firstSequence: batches * 200,
    });
    const wire = batch.buffer;
    bytes += wire.length;
    if (firstRecords === null) firstRecords = Buffer.from(wire.subarray(RECORD_BATCH_OVERHEAD));
    batches++;
  }
  return { batches, bytes, firstRecords: firstRecords! };
}

interface Timing {
  wallNs: number;
  cpuS: number;
}

async function time<T>(fn: () => T | Promise<T>): Promise<[T, Timing]> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = await fn();
  const wallNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return [result, { wallNs, cpuS: (cpu.user + cpu.system) / 1e6 }];
}

function report(name: string, t: Timing, run: Run): void {
  console.log(
    `${name.padEnd(10)} ${(t.wallNs / RECORDS).toFixed(1).padStart(7)} ns/record wall  ` +
      `${((t.cpuS * 1e9) / RECORDS).toFixed(1).padStart(7)} ns/record CPU  ${t.cpuS.toFixed(3)} s CPU  ` +
      `${run.batches} batches, ${(run.bytes / 1e6).toFixed(1)} MB`,
  );
}

// Rounds alternate between the two encoders and the fastest of each is reported: on a shared
// machine, other processes only ever make a round slower.
const ROUNDS = Number(process.argv[3] ?? 3);

// Warm both up on a tenth of the work so the JIT has settled before measuring.
const warm = runKafkarx(RECORDS / 10);
await runKafkajs(RECORDS / 10, Math.ceil(RECORDS / 10 / warm.batches));

let rx: Run | null = null;
let js: Run | null = null;
let rxTime: Timing = { wallNs: Infinity, cpuS: Infinity };
let jsTime: Timing = { wallNs: Infinity, cpuS: Infinity };
for (let round = 0; round < ROUNDS; round++) {
  const [r, t] = await time(() => runKafkarx(RECORDS));
  rx = r;
  if (t.wallNs < rxTime.wallNs) rxTime = t;
  const [j, u] = await time(() => runKafkajs(RECORDS, Math.ceil(RECORDS / r.batches)));
  js = j;
  if (u.wallNs < jsTime.wallNs) jsTime = u;
}
if (rx === null || js === null) throw new Error('no rounds run');

// Same records section byte for byte: both encoders wrote the same thing.
if (!rx.firstRecords.equals(js.firstRecords)) throw new Error('kafkarx and KafkaJS encoded the first batch differently');

// The CRC's share: checksumming as many bytes as kafkarx produced, in batches of the same size.
const sample = Buffer.allocUnsafeSlow(Math.ceil(rx.bytes / rx.batches));
sample.fill(0x5a);
let crcTime: Timing = { wallNs: Infinity, cpuS: Infinity };
for (let round = 0; round < ROUNDS; round++) {
  const [, t] = await time(() => {
    for (let i = 0; i < rx.batches; i++) crc32c(sample, BatchOffset.ATTRIBUTES);
  });
  if (t.wallNs < crcTime.wallNs) crcTime = t;
}

console.log(
  `${RECORDS} records, key 10 B, value 100 B, 1 header; batches of ${BATCH_BYTES} B ` +
    `(${Math.ceil(RECORDS / rx.batches)} records); best of ${ROUNDS} rounds`,
);
report('kafkarx', rxTime, rx);
report('kafkajs', jsTime, js);
console.log(`  kafkarx's CRC-32C share: ${(crcTime.wallNs / RECORDS).toFixed(1)} ns/record (${(rx.bytes / crcTime.wallNs).toFixed(2)} GB/s)`);
console.log(`kafkajs / kafkarx: ${(jsTime.wallNs / rxTime.wallNs).toFixed(1)}x wall, ${(jsTime.cpuS / rxTime.cpuS).toFixed(1)}x CPU`);
