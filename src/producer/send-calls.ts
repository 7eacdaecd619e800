import type { ProducerBatch } from './batch.ts';
import type { RecordMetadata } from './record.ts';

type Resolve = (meta: RecordMetadata<unknown>) => void;
type Reject = (error: Error) => void;

/** A record's error, as a gate keeps it among the metadata of the others. */
class Failure {
  readonly error: Error;
  constructor(error: Error) {
    this.error = error;
  }
}

/**
 * Calls whose records went one after another into one batch, while the call was being made: they
 * share one Promise, and each call's own is derived from it with `then`. Such a derived Promise
 * has no resolving functions of its own, so a waiting call holds about half the memory; that
 * matters because tens of thousands may wait at once, and every byte they hold is copied by each
 * young-generation collection they live through. Resolved once every one of its calls has a result;
 * its `then` callbacks run in the order the calls were made, each taking the next result.
 */
class Gate {
  readonly promise: Promise<Gate>;
  private readonly resolve: (gate: Gate) => void;
  readonly batch: ProducerBatch<number>;
  /** The batch index of its last call's record: only the record right after it may join. */
  lastIndex: number;
  size = 0;
  unanswered = 0;
  /** Each call's metadata or Failure, in the order of the calls; taken by `take`. */
  readonly results: unknown[] = [];
  private taken = 0;

  constructor(batch: ProducerBatch<number>, index: number) {
    this.batch = batch;
    this.lastIndex = index;
    this.promise = new Promise<Gate>(capture);
    this.resolve = captured.resolve as (gate: Gate) => void;
  }

  answer(k: number, result: unknown): boolean {
    this.results[k] = result;
    if (--this.unanswered > 0) return false;
    this.resolve(this);
    return true;
  }

  static take(gate: Gate): RecordMetadata<unknown> {
    const k = gate.taken++;
    const result = gate.results[k];
    gate.results[k] = undefined;
    if (result instanceof Failure) throw result.error;
    return result as RecordMetadata<unknown>;
  }
}

/** Marks a slot whose call is still being made; ANSWERED, one answered meanwhile (at once). */
const MAKING = Symbol('making');
const ANSWERED = Symbol('answered');

/**
 * The `send()` calls waiting for their record's result. A call is a slot number, which rides
 * through the pipeline as its record's passthrough (a small integer: nothing is allocated for it,
 * and a batch keeps its records' slots unboxed). A slot holds three entries: the call's Gate and
 * its place in it, or (a record that did not go into a batch at once, having to wait for metadata
 * or memory) the resolving functions of a Promise of its own; and the caller's passthrough. Slots
 * are reused, so the table stays as large as the most calls ever waiting at once.
 *
 * Every call's Promise settles one microtask turn after its record is answered, whichever kind it
 * is, so calls answered together settle in the order of their records.
 */
export class SendCalls {
  private readonly table: unknown[] = [];
  /** Slots of answered calls, to reuse. */
  private readonly free: number[] = [];
  /** The newest gate of each batch still open to calls; `last`, the one joined most recently. */
  private readonly gates = new Map<ProducerBatch<number>, Gate>();
  private last: Gate | null = null;

  /** A slot for a call being made: `settle` makes its Promise once its record is in the pipeline. */
  open(passthrough: unknown): number {
    const table = this.table;
    const slot = this.free.length > 0 ? this.free.pop()! : table.length;
    table[slot] = MAKING;
    table[slot + 1] = undefined;
    table[slot + 2] = passthrough;
    return slot;
  }

  /**
   * The Promise of the call of `slot`, whose record (which went into `batch`, or has not yet) was
   * just handed to the pipeline.
   */
  settle(slot: number, batch: ProducerBatch<number> | null): Promise<RecordMetadata<unknown>> {
    const table = this.table;
    if (table[slot] === ANSWERED) {
      const result = table[slot + 1];
      this.release(slot);
      return result instanceof Failure ? Promise.reject(result.error) : Promise.resolve(result as RecordMetadata<unknown>);
    }
    const index = batch === null ? -1 : batch.recordCount - 1;
    if (index < 0 || batch!.passthroughs![index] !== slot) {
      // Its record waits (or others went into the batch after it meanwhile): a Promise of its
      // own, one `then` away like the gates' so that it settles in step with them.
      const own = new Promise<RecordMetadata<unknown>>(capture);
      table[slot] = captured.resolve;
      table[slot + 1] = captured.reject;
      return own.then(same);
    }
    let gate = this.last;
    if (gate === null || gate.batch !== batch || gate.lastIndex !== index - 1) {
      gate = this.gates.get(batch!) ?? null;
      if (gate === null || gate.lastIndex !== index - 1) {
        gate = new Gate(batch!, index);
        this.gates.set(batch!, gate);
      }
      this.last = gate;
    }
    gate.lastIndex = index;
    table[slot] = gate;
    table[slot + 1] = gate.size++;
    gate.unanswered++;
    return gate.promise.then(Gate.take);
  }

  /** Answers every call of a settled batch (whose records' passthroughs are slots), in order. */
  answerBatch(batch: ProducerBatch<number>): void {
    const table = this.table;
    const slots = batch.passthroughs!;
    const n = batch.recordCount;
    const failed = batch.error !== null;
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      this.answer(slot, failed ? new Failure(batch.recordError(i)!) : batch.metadata(i, table[slot + 2]));
    }
  }

  /** Frees the slot of a call that was refused before its record went into the pipeline. */
  withdraw(slot: number): void {
    this.release(slot);
  }

  /** Fails the call of `slot`. */
  reject(slot: number, error: Error): void {
    this.answer(slot, new Failure(error));
  }

  /** Fails every waiting call. */
  rejectAll(error: Error): void {
    const table = this.table;
    const failure = new Failure(error);
    for (let slot = 0; slot < table.length; slot += 3) {
      if (table[slot] !== undefined && table[slot] !== ANSWERED) this.answer(slot, failure);
    }
  }

  /** `result`: the call's metadata, or a Failure. */
  private answer(slot: number, result: unknown): void {
    const table = this.table;
    const entry = table[slot];
    if (entry instanceof Gate) {
      const k = table[slot + 1] as number;
      this.release(slot);
      if (entry.answer(k, result)) this.closeGate(entry);
    } else if (entry === MAKING) {
      table[slot] = ANSWERED;
      table[slot + 1] = result;
    } else {
      const reject = table[slot + 1] as Reject;
      this.release(slot);
      if (result instanceof Failure) reject(result.error);
      else (entry as Resolve)(result as RecordMetadata<unknown>);
    }
  }

  private closeGate(gate: Gate): void {
    if (this.gates.get(gate.batch) === gate) this.gates.delete(gate.batch);
    if (this.last === gate) this.last = null;
  }

  private release(slot: number): void {
    const table = this.table;
    table[slot] = undefined;
    table[slot + 1] = undefined;
    table[slot + 2] = undefined;
    this.free.push(slot);
  }
}

const same = <T>(value: T): T => value;

/**
 * The executor of the Promises made here: it hands out their resolving functions through
 * `captured`, so that no closure is made per Promise.
 */
const captured: { resolve: ((value: never) => void) | undefined; reject: Reject | undefined } = { resolve: undefined, reject: undefined };
function capture(resolve: (value: never) => void, reject: Reject): void {
  captured.resolve = resolve;
  captured.reject = reject;
}
