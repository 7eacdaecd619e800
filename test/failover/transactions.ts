// A stream of transactions for the failover tests, and the judgement of what read_committed sees
// against what each transaction's scope reported.
import { spawn } from 'node:child_process';
import { from, lastValueFrom, toArray } from 'rxjs';
import { isFatal, TransactionOutcomeUnknownError, type Producer } from 'kafkarx';
import { ensureKafkaJars } from '../broker/jars.ts';
import { javaToolArgs } from '../broker/java.ts';
import { bootstrap, parseConsoleOutput } from '../broker/reference.ts';

export type Reported = 'committed' | 'failed' | 'unknown';

export interface TxnRecord {
  index: number;
  reported: Reported;
  error?: Error;
  startedAt: number;
  endedAt: number;
}

export interface TxnStream {
  readonly log: TxnRecord[];
  stop(): void;
  /** Settles when the stream stopped, or rejects when a scope did not settle within `scopeBoundMs` or a fatal error came. */
  done: Promise<void>;
}

/**
 * Runs transactions of `size` keyed records (value `tx:i`) one after another until stopped.
 * A scope that does not settle within `scopeBoundMs` is a hang, and fails the stream.
 */
export function txnStream(producer: Producer, topic: string, size: number, scopeBoundMs: number): TxnStream {
  const log: TxnRecord[] = [];
  let stopped = false;
  const run = async () => {
    for (let index = 0; !stopped; index++) {
      const records = Array.from({ length: size }, (_, i) => ({ topic, key: `k${i % 97}`, value: `${index}:${i}` }));
      const startedAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`transaction ${index} did not settle within ${scopeBoundMs} ms`)), scopeBoundMs);
      });
      const scope = lastValueFrom(producer.transaction((tx) => from(records).pipe(tx.send())).pipe(toArray()));
      try {
        const metas = await Promise.race([scope, hang]);
        if (metas.length !== size) throw new Error(`transaction ${index} committed with ${metas.length} results for ${size} records`);
        log.push({ index, reported: 'committed', startedAt, endedAt: Date.now() });
      } catch (e) {
        const error = e as Error;
        if (/did not settle/.test(error.message)) throw error;
        log.push({ index, reported: error instanceof TransactionOutcomeUnknownError ? 'unknown' : 'failed', error, startedAt, endedAt: Date.now() });
        if (isFatal(error)) throw error;
      } finally {
        clearTimeout(timer);
      }
    }
  };
  return { log, stop: () => { stopped = true; }, done: run() };
}

/**
 * Every record of the topic that read_committed shows, by transaction: ConsoleConsumer reads until
 * no record came for `idleMs` (it then exits non-zero, which here is the expected end).
 */
export async function committedByTransaction(topic: string, idleMs = 15_000): Promise<Map<number, number[]>> {
  const args = ['--bootstrap-server', bootstrap(), '--topic', topic, '--from-beginning', '--timeout-ms', String(idleMs),
    '--isolation-level', 'read_committed', '--consumer-property', 'auto.offset.reset=earliest'];
  for (const p of ['print.timestamp', 'print.partition', 'print.offset', 'print.headers', 'print.key', 'print.value']) args.push('--property', `${p}=true`);
  args.push('--property', 'key.separator=\u001f|F|', '--property', 'line.separator=\u001e|L|\n', '--property', 'headers.separator=\u001d|H|', '--property', 'null.literal=\u0001|NULL|');
  const stdout = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn('java', javaToolArgs(ensureKafkaJars().tools, 'org.apache.kafka.tools.consumer.ConsoleConsumer', args), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
    child.on('error', reject);
    child.on('close', () => (/Processed a total of/.test(err) ? resolve(Buffer.concat(out)) : reject(new Error(`ConsoleConsumer failed: ${err.slice(-3000)}`))));
  });
  const byTxn = new Map<number, number[]>();
  for (const r of parseConsoleOutput(stdout)) {
    const [tx, i] = r.value!.toString().split(':').map(Number);
    const list = byTxn.get(tx);
    if (list) list.push(i);
    else byTxn.set(tx, [i]);
  }
  return byTxn;
}

/** What contradicts the reported outcomes: each line names a transaction and what was wrong. */
export function contradictions(log: TxnRecord[], visible: Map<number, number[]>, size: number): string[] {
  const wrong: string[] = [];
  for (const t of log) {
    const seen = visible.get(t.index) ?? [];
    const exact = seen.length === size && new Set(seen).size === size;
    if (t.reported === 'committed' && !exact) wrong.push(`transaction ${t.index} reported committed, ${seen.length} records visible (${new Set(seen).size} distinct)`);
    if (t.reported === 'failed' && seen.length > 0) wrong.push(`transaction ${t.index} reported failed (${t.error!.message.slice(0, 300)}), ${seen.length} records visible`);
    if (t.reported === 'unknown' && seen.length > 0 && !exact) wrong.push(`transaction ${t.index} reported unknown, ${seen.length} records visible (partly)`);
    // The next transaction starts by confirming an unknown commit: if it then commits, the unknown one did.
    const next = log.find((n) => n.index === t.index + 1);
    if (t.reported === 'unknown' && next?.reported === 'committed' && !exact) wrong.push(`transaction ${t.index} reported unknown, the next one committed, but it is not visible`);
  }
  for (const index of visible.keys()) if (!log.some((t) => t.index === index)) wrong.push(`transaction ${index} is visible but never reported`);
  return wrong;
}
