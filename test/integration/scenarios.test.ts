// The shared scenarios (test/scenarios/produce.scenarios.ts) against the real broker; the unit
// group runs the same against kafkarx/testing's FakeKafka, and both must agree.
import { Apis } from '../../src/network/apis.ts';
import { BrokerConnection } from '../../src/network/broker.ts';
import { ensureKafkaJars } from '../broker/jars.ts';
import { runJavaToolAsync } from '../broker/java.ts';
import { bootstrap, consumeWithConsoleConsumer, createTopic, uniqueTopic } from '../broker/reference.ts';
import { produceScenarios, type ScenarioTarget } from '../scenarios/produce.scenarios.ts';
import { producersFor } from './support.ts';

jest.setTimeout(120_000);
const producer = producersFor('kafkarx-scenarios-it');

const target: ScenarioTarget = {
  producer: (config = {}) => producer(config),
  async createTopic(prefix, partitions, config = {}) {
    const name = uniqueTopic(prefix);
    await createTopic(name, { partitions, configs: config.maxMessageBytes === undefined ? {} : { 'max.message.bytes': String(config.maxMessageBytes) } });
    return name;
  },
  async readCommitted(topic, count) {
    const records = await consumeWithConsoleConsumer(topic, { maxRecords: count, isolationLevel: 'read_committed', timeoutMs: 30_000 });
    return records
      .map((r) => ({ partition: r.partition, offset: r.offset, key: r.key?.toString() ?? null, value: r.value!.toString() }))
      .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  },
  async groupOffsets(group) {
    const { stdout } = await runJavaToolAsync(ensureKafkaJars().tools, 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
      ['--bootstrap-server', bootstrap(), '--describe', '--group', group]);
    const offsets: Record<string, number> = {};
    for (const line of stdout.toString().split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols[0] === group && /^\d+$/.test(cols[2] ?? '') && /^\d+$/.test(cols[3] ?? '')) offsets[`${cols[1]}:${cols[2]}`] = Number(cols[3]);
    }
    return offsets;
  },
  async leaderOf(topic) {
    const [host, port] = bootstrap().split(',')[0].split(':');
    const conn = await BrokerConnection.open(-1, { host, port: Number(port), clientId: 'scenario', connectTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxInFlight: 1 });
    try {
      // A topic just created may not have its leader yet.
      for (let attempt = 0; ; attempt++) {
        const res = await conn.call(Apis.metadata, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        const leader = res.topics[0]?.partitions.find((p) => p.partitionIndex === 0)?.leaderId ?? -1;
        const broker = res.brokers.find((b) => b.nodeId === leader);
        if (broker) return { host: broker.host, port: broker.port };
        if (attempt === 50) throw new Error(`no leader for ${topic}/0`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await conn.close();
    }
  },
};

produceScenarios(() => target);
