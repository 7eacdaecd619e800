// KafkaJS 2.2.4: producer.send() of `perSend` messages, `inFlight` sends at once, default
// partitioner, not idempotent (KafkaJS's idempotence is experimental and allows one request in flight).
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { sendInLanes } from '../producer/lanes.ts';
import { measure } from '../producer/measure.ts';
import { keyPool, POOL } from '../producer/values.ts';
import type { Codec, Measured, RunSpec } from '../producer/types.ts';

// KafkaJS ships gzip only; the others are plugins installed as devDependencies where they work on
// Node 24 (see the README's benchmark section). A missing plugin skips its row rather than failing.
async function kafkaJsCodec(codec: Codec): Promise<{ type: number; install?: () => unknown } | string> {
  const { CompressionTypes } = (await import('kafkajs')).default;
  const plugin = async (name: string): Promise<unknown> => {
    // A name held in a variable: these packages may be absent, and the type checker must not insist.
    const module = (await import(name)) as { default: unknown };
    return module.default;
  };
  switch (codec) {
    case 'none': return { type: CompressionTypes.None };
    case 'gzip': return { type: CompressionTypes.GZIP };
    case 'snappy':
      try {
        return { type: CompressionTypes.Snappy, install: await plugin('kafkajs-snappy') as () => unknown };
      } catch (e) {
        return `kafkajs-snappy does not load: ${(e as Error).message.split('\n')[0]}`;
      }
    case 'lz4':
      try {
        const LZ4 = await plugin('kafkajs-lz4') as new () => { codec: () => unknown };
        return { type: CompressionTypes.LZ4, install: new LZ4().codec };
      } catch (e) {
        return `kafkajs-lz4 does not load: ${(e as Error).message.split('\n')[0]}`;
      }
    case 'zstd': {
      // @kafkajs/zstd needs the native cppzst, which does not compile for Node 24; Node 24's own
      // node:zlib has zstd, so a codec over it stands in: the best a KafkaJS user can do today.
      const compress = promisify(zlib.zstdCompress);
      const decompress = promisify(zlib.zstdDecompress);
      return { type: CompressionTypes.ZSTD, install: () => ({ compress: (encoder: { buffer: Buffer }) => compress(encoder.buffer), decompress: (b: Buffer) => decompress(b) }) };
    }
  }
}

export async function runKafkaJs(spec: RunSpec, values: Buffer[]): Promise<Measured | { skipped: string }> {
  const { Kafka, logLevel, CompressionCodecs } = (await import('kafkajs')).default;
  const codec = await kafkaJsCodec(spec.codec);
  if (typeof codec === 'string') return { skipped: codec };
  if (codec.install) (CompressionCodecs as Record<number, unknown>)[codec.type] = codec.install;
  if (spec.topics.length !== 1) return { skipped: 'one topic per run only' };
  const [topic] = spec.topics;
  const { records } = spec;
  const { perSend, inFlight } = spec.tuning;
  const keys = spec.keyed ? keyPool() : undefined;
  const kafka = new Kafka({ clientId: 'kafkajs-bench', brokers: [spec.bootstrap], logLevel: logLevel.ERROR });
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ value: values[0] }], acks: spec.acks, compression: codec.type });
    const message = (i: number) => (keys ? { key: keys[i % POOL], value: values[i % POOL] } : { value: values[i % POOL] });
    const timed = await measure(records, spec.brokerPid, () => sendInLanes(records, perSend, inFlight, message, (messages) => producer.send({ topic, messages, acks: spec.acks, compression: codec.type })));
    return { ...timed, outside: 1 };
  } finally {
    await producer.disconnect();
  }
}
