// Three Apache Kafka nodes on 127.0.0.1 (KRaft, each broker and controller, a static quorum), for
// the failover tests: started once per run by failover-setup.ts, faulted by the tests in the jest
// workers. Everything the workers need (ports, folders, process ids) is in a state file, since a
// restarted node's process belongs to the worker that restarted it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerConnection } from '../../src/network/broker.ts';
import { Apis } from '../../src/network/apis.ts';
import { ensureKafkaJars, tail } from './jars.ts';
import { runJavaToolAsync } from './java.ts';
import { canConnect, freePorts, sleep } from './local.ts';
import { workDir } from './paths.ts';

export interface ClusterNode {
  id: number;
  port: number;
  controllerPort: number;
  /** Holds data/, server.properties and server.log; data survives restarts. */
  dir: string;
  logFile: string;
  /** The JVM's pid (signals for faults go here) and the watchdog shell's, which leads the process group. */
  javaPid: number;
  pgid: number;
}

export interface ClusterState {
  /** The test run's process: every node stops when it dies. */
  ownerPid: number;
  libs: string;
  nodes: ClusterNode[];
}

/**
 * The only timeout lowered from Kafka's defaults: the ConsoleConsumer that judges each test joins
 * its group at once instead of after 3 s. Everything a producer sees of a fault keeps Kafka's
 * defaults, as a user's cluster would: a killed broker is fenced after broker.session.timeout.ms
 * (9 s), a frozen follower leaves the ISR after replica.lag.time.max.ms (30 s).
 */
const SHORTENED = {
  'group.initial.rebalance.delay.ms': 0,
};

export const clusterStateFile = () => process.env.KAFKARX_CLUSTER_STATE ?? join(workDir(), 'cluster', 'state.json');

export function readClusterState(): ClusterState {
  return JSON.parse(readFileSync(clusterStateFile(), 'utf8')) as ClusterState;
}

function writeClusterState(state: ClusterState): void {
  writeFileSync(clusterStateFile(), JSON.stringify(state, null, 2));
}

/** Formats three fresh nodes with one cluster id and starts them in parallel; resolves when all serve. */
export async function startCluster(opts: { ownerPid: number; log?: (line: string) => void }): Promise<ClusterState> {
  const jars = ensureKafkaJars(opts.log);
  const base = join(workDir(), 'cluster');
  mkdirSync(base, { recursive: true });
  const ports = await freePorts(6);
  const nodes: ClusterNode[] = [1, 2, 3].map((id, i) => {
    const dir = join(base, `node-${id}`);
    return { id, port: ports[2 * i], controllerPort: ports[2 * i + 1], dir, logFile: join(dir, 'server.log'), javaPid: 0, pgid: 0 };
  });
  const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  let clusterId: string;
  do clusterId = randomBytes(16).toString('base64url'); while (clusterId.startsWith('-'));
  await Promise.all(nodes.map(async (n) => {
    rmSync(n.dir, { recursive: true, force: true });
    mkdirSync(join(n.dir, 'data'), { recursive: true });
    writeFileSync(join(n.dir, 'server.properties'), nodeProperties(n, voters));
    writeFileSync(join(n.dir, 'log4j2.properties'), brokerLogConfig());
    // Without --standalone/--initial-controllers: the voters are the static controller.quorum.voters.
    await runJavaToolAsync(jars.libs, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', join(n.dir, 'server.properties')]);
  }));
  const state: ClusterState = { ownerPid: opts.ownerPid, libs: jars.libs, nodes };
  for (const n of nodes) await spawnNode(state, n, true);
  writeClusterState(state);
  try {
    await Promise.all(nodes.map((n) => waitUntilServing(n, 0, 180_000)));
  } catch (e) {
    await stopCluster(state);
    throw e;
  }
  return state;
}

export const bootstrapOf = (state: ClusterState, ids = state.nodes.map((n) => n.id)) =>
  ids.map((id) => `127.0.0.1:${node(state, id).port}`).join(',');

function node(state: ClusterState, id: number): ClusterNode {
  const n = state.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id} in the test cluster`);
  return n;
}

/**
 * Starts a node's JVM behind a small shell that records the JVM's pid and stops it (SIGCONT first,
 * in case a test froze it) when the test run's process disappears without its teardown.
 */
async function spawnNode(state: ClusterState, n: ClusterNode, fresh: boolean): Promise<void> {
  const out = openSync(n.logFile, fresh ? 'w' : 'a');
  const pidFile = join(n.dir, 'java.pid');
  rmSync(pidFile, { force: true });
  const java = ['java', '-Xms256m', '-Xmx512m', '-XX:+UseG1GC', `-Dkafka.logs.dir=${n.dir}`,
    `-Dlog4j2.configurationFile=${join(n.dir, 'log4j2.properties')}`, '-cp', `${state.libs}/*`, 'kafka.Kafka', join(n.dir, 'server.properties')];
  const script = `"$@" & j=$!; echo $j > '${pidFile}'
    stop() { kill -CONT $j 2>/dev/null; kill -TERM $j 2>/dev/null; (sleep 30; kill -KILL $j 2>/dev/null) & wait $j; exit 0; }
    trap stop TERM INT
    while kill -0 ${state.ownerPid} 2>/dev/null && kill -0 $j 2>/dev/null; do sleep 1; done
    kill -0 $j 2>/dev/null && stop`;
  const child = spawn('bash', ['-c', script, `kafka-node-${n.id}`, ...java], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  n.pgid = child.pid!;
  const deadline = Date.now() + 10_000;
  while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
    if (Date.now() > deadline) throw new Error(`node ${n.id}: its JVM did not start (see ${n.logFile})`);
    await sleep(20);
  }
  n.javaPid = Number(readFileSync(pidFile, 'utf8').trim());
}

/** Waits for "Kafka Server started" after `fromByte` of the node's log and an open client port. */
async function waitUntilServing(n: ClusterNode, fromByte: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(n.javaPid)) break;
    const log = readFileSync(n.logFile).subarray(fromByte).toString();
    if (log.includes('Kafka Server started') && (await canConnect(n.port))) return;
    await sleep(200);
  }
  const why = alive(n.javaPid) ? `not ready within ${timeoutMs / 1000} s` : 'its JVM exited';
  throw new Error(`kafkarx: test cluster node ${n.id} did not start: ${why}. Last lines of ${n.logFile}:\n${tail(readFileSync(n.logFile).subarray(fromByte).toString(), 40)}`);
}

/** kill -9: a crash. */
export function killNode(state: ClusterState, id: number): void {
  signal(node(state, id).javaPid, 'SIGKILL');
}

/** SIGTERM: a clean (controlled) shutdown; resolves once the JVM has exited. */
export async function terminateNode(state: ClusterState, id: number, timeoutMs = 60_000): Promise<void> {
  const n = node(state, id);
  signal(n.javaPid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(n.javaPid)) {
    if (Date.now() > deadline) throw new Error(`node ${id} did not shut down within ${timeoutMs / 1000} s of SIGTERM`);
    await sleep(100);
  }
}

/** SIGSTOP: the node is frozen, its sockets stay open and unanswered. */
export function freezeNode(state: ClusterState, id: number): void {
  signal(node(state, id).javaPid, 'SIGSTOP');
}

export function thawNode(state: ClusterState, id: number): void {
  signal(node(state, id).javaPid, 'SIGCONT');
}

/** Starts a stopped node again with its id and data; resolves when it serves clients. */
export async function restartNode(state: ClusterState, id: number, timeoutMs = 120_000): Promise<void> {
  const n = node(state, id);
  const deadline = Date.now() + 10_000;
  while (alive(n.javaPid)) {
    if (Date.now() > deadline) throw new Error(`node ${id} is still running: stop it before restarting it`);
    await sleep(50);
  }
  const from = existsSync(n.logFile) ? statSync(n.logFile).size : 0;
  await spawnNode(state, n, false);
  writeClusterState(state);
  await waitUntilServing(n, from, timeoutMs);
}

export function nodeRunning(state: ClusterState, id: number): boolean {
  return alive(node(state, id).javaPid);
}

/** Stops every node (SIGCONT first for a frozen one), SIGKILL after `graceMs`. */
export async function stopCluster(state: ClusterState, graceMs = 30_000): Promise<void> {
  for (const n of state.nodes) {
    signal(n.javaPid, 'SIGCONT');
    signal(n.javaPid, 'SIGTERM');
  }
  const deadline = Date.now() + graceMs;
  while (state.nodes.some((n) => alive(n.javaPid)) && Date.now() < deadline) await sleep(100);
  for (const n of state.nodes) {
    signal(n.javaPid, 'SIGKILL');
    try {
      process.kill(-n.pgid, 'SIGKILL');
    } catch {
      // the watchdog is gone already
    }
  }
}

export interface PartitionState {
  partition: number;
  leader: number;
  isr: number[];
}

/**
 * Asks each running (not frozen) node in turn, over a connection of our own, until one gives an
 * answer; `ask` throws when a node's answer will not do.
 */
async function askRunningNode<T>(state: ClusterState, what: string, ask: (conn: BrokerConnection, nodeId: number) => Promise<T>): Promise<T> {
  let last: Error | undefined;
  for (const n of state.nodes) {
    if (!alive(n.javaPid) || frozen(n.javaPid)) continue;
    let conn: BrokerConnection | undefined;
    try {
      conn = await BrokerConnection.open(n.id, { host: '127.0.0.1', port: n.port, clientId: 'kafkarx-test-cluster', connectTimeoutMs: 3000, requestTimeoutMs: 5000, maxInFlight: 1 });
      return await ask(conn, n.id);
    } catch (e) {
      last = e as Error;
    } finally {
      await conn?.close();
    }
  }
  throw new Error(`no running node ${what}: ${last?.message}`);
}

/** The topic's partitions as a running node answers our own Metadata request. */
export function describeTopic(state: ClusterState, topic: string): Promise<PartitionState[]> {
  return askRunningNode(state, `answered Metadata for ${topic}`, async (conn, nodeId) => {
    const res = await conn.call(Apis.metadata, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const t = res.topics.find((x) => x.name === topic);
    if (!t || t.errorCode !== 0) throw new Error(`node ${nodeId} has no metadata for ${topic} (error ${t?.errorCode})`);
    return t.partitions.map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, isr: [...p.isrNodes] })).sort((a, b) => a.partition - b.partition);
  });
}

/** The node coordinating `transactionalId`, as a running node answers FindCoordinator. */
export function transactionCoordinator(state: ClusterState, transactionalId: string): Promise<number> {
  return askRunningNode(state, `named the coordinator of ${transactionalId}`, async (conn, nodeId) => {
    const res = await conn.call(Apis.findCoordinator, { keyType: 1, coordinatorKeys: [transactionalId] });
    const c = res.coordinators[0];
    if (c?.errorCode !== 0) throw new Error(`node ${nodeId} answered FindCoordinator with error ${c?.errorCode}`);
    return c.nodeId;
  });
}

/** The node leading the most partitions of `topic` (the one whose loss hurts most). */
export async function busiestLeader(state: ClusterState, topic: string): Promise<number> {
  const counts = new Map<number, number>();
  for (const p of await describeTopic(state, topic)) if (p.leader >= 0) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0][0];
}

/** Waits until every partition of `topics` has all three nodes in its ISR. */
export async function waitForFullIsr(state: ClusterState, topics: string[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lagging = '';
  while (Date.now() < deadline) {
    lagging = '';
    for (const topic of topics) {
      try {
        for (const p of await describeTopic(state, topic)) {
          if (p.isr.length < state.nodes.length || p.leader < 0) lagging += ` ${topic}-${p.partition} (leader ${p.leader}, isr ${p.isr})`;
        }
      } catch (e) {
        lagging += ` ${(e as Error).message}`;
      }
    }
    if (lagging === '') return;
    await sleep(500);
  }
  throw new Error(`the ISR did not recover within ${timeoutMs / 1000} s:${lagging}`);
}

function nodeProperties(n: ClusterNode, voters: string): string {
  const props: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': n.id,
    'controller.quorum.voters': voters,
    'listeners': `PLAINTEXT://127.0.0.1:${n.port},CONTROLLER://127.0.0.1:${n.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${n.port},CONTROLLER://127.0.0.1:${n.controllerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': join(n.dir, 'data'),
    'num.partitions': 6,
    'default.replication.factor': 3,
    'min.insync.replicas': 2,
    'auto.create.topics.enable': 'true',
    'offsets.topic.replication.factor': 3,
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.replication.factor': 3,
    'transaction.state.log.min.isr': 2,
    'transaction.state.log.num.partitions': 5,
    'share.coordinator.state.topic.replication.factor': 3,
    'share.coordinator.state.topic.min.isr': 2,
    'log.cleaner.dedupe.buffer.size': 16 * 1024 * 1024,
    ...SHORTENED,
  };
  return Object.entries(props).map(([k, v]) => `${k}=${v}\n`).join('');
}

function brokerLogConfig(): string {
  return [
    'appender.out.type = Console',
    'appender.out.name = STDOUT',
    'appender.out.layout.type = PatternLayout',
    'appender.out.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.out.ref = STDOUT',
    'logger.request.name = kafka.request.logger',
    'logger.request.level = WARN',
    '',
  ].join('\n');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed JVM whose parent shell has not reaped it yet is a zombie: dead for our purposes.
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Stopped by SIGSTOP: it would accept a connection and never answer. */
function frozen(pid: number): boolean {
  try {
    return /^\S+ \(.*\) T/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

