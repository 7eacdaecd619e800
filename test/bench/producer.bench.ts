// Producer benchmark, end to end against a real broker: kafkarx against the clients users would
// pick instead — KafkaJS, @platformatic/kafka, Kafka's own Java producer (ProducerPerformance) and
// librdkafka (kcat -P) — in one run, interleaved, at acks=1 and acks=all.
//
//   npm run bench                         the peers table (~10 min)
//   npm run bench -- --groups sources,cold   other groups (see --help); --all: every group
//   npm run bench -- --cpu-prof           + a profiled kafkarx run: top self-time functions
//
// Broker: KAFKA_BROKERS when set, else one started by startTestBroker in .kafka/bench and stopped
// at the end (also on an error or Ctrl-C).
//
// Every run is its own child process (this file with --child); runs are interleaved (round r
// runs every configuration once) so drift of the noisy machine spreads over all rows, and each
// row shows the median. The window starts once the client is connected and knows its topics'
// metadata, and ends when the last record is acknowledged; JIT warm-up is inside it for all.
// test/bench/producer/ holds the runner, plan, measurement and tables; test/bench/peers/ one file
// per client.
import { child } from './producer/child.ts';
import { main } from './producer/runner.ts';
import type { RunSpec } from './producer/types.ts';

const done = (p: Promise<void>) => p.then(() => process.exit(0), (e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});

if (process.argv[2] === '--child') done(child(JSON.parse(process.argv[3]) as RunSpec));
else done(main(process.argv.slice(2)));
