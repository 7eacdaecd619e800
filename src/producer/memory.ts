/**
 * The producer's memory budget: serialized bytes accepted and not yet acknowledged (Java's
 * buffer.memory). Waiters are served in arrival order, so a large record is not starved by small
 * ones that keep slipping in.
 */
export class MemoryBudget {
  readonly limit: number;
  private usedBytes = 0;
  /** Bytes of records waiting in line for room (see tryQueue). */
  private queuedBytes = 0;
  private readonly waiters: Array<{ bytes: number; grant: () => void; since: bigint }> = [];
  private waitedNs = 0n;
  private readonly roomListeners: Array<() => void> = [];

  /** Monotonic ns for the wait times: the producer's clock (virtual time in tests). */
  private readonly nanos: () => bigint;

  constructor(limit: number, nanos: () => bigint = () => process.hrtime.bigint()) {
    this.limit = limit;
    this.nanos = nanos;
  }

  get used(): number {
    return this.usedBytes;
  }

  /** Records waiting for room (Java's waiting-threads). */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Time records have waited for room, in ns, since the start (Java's bufferpool-wait-time-ns-total). */
  get waitTimeNs(): number {
    const now = this.nanos();
    let total = this.waitedNs;
    for (const w of this.waiters) total += now - w.since;
    return Number(total);
  }

  /**
   * The most bytes records waiting for room may hold, over the budget itself: as much again. A
   * record may join the line while less than this waits; past it, it is refused.
   */
  get waitingLimit(): number {
    return this.limit;
  }

  /** Bytes of the records waiting for room. */
  get queued(): number {
    return this.queuedBytes;
  }

  /** Counts a record joining the line for room, unless the line already holds `waitingLimit` bytes. */
  tryQueue(bytes: number): boolean {
    if (this.queuedBytes >= this.waitingLimit) return false;
    this.queuedBytes += bytes;
    return true;
  }

  /** A record left the line (admitted, failed or withdrawn). */
  unqueue(bytes: number): void {
    this.queuedBytes -= bytes;
  }

  /** Takes `bytes` now if they fit and nobody waits ahead; the caller must release them later. */
  tryReserve(bytes: number): boolean {
    if (this.waiters.length > 0 || this.usedBytes + bytes > this.limit) return false;
    this.usedBytes += bytes;
    return true;
  }

  /**
   * Waits, in line, until `bytes` fit. The returned cancel function withdraws from the line;
   * `granted` runs once the bytes are reserved.
   */
  wait(bytes: number, granted: () => void): () => void {
    const waiter = { bytes, grant: granted, since: this.nanos() };
    this.waiters.push(waiter);
    this.serve();
    return () => {
      const i = this.waiters.indexOf(waiter);
      if (i !== -1) {
        this.waiters.splice(i, 1);
        this.waitedNs += this.nanos() - waiter.since;
        this.serve();
      }
    };
  }

  /**
   * Counts again bytes already released whose records are still held (results of `ordered: true`
   * waiting for earlier ones), so what is held stays within the budget; give them back with release().
   */
  retain(bytes: number): void {
    this.usedBytes += bytes;
  }

  release(bytes: number): void {
    if (bytes <= 0) return;
    this.usedBytes -= bytes;
    this.serve();
  }

  /** Resolves once the budget is below its limit: pull-based sources await it before reading on. */
  whenRoom(): Promise<void> {
    if (this.usedBytes < this.limit && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.roomListeners.push(resolve));
  }

  get hasRoom(): boolean {
    return this.usedBytes < this.limit && this.waiters.length === 0;
  }

  /** Grants waiters in line while they fit; then, if room is left, wakes the pull-based sources. */
  private serve(): void {
    while (this.waiters.length > 0 && this.usedBytes + this.waiters[0].bytes <= this.limit) {
      const w = this.waiters.shift()!;
      this.usedBytes += w.bytes;
      this.waitedNs += this.nanos() - w.since;
      w.grant();
    }
    if (this.hasRoom && this.roomListeners.length > 0) {
      for (const l of this.roomListeners.splice(0)) l();
    }
  }
}
