import { asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { ProducerBatch, type BatchOrFailure } from '../src/producer/batch.ts';
import { internals } from '../src/producer/internals.ts';
import type { Producer } from '../src/producer/producer.ts';
import type { OutgoingRecord } from '../src/producer/record.ts';
import type { OpenBatches } from '../src/producer/partitioners.ts';
import { stageOperator, type StageFactory } from './internal/stage.ts';

export interface BatchOptions {
  /** Close a partition's batch once it holds this many bytes. Default: the producer's `batchBytes`. */
  batchBytes?: number;
  /**
   * Send a batch this long after its first record, full or not — if its partition can take it
   * then; otherwise it keeps filling until full or until the partition can. Default: the
   * producer's `lingerMs`.
   */
  lingerMs?: number;
  scheduler?: SchedulerLike;
}

interface Open<P> {
  batch: ProducerBatch<P>;
  /** When its linger ends, on the scheduler's clock. */
  deadline: number;
  /** A timer of its own: only a batch started while flush() waits has one (see `lingering`). */
  linger: Subscription | undefined;
}

/**
 * Collects records into one RecordBatch per partition, encoding each record straight into the
 * batch's buffer. A batch goes out when it is full (`batchBytes`) or `lingerMs` after its first
 * record, whichever comes first: bufferCount and bufferTime at once, per partition. As in the Java
 * client, linger says when a batch may go, not that it must be cut: while an earlier batch of its
 * partition still waits in the sender (a leader down, a retry backoff, the in-flight limit), a
 * lingered batch stays open and keeps filling until it is full or the partition frees up, so an
 * outage leaves a few full batches behind instead of thousands of tiny ones. Records that failed
 * earlier pass straight through. A batch keeps its records as given, for the results of a batch
 * that fails; `keepSources` false drops them (toKafka does when its error mode reports no records).
 */
export function batch<P>(producer: Producer, options: BatchOptions = {}, keepSources = true): OperatorFunction<OutgoingRecord<P>, BatchOrFailure<P>> {
  return stageOperator(batchStage<P>(producer, options, keepSources));
}

/** Where the batch stage shows its open batches to the partition stage ahead of it (see OpenBatches). */
export class OpenBatchesLink implements OpenBatches {
  room: OpenBatches['room'] = () => undefined;
  seal: OpenBatches['seal'] = () => undefined;
}

/** The batch operator as a stage (see Stage); it fills in `link`, when given, for each subscription. */
export function batchStage<P>(producer: Producer, options: BatchOptions = {}, keepSources = true, link?: OpenBatchesLink): StageFactory<OutgoingRecord<P>, BatchOrFailure<P>> {
  const p = internals(producer);
  const batchBytes = options.batchBytes ?? p.config.batchBytes;
  const lingerMs = options.lingerMs ?? p.config.lingerMs;
  const scheduler = options.scheduler ?? p.config.scheduler ?? asyncScheduler;
  const sender = p.sender;
  return (subscriber) => {
    // topic -> partition -> open batch; two lookups beat building a "topic-partition" key per record.
    const open = new Map<string, Array<Open<P> | undefined>>();
    // Batches past their linger whose partition cannot take them yet.
    const held = new Set<Open<P>>();
    // Records mostly come in runs of one topic: skip the map lookup while the topic stays the same.
    let lastTopic: string | undefined;
    let lastPartitions: Array<Open<P> | undefined> = [];

    // Open batches waiting for their linger, oldest first. Their deadlines come in that order, so
    // one timer, for the oldest, serves them all: a timer per batch cost more than its records'
    // batching. A timer left for a batch that went full is not cancelled: it finds the next due.
    const lingering = new Set<Open<P>>();
    let timer: Subscription | undefined;
    let timerAt = Infinity;
    const arm = (at: number) => {
      timer?.unsubscribe();
      timerAt = at;
      timer = scheduler.schedule(lingerDue, Math.max(0, at - scheduler.now()));
    };
    const lingerDue = () => {
      timer = undefined;
      timerAt = Infinity;
      const now = scheduler.now();
      for (const entry of lingering) {
        if (entry.deadline > now) {
          if (entry.deadline < timerAt) arm(entry.deadline);
          break;
        }
        lingering.delete(entry);
        lingered(entry);
      }
    };

    const emit = (entry: Open<P>) => {
      entry.linger?.unsubscribe();
      lingering.delete(entry);
      held.delete(entry);
      const partitions = open.get(entry.batch.topic)!;
      if (partitions[entry.batch.partition] === entry) partitions[entry.batch.partition] = undefined;
      subscriber.next(entry.batch);
    };

    const start = (record: OutgoingRecord<P>, partitions: Array<Open<P> | undefined>): Open<P> => {
      const now = scheduler.now();
      const entry: Open<P> = { batch: new ProducerBatch<P>(record.topic, record.partition, p.builders.acquire(), now, keepSources), deadline: now + lingerMs, linger: undefined };
      partitions[record.partition] = entry;
      if (p.flushing) {
        // While flush() or close() waits, a batch started late may go at once.
        entry.linger = scheduler.schedule(() => lingered(entry), 0);
      } else {
        lingering.add(entry);
        if (entry.deadline < timerAt) arm(entry.deadline);
      }
      return entry;
    };

    // Listening to the sender starts with the first held batch: most streams never hold one.
    let stopListening: (() => void) | undefined;
    const releaseHeld = () => {
      for (const entry of held) if (sender.canAccept(entry.batch.topic, entry.batch.partition)) emit(entry);
    };
    const lingered = (entry: Open<P>) => {
      entry.linger = undefined;
      if (sender.canAccept(entry.batch.topic, entry.batch.partition)) {
        emit(entry);
        return;
      }
      held.add(entry);
      stopListening ??= sender.onDrained(releaseHeld);
    };

    const emitAll = () => {
      for (const partitions of open.values()) for (const entry of partitions) if (entry) emit(entry);
    };
    // producer.flush() sends open batches now instead of at their linger time.
    const unregister = p.registerFlusher(emitAll);

    if (link) {
      link.room = (topic, partition) => {
        const entry = (topic === lastTopic ? lastPartitions : open.get(topic))?.[partition];
        return entry === undefined ? undefined : batchBytes - entry.batch.builder.estimatedSizeInBytes();
      };
      link.seal = (topic, partition) => {
        const entry = (topic === lastTopic ? lastPartitions : open.get(topic))?.[partition];
        if (entry !== undefined) emit(entry);
      };
    }

    const next = (record: OutgoingRecord<P>) => {
      if (record.error) {
        subscriber.next(record);
        return;
      }
      if (record.topic !== lastTopic) {
        let found = open.get(record.topic);
        if (found === undefined) open.set(record.topic, (found = []));
        lastTopic = record.topic;
        lastPartitions = found;
      }
      const partitions = lastPartitions;
      let entry = partitions[record.partition] ?? start(record, partitions);
      if (!entry.batch.builder.tryAppend(record.timestamp, record.key, record.value, record.headers, batchBytes)) {
        emit(entry);
        entry = start(record, partitions);
        entry.batch.builder.append(record.timestamp, record.key, record.value, record.headers);
      }
      entry.batch.add(record);
      if (entry.batch.builder.isFull(batchBytes)) emit(entry);
    };

    const teardown = () => {
      unregister();
      timer?.unsubscribe();
      lingering.clear();
      stopListening?.();
      held.clear();
      // Batches never handed on die here: give back their memory and buffers.
      for (const partitions of open.values()) {
        for (const entry of partitions) {
          if (!entry) continue;
          entry.linger?.unsubscribe();
          p.memory.release(entry.batch.reservedBytes);
          p.builders.release(entry.batch.builder);
        }
      }
      open.clear();
    };

    return {
      next,
      complete: () => {
        emitAll();
        timer?.unsubscribe();
        subscriber.complete();
      },
      teardown,
    };
  };
}
