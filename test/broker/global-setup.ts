import { startTestBroker, testRunDir, type TestBroker } from './broker.ts';

declare global {
  var __kafkarxBroker: TestBroker | undefined;
}

/**
 * Starts the broker for the integration tests before the first of them, and hands its address to
 * the test workers through KAFKA_BROKERS. A broker that cannot start fails the run: integration
 * tests never skip.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const broker = await startTestBroker({ dir: testRunDir(), stopWithPid: process.pid, log: (l) => process.stderr.write(`${l}\n`) });
  globalThis.__kafkarxBroker = broker;
  process.env.KAFKA_BROKERS = broker.bootstrap;
  if (broker.security) process.env.KAFKARX_SECURITY = JSON.stringify(broker.security);
  process.stderr.write(`\nkafkarx: Apache Kafka (${broker.kind}) at ${broker.bootstrap}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s` +
    `${broker.logFile ? `; log: ${broker.logFile}` : ''}\n`);
}
