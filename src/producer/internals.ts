import type { Cluster } from '../cluster/cluster.ts';
import type { RecordBatchBuilderPool } from '../record/batch-builder.ts';
import type { ResolvedConfig } from './config.ts';
import type { Flights } from './flights.ts';
import type { MemoryBudget } from './memory.ts';
import type { Producer } from './producer.ts';
import type { Sender } from './sender.ts';
import type { TransactionManager } from './transactions.ts';

/**
 * What kafkarx's own operators reach inside a producer. No entry point exports this module, so
 * none of it is the package's API: users see the `Producer` interface only.
 */
export interface ProducerInternals {
  readonly config: ResolvedConfig;
  readonly cluster: Cluster;
  readonly memory: MemoryBudget;
  readonly builders: RecordBatchBuilderPool;
  readonly sender: Sender;
  /** The transaction protocol of a producer with a `transactionalId`. */
  readonly transactions: TransactionManager | undefined;
  /** Records accepted by every stream (and send()) and not yet answered. */
  readonly flights: Flights;
  readonly closed: boolean;
  /** Whether a flush() is under way: batches then go out at once instead of lingering. */
  readonly flushing: boolean;
  /** A stream registers here so `close()` can end it: it stops reading and ends with `error`. */
  registerEnder(end: (error: Error) => void): () => void;
  /** The batch stage registers here so `flush()` can close its open batches at once. */
  registerFlusher(flush: () => void): () => void;
}

const known = new WeakMap<Producer, ProducerInternals>();

/** Called once per producer, by the function that creates it. */
export function registerInternals(producer: Producer, inside: ProducerInternals): void {
  known.set(producer, inside);
}

/** A producer's insides, for the operators; read once per operator, not per record. */
export function internals(producer: Producer): ProducerInternals {
  const inside = known.get(producer);
  if (inside === undefined) throw new TypeError('not a kafkarx producer: create one with createProducer() from kafkarx');
  return inside;
}
