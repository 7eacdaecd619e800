// MemoryBudget: the producer's bufferMemory, with waiters served strictly in arrival order.
import { MemoryBudget } from '../../../src/producer/memory.ts';

test('tryReserve takes bytes while they fit, up to the limit exactly', () => {
  const m = new MemoryBudget(100);
  expect(m.tryReserve(60)).toBe(true);
  expect(m.tryReserve(41)).toBe(false);
  expect(m.tryReserve(40)).toBe(true);
  expect(m.used).toBe(100);
  expect(m.hasRoom).toBe(false);
  m.release(30);
  expect(m.used).toBe(70);
  expect(m.hasRoom).toBe(true);
});

test('release of 0 or less changes nothing', () => {
  const m = new MemoryBudget(10);
  m.tryReserve(5);
  m.release(0);
  m.release(-3);
  expect(m.used).toBe(5);
});

test('a waiter that fits at once is granted during wait()', () => {
  const m = new MemoryBudget(10);
  let granted = 0;
  m.wait(10, () => granted++);
  expect(granted).toBe(1);
  expect(m.used).toBe(10);
});

test('waiters are served in arrival order: a large head is not overtaken by small ones that would fit', () => {
  const m = new MemoryBudget(100);
  m.tryReserve(90);
  const order: string[] = [];
  m.wait(50, () => order.push('big'));
  m.wait(5, () => order.push('small'));
  // 10 bytes are free and small needs 5, but big is first in line.
  expect(order).toEqual([]);
  // Nor can tryReserve slip past the line.
  expect(m.tryReserve(1)).toBe(false);
  m.release(40); // 50 used: big fits (100), small does not (105)
  expect(order).toEqual(['big']);
  expect(m.used).toBe(100);
  m.release(5);
  expect(order).toEqual(['big', 'small']);
  expect(m.used).toBe(100);
});

test('one release serves every waiter that now fits, in order', () => {
  const m = new MemoryBudget(30);
  m.tryReserve(30);
  const order: number[] = [];
  for (let i = 1; i <= 4; i++) m.wait(10, () => order.push(i));
  m.release(30);
  expect(order).toEqual([1, 2, 3]);
  expect(m.used).toBe(30);
});

test('a cancelled waiter leaves the line, and those behind it move up', () => {
  const m = new MemoryBudget(100);
  m.tryReserve(80);
  const order: string[] = [];
  const cancelBig = m.wait(50, () => order.push('big'));
  m.wait(20, () => order.push('small'));
  expect(order).toEqual([]);
  cancelBig();
  // With big gone, small fits in the 20 free bytes at once.
  expect(order).toEqual(['small']);
  expect(m.used).toBe(100);
  // Cancelling twice, or after being served, is harmless.
  cancelBig();
  expect(m.used).toBe(100);
});

test('whenRoom resolves at once while there is room and nobody waits', async () => {
  const m = new MemoryBudget(10);
  m.tryReserve(9);
  await expect(Promise.race([m.whenRoom().then(() => 'room'), Promise.resolve().then(() => 'late')])).resolves.toBe('room');
});

test('whenRoom waits while the budget is full and resolves on the release that makes room', async () => {
  const m = new MemoryBudget(10);
  m.tryReserve(10);
  let resolved = false;
  const p = m.whenRoom().then(() => (resolved = true));
  await Promise.resolve();
  expect(resolved).toBe(false);
  m.release(1);
  await p;
  expect(resolved).toBe(true);
});

test('whenRoom waits while others are in line, even with bytes free (fairness to the waiters)', async () => {
  const m = new MemoryBudget(10);
  m.tryReserve(8);
  m.wait(5, () => undefined);
  let resolved = false;
  void m.whenRoom().then(() => (resolved = true));
  await new Promise((r) => setImmediate(r));
  expect(resolved).toBe(false);
  expect(m.hasRoom).toBe(false);
});

// A cancelled waiter (reserve's maxBlockMs ran out) can leave room and an empty line: the
// pull-based sources parked on whenRoom() must wake then, not at some later acknowledgement.
test('whenRoom resolves when a cancelled waiter leaves room and an empty line', async () => {
  const m = new MemoryBudget(10);
  m.tryReserve(8);
  const cancel = m.wait(5, () => undefined);
  let resolved = false;
  void m.whenRoom().then(() => (resolved = true));
  cancel();
  expect(m.hasRoom).toBe(true);
  await new Promise((r) => setImmediate(r));
  expect(resolved).toBe(true);
});
