/**
 * A first-in-first-out queue with O(1) shift. Array.prototype.shift copies the whole array, which
 * turns a backlog of a million waiting records into minutes of CPU.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop the consumed prefix once it is at least half the array, so memory follows the backlog.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Inserts an item before the first one that `goesBefore` says it precedes (or at the end). */
  insert(item: T, goesBefore: (existing: T) => boolean): void {
    for (let i = this.head; i < this.items.length; i++) {
      if (goesBefore(this.items[i] as T)) {
        if (i === this.head && this.head > 0) this.items[--this.head] = item;
        else this.items.splice(i, 0, item);
        return;
      }
    }
    this.items.push(item);
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }

  /** Keeps only the items for which `keep` is true, in order. */
  retain(keep: (item: T) => boolean): void {
    const kept: T[] = [];
    for (const item of this) if (keep(item)) kept.push(item);
    this.items = kept;
    this.head = 0;
  }
}
