// `npm run kafka:start` / `npm run kafka:stop`: a broker for people, which stays up between runs.
// `npm run demo`: examples/demo.ts against KAFKA_BROKERS, else that broker, else one for the run.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { devBrokerDir, devBrokerStateFile, runningDevBroker, startTestBroker, type DevBroker, type TestBroker } from './broker.ts';
import { stopLocalBroker } from './local.ts';
import { projectRoot, workDir } from './paths.ts';

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

async function demo(): Promise<void> {
  let started: TestBroker | undefined;
  let bootstrap = process.env.KAFKA_BROKERS ?? runningDevBroker()?.bootstrap;
  if (!bootstrap) {
    console.log('demo: no broker configured; starting Apache Kafka 4.1.1 for this run…');
    started = await startTestBroker({ dir: join(workDir(), 'demo'), stopWithPid: process.pid, log: (l) => console.log(l) });
    bootstrap = started.bootstrap;
  }
  const child = spawn(process.execPath, ['--conditions=kafkarx-source', join(projectRoot(), 'examples/demo.ts')], { stdio: 'inherit', env: { ...process.env, KAFKA_BROKERS: bootstrap } });
  const interrupt = () => child.kill('SIGINT');
  process.once('SIGINT', interrupt);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  process.off('SIGINT', interrupt);
  await started?.stop();
  process.exitCode = code;
}

const command = process.argv[2];
const run = command === 'start' ? start : command === 'stop' ? stop : command === 'demo' ? demo : undefined;
if (!run) {
  console.error('usage: node test/broker/cli.ts start|stop|demo');
  process.exit(2);
}
run().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
