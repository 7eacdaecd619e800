// kafkarx, every way a user hands it records: the pull path, push sources, the send() loop, a
// warm process, transactions. createProducer defaults everywhere else (batchBytes 16 KiB, linger
// 5 ms, 5 in flight, 32 MiB buffer, idempotent unless acks=1 turns it off): what a user gets.
import { measure } from '../producer/measure.ts';
import { keyPool, POOL } from '../producer/values.ts';
import type { Measured, RunSpec, Timed } from '../producer/types.ts';

interface Rec { topic: string; key?: Buffer; value: Buffer }

/** Record i of the run: topics round-robin, keys and values cycling through their pools. */
function recordMaker(spec: RunSpec, values: Buffer[]): (i: number) => Rec {
  const { topics } = spec;
  const keys = spec.keyed ? keyPool() : undefined;
  if (topics.length === 1 && !keys) {
    const topic = topics[0];
    return (i) => ({ topic, value: values[i % POOL] });
  }
  return (i) => ({ topic: topics[i % topics.length], key: keys?.[i % POOL], value: values[i % POOL] });
}

export async function runKafkarx(spec: RunSpec, values: Buffer[]): Promise<Measured> {
  const primed = spec.topics.length;
  const result = await run(spec, values);
  if (spec.transactionSize) {
    // Each commit also writes a marker, which takes an offset, in every partition it wrote to.
    const markers = primed + spec.topics.length * spec.partitions * Math.ceil(spec.records / spec.transactionSize);
    return { ...result, outside: primed + markers };
  }
  return { ...result, outside: primed + (spec.mode === 'warm' ? spec.records : 0) };
}

async function run(spec: RunSpec, values: Buffer[]): Promise<Timed> {
  const { createProducer } = await import('../../../src/index.ts');
  const { toKafka, fromPullSource } = await import('../../../operators/index.ts');
  const rx = await import('rxjs');
  const { records } = spec;
  const make = recordMaker(spec, values);
  function* generate(from: number, to: number): Generator<Rec> {
    for (let i = from; i < to; i++) yield make(i);
  }
  const producer = createProducer({
    brokers: [spec.bootstrap], clientId: 'kafkarx-bench', acks: spec.acks, compression: spec.codec,
    ...(spec.idempotent === undefined ? {} : { idempotent: spec.idempotent }),
    ...(spec.batchBytes === undefined ? {} : { batchBytes: spec.batchBytes }),
    ...(spec.transactionSize ? { transactionalId: `kafkarx-bench-${process.pid}` } : {}),
    // range() and interval bursts (2M records/s offered) cannot wait for room: their records may
    // hold 2 × bufferMemory, then are refused (README); 32 MiB is too little to take 1M records whole.
    ...(spec.mode === 'range' || spec.mode === 'interval' ? { bufferMemory: 64 * 1024 * 1024 } : {}),
  });
  const drain = (source: import('rxjs').Observable<Rec>): Promise<number> => new Promise((resolve, reject) => {
    let acked = 0;
    source.pipe(toKafka(producer)).subscribe({ next: () => acked++, error: reject, complete: () => resolve(acked) });
  });
  try {
    // Connected, with every topic's metadata, before the window opens.
    if (spec.transactionSize) {
      await rx.lastValueFrom(producer.transaction((tx) => rx.from(spec.topics.map((topic) => ({ topic, value: values[0] }))).pipe(tx.send())));
    } else {
      await drain(rx.from(spec.topics.map((topic) => ({ topic, value: values[0] }))));
    }
    switch (spec.mode) {
      case 'pull':
        return await measure(records, spec.brokerPid, () => drain(fromPullSource(generate(0, records), producer)));
      case 'warm':
        // The same process sent as many records just before: JIT and heap are warm.
        await drain(fromPullSource(generate(0, records), producer));
        return await measure(records, spec.brokerPid, () => drain(fromPullSource(generate(0, records), producer)));
      case 'range':
        return await measure(records, spec.brokerPid, () => drain(rx.range(0, records).pipe(rx.map(make))));
      case 'subject':
        return await measure(records, spec.brokerPid, () => subjectRun(rx, make, records, drain));
      case 'interval':
        return await measure(records, spec.brokerPid, () => drain(intervalBursts(rx, make, records)));
      case 'send':
        return await measure(records, spec.brokerPid, () => sendLoop(producer, make, records, spec.outstanding));
      case 'txn': {
        const size = spec.transactionSize!;
        return await measure(records, spec.brokerPid, async () => {
          let acked = 0;
          for (let from = 0; from < records; from += size) {
            const to = Math.min(records, from + size);
            acked += await rx.lastValueFrom(producer.transaction((tx) => fromPullSource(generate(from, to), producer).pipe(tx.send())).pipe(rx.count()));
          }
          return acked;
        });
      }
      default:
        throw new Error(`kafkarx has no mode ${spec.mode}`);
    }
  } finally {
    await producer.close();
  }
}

/** Burst size and period of the interval source: up to 2M records/s, more than a client sends. */
const BURST = 10_000;
const BURST_MS = 5;

/** Events arriving in bursts on a timer, as from a poller: interval(5 ms), 10,000 records each. */
function intervalBursts(rx: typeof import('rxjs'), make: (i: number) => Rec, records: number): import('rxjs').Observable<Rec> {
  const bursts = Math.ceil(records / BURST);
  return rx.interval(BURST_MS).pipe(
    rx.take(bursts),
    rx.mergeMap((b) => rx.range(b * BURST, Math.min(BURST, records - b * BURST)).pipe(rx.map(make))),
  );
}

/** A Subject fed from outside, 1,000 records per macrotask, as from a socket or an event emitter. */
async function subjectRun(rx: typeof import('rxjs'), make: (i: number) => Rec, records: number, drain: (s: import('rxjs').Observable<Rec>) => Promise<number>): Promise<number> {
  const subject = new rx.Subject<Rec>();
  const done = drain(subject);
  for (let i = 0; i < records;) {
    const end = Math.min(records, i + 1000);
    for (; i < end; i++) subject.next(make(i));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  subject.complete();
  return done;
}

/**
 * producer.send() per record with at most `limit` outstanding, as an application awaiting each
 * Promise in bulk would: one shared callback per outcome, no closure per record.
 */
function sendLoop(producer: import('../../../src/index.ts').Producer, make: (i: number) => Rec, records: number, limit: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let acked = 0;
    let failed = false;
    let paused = false;
    const fill = (): void => {
      paused = false;
      while (next < records && next - acked < limit) producer.send(make(next++)).then(onAck, onError);
      if (next < records) paused = true;
    };
    const onAck = (): void => {
      if (++acked === records) resolve(acked);
      // Refill once half the window is free, not per acknowledgement.
      else if (paused && next - acked <= limit / 2) fill();
    };
    const onError = (e: Error): void => {
      if (!failed) reject(e);
      failed = true;
    };
    fill();
  });
}
