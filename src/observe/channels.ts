import * as diagnostics from 'node:diagnostics_channel';

/**
 * node:diagnostics_channel channels, the hooks APM tools subscribe to. Messages are published only
 * while someone subscribes; each is a fresh object the subscriber may keep.
 */

/** `kafkarx:connection`: a broker connection opened, failed to open, or closed. */
export interface ConnectionMessage {
  event: 'connect' | 'connect-failed' | 'close';
  clientId: string;
  /** -1 for a bootstrap address whose broker id is not known yet. */
  nodeId: number;
  address: string;
  /** Why it failed or closed (absent when the client closed it). */
  error?: Error;
  /** Consecutive failed attempts to this address, for connect-failed. */
  attempt?: number;
}

/** `kafkarx:batch`: a batch settled, acknowledged (`baseOffset`) or failed for good (`error`). */
export interface BatchMessage {
  clientId: string;
  topic: string;
  partition: number;
  recordCount: number;
  /** Bytes on the wire (compressed). */
  sizeInBytes: number;
  /** The first record's offset; -1 when failed or with acks=0. */
  baseOffset: number;
  attempts: number;
  createdAt: number;
  error: Error | null;
}

/**
 * `kafkarx:request` (a tracingChannel: tracing:kafkarx:request:start, end, asyncStart, asyncEnd,
 * error): one Produce request, from writing it to its answer. `result` (the ProduceResponse) or
 * `error` is set on the same object when it settles.
 */
export interface RequestMessage {
  clientId: string;
  api: 'Produce';
  nodeId: number;
  address: string;
  /** Batches in the request, one per partition. */
  batches: number;
  records: number;
  result?: unknown;
  error?: unknown;
}

export const connectionChannel = diagnostics.channel('kafkarx:connection');
export const batchChannel = diagnostics.channel('kafkarx:batch');
export const requestChannel = diagnostics.tracingChannel<object, RequestMessage>('kafkarx:request');
