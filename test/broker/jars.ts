import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, KAFKA_VERSION, projectRoot } from './paths.ts';

export interface KafkaJars {
  /** The broker and its runtime dependencies (kafka.Kafka, StorageTool). */
  libs: string;
  /** kafka-tools and its dependencies (ConsoleConsumer, ConsoleProducer, TopicCommand, ...). */
  tools: string;
}

const SETS = [
  { key: 'libs', env: 'KAFKARX_KAFKA_LIBS', pom: 'kafka-pom.xml', probe: `kafka_2.13-${KAFKA_VERSION}.jar`, what: `org.apache.kafka:kafka_2.13:${KAFKA_VERSION}` },
  { key: 'tools', env: 'KAFKARX_KAFKA_TOOLS', pom: 'tools-pom.xml', probe: `kafka-tools-${KAFKA_VERSION}.jar`, what: `org.apache.kafka:kafka-tools:${KAFKA_VERSION}` },
] as const;

/**
 * Returns folders holding Apache Kafka's jars, fetching them from Maven Central with `mvn` into the
 * cache on first use. Folders named by KAFKARX_KAFKA_LIBS / KAFKARX_KAFKA_TOOLS win over the cache.
 */
export function ensureKafkaJars(log: (line: string) => void = () => {}): KafkaJars {
  const found: Partial<Record<'libs' | 'tools', string>> = {};
  for (const set of SETS) {
    const given = process.env[set.env];
    if (given) {
      if (!existsSync(join(given, set.probe))) {
        throw new Error(`kafkarx: ${set.env}=${given} holds no ${set.probe}; point it at a folder with ${set.what} and its dependencies`);
      }
      found[set.key] = given;
      continue;
    }
    const dir = join(cacheDir(), `kafka-${KAFKA_VERSION}`, set.key);
    if (!existsSync(join(dir, '.complete'))) fetchJars(set, dir, log);
    found[set.key] = dir;
  }
  return found as KafkaJars;
}

function fetchJars(set: (typeof SETS)[number], dir: string, log: (line: string) => void): void {
  log(`kafkarx: fetching ${set.what} and its dependencies from Maven Central into ${dir}`);
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const mvn = spawnSync(
    'mvn',
    ['-B', '-q', '-f', join(projectRoot(), 'test', 'broker', set.pom),
      'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
      '-DincludeScope=runtime', `-DoutputDirectory=${staging}`],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000, env: process.env },
  );
  const jars = existsSync(staging) ? readdirSync(staging).filter((f) => f.endsWith('.jar')) : [];
  if (mvn.status !== 0 || !jars.includes(set.probe)) {
    rmSync(staging, { recursive: true, force: true });
    const why = mvn.error
      ? `mvn could not run (${mvn.error.message})`
      : `mvn exited with ${mvn.status ?? mvn.signal}:\n${tail(`${mvn.stdout}\n${mvn.stderr}`, 15)}`;
    throw new Error(
      `kafkarx: could not fetch ${set.what} (and its runtime dependencies) from Maven Central: ${why}\n` +
      `Supply the jars yourself: put them in ${dir} (plus an empty file named .complete), or set ` +
      `${set.env} to a folder that holds them, or set KAFKA_BROKERS to an existing cluster.`,
    );
  }
  writeFileSync(join(staging, '.complete'), `${jars.length} jars\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '..'), { recursive: true });
  renameSync(staging, dir);
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
