import { asyncScheduler, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { RECORD_BATCH_OVERHEAD } from '../src/record/batch-format.ts';
import { BufferExhaustedError, RecordTooLargeError } from '../src/producer/errors.ts';
import { internals } from '../src/producer/internals.ts';
import type { Producer } from '../src/producer/producer.ts';
import { Fifo } from '../src/producer/fifo.ts';
import type { OutgoingRecord } from '../src/producer/record.ts';
import { stageOperator, type StageFactory } from './internal/stage.ts';

/**
 * Takes room for each record in the producer's memory budget (`bufferMemory`) and refuses records
 * that could never be sent (larger than `maxRequestSize` or the whole budget). When the budget is
 * full, records wait in order up to `maxBlockMs` and then fail with BufferExhaustedError; records
 * waiting for room (in every stream of the producer) may hold up to `bufferMemory` bytes more, and a
 * record arriving past that fails with BufferExhaustedError at once, so a source that cannot be
 * paused does not pile up. A source that can be paused should be read with `fromPullSource`, which
 * waits instead of piling up here.
 */
export function reserve<P>(producer: Producer, scheduler?: SchedulerLike): MonoTypeOperatorFunction<OutgoingRecord<P>> {
  return stageOperator(reserveStage<P>(producer, scheduler));
}

/** The reserve operator as a stage (see Stage). */
export function reserveStage<P>(producer: Producer, scheduler: SchedulerLike = internals(producer).config.scheduler ?? asyncScheduler): StageFactory<OutgoingRecord<P>, OutgoingRecord<P>> {
  const { memory, config } = internals(producer);
  return (subscriber) => {
    // `queued`: the bytes the record counts for in the budget's limit on waiting records.
    const waiting = new Fifo<{ record: OutgoingRecord<P>; deadline: number; queued: number }>();
    let cancelWait: (() => void) | undefined;
    let timer: Subscription | undefined;
    let sourceDone = false;

    const admit = (record: OutgoingRecord<P>): boolean => {
      if (record.error) return true;
      const batchSize = record.size + RECORD_BATCH_OVERHEAD;
      if (batchSize > config.maxRequestSize) {
        record.error = new RecordTooLargeError({ topic: record.topic }, batchSize, config.maxRequestSize, 'maxRequestSize');
        return true;
      }
      if (record.size > memory.limit) {
        record.error = new RecordTooLargeError({ topic: record.topic }, record.size, memory.limit, 'bufferMemory');
        return true;
      }
      if (!memory.tryReserve(record.size)) return false;
      record.reserved = record.size;
      return true;
    };

    const drain = () => {
      while (waiting.length > 0 && cancelWait === undefined) {
        const head = waiting.peek()!;
        if (admit(head.record)) {
          unqueue();
          subscriber.next(head.record);
          continue;
        }
        const { record } = head;
        let inCall = true;
        let grantedInCall = false;
        cancelWait = memory.wait(record.size, () => {
          if (inCall) {
            grantedInCall = true;
            return;
          }
          cancelWait = undefined;
          timer?.unsubscribe();
          record.reserved = record.size;
          unqueue();
          subscriber.next(record);
          drain();
        });
        inCall = false;
        if (grantedInCall) {
          cancelWait = undefined;
          record.reserved = record.size;
          unqueue();
          subscriber.next(record);
          continue;
        }
        timer = scheduler.schedule(() => {
          cancelWait?.();
          cancelWait = undefined;
          unqueue();
          record.error = new BufferExhaustedError({ topic: record.topic }, memory.limit, config.maxBlockMs);
          subscriber.next(record);
          drain();
        }, Math.max(0, head.deadline - scheduler.now()));
      }
      if (sourceDone && waiting.length === 0) subscriber.complete();
    };

    const unqueue = () => memory.unqueue(waiting.shift()!.queued);

    const next = (record: OutgoingRecord<P>) => {
      if (waiting.length === 0 && admit(record)) {
        subscriber.next(record);
        return;
      }
      // What cannot be paused must not pile up: past the limit on waiting records, refuse at once.
      const queued = record.error || record.size > memory.limit ? 0 : record.size;
      if (queued > 0 && !memory.tryQueue(queued)) {
        record.error = new BufferExhaustedError({ topic: record.topic }, memory.limit, config.maxBlockMs, memory.waitingLimit);
        subscriber.next(record);
        return;
      }
      waiting.push({ record, deadline: scheduler.now() + config.maxBlockMs, queued });
      drain();
    };

    return {
      next,
      complete: () => {
        sourceDone = true;
        drain();
      },
      teardown: () => {
        cancelWait?.();
        timer?.unsubscribe();
        for (const w of waiting) memory.unqueue(w.queued);
        waiting.clear();
      },
    };
  };
}
