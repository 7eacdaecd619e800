import { MemoryBudget } from '../../../src/producer/memory.ts';
import { ProducerMetrics } from '../../../src/observe/metrics.ts';

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

test('waiting-records and bufferpool-wait-time-ns-total follow the records waiting for buffer room, granted or withdrawn', () => {
  const memory = new MemoryBudget(100);
  const metrics = new ProducerMetrics();
  expect(memory.tryReserve(100)).toBe(true);
  let granted = false;
  memory.wait(60, () => (granted = true));
  const cancel = memory.wait(30, () => undefined);
  expect(metrics.snapshot(memory).producer['waiting-records']).toBe(2);
  busy(5);
  // Still waiting: the time so far counts.
  const during = metrics.snapshot(memory).producer['bufferpool-wait-time-ns-total'];
  expect(during).toBeGreaterThanOrEqual(2 * 5e6);
  cancel();
  memory.release(100);
  expect(granted).toBe(true);
  const after = metrics.snapshot(memory).producer;
  expect(after['waiting-records']).toBe(0);
  expect(after['bufferpool-wait-time-ns-total']).toBeGreaterThanOrEqual(during);
  expect(after['bufferpool-wait-time-total']).toBe(after['bufferpool-wait-time-ns-total']);
  expect(after['buffer-total-bytes']).toBe(100);
  expect(after['buffer-available-bytes']).toBe(40);
  busy(2);
  // Nobody waits any more: the total stands still.
  expect(metrics.snapshot(memory).producer['bufferpool-wait-time-ns-total']).toBe(after['bufferpool-wait-time-ns-total']);
});
