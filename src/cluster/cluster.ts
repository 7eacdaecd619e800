import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { Cancel, Clock } from '../clock.ts';
import { Apis } from '../network/apis.ts';
import { BrokerConnection, type BrokerOptions } from '../network/broker.ts';
import type { Transport } from '../network/connection.ts';
import { AuthenticationError } from '../network/errors.ts';
import { HandshakeDrops } from '../network/handshake-drops.ts';
import type { SaslMechanism } from '../network/sasl/mechanism.ts';
import type { Instrumentation } from '../observe/instrumentation.ts';
import { ErrorCode, KafkaError } from '../protocol/errors.ts';
import type { ProduceResponse } from '../protocol/messages/produce.ts';
import { ProducerClosedError } from './closed.ts';
import { MetadataTimeoutError, readMetadata, TopicInfo, UnknownPartitionError, withoutStaleLeaders, type BrokerAddress } from './metadata.ts';

export interface ClusterOptions {
  bootstrap: ReadonlyArray<{ host: string; port: number }>;
  clientId: string;
  tls: TlsOptions | boolean;
  sasl: SaslMechanism | undefined;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  metadataMaxAgeMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  reconnectBackoffMs: number;
  reconnectBackoffMaxMs: number;
  /** Every timer and timestamp of the cluster and its connections. */
  clock: Clock;
  transport?: Transport;
  /** Told of connections and metadata changes (absent in tests that need none). */
  instrumentation?: Instrumentation;
}

interface Waiter {
  minPartition: number;
  /** Only metadata fetched after this time can prove a partition missing. */
  since: number;
  resolve: (topic: TopicInfo) => void;
  reject: (error: Error) => void;
  cancelTimer: Cancel;
  last?: Error;
}

/**
 * The producer's view of the cluster: which brokers exist, which broker leads each partition, and
 * one connection per broker, reused by every request to it. Metadata is cached, refreshed when it
 * is older than `metadataMaxAgeMs`, when a caller reports it stale, and while records wait for a
 * topic that is not there yet; refreshes are coalesced into one request at a time.
 */
export class Cluster {
  private readonly opts: ClusterOptions;
  private readonly brokers = new Map<number, BrokerAddress>();
  private readonly connections = new Map<number, Promise<BrokerConnection>>();
  /** The connections of `connections` that are open, for callers that cannot wait. */
  private readonly ready = new Map<number, BrokerConnection>();
  private readonly backoff = new Map<string, { failures: number; until: number }>();
  private readonly topics = new Map<string, TopicInfo>();
  /**
   * Changes whenever any topic's metadata does: a caller may keep what topic() returned while it
   * reads the same number, instead of looking the topic up for every record.
   */
  topicsVersion = 0;
  /** Topics some record asked for: each metadata request covers all of them. */
  private readonly interest = new Set<string>();
  private readonly waiters = new Map<string, Waiter[]>();
  private bootstrapConnection: Promise<BrokerConnection> | undefined;
  private updating = false;
  private updateRequested = false;
  /** When the last metadata request went out; none yet: the first goes at once, whatever the clock reads. */
  private lastUpdate = -Infinity;
  private closed = false;
  private shutdown: Promise<void> | undefined;
  /** Aborted by close(): ends every connection, also those still connecting or handshaking. */
  private readonly closing = new AbortController();
  /** Connections being opened: close() waits until each has given up. */
  private readonly opening = new Set<Promise<BrokerConnection>>();
  /** Backoff waits under way; close() ends them at once. */
  private readonly sleeps = new Map<Cancel, (error: Error) => void>();
  /** The next refresh by age (`metadataMaxAgeMs`), so new partitions are picked up unasked. */
  private ageTimer: Cancel | undefined;
  private readonly clock: Clock;
  /** This cluster's connections dropped right after their handshake (a listener wanting SASL or TLS?). */
  private readonly handshakeDrops = new HandshakeDrops();

  constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.clock = opts.clock;
  }

  /** The cached metadata of a topic, if any (refreshed every `metadataMaxAgeMs` in the background). */
  topic(name: string): TopicInfo | undefined {
    return this.topics.get(name);
  }

  leader(topic: string, partition: number): number {
    const info = this.topics.get(topic);
    return info && partition < info.partitionCount ? info.leaders[partition] : -1;
  }

  /**
   * Resolves with the topic's metadata once it has more than `minPartition` partitions. Fails with
   * UnknownPartitionError when metadata fetched after the call shows fewer, with the broker's
   * error when it refuses the topic for good, and with a TimeoutError after `timeoutMs`.
   */
  waitForTopic(name: string, minPartition: number, timeoutMs: number): Promise<TopicInfo> {
    if (this.closed) return Promise.reject(new ProducerClosedError(`the producer is closed: no metadata for topic ${JSON.stringify(name)}`));
    const known = this.topics.get(name);
    this.interest.add(name);
    if (known && known.partitionCount > minPartition) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        minPartition,
        since: this.clock.now(),
        resolve,
        reject,
        cancelTimer: this.clock.schedule(() => {
          this.removeWaiter(name, waiter);
          reject(new MetadataTimeoutError(name, timeoutMs, waiter.last));
        }, timeoutMs),
      };
      const list = this.waiters.get(name);
      if (list) list.push(waiter);
      else this.waiters.set(name, [waiter]);
      this.requestUpdate();
    });
  }

  /**
   * KIP-951 (Produce v10+): a partition answered NOT_LEADER_OR_FOLLOWER carries its current leader,
   * and the response the addresses of leaders the client may not know. Taking them at once lets
   * the retry go to the new leader without waiting for a metadata round trip; an answer whose
   * leader epoch is not newer than the cached one changes nothing.
   */
  updateLeaders(res: ProduceResponse): void {
    for (const b of res.nodeEndpoints) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port });
    for (const t of res.responses) {
      let info = this.topics.get(t.name);
      if (!info) continue;
      for (const p of t.partitionResponses) {
        const { leaderId, leaderEpoch } = p.currentLeader;
        if (leaderId < 0 || p.index >= info.partitionCount || leaderEpoch <= info.leaderEpochs[p.index] || !this.brokers.has(leaderId)) continue;
        const leaders = info.leaders.slice();
        const epochs = info.leaderEpochs.slice();
        leaders[p.index] = leaderId;
        epochs[p.index] = leaderEpoch;
        info = new TopicInfo(t.name, leaders, epochs, info.fetchedAt, info.topicId);
        this.topics.set(t.name, info);
        this.topicsVersion++;
      }
    }
  }

  /** Asks for fresh metadata soon (at most one request at a time, `retryBackoffMs` apart). */
  requestUpdate(): void {
    if (this.closed) return;
    this.updateRequested = true;
    if (!this.updating) void this.runUpdates();
  }

  /**
   * The connection to a broker, opened (with reconnect backoff) when there is none. `known`: the
   * broker's address as another answer gave it (FindCoordinator), for a broker the metadata does
   * not list yet; the metadata's address wins.
   */
  connectionTo(nodeId: number, known?: BrokerAddress): Promise<BrokerConnection> {
    if (this.closed) return Promise.reject(new ProducerClosedError());
    const existing = this.connections.get(nodeId);
    if (existing) return existing;
    const address = this.brokers.get(nodeId) ?? known;
    if (!address) return Promise.reject(new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `broker ${nodeId} is not in the cluster metadata`));
    const pending = this.open(nodeId, address.host, address.port);
    this.connections.set(nodeId, pending);
    pending.then(
      (c) => this.track(nodeId, pending, c),
      () => {
        if (this.connections.get(nodeId) === pending) this.connections.delete(nodeId);
      },
    );
    return pending;
  }

  /** The open connection to a broker, if there is one now. */
  readyConnection(nodeId: number): BrokerConnection | undefined {
    const c = this.ready.get(nodeId);
    return c && !c.connection.closed ? c : undefined;
  }

  private track(nodeId: number, pending: Promise<BrokerConnection>, c: BrokerConnection): void {
    this.ready.set(nodeId, c);
    c.connection.onClose(() => {
      if (this.connections.get(nodeId) === pending) this.connections.delete(nodeId);
      if (this.ready.get(nodeId) === c) this.ready.delete(nodeId);
      // A broker that went away may have led partitions that moved since.
      if (!this.closed) this.requestUpdate();
    });
  }

  /**
   * A connection for requests any broker can answer (Metadata, InitProducerId), chosen as Java's
   * leastLoadedNode: an open connection (the one with the fewest requests waiting), else a broker
   * being connected to, else one that can be connected to at once, and a broker in reconnect
   * backoff only when no other is left (its connection waits the backoff out); the bootstrap
   * addresses when no broker answers. Random among equals, so brokers share the load.
   */
  async anyBroker(): Promise<BrokerConnection> {
    if (this.closed) throw new ProducerClosedError();
    let open: BrokerConnection | undefined;
    for (const c of this.ready.values()) {
      if (!c.connection.closed && (!open || c.connection.pending < open.connection.pending)) open = c;
    }
    if (open) return open;
    const known = [...this.brokers.keys()];
    for (let i = known.length - 1; i > 0; i--) {
      const j = Math.floor(this.clock.random() * (i + 1));
      [known[i], known[j]] = [known[j], known[i]];
    }
    const now = this.clock.now();
    const rank = (nodeId: number): number => {
      const b = this.brokers.get(nodeId)!;
      if ((this.backoff.get(`${b.host}:${b.port}`)?.until ?? -Infinity) > now) return 2;
      return this.connections.has(nodeId) ? 0 : 1;
    };
    const ranks = new Map(known.map((nodeId) => [nodeId, rank(nodeId)]));
    // A stable sort: the shuffle still decides among brokers of one rank.
    known.sort((a, b) => ranks.get(a)! - ranks.get(b)!);
    let last: Error | undefined;
    for (const nodeId of known) {
      try {
        return await this.connectionTo(nodeId);
      } catch (e) {
        last = e as Error;
      }
    }
    return this.bootstrap(last);
  }

  /**
   * Waits `ms` (a backoff); rejects with ProducerClosedError at once when the cluster closes, so
   * no timer outlives the producer.
   */
  sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.reject(new ProducerClosedError());
    return new Promise((resolve, reject) => {
      const cancel = this.clock.schedule(() => {
        this.sleeps.delete(cancel);
        resolve();
      }, ms);
      this.sleeps.set(cancel, reject);
    });
  }

  /**
   * Closes every connection, those still being opened included, fails metadata waits with
   * ProducerClosedError and stops every timer; resolves once no socket is left. Every call gets
   * that same promise (a forced close and the graceful one it cuts short both wait for it).
   */
  close(): Promise<void> {
    this.shutdown ??= this.closeAll();
    return this.shutdown;
  }

  private async closeAll(): Promise<void> {
    this.closed = true;
    // Collected first: aborting closes them, which takes them out of the maps.
    const all = [...this.connections.values(), ...(this.bootstrapConnection ? [this.bootstrapConnection] : []), ...this.opening];
    this.closing.abort();
    this.ageTimer?.();
    for (const [cancel, reject] of this.sleeps) {
      cancel();
      reject(new ProducerClosedError());
    }
    this.sleeps.clear();
    for (const [name, list] of this.waiters) {
      for (const w of list) {
        w.cancelTimer();
        w.reject(new ProducerClosedError(`the producer closed while waiting for metadata of topic ${JSON.stringify(name)}`));
      }
    }
    this.waiters.clear();
    this.connections.clear();
    this.ready.clear();
    this.bootstrapConnection = undefined;
    await Promise.all(all.map((p) => p.then((c) => c.close(), () => undefined)));
  }

  /** Bootstrap addresses in the order given: the first that answers wins. */
  private async bootstrap(previous?: Error): Promise<BrokerConnection> {
    const existing = await this.bootstrapConnection?.catch(() => undefined);
    if (existing && !existing.connection.closed) return existing;
    const errors: string[] = previous ? [previous.message] : [];
    for (const { host, port } of this.opts.bootstrap) {
      const attempt = this.open(-1, host, port);
      try {
        const c = await attempt;
        this.bootstrapConnection = attempt;
        return c;
      } catch (e) {
        // Credentials or TLS settings that one broker refuses, the others refuse too.
        if (e instanceof AuthenticationError || e instanceof ProducerClosedError) throw e;
        errors.push((e as Error).message);
      }
    }
    throw new KafkaError(ErrorCode.NETWORK_EXCEPTION, `no bootstrap broker answered: ${errors.join('; ')}`);
  }

  private async open(nodeId: number, host: string, port: number): Promise<BrokerConnection> {
    const key = `${host}:${port}`;
    const state = this.backoff.get(key);
    if (state && state.until > this.clock.now()) await this.sleep(state.until - this.clock.now());
    if (this.closed) throw new ProducerClosedError();
    const options: BrokerOptions = {
      host, port, clientId: this.opts.clientId, tls: this.opts.tls, sasl: this.opts.sasl,
      connectTimeoutMs: this.opts.connectTimeoutMs, requestTimeoutMs: this.opts.requestTimeoutMs, maxInFlight: this.opts.maxInFlight,
      signal: this.closing.signal,
      clock: this.clock,
      transport: this.opts.transport,
      observer: this.opts.instrumentation?.connectionObserver(nodeId, key),
      handshakeDrops: this.handshakeDrops,
    };
    const attempt = BrokerConnection.open(nodeId, options);
    this.opening.add(attempt);
    try {
      const c = await attempt;
      // close() came while the handshake ran: the abort has closed it.
      if (this.closed) throw new ProducerClosedError();
      this.backoff.delete(key);
      this.opts.instrumentation?.connected(c, state?.failures ?? 0);
      return c;
    } catch (e) {
      if (this.closed) throw new ProducerClosedError();
      const failures = (state?.failures ?? 0) + 1;
      this.opts.instrumentation?.connectFailed(nodeId, key, e as Error, failures);
      const delay = exponentialBackoff(this.opts.reconnectBackoffMs, this.opts.reconnectBackoffMaxMs, failures - 1, this.clock.random);
      this.backoff.set(key, { failures, until: this.clock.now() + delay });
      throw e;
    } finally {
      this.opening.delete(attempt);
    }
  }

  private async runUpdates(): Promise<void> {
    this.updating = true;
    let failures = 0;
    try {
      while (!this.closed && (this.updateRequested || this.waiters.size > 0)) {
        const wait = this.lastUpdate + backoffMs(this.opts, failures, this.clock.random) - this.clock.now();
        if (wait > 0) await this.sleep(wait).catch(() => undefined);
        if (this.closed) return;
        this.updateRequested = false;
        this.lastUpdate = this.clock.now();
        try {
          await this.fetchMetadata();
          failures = 0;
        } catch (e) {
          failures++;
          this.opts.instrumentation?.metadataFailed(e as Error, failures);
          if (e instanceof AuthenticationError) {
            this.failWaiters(e);
            // Asking again would only repeat the refusal: wait until something asks for metadata.
            this.updateRequested = false;
          }
          for (const list of this.waiters.values()) for (const w of list) w.last = e as Error;
        }
      }
    } finally {
      this.updating = false;
    }
  }

  private async fetchMetadata(): Promise<void> {
    const conn = await this.anyBroker();
    const started = this.clock.now();
    const res = await conn.call(Apis.metadata, {
      topics: [...this.interest].map((name) => ({ name })),
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    });
    const update = readMetadata(res, started);
    // Before anyone hears of it: a stale leader is no leader change.
    update.topics = update.topics.map((t) => withoutStaleLeaders(this.topics.get(t.name), t));
    this.ageTimer?.();
    // A producer left open must not keep the process alive just to refresh metadata.
    this.ageTimer = this.clock.schedule(() => this.requestUpdate(), this.opts.metadataMaxAgeMs, true);
    this.opts.instrumentation?.metadata(update, this.brokers, this.topics);
    this.brokers.clear();
    for (const b of update.brokers) this.brokers.set(b.nodeId, b);
    for (const nodeId of [...this.connections.keys()]) {
      if (!this.brokers.has(nodeId)) void this.connections.get(nodeId)!.then((c) => c.close(), () => undefined);
    }
    this.adoptBootstrapConnection();
    for (const t of update.topics) {
      this.topics.set(t.name, t);
      this.topicsVersion++;
      this.settle(t.name, (w) => {
        if (t.partitionCount > w.minPartition) return { topic: t };
        if (started >= w.since) return { error: new UnknownPartitionError(t.name, w.minPartition, t.partitionCount) };
        return undefined;
      });
    }
    for (const [name, error] of update.pending) {
      if (error) for (const w of this.waiters.get(name) ?? []) w.last = error;
    }
    for (const [name, error] of update.failed) {
      this.topics.delete(name);
      this.topicsVersion++;
      this.settle(name, () => ({ error }));
    }
  }

  /** The bootstrap connection goes to a broker we now know by id: use it as that broker's. */
  private adoptBootstrapConnection(): void {
    const pending = this.bootstrapConnection;
    if (!pending) return;
    this.bootstrapConnection = undefined;
    void pending.then((c) => {
      const match = [...this.brokers.values()].find((b) => `${b.host}:${b.port}` === c.address);
      if (match && !this.connections.has(match.nodeId) && !c.connection.closed) {
        const adopted = Promise.resolve(c);
        this.connections.set(match.nodeId, adopted);
        this.track(match.nodeId, adopted, c);
      } else {
        void c.close();
      }
    }, () => undefined);
  }

  private settle(name: string, outcome: (w: Waiter) => { topic?: TopicInfo; error?: Error } | undefined): void {
    const list = this.waiters.get(name);
    if (!list) return;
    const remaining: Waiter[] = [];
    for (const w of list) {
      const o = outcome(w);
      if (!o) {
        remaining.push(w);
        continue;
      }
      w.cancelTimer();
      if (o.topic) w.resolve(o.topic);
      else w.reject(o.error!);
    }
    if (remaining.length > 0) this.waiters.set(name, remaining);
    else this.waiters.delete(name);
  }

  /** Authentication failed: no metadata will come, so waiting out `maxBlockMs` helps nobody. */
  private failWaiters(error: Error): void {
    for (const name of [...this.waiters.keys()]) this.settle(name, () => ({ error }));
  }

  private removeWaiter(name: string, waiter: Waiter): void {
    const list = this.waiters.get(name);
    if (!list) return;
    const i = list.indexOf(waiter);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.waiters.delete(name);
  }
}

/**
 * The wait before retry number `retries` + 1: retryBackoffMs doubling per retry up to
 * retryBackoffMaxMs, with ±20% jitter, as the Java client's ExponentialBackoff (KIP-580).
 */
export function backoffMs(opts: { retryBackoffMs: number; retryBackoffMaxMs: number }, retries: number, random: () => number = Math.random): number {
  return exponentialBackoff(opts.retryBackoffMs, opts.retryBackoffMaxMs, retries, random);
}

/**
 * The Java client's ExponentialBackoff with base 2 and jitter 0.2, for retries and reconnects
 * alike: `initialMs` doubled per attempt up to `maxMs`, times a random factor in [0.8, 1.2),
 * then capped, so `maxMs` is a true maximum and waits at the cap still spread (over [0.8, 1] ×
 * `maxMs`). A maximum not above the initial wait gives the initial wait (capped), unjittered.
 * `random` is the clock's: in virtual time always 0.5, so the factor is exactly 1.
 */
export function exponentialBackoff(initialMs: number, maxMs: number, attempts: number, random: () => number): number {
  const initial = Math.min(initialMs, maxMs);
  if (maxMs <= initialMs) return initial;
  // initial × 2^min(attempts, log2(max / initial)), without the rounding error of the logarithm.
  const term = Math.min(initial * 2 ** Math.max(0, attempts), maxMs);
  return Math.min(Math.floor(term * (0.8 + random() * 0.4)), maxMs);
}

