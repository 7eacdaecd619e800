import { bytes, json, nothing, raw, string } from '../../../src/producer/serializers.ts';

const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));

test('string() writes UTF-8', () => {
  expect([...string()('€a', 't')!]).toEqual([0xe2, 0x82, 0xac, 0x61]);
  expect(string()('', 't')!.length).toBe(0);
});

test('json() writes JSON text in UTF-8; undefined (not expressible in JSON) becomes null', () => {
  expect(text(json()({ a: [1, 'ü'], b: null }, 't'))).toBe('{"a":[1,"ü"],"b":null}');
  expect(text(json()(0, 't'))).toBe('0');
  expect(text(json()(null, 't'))).toBe('null');
  expect(json()(undefined, 't')).toBeNull();
});

test('json() throws on what JSON.stringify refuses (so the record fails with a SerializationError)', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  expect(() => json()(cyclic, 't')).toThrow(TypeError);
  expect(() => json()(1n, 't')).toThrow(TypeError);
});

test('bytes() passes bytes through without copying', () => {
  const b = new Uint8Array([1, 2, 3]);
  expect(bytes()(b, 't')).toBe(b);
});

test('nothing() is always null', () => {
  expect(nothing()(undefined, 't')).toBeNull();
  expect(nothing()(null, 't')).toBeNull();
});

test('raw() takes strings, bytes, null and undefined', () => {
  expect(text(raw()('häh', 't'))).toBe('häh');
  const b = Buffer.from([9]);
  expect(raw()(b, 't')).toBe(b);
  expect(raw()(null, 't')).toBeNull();
  expect(raw()(undefined, 't')).toBeNull();
});

test.each([
  [{ a: 1 }, 'Object'],
  [5, 'number'],
  [[1, 2], 'array'],
  [true, 'boolean'],
  [new Map(), 'Map'],
  [Object.create(null), 'object'],
  [Symbol('s'), 'symbol'],
])('raw() refuses %p (type %s) with a hint to pass a serializer', (value, type) => {
  expect(() => raw()(value as never, 't')).toThrow(new RegExp(`no serializer given for a value of type ${type}: pass one`));
});
