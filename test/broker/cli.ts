// `npm run kafka:start` / `npm run kafka:stop`: a broker for people, which stays up between runs.
import { rmSync, writeFileSync } from 'node:fs';
import { devBrokerDir, devBrokerStateFile, runningDevBroker, startTestBroker, type DevBroker } from './broker.ts';
import { stopLocalBroker } from './local.ts';

async function start(): Promise<void> {
  const running = runningDevBroker();
  if (running) {
    console.log(`kafkarx: a broker is already running at ${running.bootstrap} (log: ${running.logFile})`);
    console.log(running.bootstrap);
    return;
  }
  process.env.KAFKARX_NO_DOCKER = '1';
  delete process.env.KAFKA_BROKERS;
  const broker = await startTestBroker({ dir: devBrokerDir(), log: (l) => console.error(l) });
  const state: DevBroker = { bootstrap: broker.bootstrap, pgid: broker.pgid!, logFile: broker.logFile! };
  writeFileSync(devBrokerStateFile(), JSON.stringify(state));
  console.error(`kafkarx: Apache Kafka is up (log: ${broker.logFile}); stop it with: npm run kafka:stop`);
  console.log(broker.bootstrap);
}

async function stop(): Promise<void> {
  const state = runningDevBroker();
  if (!state) {
    console.log('kafkarx: no broker of ours is running');
    return;
  }
  await stopLocalBroker(state);
  rmSync(devBrokerStateFile(), { force: true });
  console.log(`kafkarx: stopped the broker at ${state.bootstrap}`);
}

const command = process.argv[2];
const run = command === 'start' ? start : command === 'stop' ? stop : undefined;
if (!run) {
  console.error('usage: node test/broker/cli.ts start|stop');
  process.exit(2);
}
run().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
