// coarseClock: one Date.now() reading serves at most `reuse` timestamps of one synchronous run.
import { coarseClock } from '../../../src/producer/clock.ts';

afterEach(() => jest.restoreAllMocks());

test('a reading serves at most `reuse` calls in one synchronous run, and none after the run', async () => {
  let t = 1000;
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => t++);
  const now = coarseClock(16);
  const run = Array.from({ length: 40 }, () => now());
  expect(spy).toHaveBeenCalledTimes(3);
  expect(run.slice(0, 16)).toEqual(Array(16).fill(1000));
  expect(run.slice(16, 32)).toEqual(Array(16).fill(1001));
  expect(run.slice(32)).toEqual(Array(8).fill(1002));
  // The run ends (a microtask): the next call reads the clock, though 8 calls of the reading are left.
  await Promise.resolve();
  expect(now()).toBe(1003);
  expect(spy).toHaveBeenCalledTimes(4);
});

test('a record serialized in a later turn gets the time of that turn', async () => {
  const now = coarseClock();
  const first = now();
  await new Promise((resolve) => setTimeout(resolve, 30));
  expect(now() - first).toBeGreaterThanOrEqual(25);
});
