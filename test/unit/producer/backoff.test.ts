// backoffMs (src/cluster/cluster.ts): the retry backoff of the sender and of metadata refreshes.
import { backoffMs } from '../../../src/cluster/cluster.ts';

const opts = { retryBackoffMs: 100, retryBackoffMaxMs: 1000 };

/** Many samples, to see both ends of the jitter. */
const samples = (attempts: number, o = opts, n = 2000) => Array.from({ length: n }, () => backoffMs(o, attempts));

test('no retries yet, or a negative count: retryBackoffMs ±20% (Java jitters the first backoff too)', () => {
  for (const attempts of [0, -1]) {
    const s = samples(attempts);
    expect(Math.min(...s)).toBeGreaterThanOrEqual(80);
    expect(Math.max(...s)).toBeLessThanOrEqual(120);
    expect(new Set(s).size).toBeGreaterThan(10);
  }
});

test.each([[0, 100], [1, 200], [2, 400], [3, 800]])('attempt %i: %i ms ±20%%, whole milliseconds', (attempts, nominal) => {
  const s = samples(attempts);
  for (const v of s) {
    expect(Number.isInteger(v)).toBe(true);
    expect(v).toBeGreaterThanOrEqual(nominal * 0.8);
    expect(v).toBeLessThanOrEqual(nominal * 1.2);
  }
  // The jitter is real: it spreads to both sides of the nominal value.
  expect(Math.min(...s)).toBeLessThan(nominal * 0.9);
  expect(Math.max(...s)).toBeGreaterThan(nominal * 1.1);
});

test('grows exponentially: the mean doubles per attempt until the cap', () => {
  const mean = (a: number) => samples(a).reduce((x, y) => x + y, 0) / 2000;
  expect(mean(2) / mean(1)).toBeGreaterThan(1.8);
  expect(mean(2) / mean(1)).toBeLessThan(2.2);
  expect(mean(3) / mean(2)).toBeGreaterThan(1.8);
});

test('is capped: later attempts stay around retryBackoffMaxMs, however many', () => {
  for (const attempts of [4, 10, 100, 2000]) {
    const s = samples(attempts, opts, 500);
    for (const v of s) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(800);
      expect(v).toBeLessThanOrEqual(1200);
    }
  }
});

test('retryBackoffMs 0 stays 0', () => {
  expect(samples(5, { retryBackoffMs: 0, retryBackoffMaxMs: 0 }, 10)).toEqual(Array(10).fill(0));
});

// Java's ExponentialBackoff jitters the exponential term and then caps it, so retryBackoffMaxMs
// is a true maximum; jittering after the cap would reach 1.2 × the maximum.
test('never exceeds retryBackoffMaxMs, as in Java (jitter before the cap)', () => {
  for (const v of samples(20)) expect(v).toBeLessThanOrEqual(1000);
});
