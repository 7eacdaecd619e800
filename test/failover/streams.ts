// Keyed streams for the failover tests, from kafkarx and from Kafka's Java producer side by side:
// each record's value is its key's sequence number, so what a topic holds can be judged for lost,
// duplicated and reordered records without trusting the producer's own account.
import { spawn } from 'node:child_process';
import { Observable } from 'rxjs';
import type { Producer, RecordMetadata } from 'kafkarx';
import { toKafka } from 'kafkarx/operators';
import { ensureKafkaJars } from '../broker/jars.ts';
import { javaToolArgs, runJavaToolAsync } from '../broker/java.ts';
import { bootstrap, consumeWithConsoleConsumer } from '../broker/reference.ts';

export interface StreamOptions {
  /** Records per second, spread over the keys in turn. */
  rate: number;
  keys: number;
}

/** A record's place in its key's sequence; travels as passthrough and comes back with its metadata. */
interface Sent {
  key: number;
  seq: number;
}

/** What each paced source has generated so far: `next[k]` is key k's next sequence number. */
export class Pacer {
  readonly next: number[];
  generated = 0;
  private readonly started = Date.now();
  private readonly rate: number;

  constructor(opts: StreamOptions) {
    this.rate = opts.rate;
    this.next = new Array<number>(opts.keys).fill(0);
  }

  /** Calls `emit` for every record due by now. */
  catchUp(emit: (key: number, seq: number) => void): void {
    const due = Math.floor(((Date.now() - this.started) * this.rate) / 1000);
    while (this.generated < due) {
      const key = this.generated % this.next.length;
      emit(key, this.next[key]++);
      this.generated++;
    }
  }
}

export interface KafkarxStream {
  readonly pacer: Pacer;
  acked(): number;
  lastAckAt(): number;
  /** Ends the source; the stream completes once everything generated is acknowledged. */
  stop(): void;
  /** Every record's metadata, or the error that reached the user. */
  done: Promise<Array<RecordMetadata<Sent>>>;
}

/** A keyed stream through `toKafka()` in its default error mode: any error ends it and fails the test. */
export function kafkarxStream(producer: Producer, topic: string, opts: StreamOptions): KafkarxStream {
  const pacer = new Pacer(opts);
  let stopped = false;
  let acked = 0;
  let lastAckAt = 0;
  const metas: Array<RecordMetadata<Sent>> = [];
  const source = new Observable<{ topic: string; key: string; value: string; passthrough: Sent }>((subscriber) => {
    const tick = () => {
      pacer.catchUp((key, seq) => subscriber.next({ topic, key: `k${key}`, value: String(seq), passthrough: { key, seq } }));
      if (stopped) subscriber.complete();
    };
    const timer = setInterval(tick, 5);
    return () => clearInterval(timer);
  });
  const done = new Promise<Array<RecordMetadata<Sent>>>((resolve, reject) => {
    source.pipe(toKafka(producer)).subscribe({
      next: (m) => {
        acked++;
        lastAckAt = Date.now();
        metas.push(m as RecordMetadata<Sent>);
      },
      error: reject,
      complete: () => resolve(metas),
    });
  });
  return { pacer, acked: () => acked, lastAckAt: () => lastAckAt, stop: () => { stopped = true; }, done };
}

export interface JavaStream {
  readonly pacer: Pacer;
  stop(): void;
  /** When the Java producer had sent and acknowledged everything (ConsoleProducer exits after close()), and what it logged. */
  done: Promise<{ exitedAt: number; stderr: string }>;
}

/**
 * The same keyed stream through Kafka's Java producer (ConsoleProducer reading `key<TAB>value`
 * lines from stdin). ConsoleProducer's own defaults differ from the producer's (linger 1000 ms,
 * 3 retries, a 1.5 s request timeout), so the producer's defaults are set explicitly.
 */
export function javaStream(topic: string, opts: StreamOptions): JavaStream {
  const pacer = new Pacer(opts);
  const props = {
    'acks': 'all', 'enable.idempotence': 'true', 'linger.ms': '5', 'batch.size': '16384', 'retries': '2147483647',
    'request.timeout.ms': '30000', 'delivery.timeout.ms': '120000', 'max.block.ms': '60000', 'retry.backoff.ms': '100',
    'buffer.memory': '33554432', 'max.in.flight.requests.per.connection': '5',
  };
  const args = ['--bootstrap-server', bootstrap(), '--topic', topic, '--property', 'parse.key=true', '--property', 'key.separator=\t'];
  for (const [k, v] of Object.entries(props)) args.push('--producer-property', `${k}=${v}`);
  const child = spawn('java', javaToolArgs(ensureKafkaJars().tools, 'org.apache.kafka.tools.ConsoleProducer', args), { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  let lines = '';
  const write = () => {
    pacer.catchUp((key, seq) => { lines += `k${key}\t${seq}\n`; });
    if (lines) child.stdin!.write(lines);
    lines = '';
  };
  const timer = setInterval(write, 5);
  const done = new Promise<{ exitedAt: number; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ exitedAt: Date.now(), stderr }) : reject(new Error(`ConsoleProducer exited with ${code}: ${stderr.slice(-3000)}`))));
  });
  return {
    pacer,
    stop: () => {
      clearInterval(timer);
      write();
      child.stdin!.end();
    },
    done,
  };
}

/** The log end offset of each partition, as Kafka's GetOffsetShell reports it. */
export async function endOffsets(topic: string): Promise<number[]> {
  const { stdout } = await runJavaToolAsync(ensureKafkaJars().tools, 'org.apache.kafka.tools.GetOffsetShell',
    ['--bootstrap-server', bootstrap(), '--topic', topic, '--time', '-1']);
  const ends: number[] = [];
  for (const line of stdout.toString().trim().split('\n')) {
    const [, partition, offset] = line.split(':');
    ends[Number(partition)] = Number(offset);
  }
  return ends;
}

export interface Tally {
  records: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** Acknowledged records not found at their acknowledged offset with their value. */
  ackedMissing: number;
}

/**
 * Reads the whole topic with Kafka's ConsoleConsumer and counts, per key, what is missing, written
 * more than once, or out of order against the sequence the source generated (`next`).
 */
export async function tallyTopic(topic: string, next: number[], metas?: Array<RecordMetadata<Sent>>): Promise<Tally> {
  const ends = await endOffsets(topic);
  const total = ends.reduce((a, b) => a + b, 0);
  const records = total === 0 ? [] : await consumeWithConsoleConsumer(topic, { maxRecords: total, timeoutMs: 60_000 });
  records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const seen = next.map(() => new Set<number>());
  const last = next.map(() => -1);
  let duplicated = 0;
  let reordered = 0;
  const at = new Map<string, string>();
  for (const r of records) {
    const key = Number(r.key!.toString().slice(1));
    const seq = Number(r.value!.toString());
    at.set(`${r.partition}:${r.offset}`, `${key}:${seq}`);
    if (seen[key].has(seq)) duplicated++;
    else if (seq < last[key]) reordered++;
    seen[key].add(seq);
    last[key] = Math.max(last[key], seq);
  }
  let lost = 0;
  for (let k = 0; k < next.length; k++) for (let s = 0; s < next[k]; s++) if (!seen[k].has(s)) lost++;
  let ackedMissing = 0;
  for (const m of metas ?? []) if (at.get(`${m.partition}:${m.offset}`) !== `${m.passthrough!.key}:${m.passthrough!.seq}`) ackedMissing++;
  return { records: records.length, lost, duplicated, reordered, ackedMissing };
}
