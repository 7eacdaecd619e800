/**
 * The records a producer's streams have accepted and not yet answered (acknowledged or failed),
 * so that `flush()` can wait for the records accepted before it — also those still waiting for
 * metadata or memory, before any batch holds them — and `close()` for all of them.
 *
 * Counted per stream and per flush generation, with counters rather than a set of records: a
 * stream's records join its current `Flight`; `flush()` starts a new generation and waits until
 * every flight of an older one has landed. A stream that is unsubscribed withdraws its records
 * (`Flight.withdraw`), so they are no longer waited for.
 */
export class Flights {
  private generation = 0;
  /** Flights of a closed generation with records still unanswered. */
  private readonly sealed = new Set<Flight>();
  private readonly current = new Set<Flight>();
  private readonly waiters: Array<{ generation: number; resolve: () => void }> = [];

  /** The flight a stream's next record joins: `previous` while no flush has begun since. */
  join(previous: Flight | undefined): Flight {
    if (previous !== undefined && previous.generation === this.generation) return previous;
    const flight = new Flight(this, this.generation);
    this.current.add(flight);
    return flight;
  }

  /** Resolves once every record accepted before the call is answered or withdrawn. */
  landed(): Promise<void> {
    const generation = this.generation++;
    for (const f of this.current) {
      if (f.unanswered > 0) this.sealed.add(f);
    }
    this.current.clear();
    if (this.sealed.size === 0 && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ generation, resolve });
      this.check();
    });
  }

  /** A flight's last record was answered. */
  emptied(flight: Flight): void {
    if (flight.generation !== this.generation && this.sealed.delete(flight)) this.check();
  }

  /** Its stream ended: nothing of it is waited for any more. */
  forget(flight: Flight): void {
    this.current.delete(flight);
    if (this.sealed.delete(flight)) this.check();
  }

  private check(): void {
    let oldest = Infinity;
    for (const f of this.sealed) oldest = Math.min(oldest, f.generation);
    for (let i = 0; i < this.waiters.length;) {
      if (this.waiters[i].generation < oldest) this.waiters.splice(i, 1)[0].resolve();
      else i++;
    }
  }
}

/** One stream's records of one flush generation. */
export class Flight {
  readonly flights: Flights;
  readonly generation: number;
  unanswered = 0;

  constructor(flights: Flights, generation: number) {
    this.flights = flights;
    this.generation = generation;
  }

  /** `count` of its records were answered. */
  answered(count = 1): void {
    if ((this.unanswered -= count) === 0) this.flights.emptied(this);
  }

  /** The stream ended or went away: records it left unanswered are no longer waited for. */
  withdraw(): void {
    this.unanswered = 0;
    this.flights.forget(this);
  }
}
