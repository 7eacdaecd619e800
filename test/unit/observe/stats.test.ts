import { SAMPLE_WINDOW_MS, Sensor } from '../../../src/observe/stats.ts';

test('a sensor keeps totals since the start, and avg, max and rate over its two 30 s samples, as the Java client', () => {
  const s = new Sensor(0);
  expect(s.avg(0)).toBeNaN();
  expect(s.max(0)).toBeNaN();
  expect(s.rate(0)).toBe(0);
  s.record(100, 1000, 10);
  s.record(300, 2000, 10);
  expect(s.totalSum).toBe(400);
  expect(s.totalCount).toBe(20);
  expect(s.avg(2000)).toBe(20);
  expect(s.max(2000)).toBe(300);
  // A young sensor divides by at least one full sample window, so its rate does not spike.
  expect(s.rate(2000)).toBeCloseTo(400 / ((2000 + SAMPLE_WINDOW_MS) / 1000));
  expect(s.countRate(2000)).toBeCloseTo(20 / ((2000 + SAMPLE_WINDOW_MS) / 1000));
  // A second sample: both count.
  s.record(50, 31_000);
  expect(s.max(31_000)).toBe(300);
  expect(s.rate(40_000)).toBeCloseTo(450 / 40);
  // Two windows later the first sample has aged out; totals stay.
  s.record(7, 61_000);
  expect(s.max(61_000)).toBe(50);
  expect(s.avg(61_000)).toBe(57 / 2);
  expect(s.totalSum).toBe(457);
  // Nothing recorded for two windows: no average, no maximum.
  expect(s.avg(200_000)).toBeNaN();
  expect(s.max(200_000)).toBeNaN();
});
