// Fuzzes every generated response decoder (those the producer calls, see src/network/apis.ts, and
// the rest) at every version with frames mutated from valid ones: responses sampled from Kafka's
// schemas and the frames captured from a real Kafka 4.1.1 broker (./captures). Whatever the bytes,
// a decoder may only throw the protocol layer's typed errors (DecodeError), must finish (a worker
// thread and a watchdog), and must not allocate for more than the frame holds (a capped heap, and
// no more array elements and characters than bytes).
//
// Seeded and reproducible: the seed is printed; FUZZ_SEED=<n> replays a run, FUZZ_CASE=<i> only
// its case i, FUZZ_CASES=<n> changes the number of cases (default 150,000).
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FuzzJob, FuzzReport } from './fuzz-worker.ts';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const cases = process.env.FUZZ_CASES ? Number(process.env.FUZZ_CASES) : 150_000;
const only = process.env.FUZZ_CASE ? Number(process.env.FUZZ_CASE) : undefined;
/** A decoder that makes no progress for this long is taken to loop forever. */
const STALL_MS = 10_000;

function fuzz(job: Omit<FuzzJob, 'progress'>): Promise<FuzzReport> {
  const progress = new SharedArrayBuffer(4);
  const current = new Int32Array(progress);
  const worker = new Worker(join(__dirname, 'fuzz-worker.ts'), {
    workerData: { ...job, progress } satisfies FuzzJob,
    // A decoder that allocates by a count read from the wire rather than by the bytes it holds
    // dies here instead of passing unnoticed.
    resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 },
  });
  return new Promise((resolve, reject) => {
    let stall: NodeJS.Timeout;
    const watch = () => {
      clearTimeout(stall);
      stall = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`no progress for ${STALL_MS} ms at case ${Atomics.load(current, 0)}: a decoder loops (replay: FUZZ_SEED=${job.seed} FUZZ_CASE=${Atomics.load(current, 0)})`));
      }, STALL_MS);
    };
    watch();
    worker.on('message', (m: { done?: number; report?: FuzzReport }) => {
      if (m.report) {
        clearTimeout(stall);
        resolve(m.report);
        void worker.terminate();
      } else {
        watch();
      }
    });
    worker.on('error', (e) => {
      clearTimeout(stall);
      reject(new Error(`the fuzzing worker died at case ${Atomics.load(current, 0)} (replay: FUZZ_SEED=${job.seed} FUZZ_CASE=${Atomics.load(current, 0)}): ${e.message}`));
    });
  });
}

test(`${cases} mutated responses through every response decoder: only DecodeErrors, no hang, no oversized allocation`, async () => {
  console.log(`fuzz: FUZZ_SEED=${seed}${only === undefined ? ` FUZZ_CASES=${cases}` : ` FUZZ_CASE=${only}`}`);
  const report = await fuzz({ seed, cases, only });
  const decoders = Object.keys(report.byDecoder);
  console.log(`fuzz: ${report.cases} cases in ${report.ms} ms over ${decoders.length} decoder versions: ${report.decoded} decoded, ${report.decodeErrors} DecodeErrors`);
  expect(report.failures.map((f) => `case ${f.caseNumber} (FUZZ_SEED=${seed} FUZZ_CASE=${f.caseNumber}), ${f.decoder}, frame ${f.frameHex}:\n${f.error}`)).toEqual([]);
  if (only !== undefined) return;
  expect(report.cases).toBeGreaterThanOrEqual(100_000);
  // Both outcomes are exercised, and every decoder version got its share.
  expect(report.decoded).toBeGreaterThan(report.cases / 100);
  expect(report.decodeErrors).toBeGreaterThan(report.cases / 2);
  for (const name of ['ApiVersions', 'Metadata', 'InitProducerId', 'Produce', 'FindCoordinator', 'AddPartitionsToTxn', 'AddOffsetsToTxn', 'EndTxn',
    'TxnOffsetCommit', 'SaslHandshake', 'SaslAuthenticate', 'CreateTopics', 'CreatePartitions']) {
    expect(decoders.filter((d) => d.startsWith(`${name}Response v`)).length).toBeGreaterThan(0);
  }
  expect(Math.min(...Object.values(report.byDecoder))).toBeGreaterThan(100);
}, 60_000);
