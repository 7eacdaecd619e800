import type { ProducerBatch } from './batch.ts';
import type { RecordMetadata } from './record.ts';

type Resolve = (meta: RecordMetadata<unknown>) => void;
type Reject = (error: Error) => void;

/**
 * The `send()` calls waiting for their record's result. A call is a slot number, which rides
 * through the pipeline as its record's passthrough (a small integer: nothing is allocated for it,
 * and a batch keeps its records' slots unboxed); the slot holds the call's resolving functions and
 * the caller's passthrough. Slots are reused, so the table stays as large as the most calls ever
 * waiting at once. Kept lean because up to tens of thousands of calls wait at a time: every byte
 * they hold is copied by each young-generation collection they live through.
 */
export class SendCalls {
  /** Three entries a slot, at slot, slot + 1 and slot + 2: resolve, reject and the passthrough. */
  private table: unknown[] = [];
  /** Slots of answered calls, to reuse. */
  private free: number[] = [];

  /** The slot the next `add` takes. */
  nextSlot(): number {
    return this.free.length > 0 ? this.free[this.free.length - 1] : this.table.length;
  }

  /** Takes the slot `nextSlot` named for a call. */
  add(resolve: Resolve, reject: Reject, passthrough: unknown): number {
    const table = this.table;
    const slot = this.free.length > 0 ? this.free.pop()! : table.length;
    table[slot] = resolve;
    table[slot + 1] = reject;
    table[slot + 2] = passthrough;
    return slot;
  }

  /** Answers every call of a settled batch (whose records' passthroughs are slots), in order. */
  answerBatch(batch: ProducerBatch<number>): void {
    const table = this.table;
    const slots = batch.passthroughs!;
    const n = batch.recordCount;
    if (batch.error !== null) {
      for (let i = 0; i < n; i++) this.reject(slots[i]!, batch.recordError(i)!);
      return;
    }
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      const resolve = table[slot] as Resolve;
      const metadata = batch.metadata(i, table[slot + 2]);
      this.release(slot);
      resolve(metadata);
    }
  }

  /** Fails the call of `slot`. */
  reject(slot: number, error: Error): void {
    const reject = this.table[slot + 1] as Reject;
    this.release(slot);
    reject(error);
  }

  /** Fails every waiting call, and forgets them. */
  rejectAll(error: Error): void {
    const table = this.table;
    this.table = [];
    this.free = [];
    for (let slot = 0; slot < table.length; slot += 3) {
      if (table[slot] !== undefined) (table[slot + 1] as Reject)(error);
    }
  }

  private release(slot: number): void {
    const table = this.table;
    table[slot] = undefined;
    table[slot + 1] = undefined;
    table[slot + 2] = undefined;
    this.free.push(slot);
  }
}
