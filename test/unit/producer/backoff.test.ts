// backoffMs (src/cluster/cluster.ts): the retry backoff of the sender and of metadata refreshes.
import { backoffMs, exponentialBackoff } from '../../../src/cluster/cluster.ts';

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

test('is capped as Java caps it: later attempts spread over [0.8, 1] × retryBackoffMaxMs, however many', () => {
  for (const attempts of [4, 10, 100, 2000]) {
    const s = samples(attempts, opts, 500);
    for (const v of s) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(800);
      expect(v).toBeLessThanOrEqual(1000);
    }
    // Jittered before the cap, so clients at the cap still do not retry in step.
    expect(Math.min(...s)).toBeLessThan(900);
    expect(s.filter((v) => v === 1000).length).toBeGreaterThan(100);
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

// Java's ExponentialBackoff.backoff(attempts) with multiplier 2 and jitter 0.2, at both ends of the
// random factor: floor(min(initial × 2^attempts, max) × [0.8, 1.2)), capped at max.
test.each([
  // initial, max, attempts, random, expected
  [100, 1000, 0, 0, 80], [100, 1000, 0, 0.999999, 119], [100, 1000, 2, 0, 320], [100, 1000, 3, 0.999999, 959],
  [100, 1000, 4, 0, 800], [100, 1000, 4, 0.5, 1000], [100, 1000, 4, 0.999999, 1000], [100, 1000, 60, 0, 800],
  [50, 1000, 4, 0.999999, 959], [50, 1000, 5, 0.999999, 1000], [50, 1000, 5, 0, 800],
  // A maximum not above the initial wait: the initial wait, capped and unjittered, as Java's expMax = 0.
  [100, 100, 3, 0, 100], [1000, 100, 0, 0.999999, 100],
  [0, 1000, 5, 0.999999, 0],
])('exponentialBackoff(%i, %i, attempts %i, random %f) = %i', (initial, max, attempts, random, expected) => {
  expect(exponentialBackoff(initial, max, attempts, () => random)).toBe(expected);
});

test('in virtual time (random 0.5) every wait is its nominal value exactly, the cap included', () => {
  expect([0, 1, 2, 3, 4, 5].map((a) => exponentialBackoff(100, 1000, a, () => 0.5))).toEqual([100, 200, 400, 800, 1000, 1000]);
  expect([0, 1, 2, 3, 4, 5].map((a) => exponentialBackoff(50, 1000, a, () => 0.5))).toEqual([50, 100, 200, 400, 800, 1000]);
});
