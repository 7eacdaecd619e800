import type { RecordMetadata } from './record.ts';

/**
 * A `send()` call waiting for its record's result: rides through the pipeline as the record's
 * passthrough, and is linked into the producer's list of unanswered calls.
 */
export class Deferred {
  readonly promise: Promise<RecordMetadata<unknown>>;
  resolve!: (meta: RecordMetadata<unknown>) => void;
  reject!: (error: Error) => void;
  /** The passthrough the caller gave. */
  readonly passthrough: unknown;
  prev: Deferred | null = null;
  next: Deferred | null = null;

  constructor(passthrough: unknown) {
    this.passthrough = passthrough;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}
