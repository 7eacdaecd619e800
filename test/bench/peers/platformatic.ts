// @platformatic/kafka 2.12.1, the newest pure-JavaScript Kafka client: producer.send() lanes as
// for KafkaJS, or its Writable (producer.asStream()), whichever the sweep (--sweep) found best.
// Idempotent at acks=all, which it supports (and which makes it keep one request in flight).
import { once } from 'node:events';
import { sendInLanes } from '../producer/lanes.ts';
import { measure } from '../producer/measure.ts';
import { keyPool, POOL } from '../producer/values.ts';
import type { Measured, RunSpec, Timed } from '../producer/types.ts';

interface Message { topic: string; key?: Buffer; value: Buffer }

export async function runPlatformatic(spec: RunSpec, values: Buffer[]): Promise<Measured> {
  return { ...await run(spec, values), outside: spec.topics.length };
}

async function run(spec: RunSpec, values: Buffer[]): Promise<Timed> {
  const { Producer } = await import('@platformatic/kafka');
  const { records, topics } = spec;
  const { perSend, inFlight } = spec.tuning;
  const keys = spec.keyed ? keyPool() : undefined;
  const message = (i: number): Message => ({ topic: topics[i % topics.length], key: keys?.[i % POOL], value: values[i % POOL] });
  const idempotent = spec.idempotent ?? spec.acks === -1;
  const producer = new Producer({
    clientId: 'platformatic-bench', bootstrapBrokers: [spec.bootstrap], acks: spec.acks, idempotent, compression: spec.codec,
  });
  try {
    await producer.send({ messages: topics.map((topic) => ({ topic, value: values[0] })) });
    if (spec.mode === 'stream') {
      return await measure(records, spec.brokerPid, async () => {
        const stream = producer.asStream({ batchSize: perSend, batchTime: 5, highWaterMark: perSend * inFlight });
        let acked = 0;
        stream.on('flush', (report: { count: number }) => { acked += report.count; });
        for (let i = 0; i < records; i++) {
          if (!stream.write(message(i))) await once(stream, 'drain');
        }
        await stream.close();
        return acked;
      });
    }
    return await measure(records, spec.brokerPid, () => sendInLanes(records, perSend, inFlight, message, (messages) => producer.send({ messages })));
  } finally {
    await producer.close();
  }
}
