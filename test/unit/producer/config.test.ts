// resolveConfig: defaults are the Java producer's (Kafka 4), and every mistake fails at start-up
// with a ConfigError that names the setting.
import { resolveConfig, type ProducerConfig } from '../../../src/producer/config.ts';
import { ConfigError } from '../../../src/producer/errors.ts';

const base = { brokers: ['127.0.0.1:9092'] };
const resolve = (extra: Record<string, unknown>) => resolveConfig({ ...base, ...extra } as ProducerConfig);

/** The error thrown, so its class and message can both be checked. */
function errorOf(extra: Record<string, unknown>): Error {
  try {
    resolve(extra);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`no error for ${JSON.stringify(extra)}`);
}

test('defaults equal the Kafka 4 Java producer\'s', () => {
  const c = resolveConfig(base);
  // ProducerConfig in kafka-clients 4.x: acks=all (-1), batch.size, linger.ms (5 since KIP-1030),
  // buffer.memory, max.block.ms, max.request.size, request.timeout.ms, delivery.timeout.ms,
  // retry.backoff.ms, retry.backoff.max.ms, max.in.flight.requests.per.connection, metadata.max.age.ms,
  // socket.connection.setup.timeout.ms, reconnect.backoff.ms, reconnect.backoff.max.ms.
  expect({
    acks: c.acks, batchBytes: c.batchBytes, lingerMs: c.lingerMs, bufferMemory: c.bufferMemory, maxBlockMs: c.maxBlockMs,
    maxRequestSize: c.maxRequestSize, requestTimeoutMs: c.requestTimeoutMs, deliveryTimeoutMs: c.deliveryTimeoutMs,
    retryBackoffMs: c.retryBackoffMs, retryBackoffMaxMs: c.retryBackoffMaxMs, maxInFlight: c.maxInFlight,
    metadataMaxAgeMs: c.metadataMaxAgeMs, connectTimeoutMs: c.connectTimeoutMs, reconnectBackoffMs: c.reconnectBackoffMs,
    reconnectBackoffMaxMs: c.reconnectBackoffMaxMs,
  }).toEqual({
    acks: -1, batchBytes: 16384, lingerMs: 5, bufferMemory: 33554432, maxBlockMs: 60000,
    maxRequestSize: 1048576, requestTimeoutMs: 30000, deliveryTimeoutMs: 120000,
    retryBackoffMs: 100, retryBackoffMaxMs: 1000, maxInFlight: 5,
    metadataMaxAgeMs: 300000, connectTimeoutMs: 10000, reconnectBackoffMs: 50,
    reconnectBackoffMaxMs: 1000,
  });
  expect(c.compression).toBe('none');
  expect(c.compressionLevel).toBeUndefined();
  expect(c.partitioner).toBe('default');
  expect(c.tls).toBe(false);
  expect(c.bootstrap).toEqual([{ host: '127.0.0.1', port: 9092 }]);
});

test('given settings win over defaults', () => {
  const c = resolve({ lingerMs: 0, batchBytes: 1, maxBlockMs: 0, acks: 1, clientId: 'me', compression: 'zstd', compressionLevel: 7 });
  expect([c.lingerMs, c.batchBytes, c.maxBlockMs, c.acks, c.clientId, c.compression, c.compressionLevel]).toEqual([0, 1, 0, 1, 'me', 'zstd', 7]);
});

test.each([['all', -1], [-1, -1], [1, 1], [0, 0]])('acks %p → %i', (acks, expected) => {
  expect(resolve({ acks }).acks).toBe(expected);
});

test.each([2, -2, '1', 'ALL', true, {}])('acks %p is refused, naming acks', (acks) => {
  const e = errorOf({ acks });
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.message).toMatch(/^acks: /);
});

test('an unknown setting is refused by name (catches typos such as lingerMS)', () => {
  const e = errorOf({ lingerMS: 10 });
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.message).toContain('"lingerMS"');
});

const numeric = ['batchBytes', 'lingerMs', 'bufferMemory', 'maxBlockMs', 'maxRequestSize', 'requestTimeoutMs', 'deliveryTimeoutMs',
  'retryBackoffMs', 'retryBackoffMaxMs', 'maxInFlight', 'metadataMaxAgeMs', 'connectTimeoutMs', 'reconnectBackoffMs', 'reconnectBackoffMaxMs'];

describe.each(numeric)('%s', (key) => {
  test.each([-1, 1.5, NaN, Infinity, '100', null])('%p is refused with a ConfigError naming the setting', (value) => {
    const e = errorOf({ [key]: value });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message.startsWith(`${key}: `)).toBe(true);
  });
});

test.each(['batchBytes', 'maxInFlight', 'requestTimeoutMs', 'maxRequestSize', 'bufferMemory', 'connectTimeoutMs'])('%s must be at least 1', (key) => {
  expect(() => resolve({ [key]: 0 })).toThrow(new RegExp(`^${key}: expected an integer ≥ 1, got 0`));
});

test.each(['lingerMs', 'maxBlockMs', 'retryBackoffMs'])('%s may be 0', (key) => {
  expect(resolve({ [key]: 0 })[key as 'lingerMs']).toBe(0);
});

test('clientId must be a string', () => {
  expect(() => resolve({ clientId: 5 })).toThrow(/^clientId: expected a string/);
});

test.each([[undefined], [[]], [['localhost']], [['host:0']], [['host:65536']], [['host:port']], [[42]]])('brokers %p is refused', (brokers) => {
  const e = errorOf({ brokers });
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.message).toMatch(/^brokers: /);
});

test('brokers accept host names, IPv4 and bracketed IPv6', () => {
  expect(resolve({ brokers: ['kafka-1.example:9092', '10.0.0.1:19092', '[::1]:9093'] }).bootstrap).toEqual([
    { host: 'kafka-1.example', port: 9092 }, { host: '10.0.0.1', port: 19092 }, { host: '::1', port: 9093 },
  ]);
});

test.each(['brotli', 'GZIP', '', 'lz4 '])('compression %p is refused, naming compression', (compression) => {
  const e = errorOf({ compression });
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.message).toMatch(/compression/);
});

test.each([
  ['gzip', 10], ['gzip', 0], ['lz4', 18], ['lz4', 0], ['zstd', 23], ['zstd', -131073], ['zstd', 1.5], ['snappy', 1], ['none', 1],
])('compression %s with level %p is refused', (compression, compressionLevel) => {
  const e = errorOf({ compression, compressionLevel });
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.message).toContain(`${compressionLevel}`);
  expect(e.message).toContain(compression);
  expect(e.message).toMatch(/level/);
});

test.each([['gzip', -1], ['gzip', 9], ['lz4', 17], ['zstd', -131072], ['zstd', 22]])('compression %s accepts level %p (Kafka\'s ranges)', (compression, compressionLevel) => {
  expect(resolve({ compression, compressionLevel }).compressionLevel).toBe(compressionLevel);
});

test.each(['sticky', 'random', ''])('partitioner %p is refused', (partitioner) => {
  expect(() => resolve({ partitioner })).toThrow(/^partitioner: /);
});

test('a partitioner function is kept', () => {
  const fn = () => 0;
  expect(resolve({ partitioner: fn }).partitioner).toBe(fn);
});

test('deliveryTimeoutMs below lingerMs + requestTimeoutMs is refused, naming deliveryTimeoutMs', () => {
  const e = errorOf({ deliveryTimeoutMs: 30_004, lingerMs: 5, requestTimeoutMs: 30_000 });
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.message).toMatch(/^deliveryTimeoutMs \(30004\) must be at least lingerMs \+ requestTimeoutMs \(30005\)/);
  // Exactly the sum is allowed.
  expect(resolve({ deliveryTimeoutMs: 30_005, lingerMs: 5, requestTimeoutMs: 30_000 }).deliveryTimeoutMs).toBe(30_005);
});

// Java's KafkaProducer.configureDeliveryTimeout throws only when delivery.timeout.ms was set
// explicitly; left at its default, it is raised to linger.ms + request.timeout.ms.
test('a default deliveryTimeoutMs is raised to lingerMs + requestTimeoutMs instead of failing (as Java)', () => {
  expect(resolve({ requestTimeoutMs: 200_000 }).deliveryTimeoutMs).toBe(200_005);
  expect(resolve({ lingerMs: 100_000 }).deliveryTimeoutMs).toBe(130_000);
});

test('retryBackoffMaxMs below retryBackoffMs is raised to it (as Java)', () => {
  expect(resolve({ retryBackoffMs: 2000, retryBackoffMaxMs: 500 }).retryBackoffMaxMs).toBe(2000);
});

test('the config object given is not modified', () => {
  const given = { brokers: ['127.0.0.1:9092'], lingerMs: 7 };
  const copy = JSON.parse(JSON.stringify(given));
  resolveConfig(given);
  expect(given).toEqual(copy);
});
