import { createRequire } from 'node:module';
import type { ProducerBatch } from '../producer/batch.ts';
import type { RecordHeader } from '../record/batch-builder.ts';
import { ConfigError } from '../producer/errors.ts';

/**
 * The part of @opentelemetry/api kafkarx uses, written out so kafkarx builds without it: the
 * package is an optional peer, loaded only when `tracing` is set.
 */
export interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): OtelTracer;
    setSpan(context: unknown, span: OtelSpan): unknown;
  };
  context: { active(): unknown };
  propagation: { inject(context: unknown, carrier: Record<string, string>): void };
}

interface OtelTracer {
  startSpan(name: string, options: { kind: number; startTime?: number; attributes?: Record<string, string | number>; links?: OtelLink[] }, context?: unknown): OtelSpan;
}

interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: string | number): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error): unknown;
  end(endTime?: number): void;
}

interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
}

interface OtelLink {
  context: OtelSpanContext;
}

/** What the `tracing` setting takes. */
export interface TracingConfig {
  /**
   * W3C trace context into each record's headers (`traceparent`, and `tracestate` when there is
   * one), from a `create` span per record that is a child of the context active when the record
   * was sent, so a consumer can continue the trace. Costs a span per record: off by default.
   */
  propagate?: boolean;
  /** The @opentelemetry/api module; by default kafkarx loads the one your app has installed. */
  api?: OtelApi;
}

// As @opentelemetry/api's SpanKind and SpanStatusCode.
const PRODUCER = 3;
const STATUS_ERROR = 2;
const MAX_LINKS = 128;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * OpenTelemetry for one producer: a `send <topic>` span (kind PRODUCER) per batch, from its
 * creation to its acknowledgement or failure, with the messaging semantic conventions; with
 * `propagate`, a `create <topic>` span per record whose context goes into the record's headers,
 * and which the batch's span links to.
 */
export class Tracing {
  private readonly api: OtelApi;
  private readonly tracer: OtelTracer;
  private readonly clientId: string;
  readonly propagate: boolean;
  /**
   * The producer's scheduler time, when it has a scheduler: spans start and end by it, as the
   * batches' creation times do. Absent: OpenTelemetry's own clock ends them.
   */
  private readonly now: (() => number) | undefined;

  constructor(api: OtelApi, clientId: string, version: string, propagate: boolean, now?: () => number) {
    this.api = api;
    this.tracer = api.trace.getTracer('kafkarx', version);
    this.clientId = clientId;
    this.propagate = propagate;
    this.now = now;
  }

  batch(b: ProducerBatch): void {
    const attributes: Record<string, string | number> = {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': b.topic,
      'messaging.destination.partition.id': String(b.partition),
      'messaging.batch.message_count': b.recordCount,
      'messaging.client.id': this.clientId,
    };
    if (!b.error && b.baseOffset >= 0) attributes['messaging.kafka.offset'] = b.baseOffset;
    const links = this.propagate ? recordLinks(b) : undefined;
    const span = this.tracer.startSpan(`send ${b.topic}`, { kind: PRODUCER, startTime: b.createdAt, attributes, links }, undefined);
    if (b.error) {
      span.setAttribute('error.type', b.error.name);
      span.setStatus({ code: STATUS_ERROR, message: b.error.message });
      span.recordException(b.error);
    }
    span.end(this.now?.());
  }

  /**
   * With `propagate`: the headers of a record for `topic` with the trace context of a new `create`
   * span (a child of the active context) added; `headers` itself is left as it is.
   */
  inject(topic: string, headers: readonly RecordHeader[]): readonly RecordHeader[] {
    const span = this.tracer.startSpan(`create ${topic}`, {
      kind: PRODUCER,
      startTime: this.now?.(),
      attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'create', 'messaging.operation.name': 'create', 'messaging.destination.name': topic, 'messaging.client.id': this.clientId },
    }, this.api.context.active());
    const carrier: Record<string, string> = {};
    this.api.propagation.inject(this.api.trace.setSpan(this.api.context.active(), span), carrier);
    span.end(this.now?.());
    const out: RecordHeader[] = headers.filter((h) => h.key !== 'traceparent' && h.key !== 'tracestate');
    for (const key of ['traceparent', 'tracestate']) {
      if (carrier[key] !== undefined) out.push({ key, value: Buffer.from(carrier[key], 'utf8') });
    }
    return out;
  }
}

/** The contexts the batch's records carry (see `inject`), as span links. */
function recordLinks(b: ProducerBatch): OtelLink[] {
  const links: OtelLink[] = [];
  for (const value of b.traceparents ?? []) {
    if (links.length >= MAX_LINKS) break;
    const m = TRACEPARENT.exec(Buffer.from(value).toString('latin1'));
    if (m) links.push({ context: { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16), isRemote: false } });
  }
  return links;
}

/** Checks the `tracing` setting and loads @opentelemetry/api when it is on. */
/** `now`: the producer's scheduler time, when it has a scheduler (see Tracing). */
export function resolveTracing(value: unknown, clientId: string, version: string, now?: () => number): Tracing | undefined {
  if (value === undefined || value === false) return undefined;
  if (value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new ConfigError(`tracing: expected true, false or { propagate?, api? }, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const options = value === true ? {} : (value as Record<string, unknown>);
  for (const key of Object.keys(options)) {
    if (key !== 'propagate' && key !== 'api') throw new ConfigError(`tracing.${key}: not a tracing setting (expected propagate, api)`);
  }
  if (options.propagate !== undefined && typeof options.propagate !== 'boolean') throw new ConfigError(`tracing.propagate: expected true or false, got ${typeof options.propagate}`);
  const api = (options.api ?? loadOtel()) as OtelApi;
  if (typeof api?.trace?.getTracer !== 'function' || typeof api.propagation?.inject !== 'function' || typeof api.context?.active !== 'function') {
    throw new ConfigError('tracing.api: expected the @opentelemetry/api module');
  }
  return new Tracing(api, clientId, version, options.propagate === true, now);
}

/**
 * At first use only: from the package's own place through `require` in the CommonJS build (and
 * under Jest), then from the app's working directory (the ES module build, where import.meta
 * would break the CommonJS build; and linked installs, whose real path is outside the app).
 */
function loadOtel(): unknown {
  const loaders = [typeof require === 'function' ? require : undefined, createRequire(`${process.cwd()}/`)];
  let first: unknown;
  for (const load of loaders) {
    if (!load) continue;
    try {
      return load('@opentelemetry/api');
    } catch (e) {
      first ??= e;
    }
  }
  throw new ConfigError(`tracing: @opentelemetry/api could not be loaded (${(first as Error).message.split('\n')[0]}): install it (npm install @opentelemetry/api) or pass it as tracing.api`);
}
