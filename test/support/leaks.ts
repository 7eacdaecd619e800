// The no-leak guarantee, as a test sees it: after `producer.close()` resolves, no socket or timer
// that kafkarx created is left, and every promise kafkarx returned has settled.
//
//   const leaks = leakCheck();                 // before creating the producer
//   const sent = leaks.track(producer.send(r)); // every promise kafkarx hands out
//   await producer.close();
//   await leaks.expectNone();                  // right after close() resolved
//
// Two views, both needed: sockets by `process.getActiveResourcesInfo()` against a baseline taken
// before the producer existed (the test runner opens none), and timers by who created them (an
// async hook notes each one made from kafkarx's code), since the test runner keeps timers of its
// own (test timeouts, the reporter's) that come and go meanwhile.
import { createHook } from 'node:async_hooks';
import { sep } from 'node:path';

const SOCKETS = /Socket|TCP|TLS|ConnectWrap|GetAddrInfo/;
const KAFKARX_CODE = [`${sep}src${sep}`, `${sep}operators${sep}`];

interface Timer {
  _destroyed?: boolean;
  hasRef?: () => boolean;
}

export interface LeakCheck {
  /** Remembers a promise kafkarx returned; `expectNone` fails if it has not settled. */
  track<T>(promise: Promise<T>): Promise<T>;
  /**
   * Asserts that nothing is left: call it as soon as close() resolved. Sockets and timers are
   * checked at once (a timer due later still counts); promises after one turn of the event loop,
   * which their handlers need to run. Stops watching.
   */
  expectNone(): Promise<void>;
}

export function leakCheck(): LeakCheck {
  const baseline = countSockets(process.getActiveResourcesInfo());
  const tracked: Array<{ settled: boolean; what: string }> = [];
  const timers = new Map<number, { timer: Timer; where: string }>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type !== 'Timeout' && type !== 'Immediate') return;
      const stack = new Error().stack ?? '';
      const frame = stack.split('\n').find((l) => KAFKARX_CODE.some((dir) => l.includes(dir)) && !l.includes('node_modules'));
      if (frame) timers.set(id, { timer: resource as Timer, where: `${type} ${frame.trim()}` });
    },
  });
  hook.enable();
  return {
    track<T>(promise: Promise<T>): Promise<T> {
      const entry = { settled: false, what: `promise #${tracked.length + 1}` };
      tracked.push(entry);
      promise.then(() => (entry.settled = true), () => (entry.settled = true));
      return promise;
    },
    async expectNone(): Promise<void> {
      hook.disable();
      const sockets: string[] = [];
      for (const [kind, n] of countSockets(process.getActiveResourcesInfo())) for (let i = baseline.get(kind) ?? 0; i < n; i++) sockets.push(kind);
      const timersLeft = [...timers.values()].filter(({ timer }) => timer._destroyed === false && (timer.hasRef?.() ?? true)).map((t) => t.where);
      await new Promise((resolve) => setImmediate(resolve));
      const unsettled = tracked.filter((t) => !t.settled).map((t) => t.what);
      expect({ sockets, timers: timersLeft, unsettledPromises: unsettled }).toEqual({ sockets: [], timers: [], unsettledPromises: [] });
    },
  };
}

function countSockets(kinds: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const k of kinds) if (SOCKETS.test(k)) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}
