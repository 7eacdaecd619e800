import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Subject, type Observable, type SchedulerLike } from 'rxjs';
import type { Transport } from '../network/connection.ts';
import { ErrorCode } from '../protocol/errors.ts';
import * as M from '../protocol/messages/index.ts';
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';
import { readRecordBatches } from '../record/batch-reader.ts';
import { FAKE_DECOMPRESS, nextSequence, PartitionLog, recordsOf, Topic, Transaction, type CommittedOffset, type FakeRecord } from './model.ts';
import { FakeSocket, type FrameHandler } from './socket.ts';

export type { CommittedOffset, FakeRecord, RecordState } from './model.ts';

export interface FakeKafkaOptions {
  /** How many brokers (node ids 1..n). Default 1. */
  brokers?: number;
  /** Topics that exist from the start, with their partition counts. */
  topics?: Record<string, number>;
  /** Create a topic a producer asks metadata for (as auto.create.topics.enable). Default true. */
  autoCreateTopics?: boolean;
  /** Partitions of an auto-created topic. Default 1. */
  defaultPartitions?: number;
  /** Answer every request this long after it arrived. Default 0 (on the next turn of the event loop). */
  latencyMs?: number;
  /** Timer for latency, delays, timed faults and transaction timeouts; default real time. */
  scheduler?: SchedulerLike;
  /**
   * The cluster's finalized `transaction.version` (KIP-890), in every ApiVersions answer. 2 (the
   * default, as a new Kafka 4 cluster): partitions join a transaction with their first Produce
   * (v12+), offsets with TxnOffsetCommit v5, and each EndTxn (v5) bumps the producer's epoch. 1:
   * classic transactions, and the fake offers no version that implies 2 (Produce ≤ 11, EndTxn and
   * TxnOffsetCommit ≤ 4).
   */
  transactionVersion?: 1 | 2;
  /**
   * Answer UNKNOWN_PRODUCER_ID to a batch whose producer the partition has no state of (a
   * forgotten one, see forgetProducers) unless its sequence is 0, as brokers before Kafka 2.5 did.
   * Default false: the batch is appended, as Kafka 2.5+ does (KIP-360).
   */
  legacyUnknownProducerId?: boolean;
}

/** A client connection as the fake saw it. */
export interface FakeConnection {
  readonly broker: number;
  /** The client id of its requests (null until the first). */
  readonly clientId: string | null;
  readonly openedAt: number;
  /** When it closed, and who closed it: the client (close(), a timeout) or the fake (a dropped connection, FakeKafka.close()). */
  readonly closedAt: number | undefined;
  readonly closedBy: 'client' | 'broker' | undefined;
}

/** What `FakeKafka.observe()` saw of a producer's flush() and close() calls. */
export interface ProducerCalls {
  /** flush() calls, and how many of them have resolved. */
  readonly flushes: number;
  readonly flushed: number;
  /** close() calls, and whether close has resolved. */
  readonly closes: number;
  readonly closed: boolean;
}

/** A request as the fake received it, decoded by the generated protocol codecs. */
export interface ReceivedRequest {
  /** The client id in its request header. */
  readonly clientId: string | null;
  /** When it arrived: the scheduler's time, or Date.now() without one. */
  readonly at: number;
  readonly broker: number;
  readonly api: string;
  readonly version: number;
  readonly body: unknown;
}

interface ApiHandler {
  decode(r: Reader, v: number): unknown;
  encode(w: Writer, v: number, s: never): void;
  isFlexible(v: number): boolean;
  min: number;
  max: number;
  name: string;
}

const api = (m: { API_NAME: string; MIN_VERSION: number; MAX_VERSION: number; isFlexible(v: number): boolean }, decode: ApiHandler['decode'], encode: (w: Writer, v: number, s: any) => void): [number, ApiHandler] =>
  [M.ApiKey[m.API_NAME as M.ApiName], { decode, encode, isFlexible: m.isFlexible, min: m.MIN_VERSION, max: m.MAX_VERSION, name: m.API_NAME }];

/** The APIs the fake answers: what a producer uses. */
const APIS = new Map<number, ApiHandler>([
  api(M.ApiVersions, M.ApiVersions.decodeApiVersionsRequest, M.ApiVersions.encodeApiVersionsResponse),
  api(M.Metadata, M.Metadata.decodeMetadataRequest, M.Metadata.encodeMetadataResponse),
  api(M.Produce, M.Produce.decodeProduceRequest, M.Produce.encodeProduceResponse),
  api(M.InitProducerId, M.InitProducerId.decodeInitProducerIdRequest, M.InitProducerId.encodeInitProducerIdResponse),
  api(M.FindCoordinator, M.FindCoordinator.decodeFindCoordinatorRequest, M.FindCoordinator.encodeFindCoordinatorResponse),
  api(M.AddPartitionsToTxn, M.AddPartitionsToTxn.decodeAddPartitionsToTxnRequest, M.AddPartitionsToTxn.encodeAddPartitionsToTxnResponse),
  api(M.AddOffsetsToTxn, M.AddOffsetsToTxn.decodeAddOffsetsToTxnRequest, M.AddOffsetsToTxn.encodeAddOffsetsToTxnResponse),
  api(M.EndTxn, M.EndTxn.decodeEndTxnRequest, M.EndTxn.encodeEndTxnResponse),
  api(M.TxnOffsetCommit, M.TxnOffsetCommit.decodeTxnOffsetCommitRequest, M.TxnOffsetCommit.encodeTxnOffsetCommitResponse),
]);
// AddPartitionsToTxn 4+ is the broker-to-broker form: a producer never sends it.
APIS.get(M.ApiKey.AddPartitionsToTxn)!.max = 3;

/** The highest versions a cluster on transaction version 1 offers: the higher ones mean version 2 (KIP-890). */
const TRANSACTION_V1_MAX = new Map<number, number>([[M.ApiKey.Produce, 11], [M.ApiKey.EndTxn, 4], [M.ApiKey.TxnOffsetCommit, 4]]);

/** Kafka's default max.message.bytes (message.max.bytes). */
const DEFAULT_MAX_MESSAGE_BYTES = 1048588;

const key = (topic: string, partition: number) => `${topic}\0${partition}`;

/**
 * An in-memory Kafka cluster for tests. It plugs in where kafkarx opens its sockets
 * (`createProducer({ brokers: fake.bootstrap, transport: fake.transport })`) and answers the same
 * request and response frames a broker does, through kafkarx's generated protocol codecs: every
 * operator, `toKafka()`, idempotence and transactions run unchanged against it.
 *
 * It keeps topics, partitions and their leaders, offsets, producer ids and sequences as Kafka 2.5+
 * (duplicates are acknowledged with their first offset, gaps are OUT_OF_ORDER_SEQUENCE_NUMBER, a
 * producer without state is written at any sequence), transactions
 * (classic: AddPartitionsToTxn, markers at EndTxn) and consumer-group offsets, and lets a test
 * inject faults and inspect every record.
 */
export class FakeKafka {
  /** Bootstrap addresses to give the producer. */
  readonly bootstrap: string[];
  /** The producer setting that routes its connections here. */
  readonly transport: Transport;
  private readonly nodes: number[];
  private readonly topics = new Map<string, Topic>();
  private readonly transactions = new Map<string, Transaction>();
  private readonly groups = new Map<string, Map<string, CommittedOffset>>();
  private readonly received: ReceivedRequest[] = [];
  private readonly appendedRecords = new Subject<FakeRecord>();
  private readonly sockets = new Set<FakeSocket>();
  private readonly connectionLog: Array<{ -readonly [K in keyof FakeConnection]: FakeConnection[K] }> = [];
  private readonly timers = new Set<{ unsubscribe(): void }>();
  private readonly drops: Array<{ api: string; times: number }> = [];
  private readonly delays: Array<{ api: string; ms: number; times: number }> = [];
  /** Extra latency of every answer from a broker (delayBroker). */
  private readonly brokerDelays = new Map<number, number>();
  private nextProducerId = 1000;
  private topicCount = 0;
  private readonly opts: Required<Omit<FakeKafkaOptions, 'scheduler' | 'topics'>> & { scheduler?: SchedulerLike };
  private get v2(): boolean {
    return this.opts.transactionVersion >= 2;
  }

  constructor(options: FakeKafkaOptions = {}) {
    const brokers = options.brokers ?? 1;
    this.opts = {
      brokers, autoCreateTopics: options.autoCreateTopics ?? true, defaultPartitions: options.defaultPartitions ?? 1, latencyMs: options.latencyMs ?? 0,
      scheduler: options.scheduler, transactionVersion: options.transactionVersion ?? 2, legacyUnknownProducerId: options.legacyUnknownProducerId ?? false,
    };
    this.nodes = Array.from({ length: brokers }, (_, i) => i + 1);
    this.bootstrap = this.nodes.map((n) => `${hostOf(n)}:9092`);
    for (const [name, partitions] of Object.entries(options.topics ?? {})) this.createTopic(name, partitions);
    this.transport = ({ host, port }) => {
      const node = this.nodes.find((n) => hostOf(n) === host && port === 9092);
      const entry = { broker: node ?? -1, clientId: null as string | null, openedAt: this.now(), closedAt: undefined as number | undefined, closedBy: undefined as FakeConnection['closedBy'] };
      const socket = new FakeSocket(node === undefined ? undefined : this.brokerHandler(node, entry), `${host}:${port}`);
      if (node === undefined) return socket as unknown as Socket;
      this.connectionLog.push(entry);
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        entry.closedAt = this.now();
        entry.closedBy = socket.closedByBroker ? 'broker' : 'client';
      });
      return socket as unknown as Socket;
    };
  }

  // ---- topics -------------------------------------------------------------------------------

  /**
   * Creates a topic whose partitions' leaders go round the brokers, or are `leaders` (a node id
   * per partition, -1 for none). `maxMessageBytes` is the topic's max.message.bytes: a larger
   * batch is refused with MESSAGE_TOO_LARGE.
   */
  createTopic(name: string, partitions = this.opts.defaultPartitions, config: { maxMessageBytes?: number; leaders?: readonly number[] } = {}): void {
    if (this.topics.has(name)) throw new Error(`FakeKafka: topic ${JSON.stringify(name)} exists`);
    const leaders = config.leaders;
    if (leaders && (leaders.length !== partitions || leaders.some((n) => n !== -1 && !this.nodes.includes(n)))) {
      throw new Error(`FakeKafka: leaders ${JSON.stringify(leaders)} must name one broker (1..${this.nodes.length}) or -1 for each of ${partitions} partitions`);
    }
    const topic = new Topic(name, randomBytes(16).toString('base64url'), config.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    const first = this.topicCount++;
    for (let p = 0; p < partitions; p++) topic.partitions.push(new PartitionLog(name, p, leaders ? leaders[p] : this.nodes[(first + p) % this.nodes.length]));
    this.topics.set(name, topic);
  }

  // ---- inspection ---------------------------------------------------------------------------

  /** Every record of a topic (or one partition), in offset order per partition, whatever its transaction's outcome. */
  records(topic: string, partition?: number): FakeRecord[] {
    const t = this.topics.get(topic);
    if (!t) return [];
    return (partition === undefined ? t.partitions : [t.partitions[partition]].filter(Boolean)).flatMap((p) => p.records);
  }

  /** What a read_committed consumer sees: records below the last stable offset, aborted ones left out. */
  readCommitted(topic: string, partition?: number): FakeRecord[] {
    const t = this.topics.get(topic);
    if (!t) return [];
    return (partition === undefined ? t.partitions : [t.partitions[partition]].filter(Boolean))
      .flatMap((p) => p.records.filter((r) => r.offset < p.lastStableOffset && r.state === 'committed'));
  }

  /** The next offset the partition will assign (records and transaction markers each take one). */
  endOffset(topic: string, partition: number): number {
    return this.partition(topic, partition).endOffset;
  }

  /** The offsets a group has committed (through transactions that committed). */
  committedOffsets(group: string): CommittedOffset[] {
    return [...(this.groups.get(group)?.values() ?? [])];
  }

  /** Each record as the fake appends it, with its offset; transactional ones while still pending. */
  get appended(): Observable<FakeRecord> {
    return this.appendedRecords.asObservable();
  }

  /** Requests received so far, oldest first, optionally of one API ('Produce', 'EndTxn', …). */
  requests(apiName?: string): ReceivedRequest[] {
    return apiName === undefined ? [...this.received] : this.received.filter((r) => r.api === apiName);
  }

  /** The partition's current leader (a node id, -1 when it has none). */
  leaderOf(topic: string, partition: number): number {
    return this.partition(topic, partition).leader;
  }

  /** Connections the client holds open to the fake. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Every connection a client opened, oldest first: when, to which broker, and how it closed. */
  connections(): FakeConnection[] {
    return this.connectionLog.map((c) => ({ ...c }));
  }

  /**
   * Whether the client with this id (every client when absent) has closed every connection it
   * opened itself: what `producer.close()` leaves behind, as MockProducer's closed() tells.
   */
  closedByClient(clientId?: string): boolean {
    const mine = this.connectionLog.filter((c) => clientId === undefined || c.clientId === clientId);
    return mine.length > 0 && mine.every((c) => c.closedBy === 'client');
  }

  /**
   * Counts a producer's flush() and close() calls, and their completions, from now on (as
   * MockProducer's flushed() and closed()): flushes leave no trace on the wire. Wraps the two
   * methods of that producer object only.
   */
  observe(producer: { flush(): Promise<void>; close(options?: { timeoutMs?: number }): Promise<void> }): ProducerCalls {
    const calls = { flushes: 0, flushed: 0, closes: 0, closed: false };
    const flush = producer.flush.bind(producer);
    const close = producer.close.bind(producer);
    producer.flush = () => {
      calls.flushes++;
      return flush().then(() => void calls.flushed++);
    };
    producer.close = (options) => {
      calls.closes++;
      return close(options).then(() => void (calls.closed = true));
    };
    return calls;
  }

  // ---- faults -------------------------------------------------------------------------------

  /** The next `times` Produce requests for this partition get `errorCode` for it, and nothing is appended. */
  failProduce(topic: string, partition: number, errorCode: number, times = 1): void {
    const p = this.partition(topic, partition);
    for (let i = 0; i < times; i++) p.failures.push(errorCode);
  }

  /** The next `times` requests of an API ('Produce', 'Metadata', …) are answered `ms` later than usual. */
  delayResponses(apiName: string, ms: number, times = 1): void {
    this.delays.push({ api: apiName, ms, times });
  }

  /**
   * From now on every answer from broker `node` comes `ms` later than the others (a slow disk, a
   * long GC pause, a distant rack); 0 makes it as fast as the rest again. The requests themselves
   * are carried out on arrival, as by a broker whose responses are slow.
   */
  delayBroker(node: number, ms: number): void {
    if (!this.nodes.includes(node)) throw new Error(`FakeKafka: no broker ${node}`);
    if (ms > 0) this.brokerDelays.set(node, ms);
    else this.brokerDelays.delete(node);
  }

  /**
   * The next `times` requests of an API are carried out (a Produce is appended) but the
   * connection then drops before the answer: the broker wrote it, the client never heard.
   */
  dropConnectionAfter(apiName: string, times = 1): void {
    this.drops.push({ api: apiName, times });
  }

  /** The partition has no leader for `ms` (forever when absent): metadata says LEADER_NOT_AVAILABLE. */
  makeLeaderless(topic: string, partition: number, ms?: number): void {
    const p = this.partition(topic, partition);
    const leader = p.leader;
    p.leader = -1;
    p.leaderEpoch++;
    if (ms !== undefined) this.after(ms, () => this.moveLeader(topic, partition, leader));
  }

  /** Moves the partition's leadership to `node`; the old leader answers NOT_LEADER_OR_FOLLOWER. */
  moveLeader(topic: string, partition: number, node: number): void {
    if (!this.nodes.includes(node)) throw new Error(`FakeKafka: no broker ${node}`);
    const p = this.partition(topic, partition);
    p.leader = node;
    p.leaderEpoch++;
  }

  /**
   * The partition forgets every producer's state (epochs and last sequences), as when retention or
   * DeleteRecords removed all their batches: each producer's next batch is taken at whatever
   * sequence it has (or refused with UNKNOWN_PRODUCER_ID under `legacyUnknownProducerId`).
   */
  forgetProducers(topic: string, partition: number): void {
    this.partition(topic, partition).producers.clear();
  }

  /**
   * Fences the transactional id as a newer producer with the same id would: its epoch is bumped
   * and its open transaction aborted; the fenced producer's next transactional request fails.
   */
  fence(transactionalId: string): void {
    const txn = this.transactions.get(transactionalId);
    if (!txn) throw new Error(`FakeKafka: no transactional id ${JSON.stringify(transactionalId)}`);
    txn.epoch++;
    txn.lastEpoch = -1;
    if (txn.state === 'ongoing') this.endTransaction(txn, false);
  }

  /** Closes every connection from the client's side of view, and stops the fake's timers. */
  close(): void {
    for (const t of this.timers) t.unsubscribe();
    this.timers.clear();
    for (const s of this.sockets) s.closeFromBroker();
    this.appendedRecords.complete();
  }

  // ---- the broker side ----------------------------------------------------------------------

  private partition(topic: string, partition: number): PartitionLog {
    const p = this.topics.get(topic)?.partitions[partition];
    if (!p) throw new Error(`FakeKafka: no partition ${topic}/${partition}`);
    return p;
  }

  private now(): number {
    return this.opts.scheduler ? this.opts.scheduler.now() : Date.now();
  }

  /** Runs `fn` after `ms` on the fake's scheduler (or in real time); returns the way to cancel it. */
  private after(ms: number, fn: () => void): () => void {
    const scheduler = this.opts.scheduler;
    if (scheduler) {
      const s = scheduler.schedule(() => {
        this.timers.delete(s);
        fn();
      }, ms);
      this.timers.add(s);
      return () => {
        s.unsubscribe();
        this.timers.delete(s);
      };
    }
    const handle = ms > 0 ? setTimeout(() => run(), ms) : setImmediate(() => run());
    const entry = { unsubscribe: () => (ms > 0 ? clearTimeout(handle as NodeJS.Timeout) : clearImmediate(handle as NodeJS.Immediate)) };
    const run = () => {
      this.timers.delete(entry);
      fn();
    };
    this.timers.add(entry);
    return () => {
      entry.unsubscribe();
      this.timers.delete(entry);
    };
  }

  private take<R extends { api: string; times: number }>(rules: R[], apiName: string): R | undefined {
    const rule = rules.find((r) => r.api === apiName && r.times > 0);
    if (rule) rule.times--;
    return rule;
  }

  /** One connection's view: answers leave in request order, as Kafka's do. */
  private brokerHandler(node: number, connection: { clientId: string | null }): FrameHandler {
    const queue: Array<{ ready: boolean; response: Buffer | undefined; drop: boolean }> = [];
    return {
      handle: (frame, reply, drop) => {
        const apiKey = frame.readInt16BE(0);
        const version = frame.readInt16BE(2);
        const handler = APIS.get(apiKey);
        if (!handler) throw new Error(`FakeKafka: api key ${apiKey} is not implemented`);
        const r = new Reader(frame);
        const header = M.RequestHeader.decodeRequestHeader(r, handler.isFlexible(version) ? 2 : 1);
        const body = handler.decode(r, version);
        connection.clientId = header.clientId;
        this.received.push({ at: this.now(), clientId: header.clientId, broker: node, api: handler.name, version, body });
        const response = this.answer(node, handler.name, version, body);
        if (response === undefined) return;
        const w = new Writer(256);
        w.int32(header.correlationId);
        // ApiVersions answers with response header v0 in every version (KIP-511).
        if (handler.isFlexible(version) && apiKey !== M.ApiKey.ApiVersions) w.emptyTaggedFields();
        handler.encode(w, version, response as never);
        const entry = { ready: false, response: w.toBuffer() as Buffer | undefined, drop: this.take(this.drops, handler.name) !== undefined };
        queue.push(entry);
        this.after(this.opts.latencyMs + (this.brokerDelays.get(node) ?? 0) + (this.take(this.delays, handler.name)?.ms ?? 0), () => {
          entry.ready = true;
          while (queue.length > 0 && queue[0].ready) {
            const next = queue.shift()!;
            if (next.drop) {
              queue.length = 0;
              drop();
              return;
            }
            reply(next.response!);
          }
        });
      },
    };
  }

  private answer(node: number, apiName: string, version: number, body: any): unknown {
    switch (apiName) {
      case 'ApiVersions': {
        const level = this.opts.transactionVersion;
        return {
          errorCode: 0,
          throttleTimeMs: 0,
          apiKeys: [...APIS.entries()].map(([apiKey, h]) => ({ apiKey, minVersion: h.min, maxVersion: this.v2 ? h.max : Math.min(h.max, TRANSACTION_V1_MAX.get(apiKey) ?? h.max) })),
          supportedFeatures: [{ name: 'transaction.version', minVersion: 0, maxVersion: 2 }],
          finalizedFeaturesEpoch: 1n,
          finalizedFeatures: [{ name: 'transaction.version', minVersionLevel: level, maxVersionLevel: level }],
        } satisfies M.ApiVersions.ApiVersionsResponseInput;
      }
      case 'Metadata':
        return this.metadata(body as M.Metadata.MetadataRequest);
      case 'Produce':
        return this.produce(node, version, body as M.Produce.ProduceRequest);
      case 'InitProducerId':
        return this.initProducerId(body as M.InitProducerId.InitProducerIdRequest);
      case 'FindCoordinator': {
        const req = body as M.FindCoordinator.FindCoordinatorRequest;
        const coordinator = this.nodes[0];
        if (version >= 4) {
          return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((k) => ({ key: k, nodeId: coordinator, host: hostOf(coordinator), port: 9092, errorCode: 0, errorMessage: null })) };
        }
        return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: coordinator, host: hostOf(coordinator), port: 9092 };
      }
      case 'AddPartitionsToTxn':
        return this.addPartitions(body as M.AddPartitionsToTxn.AddPartitionsToTxnRequest);
      case 'AddOffsetsToTxn': {
        const req = body as M.AddOffsetsToTxn.AddOffsetsToTxnRequest;
        const { txn, error } = this.checkTxn(req.transactionalId, req.producerId, req.producerEpoch);
        if (txn && !error) this.begin(txn);
        return { throttleTimeMs: 0, errorCode: error };
      }
      case 'TxnOffsetCommit':
        return this.txnOffsetCommit(version, body as M.TxnOffsetCommit.TxnOffsetCommitRequest);
      case 'EndTxn':
        return this.endTxn(version, body as M.EndTxn.EndTxnRequest);
      default:
        throw new Error(`FakeKafka: ${apiName} is not implemented`);
    }
  }

  private metadata(req: M.Metadata.MetadataRequest): M.Metadata.MetadataResponseInput {
    const names = req.topics === null ? [...this.topics.keys()] : req.topics.map((t) => t.name!);
    return {
      throttleTimeMs: 0,
      brokers: this.nodes.map((n) => ({ nodeId: n, host: hostOf(n), port: 9092, rack: null })),
      clusterId: 'fake-kafka',
      controllerId: this.nodes[0],
      topics: names.map((name) => {
        if (!this.topics.has(name) && req.allowAutoTopicCreation && this.opts.autoCreateTopics) this.createTopic(name);
        const topic = this.topics.get(name);
        if (!topic) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] };
        return {
          errorCode: 0,
          name,
          topicId: topic.id,
          isInternal: false,
          partitions: topic.partitions.map((p) => ({
            errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
            partitionIndex: p.index,
            leaderId: p.leader,
            leaderEpoch: p.leaderEpoch,
            replicaNodes: p.leader < 0 ? [] : [p.leader],
            isrNodes: p.leader < 0 ? [] : [p.leader],
            offlineReplicas: [],
          })),
        };
      }),
    };
  }

  private produce(node: number, version: number, req: M.Produce.ProduceRequest): M.Produce.ProduceResponseInput | undefined {
    const responses = req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((data) => {
        const { errorCode, baseOffset } = this.append(node, t.name, data.index, data.records, req.transactionalId, version >= 12);
        return { index: data.index, errorCode, baseOffset: BigInt(baseOffset), logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null };
      }),
    }));
    return req.acks === 0 ? undefined : { throttleTimeMs: 0, responses };
  }

  /** `implicitAdd`: Produce v12+ (transaction version 2), whose partition joins the transaction as it is written. */
  private append(node: number, topicName: string, index: number, records: Uint8Array | null, transactionalId: string | null, implicitAdd: boolean): { errorCode: number; baseOffset: number } {
    const fail = (errorCode: number) => ({ errorCode, baseOffset: -1 });
    const p = this.topics.get(topicName)?.partitions[index];
    if (!p) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (p.leader !== node) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const injected = p.failures.shift();
    if (injected !== undefined) return fail(injected);
    if (!records) return fail(ErrorCode.CORRUPT_MESSAGE);
    let batches;
    try {
      batches = readRecordBatches(Buffer.from(records), { decompress: FAKE_DECOMPRESS });
    } catch {
      return fail(ErrorCode.CORRUPT_MESSAGE);
    }
    if (batches.length !== 1) return fail(ErrorCode.INVALID_RECORD);
    const batch = batches[0];
    if (batch.sizeInBytes > this.topics.get(topicName)!.maxMessageBytes) return fail(ErrorCode.MESSAGE_TOO_LARGE);
    const last = nextSequence(batch.baseSequence, batch.lastOffsetDelta);
    let entry = batch.producerId >= 0 ? p.producers.get(batch.producerId) : undefined;
    if (batch.producerId >= 0) {
      if (batch.isTransactional) {
        const txn = transactionalId === null ? undefined : this.transactions.get(transactionalId);
        if (!txn || txn.producerId !== batch.producerId) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
        if (batch.producerEpoch !== txn.epoch) return fail(ErrorCode.INVALID_PRODUCER_EPOCH);
        if (implicitAdd) {
          this.begin(txn);
          txn.partitions.add(p);
        }
        if (txn.state !== 'ongoing' || !txn.partitions.has(p)) return fail(ErrorCode.INVALID_TXN_STATE);
      }
      if (entry && batch.producerEpoch < entry.epoch) return fail(ErrorCode.INVALID_PRODUCER_EPOCH);
      if (!entry) {
        // No state of this producer here (new, or its batches are gone: retention, a forgotten
        // producer). Kafka 2.5+ appends its batch at whatever sequence it has (KIP-360), except a
        // transaction version 2 batch, which must start at 0; brokers before 2.5 answered
        // UNKNOWN_PRODUCER_ID to a sequence other than 0.
        if (batch.baseSequence !== 0) {
          if (this.opts.legacyUnknownProducerId) return fail(ErrorCode.UNKNOWN_PRODUCER_ID);
          if (batch.isTransactional && implicitAdd) return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
        }
        entry = { epoch: batch.producerEpoch, batches: [] };
        p.producers.set(batch.producerId, entry);
      } else if (batch.producerEpoch > entry.epoch) {
        // A new epoch starts its sequences at 0.
        if (batch.baseSequence !== 0) return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
        entry.epoch = batch.producerEpoch;
        entry.batches.length = 0;
      } else {
        // A retry of one of the last five batches: acknowledged again with its first offset, as
        // Kafka does (NONE, not DUPLICATE_SEQUENCE_NUMBER), and not written twice.
        const duplicate = entry.batches.find((b) => b.first === batch.baseSequence && b.last === last);
        if (duplicate) return { errorCode: 0, baseOffset: duplicate.baseOffset };
        const expected = entry.batches.length === 0 ? 0 : nextSequence(entry.batches[entry.batches.length - 1].last, 1);
        if (batch.baseSequence !== expected) return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      }
    }
    const baseOffset = p.endOffset;
    const stored = recordsOf(batch, topicName, index, baseOffset);
    p.endOffset += batch.lastOffsetDelta + 1;
    if (entry) {
      entry.batches.push({ first: batch.baseSequence, last, baseOffset });
      if (entry.batches.length > 5) entry.batches.shift();
    }
    for (const r of stored) {
      p.records.push(r);
      this.appendedRecords.next(r);
    }
    return { errorCode: 0, baseOffset };
  }

  private initProducerId(req: M.InitProducerId.InitProducerIdRequest): M.InitProducerId.InitProducerIdResponseInput {
    const ok = (producerId: number, producerEpoch: number) => ({ throttleTimeMs: 0, errorCode: 0, producerId: BigInt(producerId), producerEpoch });
    if (req.transactionalId === null) {
      // An idempotent producer asking to bump its epoch (KIP-360) keeps its id.
      if (req.producerId >= 0n) return ok(Number(req.producerId), req.producerEpoch + 1);
      return ok(this.nextProducerId++, 0);
    }
    let txn = this.transactions.get(req.transactionalId);
    if (!txn) {
      txn = new Transaction(req.transactionalId, this.nextProducerId++, 0);
      txn.timeoutMs = req.transactionTimeoutMs;
      this.transactions.set(req.transactionalId, txn);
      return ok(txn.producerId, txn.epoch);
    }
    // With its id, a producer asks for its next epoch (KIP-360): granted for its current epoch, and
    // for the one the coordinator fenced when it aborted a timed-out transaction (KIP-588).
    const own = Number(req.producerId) === txn.producerId && (req.producerEpoch === txn.epoch || req.producerEpoch === txn.lastEpoch);
    if (req.producerId >= 0n && !own) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.PRODUCER_FENCED, producerId: -1n, producerEpoch: -1 };
    }
    txn.timeoutMs = req.transactionTimeoutMs;
    txn.epoch++;
    txn.lastEpoch = -1;
    if (txn.state === 'ongoing') this.endTransaction(txn, false);
    return ok(txn.producerId, txn.epoch);
  }

  private checkTxn(transactionalId: string, producerId: bigint, epoch: number): { txn: Transaction | undefined; error: number } {
    const txn = this.transactions.get(transactionalId);
    if (!txn || txn.producerId !== Number(producerId)) return { txn, error: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
    if (epoch !== txn.epoch) return { txn, error: ErrorCode.PRODUCER_FENCED };
    return { txn, error: 0 };
  }

  private addPartitions(req: M.AddPartitionsToTxn.AddPartitionsToTxnRequest): M.AddPartitionsToTxn.AddPartitionsToTxnResponseInput {
    const { txn, error } = this.checkTxn(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch);
    const results = req.v3AndBelowTopics.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((index) => {
        const p = this.topics.get(t.name)?.partitions[index];
        const code = error || (p ? 0 : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        return { partitionIndex: index, partitionErrorCode: code };
      }),
    }));
    const failed = results.some((t) => t.resultsByPartition.some((r) => r.partitionErrorCode !== 0));
    if (!failed) {
      this.begin(txn!);
      for (const t of req.v3AndBelowTopics) for (const index of t.partitions) txn!.partitions.add(this.topics.get(t.name)!.partitions[index]);
    } else {
      // As Kafka: the partitions that were fine are reported as not attempted.
      for (const t of results) for (const r of t.resultsByPartition) if (r.partitionErrorCode === 0) r.partitionErrorCode = ErrorCode.OPERATION_NOT_ATTEMPTED;
    }
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results };
  }

  private txnOffsetCommit(version: number, req: M.TxnOffsetCommit.TxnOffsetCommitRequest): M.TxnOffsetCommit.TxnOffsetCommitResponseInput {
    const { txn, error } = this.checkTxn(req.transactionalId, req.producerId, req.producerEpoch);
    // Version 5 (transaction version 2) adds the group to the transaction itself.
    if (!error && version >= 5) this.begin(txn!);
    if (!error) {
      let pending = txn!.offsets.get(req.groupId);
      if (!pending) txn!.offsets.set(req.groupId, (pending = new Map()));
      for (const t of req.topics) for (const p of t.partitions) pending.set(key(t.name, p.partitionIndex), { topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) });
    }
    return { throttleTimeMs: 0, topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: error })) })) };
  }

  /**
   * EndTxn. Transaction version 2 (v5): every EndTxn gives the producer its next epoch, a retry of
   * the EndTxn that ended the last transaction (its epoch, its outcome) is answered again, and a
   * commit retried on a transaction the coordinator aborted is INVALID_TXN_STATE.
   */
  private endTxn(version: number, req: M.EndTxn.EndTxnRequest): M.EndTxn.EndTxnResponseInput {
    const refuse = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 });
    const v2 = version >= 5;
    const txn = this.transactions.get(req.transactionalId);
    const outcome = req.committed ? 'commit' : 'abort';
    if (v2 && txn && txn.producerId === Number(req.producerId) && req.producerEpoch === txn.epoch - 1 && txn.state === 'empty' && txn.lastOutcome !== undefined) {
      if (txn.lastOutcome !== outcome) return refuse(ErrorCode.INVALID_TXN_STATE);
      return { throttleTimeMs: 0, errorCode: 0, producerId: BigInt(txn.producerId), producerEpoch: txn.epoch };
    }
    const { error } = this.checkTxn(req.transactionalId, req.producerId, req.producerEpoch);
    if (error) return refuse(error);
    // Version 2 lets a producer abort a transaction nothing reached yet (its epoch still goes up).
    if (txn!.state !== 'ongoing' && !(v2 && !req.committed)) return refuse(ErrorCode.INVALID_TXN_STATE);
    if (v2) txn!.epoch++;
    this.endTransaction(txn!, req.committed);
    return { throttleTimeMs: 0, errorCode: 0, producerId: v2 ? BigInt(txn!.producerId) : -1n, producerEpoch: v2 ? txn!.epoch : -1 };
  }

  /** The transaction gets its first partition or group: transaction.timeout.ms starts. */
  private begin(txn: Transaction): void {
    if (txn.state === 'ongoing') return;
    txn.state = 'ongoing';
    txn.cancelTimeout = this.after(txn.timeoutMs, () => {
      txn.cancelTimeout = undefined;
      // As Kafka's coordinator: it aborts the transaction under a bumped epoch, so the producer's
      // next request is refused as fenced, and lets that producer take the next epoch (KIP-588).
      txn.lastEpoch = txn.epoch;
      txn.epoch++;
      this.endTransaction(txn, false);
    });
  }

  /** Writes the commit or abort marker to each partition of the transaction (one offset each). */
  private endTransaction(txn: Transaction, commit: boolean): void {
    txn.cancelTimeout?.();
    txn.cancelTimeout = undefined;
    txn.lastOutcome = commit ? 'commit' : 'abort';
    for (const p of txn.partitions) {
      for (const r of p.records) if (r.producerId === txn.producerId && r.state === 'pending') r.state = commit ? 'committed' : 'aborted';
      p.endOffset++;
      const entry = p.producers.get(txn.producerId);
      // A marker under a newer epoch (transaction version 2, a timeout, fencing) starts the
      // producer's sequences over, as the broker's producer state does.
      if (entry && txn.epoch > entry.epoch) {
        entry.epoch = txn.epoch;
        entry.batches.length = 0;
      }
    }
    if (commit) {
      for (const [group, offsets] of txn.offsets) {
        let committed = this.groups.get(group);
        if (!committed) this.groups.set(group, (committed = new Map()));
        for (const [k, o] of offsets) committed.set(k, o);
      }
    }
    txn.partitions.clear();
    txn.offsets.clear();
    txn.state = 'empty';
  }
}

function hostOf(node: number): string {
  return `broker-${node}.fake-kafka`;
}
