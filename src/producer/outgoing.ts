import type { RecordHeader } from '../record/batch-builder.ts';
import { recordSizeUpperBound } from '../record/batch-builder.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { InvalidRecordError, SerializationError } from './errors.ts';
import { OutgoingRecord, type Headers, type ProducerRecord } from './record.ts';
import type { Serializer } from './serializers.ts';

/** Adds headers to a serialized record: the trace context, with `tracing: { propagate: true }`. */
export type HeaderInjector = (topic: string, headers: readonly RecordHeader[]) => readonly RecordHeader[];

/**
 * One record checked and turned into bytes, or failed with the error that names what is wrong.
 * The serialize operator and `producer.send()` both use it, so they accept and refuse the same.
 * `legal` caches topic names already checked; `passthrough` replaces the record's own (send() carries
 * its promise there).
 */
export function serializeRecord<K, V, P>(record: ProducerRecord<K, V, P>, keySerializer: Serializer<K>, valueSerializer: Serializer<V>, now: () => number, legal: Set<string>, inject?: HeaderInjector, passthrough: P | undefined = record?.passthrough): OutgoingRecord<P> {
  if (record === null || typeof record !== 'object') {
    return OutgoingRecord.failed(record, String(record), new InvalidRecordError(`a record must be an object with topic and value, got ${record === null ? 'null' : typeof record}`));
  }
  const topic = record.topic;
  if (!legal.has(topic)) {
    const topicProblem = checkTopic(topic);
    if (topicProblem) return OutgoingRecord.failed(record, String(topic), new InvalidRecordError(topicProblem, { topic: String(topic) }, ErrorCode.INVALID_TOPIC_EXCEPTION), record.passthrough);
    if (legal.size < 10_000) legal.add(topic);
  }
  const partition = record.partition ?? -1;
  if (record.partition !== undefined && (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff)) {
    return OutgoingRecord.failed(record, topic, new InvalidRecordError(`partition ${String(record.partition)} for topic ${JSON.stringify(topic)} is not a partition number (an integer ≥ 0)`, { topic }), record.passthrough);
  }
  let timestamp: number;
  if (record.timestamp === undefined) timestamp = now();
  else {
    timestamp = record.timestamp instanceof Date ? record.timestamp.getTime() : record.timestamp;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      return OutgoingRecord.failed(record, topic, new InvalidRecordError(`timestamp ${String(record.timestamp)} of a record for topic ${JSON.stringify(topic)} is not a time in ms since the epoch`, { topic }), record.passthrough);
    }
  }
  // Java has no undefined: a value left out (or misspelt) must not become a tombstone unasked.
  if (record.value === undefined) {
    return OutgoingRecord.failed(record, topic, new InvalidRecordError(`the value of a record for topic ${JSON.stringify(topic)} is undefined: give a value, or null for a tombstone`, { topic }), record.passthrough);
  }
  const headerProblem = record.headers === undefined ? undefined : checkHeaders(record.headers);
  if (headerProblem) return OutgoingRecord.failed(record, topic, new InvalidRecordError(`the headers of a record for topic ${JSON.stringify(topic)} ${headerProblem}`, { topic }), record.passthrough);
  let key: Uint8Array | null;
  let value: Uint8Array | null;
  let headers: readonly RecordHeader[];
  try {
    key = record.key === undefined ? null : bytesOf(keySerializer(record.key, topic), 'key');
  } catch (e) {
    return OutgoingRecord.failed(record, topic, new SerializationError({ topic }, 'key', (e as Error).message, { cause: e }), record.passthrough);
  }
  try {
    value = bytesOf(valueSerializer(record.value, topic), 'value');
  } catch (e) {
    return OutgoingRecord.failed(record, topic, new SerializationError({ topic }, 'value', (e as Error).message, { cause: e }), record.passthrough);
  }
  try {
    headers = record.headers === undefined ? NO_HEADERS : toHeaders(record.headers);
  } catch (e) {
    return OutgoingRecord.failed(record, topic, new SerializationError({ topic }, 'header', (e as Error).message, { cause: e }), record.passthrough);
  }
  if (inject) headers = inject(topic, headers);
  const size = recordSizeUpperBound(key, value, headers);
  return new OutgoingRecord(topic, partition, key, value, headers, timestamp, passthrough, record, size);
}

const NO_HEADERS: readonly RecordHeader[] = [];
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]+$/;

/** Kafka's rules for topic names (Topic.validate); undefined when the name is legal. */
export function checkTopic(topic: unknown): string | undefined {
  if (typeof topic !== 'string' || topic.length === 0) return `a record needs a topic name, got ${topic === '' ? 'an empty string' : String(topic)}`;
  if (topic === '.' || topic === '..') return `topic name ${JSON.stringify(topic)} is illegal: it cannot be "." or ".."`;
  if (topic.length > 249) return `topic name ${JSON.stringify(topic.slice(0, 40) + '…')} is illegal: it has ${topic.length} characters, at most 249 are allowed`;
  if (!LEGAL_TOPIC.test(topic)) return `topic name ${JSON.stringify(topic)} is illegal: only ASCII letters, digits, '.', '_' and '-' are allowed`;
  return undefined;
}

function bytesOf(b: unknown, field: string): Uint8Array | null {
  if (b === null || b instanceof Uint8Array) return b;
  throw new TypeError(`the ${field} serializer returned ${typeof b}, not bytes (Uint8Array) or null`);
}

function headerValue(key: string, v: unknown): RecordHeader {
  if (v === null || v === undefined) return { key, value: null };
  if (typeof v === 'string') return { key, value: Buffer.from(v, 'utf8') };
  if (v instanceof Uint8Array) return { key, value: v };
  throw new TypeError(`header ${JSON.stringify(key)} has a value of type ${typeof v}; header values are strings, bytes or null`);
}

/** What is wrong with the shape of `headers`, or undefined when it is one kafkarx reads. */
function checkHeaders(headers: unknown): string | undefined {
  if (headers === null || typeof headers !== 'object') {
    return `must be an object, a Map or an iterable of [key, value] pairs, got ${headers === null ? 'null' : typeof headers}`;
  }
  if (ArrayBuffer.isView(headers) || headers instanceof String) return 'must be an object, a Map or an iterable of [key, value] pairs, got bytes or a string';
  return undefined;
}

/** An object (an array value repeats its key), a Map, or any iterable of [key, value] pairs. */
function toHeaders(headers: Headers): RecordHeader[] {
  const out: RecordHeader[] = [];
  if (Symbol.iterator in headers) {
    for (const pair of headers as Iterable<readonly [string, unknown]>) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'string') throw new TypeError('header pairs must be [key: string, value] arrays');
      out.push(headerValue(pair[0], pair[1]));
    }
    return out;
  }
  for (const key of Object.keys(headers)) {
    const v = (headers as Record<string, unknown>)[key];
    if (Array.isArray(v)) for (const each of v) out.push(headerValue(key, each));
    else out.push(headerValue(key, v));
  }
  return out;
}
