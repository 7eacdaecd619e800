import type { MonoTypeOperatorFunction } from 'rxjs';
import { InvalidRecordError } from '../src/producer/errors.ts';
import { PartitionChooser, type OpenBatches, type PartitionerFn, type PartitionerName, type PartitionLoad } from '../src/producer/partitioners.ts';
import { internals } from '../src/producer/internals.ts';
import type { Producer } from '../src/producer/producer.ts';
import { Fifo } from '../src/producer/fifo.ts';
import type { OutgoingRecord } from '../src/producer/record.ts';
import { UnknownPartitionError, type TopicInfo } from '../src/cluster/metadata.ts';
import { stageOperator, type StageFactory } from './internal/stage.ts';

export interface PartitionOptions {
  /** Overrides the producer's partitioner for this stream. */
  partitioner?: PartitionerName | PartitionerFn<any, any>;
  /** Random source for sticky partition choice; tests make it deterministic. */
  random?: () => number;
}

/**
 * Gives each record its partition: the one it names, else the partitioner's choice. A record
 * whose topic has no metadata yet waits for it (up to `maxBlockMs`, auto-creating the topic where
 * the broker allows) behind earlier records of the same topic, so per-partition order holds.
 */
export function partition<P>(producer: Producer, options: PartitionOptions = {}): MonoTypeOperatorFunction<OutgoingRecord<P>> {
  return stageOperator(partitionStage<P>(producer, options));
}

/**
 * The partition operator as a stage (see Stage). `batches`: the open batches of the batch stage
 * it feeds (toKafka's), so keyless records leave a partition only once its batch is full.
 */
export function partitionStage<P>(producer: Producer, options: PartitionOptions = {}, batches?: OpenBatches): StageFactory<OutgoingRecord<P>, OutgoingRecord<P>> {
  const p = internals(producer);
  const partitioner = options.partitioner ?? p.config.partitioner;
  return (subscriber) => {
    const { partitionerAdaptive, partitionerAvailabilityTimeoutMs } = p.config;
    const load: PartitionLoad | undefined = partitionerAdaptive
      ? (topic, available) => p.sender.partitionLoad(topic, available, partitionerAvailabilityTimeoutMs)
      : undefined;
    const chooser = typeof partitioner === 'string' ? new PartitionChooser(partitioner, p.config.batchBytes, options.random, load, batches) : undefined;
    const custom = typeof partitioner === 'function' ? partitioner : undefined;
    const waiting = new Map<string, Fifo<OutgoingRecord<P>>>();
    // One metadata wait per topic at a time; an answer for an older wait is ignored.
    const waits = new Map<string, object>();
    let sourceDone = false;
    let closed = false;

    const route = (record: OutgoingRecord<P>, topic: TopicInfo): boolean => {
      // A partition beyond the known count may have just been added: wait for fresh metadata.
      if (record.partition >= 0) return record.partition < topic.partitionCount;
      record.partition = custom
        ? checked(custom({ topic: record.topic, key: (record.source as { key?: unknown }).key, keyBytes: record.key, value: (record.source as { value?: unknown }).value, partitionCount: topic.partitionCount, availablePartitions: topic.available }), topic, record)
        : chooser!.choose(record.topic, record.key, record.size, topic.partitionCount, topic.available);
      return true;
    };

    const checked = (p: number, topic: TopicInfo, record: OutgoingRecord<P>): number => {
      if (Number.isInteger(p) && p >= 0 && p < topic.partitionCount) return p;
      throw new InvalidRecordError(`the partitioner chose partition ${String(p)} for topic ${JSON.stringify(record.topic)}, which has ${topic.partitionCount} partitions`, { topic: record.topic });
    };

    const fail = (record: OutgoingRecord<P>, error: Error) => {
      record.error = error;
      p.memory.release(record.reserved);
      record.reserved = 0;
    };

    const emit = (record: OutgoingRecord<P>, topic: TopicInfo): boolean => {
      try {
        if (!route(record, topic)) return false;
      } catch (e) {
        fail(record, e as Error);
      }
      subscriber.next(record);
      return true;
    };

    const drainTopic = (name: string) => {
      const queue = waiting.get(name);
      if (queue) {
        const topic = p.cluster.topic(name);
        while (queue.length > 0 && topic && emit(queue.peek()!, topic)) queue.shift();
        if (queue.length === 0) {
          waiting.delete(name);
          waits.delete(name);
        } else {
          awaitTopic(name, queue.peek()!);
        }
      }
      if (sourceDone && waiting.size === 0) subscriber.complete();
    };

    const awaitTopic = (name: string, head: OutgoingRecord<P>) => {
      const token = {};
      waits.set(name, token);
      const current = () => !closed && waits.get(name) === token;
      p.cluster.waitForTopic(name, head.partition, p.config.maxBlockMs).then(
        () => { if (current()) drainTopic(name); },
        (error: Error) => {
          if (!current()) return;
          waits.delete(name);
          // Fresh metadata said the head's partition does not exist: only that record fails.
          if (error instanceof UnknownPartitionError) {
            const queue = waiting.get(name)!;
            const record = queue.shift()!;
            fail(record, error);
            subscriber.next(record);
            if (queue.length === 0) waiting.delete(name);
            drainTopic(name);
            return;
          }
          const queue = waiting.get(name) ?? [];
          waiting.delete(name);
          for (const record of queue) {
            fail(record, error);
            subscriber.next(record);
          }
          if (sourceDone && waiting.size === 0) subscriber.complete();
        },
      );
    };

    // Records mostly come in runs of one topic: its metadata is kept until the cluster's changes.
    let lastName: string | undefined;
    let lastTopic: TopicInfo | undefined;
    let lastVersion = -1;
    const topicOf = (name: string): TopicInfo | undefined => {
      const version = p.cluster.topicsVersion;
      if (name !== lastName || version !== lastVersion) {
        lastTopic = p.cluster.topic(name);
        lastName = name;
        lastVersion = version;
      }
      return lastTopic;
    };

    const next = (record: OutgoingRecord<P>) => {
      if (record.error) {
        subscriber.next(record);
        return;
      }
      // Mostly no topic waits for metadata: then there is no queue to look up.
      const queue = waiting.size === 0 ? undefined : waiting.get(record.topic);
      if (queue) {
        queue.push(record);
        return;
      }
      const topic = topicOf(record.topic);
      if (topic && emit(record, topic)) return;
      const fifo = new Fifo<OutgoingRecord<P>>();
      fifo.push(record);
      waiting.set(record.topic, fifo);
      awaitTopic(record.topic, record);
    };

    return {
      next,
      complete: () => {
        sourceDone = true;
        if (waiting.size === 0) subscriber.complete();
      },
      teardown: () => {
        closed = true;
        for (const queue of waiting.values()) for (const r of queue) p.memory.release(r.reserved);
        waiting.clear();
      },
    };
  };
}
