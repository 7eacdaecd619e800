// kcat, librdkafka's command-line client, as a second reference reader next to Kafka's
// ConsoleConsumer: what kafkarx writes must decode through librdkafka's C codecs as well as
// through the Java client's, since either may be the consumer in production.
import { spawn, spawnSync } from 'node:child_process';
import { bootstrap, type ConsumedRecord } from './reference.ts';

const INSTALL_HINT = 'install it with `sudo apt-get install -y kcat` (Debian 12+, Ubuntu 22.04+; the package is `kafkacat` on older ' +
  'releases), `brew install kcat` on macOS, or point KAFKARX_KCAT at the binary. .ci/run installs it on CI. ' +
  'Integration tests never skip, so a missing kcat fails them.';

export interface KcatInfo {
  /** The command run: KAFKARX_KCAT, else `kcat`, else `kafkacat` (its name before 1.7). */
  command: string;
  /** The `kcat -V` banner, e.g. "Version 1.7.1 (JSON, ... librdkafka 2.0.2 builtin.features=gzip,...)". */
  banner: string;
  /** librdkafka's builtin.features: the codecs it can decompress are among them. */
  features: string[];
}

let info: KcatInfo | undefined;

/** Finds kcat and what its librdkafka was built with; throws, saying how to install it, when absent. */
export function kcatInfo(): KcatInfo {
  if (info) return info;
  const candidates = process.env.KAFKARX_KCAT ? [process.env.KAFKARX_KCAT] : ['kcat', 'kafkacat'];
  for (const command of candidates) {
    const res = spawnSync(command, ['-V'], { encoding: 'utf8', timeout: 10_000 });
    if (res.error || res.status !== 0) continue;
    const banner = `${res.stdout}${res.stderr}`;
    const features = /builtin\.features=([\w,]+)/.exec(banner)?.[1].split(',') ?? [];
    // -J needs kcat built with yajl; a build without it cannot serve as a binary-safe reader.
    if (!/\bJSON\b/.test(banner)) throw new Error(`${command} was built without JSON support (no -J): ${banner.trim()}; ${INSTALL_HINT}`);
    info = { command, banner: banner.trim(), features };
    return info;
  }
  throw new Error(`kcat not found (tried ${candidates.join(', ')})${process.env.CI === 'true' ? ' on CI' : ''}: ${INSTALL_HINT}`);
}

export interface KcatConsumeOptions {
  /** The exact number of records the topic must hold; fewer or more fails the read. */
  expectedRecords: number;
  partition?: number;
  /** Kills kcat when it has not reached the end of every partition by then. Default 60000. */
  timeoutMs?: number;
}

export interface KcatRead {
  records: ConsumedRecord[];
  /**
   * The codecs of the batches as stored by the broker ('none', 'gzip', 'snappy', 'lz4', 'zstd'),
   * from librdkafka's `msg` debug log. It names the last batch of each partition's fetch, so a
   * topic whose batches all share one codec shows exactly that one.
   */
  codecs: Set<string>;
}

/**
 * Reads a topic from the beginning to its end with `kcat -C -e -J` and checks the count.
 *
 * Binary-safe: kcat writes keys, values and headers into its JSON envelope byte for byte, escaping
 * only `"`, `\` and bytes below 0x20 (yajl without UTF-8 validation). Decoding stdout as latin1 maps
 * each byte to one UTF-16 unit, so after JSON.parse every string converts back to its exact bytes.
 * Headers come as an array of alternating names and values, which keeps order, repeated names and
 * null values. kcat also checks each batch's CRC-32C (check.crcs).
 */
export async function consumeWithKcat(topic: string, opts: KcatConsumeOptions): Promise<KcatRead> {
  const { command } = kcatInfo();
  const args = ['-C', '-b', bootstrap(), '-t', topic, '-o', 'beginning', '-e', '-J', '-q',
    // One more than expected: extra records show up in the count instead of being cut off.
    '-c', String(opts.expectedRecords + 1), '-m', '30', '-X', 'check.crcs=true', '-d', 'msg'];
  if (opts.partition !== undefined) args.push('-p', String(opts.partition));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const { stdout, stderr, code, timedOut } = await run(command, args, timeoutMs);
  const what = `kcat ${args.join(' ')}`;
  // Without the debug lines (prefix "%7|"), stderr holds kcat's own errors and warnings.
  const problems = stderr.split('\n').filter((l) => !l.startsWith('%7|')).join('\n').trim().slice(-4000);
  if (timedOut) throw new Error(`${what} did not reach the end of ${topic} within ${timeoutMs} ms:\n${problems}`);
  // kcat exits non-zero on a consumer error, e.g. a batch librdkafka cannot decompress or whose CRC is wrong.
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${problems}`);
  const records = parseKcatJson(stdout);
  if (records.length !== opts.expectedRecords) {
    throw new Error(`${what} read ${records.length} records from ${topic}, expected ${opts.expectedRecords}:\n${problems}`);
  }
  return { records, codecs: batchCodecs(stderr) };
}

// librdkafka logs each fetched message set as "Enqueue N message(s) (... aborted msgsets, <codec>)".
function batchCodecs(debugLog: string): Set<string> {
  const codecs = new Set<string>();
  for (const m of debugLog.matchAll(/Enqueue \d+ message\(s\) \(.*, (\w+)\)\s*$/gm)) codecs.add(m[1] === 'uncompressed' ? 'none' : m[1]);
  return codecs;
}

interface Envelope {
  partition: number;
  offset: number;
  tstype: 'create' | 'logappend' | 'unknown';
  ts: number;
  headers?: Array<string | null>;
  key: string | null;
  payload: string | null;
  key_error?: string;
  payload_error?: string;
}

const bytesOf = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'latin1'));

/** Parses `kcat -J` output: one JSON envelope per line (newlines inside strings are escaped). */
export function parseKcatJson(out: Buffer): ConsumedRecord[] {
  const text = out.toString('latin1');
  const records: ConsumedRecord[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let e: Envelope;
    try {
      e = JSON.parse(line) as Envelope;
    } catch (err) {
      throw new Error(`kcat printed a line that is not a JSON envelope (${(err as Error).message}): ${line.slice(0, 300)}`);
    }
    if (e.key_error !== undefined || e.payload_error !== undefined) throw new Error(`kcat could not read a record: ${line.slice(0, 300)}`);
    if (typeof e.key === 'object' && e.key !== null) throw new Error(`kcat printed a key as JSON rather than a string: ${line.slice(0, 300)}`);
    if (typeof e.payload === 'object' && e.payload !== null) throw new Error(`kcat printed a value as JSON rather than a string: ${line.slice(0, 300)}`);
    const headers: Array<[string, Buffer | null]> = [];
    const h = e.headers ?? [];
    if (h.length % 2 !== 0) throw new Error(`kcat printed headers that are not name/value pairs: ${line.slice(0, 300)}`);
    for (let i = 0; i < h.length; i += 2) headers.push([bytesOf(h[i])!.toString('utf8'), bytesOf(h[i + 1])]);
    records.push({
      partition: e.partition,
      offset: e.offset,
      timestampType: e.tstype === 'logappend' ? 'LogAppendTime' : 'CreateTime',
      timestamp: e.ts,
      key: bytesOf(e.key),
      value: bytesOf(e.payload),
      headers,
    });
  }
  return records;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ stdout: Buffer; stderr: string; code: number | null; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString(), code, timedOut });
    });
  });
}
