// The serialize stage: every check a record goes through before it costs memory or I/O, and the
// rule that a bad record fails alone while the stream goes on.
import { from, map } from 'rxjs';
import { checkTopic, serialize, type SerializeOptions } from '../../../operators/serialize.ts';
import { InvalidRecordError, KafkaError, SerializationError } from '../../../src/producer/errors.ts';
import type { OutgoingRecord, ProducerRecord } from '../../../src/producer/record.ts';
import { json, string, type RawValue } from '../../../src/producer/serializers.ts';
import { ErrorCode } from '../../../src/protocol/errors.ts';
import { recordBatchSizeUpperBound } from '../../../src/record/batch-builder.ts';
import { RECORD_BATCH_OVERHEAD } from '../../../src/record/batch-format.ts';
import { testScheduler } from './support.ts';

/** Runs records through serialize synchronously and returns what came out. */
function run<K = RawValue, V = RawValue>(records: unknown[], options: SerializeOptions<K, V> = {}): OutgoingRecord[] {
  const out: OutgoingRecord[] = [];
  let completed = false;
  from(records as ProducerRecord<K, V>[]).pipe(serialize<K, V>({ now: () => 1_700_000_000_000, ...options })).subscribe({
    next: (r) => out.push(r),
    error: (e) => { throw e; },
    complete: () => (completed = true),
  });
  // A bad record must never end the stream.
  expect(completed).toBe(true);
  expect(out).toHaveLength(records.length);
  return out;
}

const one = (record: unknown, options: SerializeOptions<any, any> = {}) => run([record], options)[0];

describe('topic names (Kafka\'s Topic.validate)', () => {
  const legal = ['a', 'orders', 'a.b', 'a_b-c', '...', 'A9', 'x'.repeat(249)];
  const illegal: Array<[string, unknown, RegExp]> = [
    ['250 characters', 'x'.repeat(250), /250 characters, at most 249/],
    ['"."', '.', /cannot be "\." or "\.\."/],
    ['".."', '..', /cannot be "\." or "\.\."/],
    ['a space', 'a b', /only ASCII letters, digits/],
    ['a slash', 'a/b', /only ASCII letters, digits/],
    ['a non-ASCII letter', 'bestellungen-ä', /only ASCII letters, digits/],
    ['a colon', 'a:b', /only ASCII letters, digits/],
    ['a newline', 'a\n', /only ASCII letters, digits/],
    ['the empty string', '', /needs a topic name/],
    ['a number', 42, /needs a topic name/],
    ['undefined', undefined, /needs a topic name/],
  ];

  test.each(legal)('%s is legal', (topic) => {
    expect(checkTopic(topic)).toBeUndefined();
    const r = one({ topic, value: 'v' });
    expect(r.error).toBeNull();
    expect(r.topic).toBe(topic);
  });

  test.each(illegal)('%s is refused with INVALID_TOPIC_EXCEPTION', (_what, topic, message) => {
    const r = one({ topic, value: 'v', passthrough: 7 });
    expect(r.error).toBeInstanceOf(InvalidRecordError);
    expect((r.error as KafkaError).code).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(r.error!.message).toMatch(message);
    expect(r.passthrough).toBe(7);
    expect(r.reserved).toBe(0);
  });

  test('an illegal topic is refused every time, not only the first (names are cached once legal)', () => {
    const out = run([{ topic: 'ok', value: 'a' }, { topic: 'a b', value: 'b' }, { topic: 'ok', value: 'c' }, { topic: 'a b', value: 'd' }]);
    expect(out.map((r) => r.error === null)).toEqual([true, false, true, false]);
  });
});

describe('partitions', () => {
  test.each([0, 1, 2_147_483_647])('partition %i is kept', (partition) => {
    const r = one({ topic: 't', value: 'v', partition });
    expect(r.error).toBeNull();
    expect(r.partition).toBe(partition);
  });

  test('without a partition the record is left for the partitioner (-1)', () => {
    expect(one({ topic: 't', value: 'v' }).partition).toBe(-1);
  });

  test.each([-1, 1.5, NaN, Infinity, 2_147_483_648, '1', null])('partition %p is refused', (partition) => {
    const r = one({ topic: 't', value: 'v', partition });
    expect(r.error).toBeInstanceOf(InvalidRecordError);
    expect(r.error!.message).toContain('is not a partition number');
    expect(r.error!.message).toContain('"t"');
  });
});

describe('timestamps', () => {
  test('absent: the clock given as `now`', () => {
    expect(one({ topic: 't', value: 'v' }, { now: () => 123 }).timestamp).toBe(123);
  });

  test('a number or a Date is kept as ms since the epoch', () => {
    expect(one({ topic: 't', value: 'v', timestamp: 0 }).timestamp).toBe(0);
    expect(one({ topic: 't', value: 'v', timestamp: 1_600_000_000_123 }).timestamp).toBe(1_600_000_000_123);
    expect(one({ topic: 't', value: 'v', timestamp: new Date(Date.UTC(2024, 0, 2)) }).timestamp).toBe(Date.UTC(2024, 0, 2));
  });

  test.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['NaN', NaN],
    ['beyond 2^53', 2 ** 53],
    ['an invalid Date', new Date('not a date')],
    ['a string', '1600000000000'],
  ])('%s is refused', (_what, timestamp) => {
    const r = one({ topic: 't', value: 'v', timestamp });
    expect(r.error).toBeInstanceOf(InvalidRecordError);
    expect(r.error!.message).toContain('not a time in ms since the epoch');
  });
});

describe('headers', () => {
  const pairs = (r: OutgoingRecord) => r.headers.map((h) => [h.key, h.value === null ? null : Buffer.from(h.value).toString()]);

  test('as an object: strings as UTF-8, bytes as they are, null kept, an array repeats the key in order', () => {
    const r = one({ topic: 't', value: 'v', headers: { a: 'ä', b: Buffer.from('raw'), c: null, d: ['1', '2', null] } });
    expect(r.error).toBeNull();
    expect(pairs(r)).toEqual([['a', 'ä'], ['b', 'raw'], ['c', null], ['d', '1'], ['d', '2'], ['d', null]]);
  });

  test('as an array of pairs: order and repeated keys kept', () => {
    const r = one({ topic: 't', value: 'v', headers: [['x', '1'], ['y', null], ['x', new Uint8Array([0x32])]] });
    expect(pairs(r)).toEqual([['x', '1'], ['y', null], ['x', '2']]);
  });

  test('as a Map, or any iterable of pairs (a generator): in order', () => {
    const map = one({ topic: 't', value: 'v', headers: new Map<string, string | null>([['m', '1'], ['n', null]]) });
    expect(map.error).toBeNull();
    expect(pairs(map)).toEqual([['m', '1'], ['n', null]]);
    function* generated(): Generator<[string, string]> {
      yield ['g', 'a'];
      yield ['g', 'b'];
    }
    expect(pairs(one({ topic: 't', value: 'v', headers: generated() }))).toEqual([['g', 'a'], ['g', 'b']]);
  });

  test.each([
    ['a string', 'ab', 'got string'],
    ['a number', 42, 'got number'],
    ['null', null, 'got null'],
    ['bytes', Buffer.from('ab'), 'got bytes or a string'],
    ['a boxed string', new String('ab'), 'got bytes or a string'],
  ])('%s is refused with an InvalidRecordError naming the headers', (_what, headers, got) => {
    const r = one({ topic: 't', value: 'v', headers });
    expect(r.error).toBeInstanceOf(InvalidRecordError);
    expect(r.error!.message).toBe(`the headers of a record for topic "t" must be an object, a Map or an iterable of [key, value] pairs, ${got}`);
  });

  test.each([
    ['a number value in an object', { a: 1 }, /header "a" has a value of type number/],
    ['an object value', { a: { nested: true } }, /header "a" has a value of type object/],
    ['a number inside an array value', { a: ['ok', 2] }, /header "a" has a value of type number/],
    ['a pair that is not an array', ['a'], /header pairs must be/],
    ['a pair with a non-string key', [[1, 'v']], /header pairs must be/],
    ['a pair with a number value', [['k', 5]], /header "k" has a value of type number/],
  ])('%s fails the record with a SerializationError on the headers', (_what, headers, message) => {
    const r = one({ topic: 't', value: 'v', headers });
    expect(r.error).toBeInstanceOf(SerializationError);
    expect((r.error as SerializationError).field).toBe('header');
    expect(r.error!.message).toMatch(message);
  });
});

describe('serializers', () => {
  test('a throwing key serializer fails the record with a SerializationError naming topic and key', () => {
    const boom = new Error('no such customer');
    const r = one({ topic: 'orders', key: 'k', value: 'v' }, { key: () => { throw boom; } });
    expect(r.error).toBeInstanceOf(SerializationError);
    const e = r.error as SerializationError;
    expect(e.field).toBe('key');
    expect(e.message).toContain('key');
    expect(e.message).toContain('"orders"');
    expect(e.message).toContain('no such customer');
    expect(e.cause).toBe(boom);
  });

  test('a throwing value serializer fails the record with a SerializationError naming topic and value', () => {
    const r = one({ topic: 'orders', value: 1n }, { value: json() });
    expect(r.error).toBeInstanceOf(SerializationError);
    expect((r.error as SerializationError).field).toBe('value');
    expect(r.error!.message).toMatch(/cannot serialize the value of a record for topic "orders"/);
  });

  test('a serializer returning something other than bytes or null is a SerializationError', () => {
    const r = one({ topic: 't', value: 'v' }, { value: (() => 'text') as never });
    expect(r.error).toBeInstanceOf(SerializationError);
    expect(r.error!.message).toContain('returned string, not bytes');
  });

  test('the key serializer is not called for a record without key, which gets a null key', () => {
    let calls = 0;
    const r = one({ topic: 't', value: 'v' }, { key: () => { calls++; return Buffer.from('k'); } });
    expect(calls).toBe(0);
    expect(r.key).toBeNull();
  });

  test('serializers receive the topic', () => {
    const seen: string[] = [];
    one({ topic: 'the-topic', key: 'k', value: 'v' }, { key: (k: string, topic) => { seen.push(topic); return Buffer.from(k); }, value: string() });
    expect(seen).toEqual(['the-topic']);
  });

  test.each([
    ['an object value', { topic: 't', value: { a: 1 } }, 'value', /type Object/],
    ['a number value', { topic: 't', value: 5 }, 'value', /type number/],
    ['an array value', { topic: 't', value: [1] }, 'value', /type array/],
    ['a number key', { topic: 't', key: 5, value: 'v' }, 'key', /type number/],
    ['a boolean value', { topic: 't', value: true }, 'value', /type boolean/],
  ])('without serializers, %s is refused rather than guessed at', (_what, record, field, message) => {
    const r = one(record);
    expect(r.error).toBeInstanceOf(SerializationError);
    expect((r.error as SerializationError).field).toBe(field);
    expect(r.error!.message).toMatch(message);
    expect(r.error!.message).toContain('no serializer given');
  });

  test('without serializers, strings become UTF-8, bytes stay, null is null, a missing key is null', () => {
    const [a, b, c] = run([
      { topic: 't', key: 'ключ', value: 'wert' },
      { topic: 't', key: new Uint8Array([1, 2]), value: null },
      { topic: 't', key: undefined, value: null },
    ]);
    expect(Buffer.from(a.key!).toString()).toBe('ключ');
    expect(Buffer.from(a.value!).toString()).toBe('wert');
    expect([...b.key!]).toEqual([1, 2]);
    expect(b.value).toBeNull();
    expect([b.error, c.error, c.key, c.value]).toEqual([null, null, null, null]);
  });

  // Java has no undefined: a value left out or misspelt must not become a tombstone unasked.
  test.each([
    ['value: undefined', { topic: 't', value: undefined }],
    ['no value at all', { topic: 't', key: 'k' }],
    ['a misspelt value', { topic: 't', vaule: 'x' }],
  ])('%s fails with an InvalidRecordError naming the value, with or without a serializer', (_what, record) => {
    for (const options of [{}, { value: json() }]) {
      const r = run([record as ProducerRecord], options)[0];
      expect(r.error).toBeInstanceOf(InvalidRecordError);
      expect(r.error!.message).toBe('the value of a record for topic "t" is undefined: give a value, or null for a tombstone');
    }
  });
});

describe('records that are not records', () => {
  test.each([null, undefined, 42, 'text'])('%p fails with InvalidRecordError', (record) => {
    const r = one(record);
    expect(r.error).toBeInstanceOf(InvalidRecordError);
    expect(r.error!.message).toContain('a record must be an object');
  });
});

test('a good record carries its bytes, passthrough, source and the size the budget will count', () => {
  const source = { topic: 't', key: 'k', value: 'value', headers: { h: 'x' }, passthrough: { id: 1 } };
  const r = one(source);
  expect(r.error).toBeNull();
  expect(r.source).toBe(source);
  expect(r.passthrough).toBe(source.passthrough);
  expect(r.size).toBe(recordBatchSizeUpperBound(Buffer.from('k'), Buffer.from('value'), [{ key: 'h', value: Buffer.from('x') }]) - RECORD_BATCH_OVERHEAD);
  expect(r.reserved).toBe(0);
});

test('a failed record keeps its place in the stream, between good ones (marbles)', () => {
  testScheduler().run(({ cold, expectObservable }) => {
    const source = cold('a-b-c|', { a: { topic: 't', value: 'a' }, b: { topic: 't', value: 5 as never }, c: { topic: 't', value: 'c' } } as Record<string, ProducerRecord>);
    const out = source.pipe(serialize({ now: () => 0 }), map((r) => (r.error ? r.error.name : Buffer.from(r.value!).toString())));
    expectObservable(out).toBe('a-b-c|', { a: 'a', b: 'SerializationError', c: 'c' });
  });
});
