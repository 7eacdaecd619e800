// Kafka's own tools as the judges of what kafkarx writes: ConsoleConsumer reads, TopicCommand
// creates topics. Tests use these rather than our own decoder.
import { ensureKafkaJars } from './jars.ts';
import { runJavaToolAsync } from './java.ts';
import type { SecureBroker } from './security.ts';

export function bootstrap(): string {
  const b = process.env.KAFKA_BROKERS;
  if (!b) throw new Error('KAFKA_BROKERS is not set: integration tests run under the jest integration project, whose global setup starts a broker');
  return b;
}

/** The secured listeners of the test broker (see security.ts); the PLAINTEXT one is bootstrap(). */
export function secureBroker(): SecureBroker {
  const s = process.env.KAFKARX_SECURITY;
  if (!s) throw new Error('KAFKARX_SECURITY is not set: the secured listeners exist only on the local JVM broker the integration global setup starts (not with KAFKA_BROKERS or Docker)');
  return JSON.parse(s) as SecureBroker;
}

const toolsDir = () => ensureKafkaJars().tools;

export interface ConsumedRecord {
  partition: number;
  offset: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[string, Buffer | null]>;
}

export interface ConsumeOptions {
  /** Stop after this many records; the tool fails the read if fewer arrive within timeoutMs. */
  maxRecords: number;
  isolationLevel?: 'read_uncommitted' | 'read_committed';
  partition?: number;
  /** Give up when no record arrived for this long (ConsoleConsumer's --timeout-ms). */
  timeoutMs?: number;
}

// Separators no test record contains, so binary-safe enough for text and JSON payloads.
const FIELD = '\u001f|F|';
const LINE = '\u001e|L|\n';
const HEADERS = '\u001d|H|';
const NULL = '\u0001|NULL|';

/** Reads a topic from the beginning with org.apache.kafka.tools.consumer.ConsoleConsumer. */
export async function consumeWithConsoleConsumer(topic: string, opts: ConsumeOptions): Promise<ConsumedRecord[]> {
  const args = ['--bootstrap-server', bootstrap(), '--topic', topic, '--max-messages', String(opts.maxRecords),
    '--timeout-ms', String(opts.timeoutMs ?? 20_000), '--isolation-level', opts.isolationLevel ?? 'read_uncommitted',
    '--consumer-property', 'auto.offset.reset=earliest'];
  if (opts.partition !== undefined) args.push('--partition', String(opts.partition), '--offset', 'earliest');
  else args.push('--from-beginning');
  for (const p of ['print.timestamp', 'print.partition', 'print.offset', 'print.headers', 'print.key', 'print.value']) {
    args.push('--property', `${p}=true`);
  }
  args.push('--property', `key.separator=${FIELD}`, '--property', `line.separator=${LINE}`,
    '--property', `headers.separator=${HEADERS}`, '--property', `null.literal=${NULL}`);
  let stdout: Buffer;
  try {
    ({ stdout } = await runJavaToolAsync(toolsDir(), 'org.apache.kafka.tools.consumer.ConsoleConsumer', args));
  } catch (e) {
    // ConsoleConsumer exits non-zero on its timeout, even after reading records: report what it read.
    throw new Error(`ConsoleConsumer could not read ${opts.maxRecords} records from ${topic}: ${(e as Error).message.slice(0, 2000)}`);
  }
  return parseConsoleOutput(stdout);
}

export function parseConsoleOutput(out: Buffer): ConsumedRecord[] {
  const records: ConsumedRecord[] = [];
  const line = Buffer.from(LINE);
  let start = 0;
  for (let end = out.indexOf(line, start); end !== -1; start = end + line.length, end = out.indexOf(line, start)) {
    records.push(parseRecord(out.subarray(start, end)));
  }
  if (start !== out.length) throw new Error(`ConsoleConsumer output ends with an incomplete record: ${out.subarray(start, start + 200).toString()}`);
  return records;
}

function parseRecord(buf: Buffer): ConsumedRecord {
  const fields = splitBuffer(buf, Buffer.from(FIELD), 6);
  if (fields.length !== 6) throw new Error(`unexpected ConsoleConsumer line: ${buf.subarray(0, 300).toString()}`);
  const [ts, part, off, hdrs, key, value] = fields;
  const [tsType, tsValue] = ts.toString().split(':');
  const headers: Array<[string, Buffer | null]> = [];
  if (hdrs.toString() !== 'NO_HEADERS') {
    for (const h of splitBuffer(hdrs, Buffer.from(HEADERS), Infinity)) {
      const colon = h.indexOf(':');
      headers.push([h.subarray(0, colon).toString(), nullable(h.subarray(colon + 1))]);
    }
  }
  return {
    timestampType: tsType as ConsumedRecord['timestampType'],
    timestamp: Number(tsValue),
    partition: Number(part.toString().replace('Partition:', '')),
    offset: Number(off.toString().replace('Offset:', '')),
    headers,
    key: nullable(key),
    value: nullable(value),
  };
}

function nullable(b: Buffer): Buffer | null {
  return b.equals(Buffer.from(NULL)) ? null : Buffer.from(b);
}

function splitBuffer(buf: Buffer, sep: Buffer, max: number): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  while (parts.length < max - 1) {
    const i = buf.indexOf(sep, start);
    if (i === -1) break;
    parts.push(buf.subarray(start, i));
    start = i + sep.length;
  }
  parts.push(buf.subarray(start));
  return parts;
}

export interface TopicSpec {
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string | number>;
}

/** Creates a topic with Kafka's TopicCommand, waiting until it exists. */
export async function createTopic(name: string, spec: TopicSpec = {}): Promise<void> {
  const args = ['--bootstrap-server', bootstrap(), '--create', '--topic', name,
    '--partitions', String(spec.partitions ?? 1), '--replication-factor', String(spec.replicationFactor ?? 1)];
  for (const [k, v] of Object.entries(spec.configs ?? {})) args.push('--config', `${k}=${v}`);
  await runJavaToolAsync(toolsDir(), 'org.apache.kafka.tools.TopicCommand', args);
}

/** Raises a topic's partition count (Kafka never lowers it). */
export async function addPartitions(name: string, partitions: number): Promise<void> {
  await runJavaToolAsync(toolsDir(), 'org.apache.kafka.tools.TopicCommand',
    ['--bootstrap-server', bootstrap(), '--alter', '--topic', name, '--partitions', String(partitions)]);
}

/** Writes `key<TAB>value` lines with Kafka's ConsoleProducer (the Java client's partitioner decides). */
export async function produceWithConsoleProducer(topic: string, records: Array<{ key: string; value: string }>): Promise<void> {
  const input = records.map((r) => `${r.key}\t${r.value}\n`).join('');
  await runJavaToolAsync(toolsDir(), 'org.apache.kafka.tools.ConsoleProducer',
    ['--bootstrap-server', bootstrap(), '--topic', topic, '--property', 'parse.key=true', '--property', 'key.separator=\t',
      '--producer-property', 'acks=all'], 180_000, input);
}

let topicSeq = 0;
/** A topic name no other test in this run uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${topicSeq++}`;
}

/** The end offset of each partition of a topic (Kafka's GetOffsetShell): how many records its log holds. */
export async function endOffsets(topic: string): Promise<Map<number, number>> {
  const { stdout } = await runJavaToolAsync(toolsDir(), 'org.apache.kafka.tools.GetOffsetShell', ['--bootstrap-server', bootstrap(), '--topic', topic, '--time', '-1']);
  const out = new Map<number, number>();
  for (const line of stdout.toString().trim().split('\n')) {
    const m = /:(\d+):(\d+)$/.exec(line.trim());
    if (m) out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}
