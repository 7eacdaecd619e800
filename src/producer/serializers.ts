/**
 * Serializers turn a key or value into the bytes Kafka stores. Each is a plain function, so a
 * custom one is just `(value, topic) => bytes`; the type parameter flows into the record type
 * that `toKafka()` accepts. Throwing fails that record with a SerializationError.
 */
export type Serializer<T> = (value: T, topic: string) => Uint8Array | null;

/** UTF-8 text. */
export const string = (): Serializer<string> => (value) => Buffer.from(value, 'utf8');

/**
 * JSON text in UTF-8. What JSON cannot express (a function, a symbol) is written as a null field;
 * a record whose value is undefined is refused before any serializer runs.
 */
export const json = <T = unknown>(): Serializer<T> => (value) => {
  const text = JSON.stringify(value);
  return text === undefined ? null : Buffer.from(text, 'utf8');
};

/** Bytes as they are (Buffer or any Uint8Array). */
export const bytes = (): Serializer<Uint8Array> => (value) => value;

/** Always null: a tombstone value, or a record without key. */
export const nothing = (): Serializer<null | undefined> => () => null;

/**
 * What a key or value may be without a serializer: bytes as they are, strings as UTF-8, null as
 * null (a record without key, or a tombstone).
 */
export type RawValue = string | Uint8Array | null;

/**
 * Used when no serializer is given. Anything else (an object, a number) is refused rather than
 * guessed at, so `[object Object]` never lands in a topic.
 */
export const raw = (): Serializer<RawValue | undefined> => (value) => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`no serializer given for a value of type ${describeType(value)}: pass one (json(), string(), bytes() or a function)`);
};

function describeType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v;
}
