// Failover under a live stream, on the 3-node cluster of test/broker/cluster.ts (RF 3,
// min.insync.replicas 2, Kafka's default broker timeouts). Every test judges the topic with Kafka's
// own tools and prints its recovery: the time from the end of the faults to the last
// acknowledgement, and how many records were still unacknowledged when the faults ended. Where
// it says so, Kafka's Java producer runs the same stream in the same run for comparison.
import { createProducer, type Producer } from 'kafkarx';
import {
  bootstrapOf, busiestLeader, freezeNode, killNode, readClusterState, restartNode, terminateNode, thawNode, waitForFullIsr,
  type ClusterState,
} from '../broker/cluster.ts';
import { createTopic, uniqueTopic } from '../broker/reference.ts';
import { javaStream, kafkarxStream, tallyTopic, type JavaStream, type KafkarxStream, type StreamOptions } from './streams.ts';

const STREAM: StreamOptions = { rate: 2000, keys: 60 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: ClusterState;
const producers: Producer[] = [];
const producer = (brokers: string) => {
  const p = createProducer({ brokers: brokers.split(','), clientId: 'kafkarx-failover' });
  producers.push(p);
  return p;
};

beforeAll(() => {
  cluster = readClusterState();
});

afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.close()));
  // The next test starts from a whole cluster, whatever this one left behind.
  cluster = readClusterState();
});

async function newTopic(prefix: string): Promise<string> {
  const topic = uniqueTopic(prefix);
  await createTopic(topic, { partitions: 6, replicationFactor: 3 });
  await waitForFullIsr(cluster, [topic]);
  return topic;
}

interface Recovery {
  unackedAtFaultEnd: number;
  recoveryMs: number;
}

/** Ends the sources when the faults end, waits for the stream, and measures its recovery. */
async function endAtFaultEnd(stream: KafkarxStream, java?: JavaStream): Promise<{ faultEnd: number; unackedAtFaultEnd: number }> {
  const faultEnd = Date.now();
  stream.stop();
  java?.stop();
  return { faultEnd, unackedAtFaultEnd: stream.pacer.generated - stream.acked() };
}

function report(name: string, ours: Recovery, java?: { recoveryMs: number; tally: string }): void {
  const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  process.stdout.write(`\n[failover] ${name}: kafkarx ${ours.unackedAtFaultEnd} records unacknowledged when the faults ended, last ack ${fmt(ours.recoveryMs)} after` +
    `${java ? `; Java producer (same run): last ack ${fmt(java.recoveryMs)} after (${java.tally})` : ''}\n`);
}

async function judge(topic: string, stream: KafkarxStream): Promise<void> {
  const metas = await stream.done;
  expect(metas).toHaveLength(stream.pacer.generated);
  const tally = await tallyTopic(topic, stream.pacer.next, metas);
  expect(tally).toEqual({ records: stream.pacer.generated, lost: 0, duplicated: 0, reordered: 0, ackedMissing: 0 });
}

test('leader kills under an idempotent acks=all keyed stream: nothing lost, duplicated or reordered; recovery against the Java producer', async () => {
  const topic = await newTopic('kill');
  const javaTopic = await newTopic('kill-java');
  const stream = kafkarxStream(producer(bootstrapOf(cluster)), topic, STREAM);
  const java = javaStream(javaTopic, STREAM);
  let end: { faultEnd: number; unackedAtFaultEnd: number } | undefined;
  for (let round = 0; round < 2; round++) {
    await sleep(3000);
    const victim = await busiestLeader(cluster, topic);
    killNode(cluster, victim);
    // Down past broker.session.timeout.ms (9 s): the controller fences it and elects new leaders.
    await sleep(10_000);
    if (round === 1) end = await endAtFaultEnd(stream, java);
    await restartNode(cluster, victim);
    await waitForFullIsr(cluster, [topic, javaTopic]);
  }
  const metas = await stream.done;
  const { exitedAt, stderr } = await java.done;
  const javaTally = await tallyTopic(javaTopic, java.pacer.next);
  report('kill -9 of the busiest leader, twice', { unackedAtFaultEnd: end!.unackedAtFaultEnd, recoveryMs: stream.lastAckAt() - end!.faultEnd },
    { recoveryMs: exitedAt - end!.faultEnd, tally: `${java.pacer.generated} records, lost ${javaTally.lost}, duplicated ${javaTally.duplicated}, reordered ${javaTally.reordered}${/ERROR/.test(stderr) ? ', errors logged' : ''}` });
  expect(metas.length).toBeGreaterThan(0);
  await judge(topic, stream);
}, 240_000);
