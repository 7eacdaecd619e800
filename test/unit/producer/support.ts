// Shared by the sender-level tests: settled-looking batches built without the operators, and
// virtual time driven by hand for a Sender given a TestScheduler directly.
import type { TestScheduler } from 'rxjs/testing';
import { ProducerBatch } from '../../../src/producer/batch.ts';
import { OutgoingRecord } from '../../../src/producer/record.ts';
import { RecordBatchBuilder } from '../../../src/record/batch-builder.ts';

/** A closed batch for topic `t` of `records` small keyless records, created at `createdAt`. */
export function oneBatch(createdAt: number, partition = 0, records = 1): ProducerBatch {
  const builder = new RecordBatchBuilder(1024);
  const batch = new ProducerBatch('t', partition, builder, createdAt);
  for (let i = 0; i < records; i++) {
    const record = new OutgoingRecord('t', partition, null, Buffer.from(`v${i}`), [], createdAt, undefined, {}, 20);
    builder.append(createdAt, null, record.value, []);
    batch.add(record);
  }
  builder.close();
  return batch;
}

/** Runs virtual time up to `until`, letting promise callbacks run between scheduled actions. */
export async function advance(scheduler: TestScheduler, until: number): Promise<void> {
  for (let guard = 0; guard < 10_000; guard++) {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    const next = scheduler.actions[0];
    if (!next || next.delay > until) return;
    scheduler.maxFrames = next.delay;
    scheduler.flush();
  }
  throw new Error('virtual time did not settle');
}
