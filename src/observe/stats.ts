/**
 * Windowed statistics as the Java client's metrics keep them (metrics.sample.window.ms 30 s,
 * metrics.num.samples 2): rates, averages and maxima over the last samples, totals since start.
 * One Sensor records count, sum and max together, so a batch or a request costs a few additions.
 */
export const SAMPLE_WINDOW_MS = 30_000;
const SAMPLES = 2;

class Sample {
  start = 0;
  count = 0;
  sum = 0;
  max = -Infinity;

  reset(start: number): void {
    this.start = start;
    this.count = 0;
    this.sum = 0;
    this.max = -Infinity;
  }
}

export class Sensor {
  /** Since the producer started. */
  totalCount = 0;
  totalSum = 0;
  private readonly samples: Sample[] = [];
  private current = 0;
  private readonly born: number;

  constructor(now: number) {
    this.born = now;
    for (let i = 0; i < SAMPLES; i++) this.samples.push(new Sample());
    this.samples[0].reset(now);
  }

  /** `value` once (a batch's size), or `count` events summing to `value` (a batch's records). */
  record(value: number, now: number, count = 1): void {
    let s = this.samples[this.current];
    if (now - s.start >= SAMPLE_WINDOW_MS) {
      this.current = (this.current + 1) % SAMPLES;
      s = this.samples[this.current];
      s.reset(now);
    }
    s.count += count;
    s.sum += value;
    if (value > s.max) s.max = value;
    this.totalCount += count;
    this.totalSum += value;
  }

  /** Mean of the values in the window; NaN when none, as Java's Avg. */
  avg(now: number): number {
    let count = 0;
    let sum = 0;
    for (const s of this.live(now)) {
      count += s.count;
      sum += s.sum;
    }
    return count === 0 ? NaN : sum / count;
  }

  max(now: number): number {
    let max = -Infinity;
    for (const s of this.live(now)) if (s.count > 0 && s.max > max) max = s.max;
    return max === -Infinity ? NaN : max;
  }

  /**
   * Per second over the window, as Java's Rate: the sum divided by the time the samples span, but
   * never less than all samples but one, so a fresh producer's rate does not spike.
   */
  rate(now: number): number {
    return this.perSecond(now, false);
  }

  /** Events per second (a rate of counts rather than of values). */
  countRate(now: number): number {
    return this.perSecond(now, true);
  }

  private perSecond(now: number, counts: boolean): number {
    let total = 0;
    let oldest = now;
    for (const s of this.live(now)) {
      total += counts ? s.count : s.sum;
      if (s.start < oldest) oldest = s.start;
    }
    let elapsed = now - Math.max(oldest, this.born);
    const full = Math.floor(elapsed / SAMPLE_WINDOW_MS);
    if (full < SAMPLES - 1) elapsed += (SAMPLES - 1 - full) * SAMPLE_WINDOW_MS;
    return elapsed <= 0 ? 0 : (total * 1000) / elapsed;
  }

  private *live(now: number): Iterable<Sample> {
    for (const s of this.samples) {
      if (s.count > 0 || s === this.samples[this.current]) {
        if (now - s.start < SAMPLES * SAMPLE_WINDOW_MS) yield s;
      }
    }
  }
}
