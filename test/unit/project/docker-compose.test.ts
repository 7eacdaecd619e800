import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface Service { image: string; ports: string[]; environment: Record<string, string | number> }
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = Object.entries(compose.services);

test('three KRaft nodes of apache/kafka 4.1.1, each broker and controller, with distinct ids', () => {
  expect(services).toHaveLength(3);
  const ids = services.map(([, s]) => Number(s.environment.KAFKA_NODE_ID));
  expect(new Set(ids)).toEqual(new Set([1, 2, 3]));
  for (const [, s] of services) {
    expect(s.image).toBe('apache/kafka:4.1.1');
    expect(s.environment.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(String(s.environment.KAFKA_CONTROLLER_QUORUM_VOTERS).split(',')).toHaveLength(3);
  }
});

test('each node advertises its own host port on 127.0.0.1, and publishes that port', () => {
  const external = services.map(([, s]) => {
    const advertised = String(s.environment.KAFKA_ADVERTISED_LISTENERS).split(',');
    const ext = advertised.find((l) => l.startsWith('EXTERNAL://'));
    expect(ext).toBeDefined();
    const hostPort = ext!.replace('EXTERNAL://', '');
    expect(s.ports).toContain(`${hostPort}:9092`);
    return hostPort;
  });
  expect(external.sort()).toEqual(['127.0.0.1:19092', '127.0.0.1:29092', '127.0.0.1:39092']);
});

test('replication settings keep acks=all writable with one broker down', () => {
  for (const [, s] of services) {
    const env = s.environment;
    expect(Number(env.KAFKA_DEFAULT_REPLICATION_FACTOR)).toBe(3);
    expect(Number(env.KAFKA_MIN_INSYNC_REPLICAS)).toBe(2);
    expect(Number(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR)).toBe(3);
    expect(Number(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR)).toBe(3);
    expect(Number(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR)).toBe(2);
  }
});
