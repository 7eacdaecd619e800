// Fifo: O(1) shift with a compacting head, plus insert and retain, checked against a plain array
// model at sizes where the compaction (head ≥ 1024) kicks in many times.
import { Fifo } from '../../../src/producer/fifo.ts';

test('an empty Fifo', () => {
  const f = new Fifo<number>();
  expect(f.length).toBe(0);
  expect(f.peek()).toBeUndefined();
  expect(f.shift()).toBeUndefined();
  expect([...f]).toEqual([]);
});

test('a million items come out in order, and the length follows', () => {
  const f = new Fifo<number>();
  const n = 1_000_000;
  for (let i = 0; i < n; i++) f.push(i);
  expect(f.length).toBe(n);
  for (let i = 0; i < n; i++) {
    if (f.peek() !== i) throw new Error(`peek ${f.peek()} at ${i}`);
    if (f.shift() !== i) throw new Error(`shift at ${i}`);
  }
  expect(f.length).toBe(0);
  expect(f.shift()).toBeUndefined();
});

test('shifting a large backlog is linear, not quadratic', () => {
  const f = new Fifo<number>();
  const n = 200_000;
  for (let i = 0; i < n; i++) f.push(i);
  const started = performance.now();
  for (let i = 0; i < n; i++) f.shift();
  // Array.prototype.shift on 200k items takes seconds; the Fifo takes milliseconds.
  expect(performance.now() - started).toBeLessThan(500);
});

test('interleaved push/shift/insert/retain match an array model across many compactions', () => {
  // A small deterministic generator, so a failure reproduces.
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const f = new Fifo<number>();
  const model: number[] = [];
  let next = 0;
  for (let step = 0; step < 60_000; step++) {
    const r = rand();
    if (r < 0.5) {
      f.push(next);
      model.push(next++);
    } else if (r < 0.9) {
      expect(f.shift()).toBe(model.shift());
    } else if (r < 0.98) {
      // Insert before the first item greater than a threshold (or at the end).
      const threshold = next - Math.floor(rand() * 50);
      const item = -step;
      f.insert(item, (x) => x > threshold);
      const at = model.findIndex((x) => x > threshold);
      if (at === -1) model.push(item);
      else model.splice(at, 0, item);
    } else {
      const mod = 2 + Math.floor(rand() * 5);
      f.retain((x) => x % mod !== 0);
      for (let i = model.length - 1; i >= 0; i--) if (model[i] % mod === 0) model.splice(i, 1);
    }
    if (f.length !== model.length) throw new Error(`length ${f.length} vs ${model.length} at step ${step}`);
    if (f.peek() !== model[0]) throw new Error(`peek ${f.peek()} vs ${model[0]} at step ${step}`);
  }
  expect([...f]).toEqual(model);
});

test('insert at the front after shifts reuses the freed slot before the head', () => {
  const f = new Fifo<string>();
  for (const x of ['a', 'b', 'c']) f.push(x);
  f.shift();
  f.insert('z', () => true);
  expect([...f]).toEqual(['z', 'b', 'c']);
  expect(f.length).toBe(3);
  expect(f.shift()).toBe('z');
});

test('insert with no match appends; in the middle keeps the rest in order', () => {
  const f = new Fifo<number>();
  for (const x of [1, 3, 5]) f.push(x);
  f.insert(4, (x) => x > 4);
  f.insert(9, (x) => x > 100);
  expect([...f]).toEqual([1, 3, 4, 5, 9]);
});

test('insert into a large Fifo after compaction lands in the right place', () => {
  const f = new Fifo<number>();
  for (let i = 0; i < 5000; i++) f.push(i * 2);
  for (let i = 0; i < 3000; i++) f.shift();
  f.insert(7001, (x) => x > 7001);
  const all = [...f];
  expect(all.length).toBe(2001);
  const at = all.indexOf(7001);
  expect(all[at - 1]).toBe(7000);
  expect(all[at + 1]).toBe(7002);
  expect(all[0]).toBe(6000);
});

test('retain after shifts keeps only the wanted items, in order, and the Fifo keeps working', () => {
  const f = new Fifo<number>();
  for (let i = 0; i < 10_000; i++) f.push(i);
  for (let i = 0; i < 2_500; i++) f.shift();
  f.retain((x) => x % 3 === 0);
  const expected: number[] = [];
  for (let i = 2_500; i < 10_000; i++) if (i % 3 === 0) expected.push(i);
  expect(f.length).toBe(expected.length);
  expect([...f]).toEqual(expected);
  f.push(-1);
  expect(f.shift()).toBe(expected[0]);
  expect([...f].at(-1)).toBe(-1);
});

test('clear empties it, and it can be used again', () => {
  const f = new Fifo<number>();
  for (let i = 0; i < 3000; i++) f.push(i);
  for (let i = 0; i < 1500; i++) f.shift();
  f.clear();
  expect(f.length).toBe(0);
  f.push(42);
  expect(f.shift()).toBe(42);
});
