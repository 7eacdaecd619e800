import { ErrorCode, errorFromCode, errorInfo, KafkaError, UnsupportedVersionError } from '../../../src/protocol/errors.ts';

test('codes run without gaps from -1 to the last one of Kafka 4.1', () => {
  const codes = Object.values(ErrorCode).sort((a, b) => a - b);
  expect(codes[0]).toBe(-1);
  expect(codes[codes.length - 1]).toBe(133);
  expect(codes).toEqual(Array.from({ length: 135 }, (_, i) => i - 1));
});

test.each([
  ['NOT_LEADER_OR_FOLLOWER', 6, true, true],
  ['UNKNOWN_TOPIC_OR_PARTITION', 3, true, true],
  ['REQUEST_TIMED_OUT', 7, true, false],
  ['NOT_ENOUGH_REPLICAS', 19, true, false],
  ['CONCURRENT_TRANSACTIONS', 51, true, false],
  ['MESSAGE_TOO_LARGE', 10, false, false],
  ['BROKER_NOT_AVAILABLE', 8, false, false],
  ['TOPIC_AUTHORIZATION_FAILED', 29, false, false],
  ['PRODUCER_FENCED', 90, false, false],
  ['TRANSACTION_ABORTABLE', 120, false, false],
  ['OUT_OF_ORDER_SEQUENCE_NUMBER', 45, false, false],
  ['KAFKA_STORAGE_ERROR', 56, true, true],
  ['UNKNOWN_TOPIC_ID', 100, true, true],
  ['FENCED_LEADER_EPOCH', 74, true, true],
  ['UNKNOWN_LEADER_EPOCH', 75, true, false],
  ['SHARE_SESSION_LIMIT_REACHED', 133, true, false],
] as const)('%s is %d (retriable %s, stale metadata %s)', (name, code, retriable, invalidMetadata) => {
  expect(errorInfo(code)).toEqual({ code, name, retriable, invalidMetadata });
});

test('stale-metadata errors are all retriable', () => {
  for (const code of Object.values(ErrorCode)) {
    const info = errorInfo(code)!;
    if (info.invalidMetadata) expect({ name: info.name, retriable: info.retriable }).toEqual({ name: info.name, retriable: true });
  }
});

test('errorFromCode carries the code, its name and where it happened', () => {
  const e = errorFromCode(6, { topic: 'orders', partition: 3, message: 'leader moved' });
  expect(e).toBeInstanceOf(KafkaError);
  expect(e).toBeInstanceOf(Error);
  expect(e.name).toBe('NOT_LEADER_OR_FOLLOWER');
  expect([e.code, e.retriable, e.invalidMetadata, e.topic, e.partition]).toEqual([6, true, true, 'orders', 3]);
  expect(e.message).toBe('NOT_LEADER_OR_FOLLOWER (error code 6) on orders-3: leader moved');
});

test('a code newer than the table is an unknown, non-retriable error that keeps its number', () => {
  const e = errorFromCode(9999);
  expect([e.name, e.code, e.retriable]).toEqual(['UNKNOWN_SERVER_ERROR', 9999, false]);
});

test('NONE is not an error', () => {
  expect(() => errorFromCode(0)).toThrow(TypeError);
});

test('UnsupportedVersionError is the UNSUPPORTED_VERSION Kafka error', () => {
  const e = new UnsupportedVersionError('x');
  expect(e).toBeInstanceOf(KafkaError);
  expect([e.name, e.code, e.retriable]).toEqual(['UNSUPPORTED_VERSION', 35, false]);
});
