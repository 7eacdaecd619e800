import { ReplaySubject, type Observable } from 'rxjs';
import { clockOf, type Clock } from '../clock.ts';
import { ProducerClosedError } from '../cluster/closed.ts';
import type { BrokerAddress, MetadataUpdate, TopicInfo } from '../cluster/metadata.ts';
import type { BrokerConnection } from '../network/broker.ts';
import type { ConnectionObserver } from '../network/connection.ts';
import type { ProducerBatch } from '../producer/batch.ts';
import type { HeaderInjector } from '../producer/outgoing.ts';
import { isFatal, ProducerTimeoutError } from '../producer/errors.ts';
import { batchChannel, connectionChannel, requestChannel, type RequestMessage } from './channels.ts';
import { errorFields, Log, type Logger, type LogFields, type LogLevel } from './logger.ts';
import { ProducerMetrics, type BufferState, type MetricsSnapshot } from './metrics.ts';
import type { Tracing } from './tracing.ts';

/**
 * The producer's one place for what it tells the outside: log lines, metrics, diagnostics_channel
 * messages and OpenTelemetry spans. The layers below call one method per event; each method does
 * only what a present consumer needs (a logger, a channel subscriber, a tracer), except the
 * metrics, which are always kept and cost a few additions per request and batch.
 */
export class Instrumentation {
  readonly clientId: string;
  readonly log: Log;
  readonly metrics: ProducerMetrics;
  readonly tracing: Tracing | undefined;
  private readonly closing = new ReplaySubject<void>(1);
  /** Traffic observers of bootstrap connections, by address, until metadata names their broker. */
  private readonly unidentified = new Map<string, TrafficObserver>();
  /** Broker ids by address, from metadata: an adopted bootstrap connection still says -1. */
  private readonly ids = new Map<string, number>();
  /** Emits once the producer has closed (metrics$ ends then, leaving no timer). */
  readonly closed$: Observable<void> = this.closing.asObservable();

  /** With `tracing: { propagate: true }`: puts each record's trace context into its headers. */
  readonly headerInjector: HeaderInjector | undefined;

  /** The producer's clock: metrics follow its scheduler when it has one. */
  private readonly clock: Clock;

  constructor(clientId: string, logger: Logger | null, tracing?: Tracing, clock: Clock = clockOf(undefined)) {
    this.clientId = clientId;
    this.clock = clock;
    this.metrics = new ProducerMetrics(clock.now());
    this.log = new Log(logger);
    this.tracing = tracing;
    this.headerInjector = tracing?.propagate ? (topic, headers) => tracing.inject(topic, headers) : undefined;
  }

  close(): void {
    this.closing.next();
    this.closing.complete();
  }

  snapshot(buffer: BufferState): MetricsSnapshot {
    return this.metrics.snapshot(buffer, this.clock.now());
  }

  /**
   * What a connection to `nodeId` at `address` reports of its traffic. A bootstrap connection
   * (-1) counts for its broker once metadata names the broker at that address: the cluster keeps
   * using it as that broker's connection.
   */
  connectionObserver(nodeId: number, address: string): ConnectionObserver {
    const observer = new TrafficObserver(this.metrics, nodeId, this.clock);
    // The latest bootstrap connection to an address is the one the cluster may adopt.
    if (nodeId < 0) this.unidentified.set(address, observer);
    return observer;
  }

  /** A connection opened; `failures`: attempts to the address that failed just before. */
  connected(c: BrokerConnection, failures: number): void {
    const nodeId = c.nodeId;
    const address = c.address;
    this.metrics.connectionOpened(this.clock.now());
    const fields: LogFields = { clientId: this.clientId, broker: nodeId, address };
    if (failures > 0) this.log.write('info', `connection to broker ${address} re-established after ${failures} failed attempt(s)`, { ...fields, attempt: failures + 1 });
    else this.log.write('debug', `connected to broker ${address}`, fields);
    if (connectionChannel.hasSubscribers) connectionChannel.publish({ event: 'connect', clientId: this.clientId, nodeId, address });
    c.connection.onThrottle((ms, request) => {
      if (request.startsWith('Produce')) this.metrics.throttled(ms, this.clock.now());
      this.log.write('debug', `broker ${address} throttles this client for ${ms} ms (quota)`, { ...fields, request, throttleTimeMs: ms });
    });
    c.connection.onClose((error) => {
      this.metrics.connectionClosed(this.clock.now());
      const byClient = isClientClose(error);
      if (byClient) this.log.write('debug', `connection to broker ${address} closed`, fields);
      else this.log.write('info', `connection to broker ${address} lost`, { ...fields, ...errorFields(error) });
      if (connectionChannel.hasSubscribers) connectionChannel.publish({ event: 'close', clientId: this.clientId, nodeId, address, error: byClient ? undefined : error });
    });
  }

  /**
   * An attempt to connect failed. Logged as a warning the first time and then at attempts 2, 4, 8
   * ... (a down broker is retried every reconnectBackoffMaxMs: this keeps the log readable), as
   * an error when retrying cannot help (credentials, TLS).
   */
  connectFailed(nodeId: number, address: string, error: Error, attempt: number): void {
    if (error instanceof ProducerClosedError) return;
    const fields: LogFields = { clientId: this.clientId, broker: nodeId, address, attempt, ...errorFields(error) };
    if (isFatal(error)) this.log.write('error', `cannot connect to broker ${address}: ${error.message}`, fields);
    else if ((attempt & (attempt - 1)) === 0) this.log.write('warn', `cannot connect to broker ${address} (attempt ${attempt}); retrying`, fields);
    else this.log.write('debug', `cannot connect to broker ${address} (attempt ${attempt}); retrying`, fields);
    if (connectionChannel.hasSubscribers) connectionChannel.publish({ event: 'connect-failed', clientId: this.clientId, nodeId, address, error, attempt });
  }

  /** Fresh metadata, before the cluster takes it: brokers and leaders that changed are logged. */
  metadata(update: MetadataUpdate, brokers: ReadonlyMap<number, BrokerAddress>, topics: ReadonlyMap<string, TopicInfo>): void {
    for (const b of update.brokers) {
      const address = `${b.host}:${b.port}`;
      this.ids.set(address, b.nodeId);
      const waiting = this.unidentified.get(address);
      if (!waiting) continue;
      waiting.nodeId = b.nodeId;
      this.unidentified.delete(address);
    }
    if (!this.log.enabled) return;
    const base = { clientId: this.clientId };
    if (brokers.size > 0) {
      const now = new Set(update.brokers.map((b) => b.nodeId));
      for (const b of update.brokers) {
        if (!brokers.has(b.nodeId)) this.log.write('info', `broker ${b.nodeId} (${b.host}:${b.port}) joined the cluster metadata`, { ...base, broker: b.nodeId, address: `${b.host}:${b.port}` });
      }
      for (const [id, b] of brokers) {
        if (!now.has(id)) this.log.write('info', `broker ${id} (${b.host}:${b.port}) left the cluster metadata`, { ...base, broker: id, address: `${b.host}:${b.port}` });
      }
    }
    for (const t of update.topics) {
      const before = topics.get(t.name);
      if (!before) {
        this.log.write('debug', `metadata for topic ${t.name}: ${t.partitionCount} partition(s)`, { ...base, topic: t.name, partitions: t.partitionCount });
        continue;
      }
      if (before.partitionCount !== t.partitionCount) {
        this.log.write('info', `topic ${t.name} now has ${t.partitionCount} partitions (was ${before.partitionCount})`, { ...base, topic: t.name, partitions: t.partitionCount });
      }
      const n = Math.min(before.partitionCount, t.partitionCount);
      for (let p = 0; p < n; p++) {
        if (before.leaders[p] !== t.leaders[p]) {
          this.log.write('info', `leader of ${t.name}-${p} changed from broker ${before.leaders[p]} to ${t.leaders[p]}`, { ...base, topic: t.name, partition: p, broker: t.leaders[p], previousBroker: before.leaders[p] });
        }
      }
    }
  }

  /**
   * Fetching metadata failed; the cluster asks again after a backoff. An unreachable broker is
   * already reported by connectFailed, so only a long run of failures is a warning.
   */
  metadataFailed(error: Error, attempt: number): void {
    if (error instanceof ProducerClosedError) return;
    const level = isFatal(error) ? 'error' : attempt === 10 || attempt === 100 || attempt % 1000 === 0 ? 'warn' : 'debug';
    this.log.write(level, `metadata request failed (attempt ${attempt}): ${error.message}`, { clientId: this.clientId, attempt, ...errorFields(error) });
  }

  /**
   * A Produce request with these batches: `call` writes it. Counted for the metrics, traced on
   * `kafkarx:request` when someone listens; the answer's latency is recorded when it settles.
   */
  produce<T>(c: BrokerConnection, batches: readonly ProducerBatch[], call: () => Promise<T>): Promise<T> {
    const clock = this.clock;
    const started = clock.nanos();
    this.metrics.produced(batches, clock.now());
    const nodeId = c.nodeId >= 0 ? c.nodeId : this.ids.get(c.address) ?? -1;
    const answer = requestChannel.hasSubscribers ? requestChannel.tracePromise(call, requestMessage(this.clientId, nodeId, c.address, batches)) : call();
    return answer.finally(() => this.metrics.answered(nodeId, Number(clock.nanos() - started) / 1e6, clock.now()));
  }

  /** A batch failed retriably and goes again after its backoff. */
  retried(b: ProducerBatch, error: Error): void {
    this.metrics.retried(b.topic, b.recordCount, this.clock.now());
    this.log.write('debug', `retrying a batch of ${b.recordCount} record(s) for ${b.topic}-${b.partition} after ${error.name}`, {
      clientId: this.clientId, topic: b.topic, partition: b.partition, attempt: b.attempts, records: b.recordCount, ...errorFields(error),
    });
  }

  /** A batch settled: acknowledged (`b.error` null) or failed for good. */
  settled(b: ProducerBatch): void {
    const error = b.error;
    if (error) {
      this.metrics.failed(b.topic, b.recordCount, this.clock.now());
      this.log.write(failureLevel(error, b.attempts), `${b.recordCount} record(s) for ${b.topic}-${b.partition} failed after ${b.attempts} attempt(s): ${error.message}`, {
        clientId: this.clientId, topic: b.topic, partition: b.partition, attempt: b.attempts, records: b.recordCount, ...errorFields(error),
      });
    }
    if (batchChannel.hasSubscribers) {
      batchChannel.publish({
        clientId: this.clientId, topic: b.topic, partition: b.partition, recordCount: b.recordCount, sizeInBytes: b.builder.sizeInBytes,
        baseOffset: error ? -1 : b.baseOffset, attempts: b.attempts, createdAt: b.createdAt, error,
      });
    }
    this.tracing?.batch(b);
  }
}

/**
 * Records that failed for good reach their caller with the error anyway; the log tells more only
 * when it matters for operations: a fatal error, a delivery timeout, or a failure after retries.
 */
function failureLevel(error: Error, attempts: number): LogLevel {
  if (error instanceof ProducerClosedError) return 'debug';
  if (isFatal(error)) return 'error';
  return attempts > 1 || error instanceof ProducerTimeoutError ? 'warn' : 'info';
}

/** Counts a connection's frames for its broker's metrics (see connectionObserver). */
class TrafficObserver implements ConnectionObserver {
  private readonly metrics: ProducerMetrics;
  private readonly clock: Clock;
  nodeId: number;

  constructor(metrics: ProducerMetrics, nodeId: number, clock: Clock) {
    this.metrics = metrics;
    this.nodeId = nodeId;
    this.clock = clock;
  }

  written(bytes: number): void {
    this.metrics.requestWritten(this.nodeId, bytes, this.clock.now());
  }

  read(bytes: number): void {
    this.metrics.responseRead(this.nodeId, bytes, this.clock.now());
  }
}

function requestMessage(clientId: string, nodeId: number, address: string, batches: readonly ProducerBatch[]): RequestMessage {
  let records = 0;
  for (const b of batches) records += b.recordCount;
  return { clientId, api: 'Produce', nodeId, address, batches: batches.length, records };
}

/** Connection.close() ends a connection with this message; anything else is a lost connection. */
function isClientClose(error: Error): boolean {
  return error.message.endsWith('was closed by the client');
}
