// What the parent hands a run and what a run hands back.

export type Client = 'kafkarx' | 'kafkajs' | 'platformatic' | 'java' | 'kcat';
export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
/** bytes100/1k/10k: random values of that size; json: JSON order events (150-300 bytes). */
export type Values = 'bytes100' | 'bytes1k' | 'bytes10k' | 'json';
export type Acks = 1 | -1;

/**
 * How a client is driven. kafkarx: pull = fromPullSource(generator), range, subject, interval
 * (bursts), send (producer.send() loop), warm (a second 1M in a process that already sent 1M),
 * txn (transactions). KafkaJS and @platformatic/kafka: lanes (send() calls of `perSend` records,
 * `inFlight` at once) or stream (@platformatic/kafka's asStream()). java, kcat: their one way.
 */
export type Mode = 'pull' | 'range' | 'subject' | 'interval' | 'send' | 'warm' | 'txn' | 'lanes' | 'stream' | 'tool';

export interface Tuning {
  /** Records per send() call (lanes), or the stream's batchSize. */
  perSend: number;
  /** send() calls in flight at once (lanes); the stream's highWaterMark in batches. */
  inFlight: number;
}

/** What a row of the plan runs, and every run of it. */
export interface Workload {
  client: Client;
  mode: Mode;
  acks: Acks;
  /** undefined: the client's default at that acks. */
  idempotent?: boolean;
  codec: Codec;
  values: Values;
  keyed: boolean;
  records: number;
  /**
   * The batch size: kafkarx's batchBytes, Java's and librdkafka's batch.size; undefined: the
   * client's default (16,384 for kafkarx and Java, 1,000,000 for librdkafka).
   */
  batchBytes?: number;
}

export interface RunSpec extends Workload {
  /** Records go round-robin over these topics (one, except in the 100-topic row). */
  topics: string[];
  partitions: number;
  bootstrap: string;
  tuning: Tuning;
  /** kafkarx send(): records outstanding at most. */
  outstanding: number;
  transactionSize?: number;
  /** A file of the run's values, one per line, for kcat (-l) and Java (--payload-file). */
  payloadFile?: string;
  /** Where a profiled kafkarx child writes its .cpuprofile. */
  profileDir?: string;
  /** The broker's process when it runs on this machine, to bill its CPU in the window. */
  brokerPid?: number;
}

export interface RunResult {
  records: number;
  valueBytes: number;
  wallMs: number;
  /** Client CPU (user + system, all threads) in the window, µs; for Java and kcat net of startup. */
  cpuUs: number;
  maxRssKb: number;
  brokerCpuUs?: number;
  /** Busy CPU of the whole machine in the window, µs: what neither client nor broker used is noise. */
  machineCpuUs?: number;
  /** Java and kcat: the CPU (µs) and wall time (ms) of a 1-record run of the same command, subtracted above. */
  startupCpuUs?: number;
  startupWallMs?: number;
  /** Java and kcat: the whole process's CPU, µs, over the window `machineCpuUs` covers. */
  processCpuUs?: number;
  windowUs: [number, number];
  /** Offsets the run took outside its window: records to connect and learn metadata, a warm-up, a start-up probe; transaction markers. */
  outside: number;
  skipped?: string;
  /** Filled in by the parent from the broker: records and bytes the run added to its topics. */
  storedRecords?: number;
  storedBytes?: number;
}

export type Measured = Omit<RunResult, 'valueBytes'>;
/** What measure() sees; the client adds what it sent outside the window. */
export type Timed = Omit<Measured, 'outside'>;
