// Exactly-once consume-transform-produce: KafkaJS's consumer reads `orders`, kafkarx writes the
// transformed records to `orders-enriched` and commits the consumed offsets in the same
// transaction, so each input record shows up once in the output for a read_committed reader, even
// when the process dies mid-batch and another instance takes over.
//   KAFKA_BROKERS=127.0.0.1:9092 node --conditions=kafkarx-source examples/consume-transform-produce.ts
// (npm run kafka:start prints an address to use.)
import { Kafka, logLevel, type EachBatchPayload } from 'kafkajs';
import { from, lastValueFrom, map } from 'rxjs';
import { createProducer, type ConsumerGroupMetadata } from 'kafkarx';

export interface PipelineOptions {
  brokers: string[];
  input: string;
  output: string;
  groupId: string;
  /**
   * Stable across restarts of the same instance: a restarted instance fences its former self, and
   * the coordinator aborts whatever that one left open.
   */
  transactionalId: string;
  transform: (value: string) => string;
}

export interface Pipeline {
  /** Records written so far (committed transactions only). */
  readonly processed: number;
  stop(): Promise<void>;
}

/** Starts consuming; each batch KafkaJS hands over becomes one transaction of kafkarx. */
export async function consumeTransformProduce(options: PipelineOptions): Promise<Pipeline> {
  const producer = createProducer({ brokers: options.brokers, clientId: 'enricher', transactionalId: options.transactionalId });
  // Fences an older instance with the same transactionalId before anything is read.
  await producer.ready();

  const kafka = new Kafka({ brokers: options.brokers, clientId: 'enricher', logLevel: logLevel.ERROR });
  // Offsets are committed by the producer's transactions, never by the consumer itself; and the
  // consumer skips records of aborted transactions (KafkaJS reads committed records by default).
  const consumer = kafka.consumer({ groupId: options.groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: options.input, fromBeginning: true });

  // KafkaJS does not expose the group generation and member id that TxnOffsetCommit can carry
  // (KIP-447), so only the group id goes along; the transactional id does the fencing.
  const group: ConsumerGroupMetadata = { groupId: options.groupId };
  let processed = 0;

  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }: EachBatchPayload) => {
      // Resolves once committed; a failure rejects, and KafkaJS retries the batch (the aborted
      // transaction left nothing behind).
      await lastValueFrom(producer.transaction((tx) => from(batch.messages).pipe(
        map((m) => ({
          topic: options.output,
          key: m.key,
          value: options.transform(m.value?.toString() ?? ''),
          // The consumed position rides along; sendOffsets commits the highest + 1 per partition.
          passthrough: { topic: batch.topic, partition: batch.partition, offset: m.offset },
        })),
        tx.send(),
        tx.sendOffsets(group),
      )), { defaultValue: undefined });
      processed += batch.messages.length;
    },
  });

  return {
    get processed() {
      return processed;
    },
    async stop() {
      await consumer.disconnect();
      await producer.close();
    },
  };
}

async function main(): Promise<void> {
  const pipeline = await consumeTransformProduce({
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    input: 'orders',
    output: 'orders-enriched',
    groupId: 'enricher',
    transactionalId: 'enricher-1',
    transform: (value) => JSON.stringify({ ...JSON.parse(value), enrichedAt: Date.now() }),
  });
  const report = setInterval(() => console.log(`${pipeline.processed} records processed`), 5000);
  process.once('SIGINT', () => {
    clearInterval(report);
    void pipeline.stop();
  });
}

if (process.argv[1]?.endsWith('consume-transform-produce.ts')) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
