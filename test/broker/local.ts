import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import type { KafkaJars } from './jars.ts';
import { tail } from './jars.ts';
import { runJavaTool } from './java.ts';
import { limitedUserAcls, SECURE_LISTENER_NAMES, secureProperties, type SecureBroker } from './security.ts';

export interface LocalBroker {
  bootstrap: string;
  /** The process group of the broker (and its watchdog): signal `-pgid` to reach all of it. */
  pgid: number;
  logFile: string;
  /** The secured listeners, users and certificates (see security.ts). */
  security: SecureBroker;
}

export interface LocalBrokerOptions {
  jars: KafkaJars;
  /** Holds data/, config and logs/ of this broker; data is formatted fresh on every start. */
  dir: string;
  /** Stop the broker when this process dies (test runs); leave it up otherwise (`kafka:start`). */
  stopWithPid?: number;
  readyTimeoutMs?: number;
}

/**
 * Starts Apache Kafka as one KRaft node (broker and controller) on 127.0.0.1, from the jars alone.
 * The values were read from Kafka's own sources and verified here; see ../shared/kafka-local-broker.md.
 */
export async function startLocalBroker(opts: LocalBrokerOptions): Promise<LocalBroker> {
  const { jars, dir } = opts;
  const [port, controllerPort, ...securePorts] = await freePorts(2 + SECURE_LISTENER_NAMES.length);
  const dataDir = join(dir, 'data');
  const logsDir = join(dir, 'logs');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logsDir, { recursive: true });

  const props = join(dir, 'server.properties');
  const secure = secureProperties(dir, securePorts);
  writeFileSync(props, serverProperties(port, controllerPort, dataDir, securePorts) + secure.properties);
  const log4j = join(dir, 'log4j2-broker.properties');
  writeFileSync(log4j, brokerLogConfig());

  // A cluster id is a base64url UUID; StorageTool rejects one that begins with '-'.
  let clusterId: string;
  do clusterId = randomBytes(16).toString('base64url'); while (clusterId.startsWith('-'));
  runJavaTool(jars.libs, 'kafka.tools.StorageTool', ['format', '--standalone', '-t', clusterId, '-c', props, ...secure.formatArgs]);

  const logFile = join(logsDir, 'server.log');
  const out = openSync(logFile, 'w');
  const java = ['java', '-Xms512m', '-Xmx1g', '-XX:+UseG1GC', `-Dkafka.logs.dir=${logsDir}`,
    `-Dlog4j2.configurationFile=${log4j}`, '-cp', `${jars.libs}/*`, 'kafka.Kafka', props];
  // A small shell stands between us and the JVM: it forwards SIGTERM for a clean shutdown and, in
  // test runs, stops the broker when the test process disappears without running its teardown.
  const script = opts.stopWithPid
    ? `"$@" & j=$!; trap 'kill -TERM $j 2>/dev/null; wait $j; exit 0' TERM INT
       while kill -0 ${opts.stopWithPid} 2>/dev/null && kill -0 $j 2>/dev/null; do sleep 1; done
       kill -TERM $j 2>/dev/null; wait $j`
    : `"$@" & j=$!; trap 'kill -TERM $j 2>/dev/null; wait $j; exit 0' TERM INT; wait $j`;
  const child = spawn('bash', ['-c', script, 'kafka-broker', ...java], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  const broker: LocalBroker = { bootstrap: `127.0.0.1:${port}`, pgid: child.pid!, logFile, security: secure.info };

  let exited: number | string | null = null;
  child.on('exit', (code, signal) => { exited = signal ?? code; });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  while (Date.now() < deadline) {
    if (exited !== null) break;
    if (readFileSync(logFile, 'utf8').includes('Kafka Server started') && (await canConnect(port))) {
      for (const args of limitedUserAcls(broker.bootstrap)) runJavaTool(jars.tools, 'org.apache.kafka.tools.AclCommand', args);
      return broker;
    }
    await sleep(250);
  }
  await stopLocalBroker(broker);
  const why = exited !== null ? `the broker process exited (${exited})` : `it was not ready within ${(opts.readyTimeoutMs ?? 120_000) / 1000} s`;
  throw new Error(`kafkarx: Apache Kafka did not start: ${why}. Last lines of ${logFile}:\n${tail(readFileSync(logFile, 'utf8'), 40)}`);
}

/** SIGTERM (a clean shutdown), then SIGKILL for whatever is left after `graceMs`. */
export async function stopLocalBroker(broker: Pick<LocalBroker, 'pgid'>, graceMs = 30_000): Promise<void> {
  if (!signalGroup(broker.pgid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!signalGroup(broker.pgid, 0)) return;
    await sleep(100);
  }
  signalGroup(broker.pgid, 'SIGKILL');
}

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function serverProperties(port: number, controllerPort: number, dataDir: string, securePorts: readonly number[]): string {
  const secured = SECURE_LISTENER_NAMES.map((name, i) => `,${name}://127.0.0.1:${securePorts[i]}`).join('');
  return `process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${secured}
advertised.listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${secured}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,EXPIRED:SSL,WRONGHOST:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,REAUTH:SASL_PLAINTEXT
log.dirs=${dataDir}
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=33554432
`;
}

function brokerLogConfig(): string {
  return [
    'appender.out.type = Console',
    'appender.out.name = STDOUT',
    'appender.out.layout.type = PatternLayout',
    'appender.out.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.out.ref = STDOUT',
    // The request log and state changes would drown what matters when a start fails.
    'logger.request.name = kafka.request.logger',
    'logger.request.level = WARN',
    'logger.state.name = state.change.logger',
    'logger.state.level = WARN',
    '',
  ].join('\n');
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Whether 127.0.0.1:port accepts a TCP connection now (a broker opens its port once ready). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function brokerRunning(pgid: number): boolean {
  return existsSync(`/proc/${pgid}`) && signalGroup(pgid, 0);
}
