// The shared scenarios (test/scenarios/produce.scenarios.ts) against kafkarx/testing's FakeKafka;
// test/integration/scenarios.test.ts runs the same against the real broker.
import { createProducer, type Producer } from 'kafkarx';
import { FakeKafka } from 'kafkarx/testing';
import { produceScenarios, type ScenarioTarget } from '../../scenarios/produce.scenarios.ts';

let fake: FakeKafka;
let producers: Producer[] = [];
let topics = 0;

beforeEach(() => {
  fake = new FakeKafka({ brokers: 3 });
});

afterEach(async () => {
  await Promise.all(producers.map((p) => p.close()));
  producers = [];
  expect(fake.openConnections).toBe(0);
  fake.close();
});

const target: ScenarioTarget = {
  producer(config = {}) {
    const p = createProducer({ brokers: fake.bootstrap, transport: fake.transport, ...config });
    producers.push(p);
    return p;
  },
  async createTopic(prefix, partitions, config) {
    const name = `${prefix}-${topics++}`;
    fake.createTopic(name, partitions, config);
    return name;
  },
  async readCommitted(topic, count) {
    const records = fake.readCommitted(topic).map((r) => ({ partition: r.partition, offset: r.offset, key: r.key?.toString() ?? null, value: r.value!.toString() }));
    expect(records).toHaveLength(count);
    return records;
  },
  async groupOffsets(group) {
    return Object.fromEntries(fake.committedOffsets(group).map((o) => [`${o.topic}:${o.partition}`, o.offset]));
  },
  async leaderOf(topic) {
    const [host, port] = fake.bootstrap[fake.leaderOf(topic, 0) - 1].split(':');
    return { host, port: Number(port), transport: fake.transport };
  },
};

produceScenarios(() => target);
