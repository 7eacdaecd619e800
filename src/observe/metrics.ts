import type { ProducerBatch } from '../producer/batch.ts';
import { RECORD_BATCH_OVERHEAD } from '../record/batch-format.ts';
import { Sensor } from './stats.ts';

/** Names and meanings as the Java producer's producer-metrics group. */
export type ProducerMetricName =
  | 'record-send-rate' | 'record-send-total' | 'record-error-rate' | 'record-error-total' | 'record-retry-rate' | 'record-retry-total'
  | 'record-size-avg' | 'record-size-max' | 'batch-size-avg' | 'batch-size-max' | 'records-per-request-avg' | 'compression-rate-avg'
  | 'record-queue-time-avg' | 'record-queue-time-max'
  | 'request-latency-avg' | 'request-latency-max' | 'request-rate' | 'request-total' | 'request-size-avg' | 'request-size-max'
  | 'response-rate' | 'response-total' | 'outgoing-byte-rate' | 'outgoing-byte-total' | 'incoming-byte-rate' | 'incoming-byte-total'
  | 'produce-throttle-time-avg' | 'produce-throttle-time-max'
  | 'buffer-total-bytes' | 'buffer-available-bytes' | 'bufferpool-wait-time-total' | 'bufferpool-wait-time-ns-total' | 'waiting-records'
  | 'connection-count' | 'connection-creation-rate' | 'connection-creation-total' | 'connection-close-rate' | 'connection-close-total';

/** Java's producer-topic-metrics group. */
export type TopicMetricName =
  | 'record-send-rate' | 'record-send-total' | 'byte-rate' | 'byte-total' | 'compression-rate'
  | 'record-retry-rate' | 'record-retry-total' | 'record-error-rate' | 'record-error-total';

/** Java's producer-node-metrics group (one per broker connection, `node-<id>`; -1 is a bootstrap address). */
export type NodeMetricName =
  | 'request-rate' | 'request-total' | 'request-size-avg' | 'request-size-max' | 'response-rate' | 'response-total'
  | 'outgoing-byte-rate' | 'outgoing-byte-total' | 'incoming-byte-rate' | 'incoming-byte-total' | 'request-latency-avg' | 'request-latency-max';

/**
 * A producer's metrics at one moment. Rates are per second and averages and maxima cover the
 * last 30-60 s (two 30 s samples, as Java's defaults); an average or maximum with nothing in that
 * window is NaN, as in Java. Totals count since the producer started.
 */
export interface MetricsSnapshot {
  /** When taken, by the producer's clock: Date.now(), or its scheduler's now() when it has one. */
  timestamp: number;
  producer: Record<ProducerMetricName, number>;
  topics: Record<string, Record<TopicMetricName, number>>;
  nodes: Record<string, Record<NodeMetricName, number>>;
}

/** What the metrics read from the memory budget when a snapshot is taken. */
export interface BufferState {
  readonly limit: number;
  readonly used: number;
  readonly waiting: number;
  readonly waitTimeNs: number;
}

class TopicSensors {
  readonly sent: Sensor;
  readonly bytes: Sensor;
  readonly compression: Sensor;
  readonly retries: Sensor;
  readonly errors: Sensor;

  constructor(now: number) {
    this.sent = new Sensor(now);
    this.bytes = new Sensor(now);
    this.compression = new Sensor(now);
    this.retries = new Sensor(now);
    this.errors = new Sensor(now);
  }
}

class NodeSensors {
  readonly requests: Sensor;
  readonly responses: Sensor;
  readonly latency: Sensor;

  constructor(now: number) {
    this.requests = new Sensor(now);
    this.responses = new Sensor(now);
    this.latency = new Sensor(now);
  }
}

/**
 * The producer's sensors. Recorded per request and per batch (a batch brings its record count), so
 * the cost does not grow with the number of records.
 */
export class ProducerMetrics {
  private readonly recordsPerRequest: Sensor;
  private readonly recordSize: Sensor;
  private readonly recordSizeMax: Sensor;
  private readonly batchSize: Sensor;
  private readonly compression: Sensor;
  private readonly queueTime: Sensor;
  private readonly errors: Sensor;
  private readonly retries: Sensor;
  private readonly latency: Sensor;
  private readonly requests: Sensor;
  private readonly responses: Sensor;
  private readonly throttle: Sensor;
  private readonly connectionsOpened: Sensor;
  private readonly connectionsClosed: Sensor;
  private connections = 0;
  private readonly topics = new Map<string, TopicSensors>();
  private readonly nodes = new Map<number, NodeSensors>();

  constructor(now = Date.now()) {
    this.recordsPerRequest = new Sensor(now);
    this.recordSize = new Sensor(now);
    this.recordSizeMax = new Sensor(now);
    this.batchSize = new Sensor(now);
    this.compression = new Sensor(now);
    this.queueTime = new Sensor(now);
    this.errors = new Sensor(now);
    this.retries = new Sensor(now);
    this.latency = new Sensor(now);
    this.requests = new Sensor(now);
    this.responses = new Sensor(now);
    this.throttle = new Sensor(now);
    this.connectionsOpened = new Sensor(now);
    this.connectionsClosed = new Sensor(now);
  }

  /** A Produce request with these batches went to `nodeId` (as Java, a retried batch counts again). */
  produced(batches: readonly ProducerBatch[], now: number): void {
    let records = 0;
    for (const b of batches) {
      const count = b.recordCount;
      records += count;
      const size = b.builder.sizeInBytes;
      const uncompressed = b.builder.uncompressedSizeInBytes;
      const ratio = uncompressed > 0 ? size / uncompressed : 1;
      this.batchSize.record(size, now);
      this.compression.record(ratio, now);
      this.queueTime.record(now - b.createdAt, now);
      this.recordSize.record(uncompressed - RECORD_BATCH_OVERHEAD, now, count);
      this.recordSizeMax.record(b.largestRecord, now);
      const t = this.topic(b.topic, now);
      t.sent.record(count, now, count);
      t.bytes.record(size, now);
      t.compression.record(ratio, now);
    }
    this.recordsPerRequest.record(records, now);
  }

  answered(nodeId: number, latencyMs: number, now: number): void {
    this.latency.record(latencyMs, now);
    this.node(nodeId, now).latency.record(latencyMs, now);
  }

  retried(topic: string, records: number, now: number): void {
    this.retries.record(records, now, records);
    this.topic(topic, now).retries.record(records, now, records);
  }

  failed(topic: string, records: number, now: number): void {
    this.errors.record(records, now, records);
    this.topic(topic, now).errors.record(records, now, records);
  }

  requestWritten(nodeId: number, bytes: number, now: number): void {
    this.requests.record(bytes, now);
    this.node(nodeId, now).requests.record(bytes, now);
  }

  responseRead(nodeId: number, bytes: number, now: number): void {
    this.responses.record(bytes, now);
    this.node(nodeId, now).responses.record(bytes, now);
  }

  throttled(ms: number, now: number): void {
    this.throttle.record(ms, now);
  }

  connectionOpened(now: number): void {
    this.connections++;
    this.connectionsOpened.record(1, now);
  }

  connectionClosed(now: number): void {
    this.connections--;
    this.connectionsClosed.record(1, now);
  }

  snapshot(buffer: BufferState, now = Date.now()): MetricsSnapshot {
    const producer: Record<ProducerMetricName, number> = {
      'record-send-rate': this.recordsPerRequest.rate(now),
      'record-send-total': this.recordsPerRequest.totalSum,
      'record-error-rate': this.errors.rate(now),
      'record-error-total': this.errors.totalSum,
      'record-retry-rate': this.retries.rate(now),
      'record-retry-total': this.retries.totalSum,
      'record-size-avg': this.recordSize.avg(now),
      'record-size-max': this.recordSizeMax.max(now),
      'batch-size-avg': this.batchSize.avg(now),
      'batch-size-max': this.batchSize.max(now),
      'records-per-request-avg': this.recordsPerRequest.avg(now),
      'compression-rate-avg': this.compression.avg(now),
      'record-queue-time-avg': this.queueTime.avg(now),
      'record-queue-time-max': this.queueTime.max(now),
      'request-latency-avg': this.latency.avg(now),
      'request-latency-max': this.latency.max(now),
      'request-rate': this.requests.countRate(now),
      'request-total': this.requests.totalCount,
      'request-size-avg': this.requests.avg(now),
      'request-size-max': this.requests.max(now),
      'response-rate': this.responses.countRate(now),
      'response-total': this.responses.totalCount,
      'outgoing-byte-rate': this.requests.rate(now),
      'outgoing-byte-total': this.requests.totalSum,
      'incoming-byte-rate': this.responses.rate(now),
      'incoming-byte-total': this.responses.totalSum,
      'produce-throttle-time-avg': this.throttle.avg(now),
      'produce-throttle-time-max': this.throttle.max(now),
      'buffer-total-bytes': buffer.limit,
      'buffer-available-bytes': buffer.limit - buffer.used,
      'bufferpool-wait-time-total': buffer.waitTimeNs,
      'bufferpool-wait-time-ns-total': buffer.waitTimeNs,
      'waiting-records': buffer.waiting,
      'connection-count': this.connections,
      'connection-creation-rate': this.connectionsOpened.countRate(now),
      'connection-creation-total': this.connectionsOpened.totalCount,
      'connection-close-rate': this.connectionsClosed.countRate(now),
      'connection-close-total': this.connectionsClosed.totalCount,
    };
    const topics: MetricsSnapshot['topics'] = {};
    for (const [name, t] of this.topics) {
      topics[name] = {
        'record-send-rate': t.sent.rate(now),
        'record-send-total': t.sent.totalSum,
        'byte-rate': t.bytes.rate(now),
        'byte-total': t.bytes.totalSum,
        'compression-rate': t.compression.avg(now),
        'record-retry-rate': t.retries.rate(now),
        'record-retry-total': t.retries.totalSum,
        'record-error-rate': t.errors.rate(now),
        'record-error-total': t.errors.totalSum,
      };
    }
    const nodes: MetricsSnapshot['nodes'] = {};
    for (const [id, n] of this.nodes) {
      nodes[`node-${id}`] = {
        'request-rate': n.requests.countRate(now),
        'request-total': n.requests.totalCount,
        'request-size-avg': n.requests.avg(now),
        'request-size-max': n.requests.max(now),
        'response-rate': n.responses.countRate(now),
        'response-total': n.responses.totalCount,
        'outgoing-byte-rate': n.requests.rate(now),
        'outgoing-byte-total': n.requests.totalSum,
        'incoming-byte-rate': n.responses.rate(now),
        'incoming-byte-total': n.responses.totalSum,
        'request-latency-avg': n.latency.avg(now),
        'request-latency-max': n.latency.max(now),
      };
    }
    return { timestamp: now, producer, topics, nodes };
  }

  private topic(name: string, now: number): TopicSensors {
    let t = this.topics.get(name);
    if (!t) this.topics.set(name, (t = new TopicSensors(now)));
    return t;
  }

  private node(id: number, now: number): NodeSensors {
    let n = this.nodes.get(id);
    if (!n) this.nodes.set(id, (n = new NodeSensors(now)));
    return n;
  }
}
