// Marble tests of whole producers: TestScheduler.run() with microtasks run between virtual actions.
//
// Why not TestScheduler.run() itself: run() flushes every scheduled action in one synchronous
// loop, and no Promise callback can run inside a synchronous loop. A producer is asynchronous
// between its timers — a connection resolves a Promise when an answer arrives, the cluster and
// the transaction manager are async functions — so under run() the first answer would wait until
// virtual time had already ended. Making every layer callback-only would rewrite all of them; the
// narrower change is here: the same run mode (marble syntax, time progression, the test
// scheduler standing in for RxJS's own timers), but each scheduled action is followed by a full
// drain of the microtask and nextTick queues before the next one runs, exactly as each real timer
// callback is followed by one. Nothing else runs in between (the fake cluster has no real I/O and
// the producer takes all its timers from the scheduler), so the order of events, and so every
// marble frame, is the same on every run.
import { animationFrameProvider } from 'rxjs/internal/scheduler/animationFrameProvider';
import { dateTimestampProvider } from 'rxjs/internal/scheduler/dateTimestampProvider';
import { immediateProvider } from 'rxjs/internal/scheduler/immediateProvider';
import { intervalProvider } from 'rxjs/internal/scheduler/intervalProvider';
import { performanceTimestampProvider } from 'rxjs/internal/scheduler/performanceTimestampProvider';
import { timeoutProvider } from 'rxjs/internal/scheduler/timeoutProvider';
import type { RunHelpers, TestScheduler } from 'rxjs/testing';

/** What the callback of `runMarbles` gets: TestScheduler.run()'s helpers, with an awaitable flush. */
export interface MarbleHelpers extends Omit<RunHelpers, 'flush'> {
  /** Runs virtual time until nothing but background timers is scheduled. */
  flush(): Promise<void>;
}

/** TestScheduler internals that run() sets up; not in its declarations, present in every RxJS 7. */
interface RunModeInternals {
  runMode: boolean;
  createAnimator(): { animate: RunHelpers['animate']; delegate: unknown };
  createDelegates(): { immediate: unknown; interval: unknown; timeout: unknown };
}

/** Real time the fake path may take between actions before a stall is reported (a codec on the thread pool, say). */
const STALL_MS = 5000;
/** Guards against a schedule that never empties (an interval nobody unsubscribes). */
const MAX_ACTIONS = 1_000_000;

/**
 * `testScheduler.run(callback)` for pipelines that reach a producer: the same helpers and marble
 * semantics, but awaitable, running Promise callbacks between virtual actions (see above). Resolves
 * with the callback's result once its Promise (if any) has settled and only background timers
 * are left (the producer's metadata refresh by age), after checking every `expectObservable` and
 * `expectSubscriptions`; rejects with the first failed expectation.
 *
 * ```ts
 * await runMarbles(testScheduler, ({ cold, expectObservable }) => {
 *   expectObservable(cold('a|').pipe(toKafka(producer))).toBe('--(m|)', { m: … });
 * });
 * await producer.close();
 * ```
 */
export async function runMarbles<T>(scheduler: TestScheduler, callback: (helpers: MarbleHelpers) => T | PromiseLike<T>): Promise<T> {
  const internals = scheduler as unknown as RunModeInternals;
  const TestSchedulerClass = scheduler.constructor as typeof TestScheduler;
  const previousFactor = TestSchedulerClass.frameTimeFactor;
  const previousMaxFrames = scheduler.maxFrames;
  TestSchedulerClass.frameTimeFactor = 1;
  scheduler.maxFrames = Infinity;
  internals.runMode = true;
  const animator = internals.createAnimator();
  const delegates = internals.createDelegates();
  animationFrameProvider.delegate = animator.delegate as typeof animationFrameProvider.delegate;
  dateTimestampProvider.delegate = scheduler;
  immediateProvider.delegate = delegates.immediate as typeof immediateProvider.delegate;
  intervalProvider.delegate = delegates.interval as typeof intervalProvider.delegate;
  timeoutProvider.delegate = delegates.timeout as typeof timeoutProvider.delegate;
  performanceTimestampProvider.delegate = scheduler;
  try {
    const helpers: MarbleHelpers = {
      cold: scheduler.createColdObservable.bind(scheduler),
      hot: scheduler.createHotObservable.bind(scheduler),
      time: scheduler.createTime.bind(scheduler),
      expectObservable: scheduler.expectObservable.bind(scheduler),
      expectSubscriptions: scheduler.expectSubscriptions.bind(scheduler),
      animate: animator.animate,
      flush: () => runUntilIdle(scheduler, () => true),
    };
    let settled = false;
    const result = Promise.resolve().then(() => callback(helpers)).finally(() => (settled = true));
    // A rejection is taken below; this keeps it from being reported as unhandled meanwhile.
    result.catch(() => undefined);
    await runUntilIdle(scheduler, () => settled);
    const value = await result;
    // Only the checks are left: flush() with nothing due runs none of the background timers.
    scheduler.maxFrames = scheduler.frame;
    scheduler.flush();
    return value;
  } finally {
    TestSchedulerClass.frameTimeFactor = previousFactor;
    scheduler.maxFrames = previousMaxFrames;
    internals.runMode = false;
    animationFrameProvider.delegate = undefined;
    dateTimestampProvider.delegate = undefined;
    immediateProvider.delegate = undefined;
    intervalProvider.delegate = undefined;
    timeoutProvider.delegate = undefined;
    performanceTimestampProvider.delegate = undefined;
  }
}

/** Executes actions one at a time, in time order, draining microtasks after each, until `done()` and idle. */
async function runUntilIdle(scheduler: TestScheduler, done: () => boolean): Promise<void> {
  let stalledSince: number | undefined;
  for (let executed = 0; ; ) {
    for (let hot = scheduler.hotObservables.shift(); hot; hot = scheduler.hotObservables.shift()) hot.setup();
    await drain();
    const action = scheduler.actions[0];
    if (action === undefined || isBackgroundOnly(scheduler)) {
      if (done()) return;
      // The callback still waits, for something outside virtual time: give it real time.
      stalledSince ??= Date.now();
      if (Date.now() - stalledSince > STALL_MS) {
        throw new Error(`runMarbles: nothing is scheduled in virtual time, but the callback has not settled after ${STALL_MS} ms of real time: does it wait for something that only a later virtual action would bring, or for real I/O?`);
      }
      continue;
    }
    stalledSince = undefined;
    if (++executed > MAX_ACTIONS) throw new Error(`runMarbles: more than ${MAX_ACTIONS} scheduled actions ran: is an interval left running?`);
    scheduler.actions.shift();
    scheduler.frame = action.delay;
    const error = action.execute(action.state, action.delay);
    if (error) {
      for (let a = scheduler.actions.shift(); a; a = scheduler.actions.shift()) a.unsubscribe();
      throw error;
    }
  }
}

/** Every microtask and process.nextTick callback queued so far, and those they queue, has run. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function isBackgroundOnly(scheduler: TestScheduler): boolean {
  return scheduler.actions.every((a) => (a as { background?: boolean }).background === true);
}
