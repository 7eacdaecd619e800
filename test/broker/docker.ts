import { spawnSync } from 'node:child_process';
import { freePorts } from './local.ts';
import { KAFKA_VERSION } from './paths.ts';

export interface DockerBroker {
  bootstrap: string;
  stop(): Promise<void>;
}

/** True when a container engine answers (not merely a docker client on PATH). */
export function dockerEngineAnswers(): boolean {
  const res = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 15_000 });
  return res.status === 0 && res.stdout.trim().length > 0;
}

/** One KRaft node of the official apache/kafka image, through testcontainers. */
export async function startDockerBroker(): Promise<DockerBroker> {
  const { GenericContainer, Wait } = await import('testcontainers');
  // The advertised listener must carry the host port, so it is chosen before the container starts.
  const [port] = await freePorts(1);
  const container = await new GenericContainer(`apache/kafka:${KAFKA_VERSION}`)
    .withExposedPorts({ container: 9092, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_NUM_PARTITIONS: '1',
    })
    .withWaitStrategy(Wait.forLogMessage('Kafka Server started'))
    .withStartupTimeout(120_000)
    .start();
  return { bootstrap: `127.0.0.1:${port}`, stop: async () => { await container.stop(); } };
}
