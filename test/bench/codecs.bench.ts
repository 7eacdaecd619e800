// Codec benchmark: bash .ci/node24.sh node test/bench/codecs.bench.ts [--quick]
//
// 1. Compression and decompression speed and ratio of every codec implementation on a batch's
//    records section of JSON order events (16 KiB and 1 MiB).
// 2. node:zlib synchronous vs asynchronous (libuv thread pool) compression by input size: latency,
//    throughput with several batches in flight, and event-loop time per batch. Sets ASYNC_MIN_BYTES.
// 3. Offloading a pure-JavaScript codec (lz4js, snappyjs, pako) to a worker thread: round trip
//    latency vs compressing inline.
// Speeds are in MB/s of uncompressed data (1 MB = 10^6 bytes).
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { gzipPako, gzipZlib, lz4, snappy, zstdFzstd, zstdZlib, type Codec } from '../../src/codec/index.ts';
import { orderEvents } from '../unit/codec/fixtures.ts';

const CODECS: readonly Codec[] = [gzipZlib, gzipPako, snappy, lz4, zstdZlib, zstdFzstd];
const QUICK = process.argv.includes('--quick');
const MIN_MS = QUICK ? 150 : 500;

function perSecond(run: () => void): number {
  for (let i = 0; i < 3; i++) run();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    run();
    n++;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_MS);
  return (n * 1000) / elapsed;
}

async function perSecondAsync(inFlight: number, run: () => Promise<unknown>): Promise<{ ops: number; loopMsPerOp: number }> {
  for (let i = 0; i < 3; i++) await run();
  let n = 0;
  const start = performance.now();
  const elu = performance.eventLoopUtilization();
  const lane = async (): Promise<void> => {
    while (performance.now() - start < MIN_MS) {
      await run();
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const elapsed = performance.now() - start;
  const busy = performance.eventLoopUtilization(elu).active;
  return { ops: (n * 1000) / elapsed, loopMsPerOp: busy / n };
}

function table(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(c >= 100 ? 0 : c >= 10 ? 1 : 2) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  console.log(`\n${title}`);
  cells.forEach((row, i) => {
    console.log(row.map((c, j) => (j === 0 ? String(c).padEnd(widths[j]) : String(c).padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

const KIB = 1024;
// More batches in flight than CPUs would have the pool threads and the event loop compete for CPU.
const IN_FLIGHT = Math.max(1, cpus().length);
const MB = 1e6;

function codecTable(): void {
  const rows: Array<Array<string | number>> = [];
  for (const size of [16 * KIB, 1024 * KIB]) {
    const data = orderEvents(size);
    for (const codec of CODECS) {
      const compressed = codec.compress(data);
      if (!codec.decompress(compressed).equals(data)) throw new Error(`${codec.name}/${codec.impl} does not round-trip`);
      const c = (perSecond(() => codec.compress(data)) * size) / MB;
      const d = (perSecond(() => codec.decompress(compressed)) * size) / MB;
      rows.push([`${codec.name}/${codec.impl}`, `${size / KIB} KiB`, c, d, compressed.length / size]);
    }
  }
  table('Codecs on JSON order events (default levels: gzip 6, lz4 9, zstd 3)', ['codec/impl', 'input', 'compress MB/s', 'decompress MB/s', 'ratio'], rows);
}

const gzipAsync = promisify(zlib.gzip);
const zstdAsync = promisify(zlib.zstdCompress);

async function syncVsAsync(): Promise<void> {
  const variants = [
    { name: 'gzip', sync: (d: Buffer) => zlib.gzipSync(d), async: (d: Buffer) => gzipAsync(d) },
    { name: 'zstd', sync: (d: Buffer) => zlib.zstdCompressSync(d), async: (d: Buffer) => zstdAsync(d, { chunkSize: 64 * KIB }) },
  ];
  const rows: Array<Array<string | number>> = [];
  for (const variant of variants) {
    for (const size of [1 * KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, 1024 * KIB]) {
      const data = orderEvents(size);
      const syncOps = perSecond(() => variant.sync(data));
      const async1 = await perSecondAsync(1, () => variant.async(data));
      const asyncN = await perSecondAsync(IN_FLIGHT, () => variant.async(data));
      rows.push([
        variant.name, `${size / KIB} KiB`,
        1000 / syncOps, 1000 / async1.ops,
        async1.loopMsPerOp,
        (syncOps * size) / MB, (asyncN.ops * size) / MB,
      ]);
    }
  }
  table(
    `node:zlib sync vs async (thread pool ${process.env.UV_THREADPOOL_SIZE ?? 4} threads, ${cpus().length} CPUs; "loop ms/op": event-loop time per batch, one in flight)`,
    ['codec', 'input', 'sync ms/op (= loop ms/op)', 'async ms/op', 'async loop ms/op', 'sync MB/s', `async MB/s (${IN_FLIGHT} in flight)`],
    rows,
  );
}

// Runs in the worker: compresses what it is sent with the named codec, hands back the bytes.
function serveCompression(): void {
  const byName = new Map(CODECS.map((c) => [`${c.name}/${c.impl}`, c]));
  parentPort!.on('message', ({ codec, data }: { codec: string; data: Uint8Array }) => {
    const out = new Uint8Array(byName.get(codec)!.compress(data));
    parentPort!.postMessage(out, [out.buffer]);
  });
}

async function workerOffload(): Promise<void> {
  const worker = new Worker(new URL(import.meta.url));
  const request = (codec: string, data: Uint8Array): Promise<Uint8Array> =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage({ codec, data });
    });
  const rows: Array<Array<string | number>> = [];
  for (const codec of [lz4, snappy, gzipPako]) {
    for (const size of [16 * KIB, 1024 * KIB]) {
      const data = orderEvents(size);
      const label = `${codec.name}/${codec.impl}`;
      const inline = perSecond(() => codec.compress(data));
      const offloaded = await perSecondAsync(1, () => request(label, data));
      rows.push([label, `${size / KIB} KiB`, 1000 / inline, 1000 / offloaded.ops, offloaded.loopMsPerOp]);
    }
  }
  await worker.terminate();
  table('Pure-JavaScript codecs inline vs in a worker thread (one batch in flight, input copied in, output transferred back)',
    ['codec/impl', 'input', 'inline ms/op (= loop ms/op)', 'worker ms/op', 'loop ms/op worker'], rows);
}

if (isMainThread) {
  console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}${QUICK ? ' (quick run)' : ''}`);
  codecTable();
  await syncVsAsync();
  await workerOffload();
} else {
  serveCompression();
}
