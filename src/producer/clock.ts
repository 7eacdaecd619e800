/**
 * A wall clock for record timestamps that reads Date.now() once per `reuse` calls within one
 * synchronous run of the event loop, and afresh after it (a microtask marks the reading stale).
 * Reading the clock costs 20-60 ns — on some virtual machines more than the rest of serializing a
 * record — and records serialized in one tight loop are microseconds apart, while timestamps have
 * millisecond resolution. A reading is never reused across event-loop turns or for more than
 * `reuse` records, so a source that does slow work per record still gets a fresh time every few
 * records.
 */
export function coarseClock(reuse = 16): () => number {
  let reading = 0;
  let left = 0;
  let expiring = false;
  const expire = () => {
    left = 0;
    expiring = false;
  };
  return () => {
    if (left === 0) {
      reading = Date.now();
      left = reuse;
      if (!expiring) {
        expiring = true;
        queueMicrotask(expire);
      }
    }
    left--;
    return reading;
  };
}
