import type { SchedulerLike } from 'rxjs';

/** Stops a scheduled call; calling it after the call ran (or twice) does nothing. */
export type Cancel = () => void;

/**
 * The one source of time for a producer: every delay and timestamp below the operators asks it,
 * so a producer given an RxJS scheduler (a TestScheduler in tests) runs wholly in that
 * scheduler's time, and one without runs in real time.
 */
export interface Clock {
  now(): number;
  /**
   * Calls `fn` after `ms`. `background`: a real timer that must not keep the process alive on
   * its own (a metadata refresh by age, a re-authentication of an idle connection).
   */
  schedule(fn: () => void, ms: number, background?: boolean): Cancel;
  /**
   * Calls `fn` after the I/O of this turn of the event loop: setImmediate in real time, so work
   * queued by every socket event of the turn is taken together; a due action in virtual time.
   */
  soon(fn: () => void): Cancel;
  /**
   * In [0, 1), for jitter and random choices. Math.random in real time; in virtual time always
   * the midpoint, 0.5, so backoffs are exactly their nominal length and a run repeats exactly.
   */
  random(): number;
  /**
   * A monotonic time in ns, for measuring durations: process.hrtime in real time, the scheduler's
   * milliseconds × 10⁶ in virtual time.
   */
  nanos(): bigint;
}

const realClock: Clock = {
  now: Date.now,
  schedule(fn, ms, background) {
    // Node warns about (and treats as 1 ms) a negative delay: a deadline already past is due now.
    const timer = setTimeout(fn, Math.max(0, ms));
    if (background) timer.unref();
    return () => clearTimeout(timer);
  },
  soon(fn) {
    const immediate = setImmediate(fn);
    return () => clearImmediate(immediate);
  },
  random: Math.random,
  nanos: () => process.hrtime.bigint(),
};

/** The clock of a producer: `scheduler`'s time when given, real time otherwise. */
export function clockOf(scheduler: SchedulerLike | undefined): Clock {
  if (!scheduler) return realClock;
  const schedule = (fn: () => void, ms: number, background?: boolean): Cancel => {
    const action = scheduler.schedule(fn, Math.max(0, ms));
    // Marked for kafkarx/testing's runMarbles, which ends a run when only these are left.
    if (background) (action as { background?: boolean }).background = true;
    return () => action.unsubscribe();
  };
  return {
    now: () => scheduler.now(),
    schedule,
    soon: (fn) => schedule(fn, 0),
    random: () => 0.5,
    nanos: () => BigInt(Math.round(scheduler.now() * 1e6)),
  };
}
