// What the instrumentation adds to the hot path, per record: the sender's calls for 1M records
// (100-byte values, keyless, in 16 KiB batches, 6 batches per Produce request) with the
// producer's Instrumentation (metrics on, default logger, no channel subscriber, no tracing)
// against the same loop without it, in the same process, interleaved.
//
//   bash .ci/node24.sh node test/bench/instrumentation.bench.ts [records] [rounds]

import { Instrumentation } from '../../src/observe/instrumentation.ts';
import { consoleWarnings } from '../../src/observe/logger.ts';
import type { BrokerConnection } from '../../src/network/broker.ts';
import { ProducerBatch } from '../../src/producer/batch.ts';
import { OutgoingRecord } from '../../src/producer/record.ts';
import { RecordBatchBuilder } from '../../src/record/batch-builder.ts';
import { RECORD_BATCH_OVERHEAD } from '../../src/record/batch-format.ts';

const RECORDS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const PER_REQUEST = 6;

// Batches as the batch stage leaves them: full 16 KiB batches of 100-byte records.
const value = Buffer.alloc(100, 7);
const template: ProducerBatch[] = [];
let records = 0;
while (records < RECORDS) {
  const b = new ProducerBatch('bench', template.length % 6, new RecordBatchBuilder(16384), Date.now());
  while (b.builder.sizeInBytes < 16384 - 200 && records < RECORDS) {
    const r = new OutgoingRecord('bench', b.partition, null, value, [], 0, undefined, null, 100 + 21);
    b.builder.append(0, null, value, []);
    b.add(r);
    records++;
  }
  b.builder.close();
  b.baseOffset = 0;
  template.push(b);
}
const requests: ProducerBatch[][] = [];
for (let i = 0; i < template.length; i += PER_REQUEST) requests.push(template.slice(i, i + PER_REQUEST));

const conn = { nodeId: 1, address: '127.0.0.1:9092' } as BrokerConnection;
const answer = Promise.resolve({});
const call = () => answer;

/** One pass over every request as the sender makes it: write, answer, settle each batch. */
async function pass(observe: Instrumentation | undefined): Promise<number> {
  const start = process.cpuUsage();
  const observer = observe?.connectionObserver(1, conn.address);
  for (const batches of requests) {
    let size = 0;
    for (const b of batches) size += b.builder.sizeInBytes;
    if (observe) {
      observer!.written(size + 100);
      await observe.produce(conn, batches, call);
      observer!.read(100);
      for (const b of batches) observe.settled(b);
    } else {
      await call();
    }
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / records;
}

const off: number[] = [];
const on: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  off.push(await pass(undefined));
  on.push(await pass(new Instrumentation('bench', consoleWarnings)));
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const m = new Instrumentation('check', null);
for (const batches of requests) await m.produce(conn, batches, call);
const sent = m.snapshot({ limit: 1, used: 0, waiting: 0, waitTimeNs: 0 }).producer['record-send-total'];
if (sent !== records) throw new Error(`record-send-total ${sent}, expected ${records}`);
console.log(`${records} records in ${template.length} batches of ~${Math.round(records / template.length)} (${RECORD_BATCH_OVERHEAD}-byte header + records), ${requests.length} requests, ${ROUNDS} rounds`);
console.log(`sender calls without instrumentation: ${median(off).toFixed(1)} ns CPU/record (median)`);
console.log(`sender calls with instrumentation:    ${median(on).toFixed(1)} ns CPU/record (median)`);
console.log(`instrumentation: +${(median(on) - median(off)).toFixed(1)} ns CPU/record`);
