import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerEngineAnswers, startDockerBroker } from './docker.ts';
import { ensureKafkaJars } from './jars.ts';
import { brokerRunning, startLocalBroker, stopLocalBroker } from './local.ts';
import { workDir } from './paths.ts';
import type { SecureBroker } from './security.ts';

export interface TestBroker {
  bootstrap: string;
  /** Where it came from: KAFKA_BROKERS, a container, or the local JVM. */
  kind: 'external' | 'docker' | 'jvm';
  logFile?: string;
  pgid?: number;
  /** The secured listeners: only the local JVM broker has them. */
  security?: SecureBroker;
  stop(): Promise<void>;
}

/**
 * The broker for a test run, in order of preference: the cluster named by KAFKA_BROKERS as it is;
 * apache/kafka in a container when a Docker engine answers; else Kafka on the local JVM.
 * Kafka's jars are fetched in every case, since the reference tools (ConsoleConsumer, ...) need them.
 */
export async function startTestBroker(opts: { dir: string; stopWithPid?: number; log?: (line: string) => void }): Promise<TestBroker> {
  const log = opts.log ?? (() => {});
  const jars = ensureKafkaJars(log);
  const external = process.env.KAFKA_BROKERS?.trim();
  if (external) return { bootstrap: external, kind: 'external', stop: async () => {} };
  if (process.env.KAFKARX_NO_DOCKER !== '1' && dockerEngineAnswers()) {
    const d = await startDockerBroker();
    return { bootstrap: d.bootstrap, kind: 'docker', stop: d.stop };
  }
  mkdirSync(opts.dir, { recursive: true });
  const b = await startLocalBroker({ jars, dir: opts.dir, stopWithPid: opts.stopWithPid });
  return { bootstrap: b.bootstrap, kind: 'jvm', logFile: b.logFile, pgid: b.pgid, security: b.security, stop: () => stopLocalBroker(b) };
}

export const testRunDir = () => join(workDir(), 'test-run');
export const devBrokerDir = () => join(workDir(), 'dev');

/** What `npm run kafka:start` records about the broker it left running. */
export interface DevBroker {
  bootstrap: string;
  pgid: number;
  logFile: string;
}

export const devBrokerStateFile = () => join(devBrokerDir(), 'state.json');

/** The broker `npm run kafka:start` left running, if it still runs. */
export function runningDevBroker(): DevBroker | undefined {
  const file = devBrokerStateFile();
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as DevBroker;
  return brokerRunning(state.pgid) ? state : undefined;
}
