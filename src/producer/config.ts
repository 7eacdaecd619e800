import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { SchedulerLike } from 'rxjs';
import { clockOf, type Clock } from '../clock.ts';
import { codecFor } from '../codec/registry.ts';
import { validateLevel } from '../codec/levels.ts';
import type { CompressionName } from '../codec/types.ts';
import type { Transport } from '../network/connection.ts';
import type { SaslMechanism } from '../network/sasl/mechanism.ts';
import { oauthbearer, type OauthBearerTokenProvider } from '../network/sasl/oauthbearer.ts';
import { plain } from '../network/sasl/plain.ts';
import { scram } from '../network/sasl/scram.ts';
import { Instrumentation } from '../observe/instrumentation.ts';
import { resolveLogger, type Logger } from '../observe/logger.ts';
import { resolveTracing, type TracingConfig } from '../observe/tracing.ts';
import { VERSION } from '../version.ts';
import { ConfigError } from './errors.ts';
import type { PartitionerFn, PartitionerName } from './partitioners.ts';

export type Acks = 0 | 1 | -1 | 'all';

/**
 * SASL authentication, as KafkaJS users write it: a user name and password for PLAIN and SCRAM,
 * a token provider for OAUTHBEARER, or a mechanism of your own (see SaslMechanism).
 */
export type SaslConfig =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'oauthbearer'; token: OauthBearerTokenProvider }
  | SaslMechanism;

/** What `createProducer()` accepts. Defaults follow Kafka 4's Java producer unless noted. */
export interface ProducerConfig {
  /** Bootstrap addresses, `host:port`; the first that answers wins. */
  brokers: string[];
  clientId?: string;
  /** 0: no answer; 1: the leader wrote it; 'all' (-1, the default): every in-sync replica has it. */
  acks?: Acks;
  /** Upper bound on one partition's batch, in bytes (Java's batch.size). Default 16384. */
  batchBytes?: number;
  /** How long a batch waits for more records before it goes (Java's linger.ms). Default 5. */
  lingerMs?: number;
  /** Serialized bytes not yet acknowledged, across all partitions. Default 32 MiB. */
  bufferMemory?: number;
  /** How long a record may wait for buffer room or its topic's metadata. Default 60000. */
  maxBlockMs?: number;
  /** Largest request, and so largest record, the producer sends. Default 1 MiB. */
  maxRequestSize?: number;
  requestTimeoutMs?: number;
  /** Time from accepting a record to reporting its success or failure, retries included. Default 120000. */
  deliveryTimeoutMs?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** Requests in flight per broker connection. Default 5. */
  maxInFlight?: number;
  metadataMaxAgeMs?: number;
  connectTimeoutMs?: number;
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  /** A named partitioner or a function; explicit partitions on records always win. */
  partitioner?: PartitionerName | PartitionerFn<any, any>;
  /**
   * Adaptive partitioning (KIP-794, Java's partitioner.adaptive.partitioning.enable), default
   * true: a keyless record's new sticky partition is chosen at random weighted toward partitions
   * with fewer batches queued, so faster brokers get more of the keyless traffic.
   */
  partitionerAdaptive?: boolean;
  /**
   * With `partitionerAdaptive`: keyless records avoid a partition whose leader has had batches
   * waiting and taken none for this long (Java's partitioner.availability.timeout.ms). Default 0: off.
   */
  partitionerAvailabilityTimeoutMs?: number;
  /**
   * TLS (node:tls options, or true for the system's CAs). `ca`, `cert` and `key` are PEM text or
   * Buffers, not file paths: read the files yourself.
   */
  tls?: TlsOptions | boolean;
  /** KafkaJS's name for `tls`, accepted as an alias; give one or the other. */
  ssl?: TlsOptions | boolean;
  /** SASL authentication after connecting (over TLS when `tls` is set too: SASL_SSL). */
  sasl?: SaslConfig;
  /** Codec for every batch: 'none' (default), 'gzip', 'snappy', 'lz4' or 'zstd'. */
  compression?: CompressionName;
  /**
   * Virtual time for every timer and timestamp of the producer (linger, buffer and metadata waits,
   * connect and request timeouts, retry and reconnect backoff, delivery and transaction timeouts),
   * for tests with RxJS's TestScheduler; backoffs then have no jitter. Real time when absent.
   */
  scheduler?: SchedulerLike;
  /** The codec's level (gzip 1-9, lz4 1-17, zstd -131072..22); the codec's default when absent. */
  compressionLevel?: number;
  /**
   * Exactly one copy of each record per partition, in order, across retries (Java's
   * enable.idempotence). Default true, as in Java ≥ 3.0: it needs acks 'all' and maxInFlight ≤ 5.
   * When left unset, setting acks to 0 or 1 (or maxInFlight above 5) turns it off silently, as the
   * Java client does; set explicitly together with such a value, it is a ConfigError.
   */
  idempotent?: boolean;
  /**
   * Makes the producer transactional: records are sent only inside `producer.transaction()`
   * scopes. A newer producer with the same id fences this one (Java's transactional.id).
   */
  transactionalId?: string;
  /**
   * How long the transaction coordinator lets a transaction stay open before aborting it
   * (Java's transaction.timeout.ms). Default 60000; the broker caps it at its
   * transaction.max.timeout.ms.
   */
  transactionTimeoutMs?: number;
  /**
   * For tests only: opens each broker connection's byte stream instead of TCP, e.g.
   * `new FakeKafka().transport` from kafkarx/testing. Everything above the connection is unchanged.
   */
  transport?: Transport;
  /**
   * Where kafkarx logs: any object with debug, info, warn and error methods taking
   * `(message, fields)` (console, winston; pino through a small adapter, see the README). Fields
   * are structured (clientId, broker, address, topic, partition, attempt, error) and never hold
   * credentials. Default: warnings and errors to the console; null: silent.
   */
  logger?: Logger | null;
  /**
   * OpenTelemetry spans through @opentelemetry/api (an optional peer dependency, loaded only when
   * this is set): a span per batch, and with `propagate` the trace context in each record's
   * headers. Default: off.
   */
  tracing?: boolean | TracingConfig;
}

export interface ResolvedConfig extends Required<Omit<ProducerConfig, 'tls' | 'ssl' | 'sasl' | 'acks' | 'partitioner' | 'compressionLevel' | 'scheduler' | 'transactionalId' | 'transport' | 'logger' | 'tracing'>> {
  /** The producer's logging, metrics, diagnostics channels and tracing, built from `logger` and `tracing`. */
  instrumentation: Instrumentation;
  transport: Transport | undefined;
  transactionalId: string | null;
  scheduler: SchedulerLike | undefined;
  /** `scheduler`'s time, or real time: what every timer below the operators uses. */
  clock: Clock;
  compressionLevel: number | undefined;
  acks: 0 | 1 | -1;
  partitioner: PartitionerName | PartitionerFn<any, any>;
  tls: TlsOptions | boolean;
  sasl: SaslMechanism | undefined;
  bootstrap: Array<{ host: string; port: number }>;
}

const DEFAULTS = {
  clientId: 'kafkarx',
  batchBytes: 16384,
  lingerMs: 5,
  bufferMemory: 32 * 1024 * 1024,
  maxBlockMs: 60_000,
  maxRequestSize: 1024 * 1024,
  requestTimeoutMs: 30_000,
  deliveryTimeoutMs: 120_000,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  maxInFlight: 5,
  metadataMaxAgeMs: 300_000,
  connectTimeoutMs: 10_000,
  reconnectBackoffMs: 50,
  reconnectBackoffMaxMs: 1000,
  transactionTimeoutMs: 60_000,
  partitionerAvailabilityTimeoutMs: 0,
} as const;

/** The broker keeps the metadata of this many batches per producer and partition to spot duplicates. */
export const MAX_IN_FLIGHT_FOR_IDEMPOTENCE = 5;

/** Fills in defaults and checks every setting, so a mistake fails `createProducer()`, not a send. */
export function resolveConfig(config: ProducerConfig): ResolvedConfig {
  if (!config || !Array.isArray(config.brokers) || config.brokers.length === 0) {
    throw new ConfigError('brokers: give at least one bootstrap address, e.g. ["127.0.0.1:9092"]');
  }
  const known = new Set([...Object.keys(DEFAULTS), 'brokers', 'acks', 'partitioner', 'tls', 'ssl', 'sasl', 'compression', 'compressionLevel', 'scheduler', 'idempotent', 'transactionalId', 'transport', 'partitionerAdaptive', 'logger', 'tracing']);
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw new ConfigError(`unknown producer setting ${JSON.stringify(key)}`);
  }
  const resolved = { ...DEFAULTS } as Record<string, unknown>;
  for (const [key, fallback] of Object.entries(DEFAULTS)) {
    const value = (config as unknown as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof fallback === 'string') {
      if (typeof value !== 'string') throw new ConfigError(`${key}: expected a string, got ${typeof value}`);
    } else if (typeof value !== 'number' || !Number.isInteger(value) || value < (MINIMUM[key] ?? 0)) {
      throw new ConfigError(`${key}: expected an integer ≥ ${MINIMUM[key] ?? 0}, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  const r = resolved as unknown as ResolvedConfig;
  r.acks = parseAcks(config.acks ?? 'all');
  r.partitioner = config.partitioner ?? 'default';
  if (typeof r.partitioner === 'string' && !['default', 'murmur2', 'murmur3', 'round-robin'].includes(r.partitioner)) {
    throw new ConfigError(`partitioner: expected 'default', 'murmur2', 'murmur3', 'round-robin' or a function, got ${JSON.stringify(r.partitioner)}`);
  }
  if (config.partitionerAdaptive !== undefined && typeof config.partitionerAdaptive !== 'boolean') {
    throw new ConfigError(`partitionerAdaptive: expected true or false, got ${JSON.stringify(config.partitionerAdaptive)}`);
  }
  r.partitionerAdaptive = config.partitionerAdaptive ?? true;
  r.tls = resolveTls(config);
  r.sasl = resolveSasl(config.sasl);
  r.scheduler = config.scheduler;
  r.clock = clockOf(config.scheduler);
  if (config.transport !== undefined && typeof config.transport !== 'function') throw new ConfigError(`transport: expected a function, got ${typeof config.transport}`);
  r.transport = config.transport;
  r.compression = codecFor(config.compression ?? 'none').name;
  r.compressionLevel = validateLevel(r.compression, config.compressionLevel);
  r.brokers = config.brokers;
  r.bootstrap = config.brokers.map(parseAddress);
  // As the Java client: a record must be able to live through its linger and one request. Only a
  // value the user chose is an error; the default is raised to fit.
  if (r.deliveryTimeoutMs < r.lingerMs + r.requestTimeoutMs) {
    if (config.deliveryTimeoutMs !== undefined) {
      throw new ConfigError(`deliveryTimeoutMs (${r.deliveryTimeoutMs}) must be at least lingerMs + requestTimeoutMs (${r.lingerMs + r.requestTimeoutMs})`);
    }
    r.deliveryTimeoutMs = r.lingerMs + r.requestTimeoutMs;
  }
  if (r.retryBackoffMaxMs < r.retryBackoffMs) r.retryBackoffMaxMs = r.retryBackoffMs;
  resolveIdempotence(config, r);
  r.instrumentation = new Instrumentation(r.clientId, resolveLogger(config.logger), resolveTracing(config.tracing, r.clientId, VERSION, config.scheduler ? r.clock.now : undefined), r.clock);
  return r;
}

/** As the Java client's ProducerConfig: explicit conflicts fail, an implicit default gives way. */
function resolveIdempotence(config: ProducerConfig, r: ResolvedConfig): void {
  if (config.idempotent !== undefined && typeof config.idempotent !== 'boolean') {
    throw new ConfigError(`idempotent: expected true or false, got ${JSON.stringify(config.idempotent)}`);
  }
  const explicit = config.idempotent !== undefined;
  let idempotent = config.idempotent ?? true;
  if (idempotent && r.acks !== -1) {
    if (explicit) throw new ConfigError(`idempotent: true needs acks 'all', but acks is ${r.acks}: set acks to 'all' or idempotent to false`);
    idempotent = false;
  }
  if (idempotent && r.maxInFlight > MAX_IN_FLIGHT_FOR_IDEMPOTENCE) {
    if (explicit) throw new ConfigError(`idempotent: true needs maxInFlight ≤ ${MAX_IN_FLIGHT_FOR_IDEMPOTENCE}, but maxInFlight is ${r.maxInFlight}: lower maxInFlight or set idempotent to false`);
    idempotent = false;
  }
  r.idempotent = idempotent;
  const id = config.transactionalId;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0)) {
    throw new ConfigError(`transactionalId: expected a non-empty string, got ${JSON.stringify(id)}`);
  }
  r.transactionalId = id ?? null;
  if (id !== undefined && !idempotent) {
    const why = explicit ? 'idempotent is false' : r.acks !== -1 ? `acks is ${r.acks}, which turns idempotence off` : `maxInFlight is ${r.maxInFlight}, which turns idempotence off`;
    throw new ConfigError(`transactionalId needs an idempotent producer, but ${why}: transactions need idempotent true, acks 'all' and maxInFlight ≤ ${MAX_IN_FLIGHT_FOR_IDEMPOTENCE}`);
  }
}

function resolveTls(config: ProducerConfig): TlsOptions | boolean {
  if (config.tls !== undefined && config.ssl !== undefined) throw new ConfigError('tls and ssl: give one of them (ssl is KafkaJS\'s name for tls)');
  const setting = config.tls !== undefined ? 'tls' : 'ssl';
  const tls: unknown = config.tls !== undefined ? config.tls : config.ssl !== undefined ? config.ssl : false;
  if (typeof tls === 'boolean') return tls;
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) {
    throw new ConfigError(`${setting}: expected true, false or an object of node:tls options, got ${describeValue(tls)}`);
  }
  const options = tls as TlsOptions;
  for (const key of ['ca', 'cert', 'key', 'pfx'] as const) {
    for (const item of [options[key]].flat()) {
      const text = typeof item === 'string' ? item : typeof (item as { pem?: unknown } | undefined)?.pem === 'string' ? (item as { pem: string }).pem : undefined;
      if (text === undefined) {
        if (item !== undefined && !Buffer.isBuffer(item) && !(item instanceof Uint8Array) && typeof item !== 'object') {
          throw new ConfigError(`${setting}.${key}: expected PEM text or a Buffer, got ${describeValue(item)}`);
        }
        continue;
      }
      const isPem = text.includes('-----BEGIN');
      if (key === 'pfx' ? looksLikePath(text) : !isPem) {
        throw new ConfigError(`${setting}.${key}: expected the ${key === 'pfx' ? 'PKCS#12 bytes' : 'PEM text'} itself, but got a string that ${key === 'pfx' ? 'looks like a file path' : 'is not PEM (no "-----BEGIN"); if it is a file path'}: read the file, e.g. ${key}: fs.readFileSync(path)`);
      }
    }
  }
  if (options.passphrase !== undefined && typeof options.passphrase !== 'string') throw new ConfigError(`${setting}.passphrase: expected a string`);
  return options;
}

function looksLikePath(text: string): boolean {
  return text.length < 4096 && !/[\r\n]/.test(text) && (/^(\.{0,2}\/|~|[A-Za-z]:\\)/.test(text) || /\.(p12|pfx|pem|crt|cer|key)$/i.test(text));
}

const SASL_KEYS: Record<string, readonly string[]> = {
  plain: ['mechanism', 'username', 'password'],
  'scram-sha-256': ['mechanism', 'username', 'password'],
  'scram-sha-512': ['mechanism', 'username', 'password'],
  oauthbearer: ['mechanism', 'token', 'oauthBearerProvider'],
};

/** Never echoes a value: these settings hold credentials. */
function resolveSasl(sasl: unknown): SaslMechanism | undefined {
  if (sasl === undefined) return undefined;
  if (typeof sasl !== 'object' || sasl === null || Array.isArray(sasl)) {
    throw new ConfigError(`sasl: expected an object such as { mechanism: 'scram-sha-512', username, password }, got ${sasl === null ? 'null' : Array.isArray(sasl) ? 'an array' : typeof sasl}`);
  }
  const s = sasl as Record<string, unknown>;
  if (typeof s.mechanism !== 'string' || s.mechanism.length === 0) {
    throw new ConfigError(`sasl.mechanism: expected 'plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer' or, with an authenticate function, the name of your own mechanism`);
  }
  if (typeof s.authenticate === 'function') return s as unknown as SaslMechanism;
  const mechanism = s.mechanism.toLowerCase();
  const allowed = SASL_KEYS[mechanism];
  if (!allowed) {
    throw new ConfigError(`sasl.mechanism: ${JSON.stringify(s.mechanism)} is not built in: use 'plain', 'scram-sha-256', 'scram-sha-512' or 'oauthbearer', or pass { mechanism, authenticate } for a mechanism of your own`);
  }
  for (const key of Object.keys(s)) {
    if (!allowed.includes(key)) throw new ConfigError(`sasl.${key}: not a setting of SASL ${mechanism} (expected ${allowed.filter((k) => k !== 'oauthBearerProvider').join(', ')})`);
  }
  if (mechanism === 'oauthbearer') {
    if (s.token !== undefined && s.oauthBearerProvider !== undefined) throw new ConfigError('sasl.token and sasl.oauthBearerProvider: give one of them (oauthBearerProvider is KafkaJS\'s name for token)');
    const provider = s.token ?? s.oauthBearerProvider;
    if (typeof provider !== 'function') throw new ConfigError('sasl.token: expected an async function returning { value, lifetimeMs?, extensions? }');
    return oauthbearer(provider as OauthBearerTokenProvider);
  }
  if (typeof s.username !== 'string' || s.username.length === 0) throw new ConfigError(`sasl.username: expected a non-empty string for SASL ${mechanism}`);
  if (typeof s.password !== 'string' || s.password.length === 0) throw new ConfigError(`sasl.password: expected a non-empty string for SASL ${mechanism}`);
  if (mechanism === 'plain') return plain(s.username, s.password);
  return scram(mechanism === 'scram-sha-256' ? 'sha256' : 'sha512', s.username, s.password);
}

/** The kind of a value, for messages about settings that may hold secrets. */
function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? 'a string' : typeof v;
}

const MINIMUM: Record<string, number> = { transactionTimeoutMs: 1, batchBytes: 1, maxInFlight: 1, requestTimeoutMs: 1, maxRequestSize: 1, bufferMemory: 1, connectTimeoutMs: 1 };

function parseAcks(acks: Acks): 0 | 1 | -1 {
  if (acks === 'all' || acks === -1) return -1;
  if (acks === 0 || acks === 1) return acks;
  throw new ConfigError(`acks: expected 0, 1, -1 or 'all', got ${JSON.stringify(acks)}`);
}

function parseAddress(address: string): { host: string; port: number } {
  const m = typeof address === 'string' ? /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address.trim()) : null;
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new ConfigError(`brokers: ${JSON.stringify(address)} is not a host:port address`);
  return { host: m[1], port };
}
